"""Scans in the stewards' back office: rule sets, scans, runs and drift, plus scanning's actions on the data source
and asset pages ("scan now", "detect again"). Scoped like the API (RestrictedAdminMixin); every change and every
action goes through scanning.services, so the audit trail and the beat schedule stay in step."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.admin import (
    ReadOnlyAdminMixin,
    RestrictedAdminMixin,
    ServiceAdminMixin,
    ServiceValidatedForm,
    workspace_field_kwargs,
)
from accounts.permissions import has_perm, workspace_allows
from accounts.selectors import visible
from accounts.wording import counted
from catalog.admin import AssetAdmin
from catalog.models import Asset
from config.pagination import EstimatedCountPaginator
from scanning import services
from scanning.models import AssetChange, Scan, ScanRuleSet, ScanRun
from scanning.selectors import rule_set_list
from scanning.services.detection import MAX_DETECT_ASSETS
from sources.admin import DataSourceAdmin, ObjectButton, VisibleDataSourceFilter
from sources.models import DataSource
from sources.selectors import datasource_list


class ServiceAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """The forms have already run the services' validation; the services still authorise and audit."""


def _busy(label, exc: services.ScanAlreadyRunning) -> str:
    return (f"{label}: a scan or detection of its source is already queued or running"
            f"{f' (run #{exc.run.pk})' if exc.run else ''}.")


# How a run started, as the first words of its title ("Manual scan of hr-postgres #6").
RUN_KINDS = {ScanRun.Trigger.SCHEDULE: "Scheduled scan", ScanRun.Trigger.MANUAL: "Manual scan",
             ScanRun.Trigger.API: "API scan", ScanRun.Trigger.DETECTION: "Detection on demand"}


def run_title(run: ScanRun) -> str:
    """A run named by how it started and its source: "Manual scan of hr-postgres #6", with its scan's name when
    the source has scans of its own ("Scheduled scan of hr-postgres #7 (Nightly)")."""
    kind = RUN_KINDS.get(run.trigger, run.get_trigger_display())
    title = f"{kind} of {run.data_source} #{run.pk}"
    if run.scan_id is not None and run.scan.name != "Manual":  # scan_default's scan: its name says nothing more
        title += f" ({run.scan})"
    return title


def run_link(run: ScanRun):
    return format_html('<a href="{}">{}</a>', reverse("admin:scanning_scanrun_change", args=[run.pk]), run_title(run))


def run_outcome(run: ScanRun) -> str:
    """What a finished run did, in words: "32 objects added" for a first scan, else its drift and detection."""
    if run.is_detection:
        return f"{counted(run.columns_classified, 'column')} classified"
    if not (run.changed or run.removed or run.unchanged):
        found = f"{counted(run.added, 'object')} added to the catalog"
    else:
        found = f"{run.added} added, {run.changed} changed, {run.removed} removed, {run.unchanged} unchanged"
    return f"{found}, {counted(run.columns_classified, 'column')} classified"


def say_run(modeladmin, request, label, run: ScanRun) -> None:
    """Say what became of a run just requested. In the embedded default (eager Celery) the run has already
    ended when the request returns, so its outcome is told; with a worker, that it is queued. Either way with a
    link to the run's page."""
    run.refresh_from_db()
    link, what = run_link(run), "Detection" if run.is_detection else "Scan"
    if run.status == ScanRun.Status.SUCCEEDED:
        modeladmin.message_user(request, format_html("{}: {} finished: {}. {}", label, what.lower(),
                                                     run_outcome(run), link), messages.SUCCESS)
    elif run.status == ScanRun.Status.FAILED:
        modeladmin.message_user(request, format_html("{}: {} failed: {}. {}", label, what.lower(),
                                                     run.error.rstrip(".") or "no reason recorded", link),
                                messages.ERROR)
    elif run.status == ScanRun.Status.CANCELLED:
        modeladmin.message_user(request, format_html("{}: {} cancelled. {}", label, what.lower(), link),
                                messages.WARNING)
    else:  # queued, or running at a worker
        modeladmin.message_user(request, format_html("{}: {} {}; its page shows its progress: {}", label,
                                                     what.lower(), run.get_status_display().lower(), link),
                                messages.SUCCESS)


def _busy(label, exc: services.ScanAlreadyRunning):
    if exc.run is None:
        return f"{label}: a scan or detection of its source is already queued or running."
    return format_html("{}: a scan or detection of its source is already queued or running: {}.", label,
                       run_link(exc.run))


def _queue_run(modeladmin, request, label, scan_of) -> None:
    """Request a run from the admin (``scan_of()`` gives the scan) and say how it went."""
    try:
        run = services.scan_run_request(scan=scan_of(), trigger=ScanRun.Trigger.MANUAL, acting_user=request.user)
    except PermissionDenied:
        modeladmin.message_user(request, f"{label}: you may not run scans of this source.", messages.ERROR)
    except services.ScanAlreadyRunning as exc:
        modeladmin.message_user(request, _busy(label, exc), messages.WARNING)
    else:
        say_run(modeladmin, request, label, run)


# --- scanning's actions on data sources and assets (their pages are sources' and catalog's) ------------------


def with_last_run(queryset):
    """Each source's latest run (its id and status), read by ``last_run`` in the same query as the page."""
    latest = ScanRun.objects.filter(data_source=OuterRef("pk")).order_by("-queued_at")
    return queryset.annotate(last_run_id=Subquery(latest.values("pk")[:1]),
                             last_run_status=Subquery(latest.values("status")[:1]))


@admin.display(description="last run")
def last_run(source):
    if source.last_run_id is None:
        return "—"
    return format_html('<a href="{}">#{} {}</a>', reverse("admin:scanning_scanrun_change", args=[source.last_run_id]),
                       source.last_run_id, ScanRun.Status(source.last_run_status).label)


def _scan_source(modeladmin, request, source) -> None:
    _queue_run(modeladmin, request, source,
               lambda: services.scan_default(data_source=source, acting_user=request.user))


@admin.action(description="Scan now", permissions=["view"])
def scan_now(modeladmin, request, queryset):
    for source in queryset:
        _scan_source(modeladmin, request, source)


def may_scan(user, source) -> bool:
    """Whether "Scan now" is offered: the right to run the scan it runs (``scan_default``'s), or to create it in
    the source's workspace when the source has none yet. The services check again when it is pressed."""
    scan = source.scans.order_by("pk").first()
    if scan is not None:
        return has_perm(user, "run", scan)
    return workspace_allows(user, "scanning.run_scan", source.workspace)


SCAN_NOW = ObjectButton(name="scan-now", label="Scan now", shown=may_scan, act=_scan_source)


# --- rule sets and scans ------------------------------------------------------------------------------------------


class LinesField(forms.Field):
    """A list of strings (a rule set's patterns, classification names) as a text box with one entry per line."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        if isinstance(value, list):
            return value
        return [line.strip() for line in (value or "").splitlines() if line.strip()]


_PATTERNS = "one pattern per line: a glob (sales_*, tmp_?) or re: and a regular expression (re:^(dim|fact)_.*)"


def _lines(help_text: str) -> LinesField:
    return LinesField(required=False, help_text=help_text)


class ScanRuleSetForm(ServiceValidatedForm):
    validate = staticmethod(services.scans.validate_rule_set)
    include_schemas = _lines(f"Schemas to read, {_PATTERNS}. Empty: every schema.")
    exclude_schemas = _lines(f"Schemas to skip, {_PATTERNS}.")
    include_tables = _lines(f"Tables and views to read, {_PATTERNS}; a pattern matches the table's name or "
                            "schema.table. Empty: every table.")
    exclude_tables = _lines(f"Tables and views to skip, {_PATTERNS}; matched as above.")
    include_columns = _lines(f"Columns to read, {_PATTERNS}. Empty: every column.")
    exclude_columns = _lines(f"Columns to skip, {_PATTERNS}.")
    classifications = _lines("The classifications to detect, one name per line. Empty: every active one.")

    class Meta:
        model = ScanRuleSet
        fields = ["workspace", *services.scans.RULE_SET_FIELDS]


@admin.register(ScanRuleSet)
class ScanRuleSetAdmin(ServiceAdmin):
    form = ScanRuleSetForm
    list_display = ["name", "workspace", "sample_size", "detection_enabled", "profiling_enabled", "updated_at"]
    search_fields = ["name", "description"]
    list_select_related = ["workspace"]

    def get_readonly_fields(self, request, obj=None):
        return ["workspace"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "workspace":
            kwargs.update(workspace_field_kwargs(user=request.user, perm="scanning.add_scanruleset"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.scans.RULE_SET_FIELDS
                  if name in form.cleaned_data and (not change or name in form.changed_data)}
        if change:
            self.run_service(request, services.rule_set_update, rule_set=self.stored(obj), acting_user=request.user,
                          **fields)
        else:
            created = self.run_service(request, services.rule_set_create, workspace=form.cleaned_data["workspace"],
                                    acting_user=request.user, **fields)
            obj.pk = created.pk

    def delete_model(self, request, obj):
        self.run_service(request, services.rule_set_delete, rule_set=obj, acting_user=request.user)


class ScanForm(ServiceValidatedForm):
    validate = staticmethod(services.scans.validate_scan)

    class Meta:
        model = Scan
        fields = ["data_source", "rule_set", "name", "schedule", "enabled"]


@admin.register(Scan)
class ScanAdmin(ServiceAdmin):
    """Scans and their schedules. Saving goes through scan_update, which keeps the beat entry in step (a disabled
    scan disables its entry); the beat entries themselves are not edited here."""

    form = ScanForm
    list_display = ["name", "data_source", "rule_set", "schedule", "enabled", "updated_at"]
    list_filter = [VisibleDataSourceFilter, "enabled"]
    search_fields = ["name", "data_source__name"]
    list_select_related = ["data_source", "rule_set"]
    actions = ["run_now"]

    def get_readonly_fields(self, request, obj=None):
        return ["data_source"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "data_source":
            kwargs["queryset"] = datasource_list(user=request.user)
        if db_field.name == "rule_set":
            kwargs["queryset"] = rule_set_list(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.scans.SCAN_FIELDS
                  if name in form.cleaned_data and (not change or name in form.changed_data)}
        if change:
            self.run_service(request, services.scan_update, scan=self.stored(obj), acting_user=request.user, **fields)
        else:
            created = self.run_service(request, services.scan_create, data_source=form.cleaned_data["data_source"],
                                    acting_user=request.user, **fields)
            obj.pk = created.pk

    def delete_model(self, request, obj):
        self.run_service(request, services.scan_delete, scan=obj, acting_user=request.user)

    @admin.action(description="Run now", permissions=["view"])
    def run_now(self, request, queryset):
        for scan in queryset.select_related("data_source"):
            _queue_run(self, request, scan, lambda scan=scan: scan)


# --- runs and drift (read-only) ---------------------------------------------------------------------------------


class ReadOnlyAdmin(ReadOnlyAdminMixin, RestrictedAdminMixin, admin.ModelAdmin):
    """Runs and drift are written by scans only."""


# The scanned fields of an asset (catalog.bulk.SCANNED_FIELDS) as a steward reads them in a change.
CHANGE_FIELD_LABELS = {"type": "type", "data_type": "data type", "is_nullable": "nullable", "default": "default",
                       "source_description": "comment in the source", "ordinal": "position",
                       "properties": "properties"}


def readable_value(value) -> str:
    if value is None or value == "" or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {readable_value(inner)}" for key, inner in sorted(value.items()))
    if isinstance(value, list):
        return ", ".join(readable_value(inner) for inner in value)
    return str(value)


def changes_table(change: AssetChange):
    """A change's fields as rows of a table (field, before, after); an added or removed asset has none."""
    if not change.changes:
        return {AssetChange.Kind.ADDED: "new in the source", AssetChange.Kind.REMOVED: "gone from the source"}.get(
            change.kind, "—")
    rows = format_html_join("", "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>", (
        (CHANGE_FIELD_LABELS.get(field, field.replace("_", " ")), readable_value(values[0]),
         readable_value(values[1]))
        for field, values in sorted(change.changes.items())))
    return format_html('<table class="drift-table"><thead><tr><th scope="col">field</th><th scope="col">before</th>'
                       '<th scope="col">after</th></tr></thead><tbody>{}</tbody></table>', rows)


def asset_link(asset: Asset):
    return format_html('<a href="{}">{}</a>', reverse(f"admin:catalog_{asset.type}asset_change", args=[asset.pk]),
                       asset.qualified_name)


class AssetChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The first changes of a run; the full list is on the drift page, linked from the run."""

    model = AssetChange
    fields = ["kind", "asset_display", "changes_display"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = "changes seen by this run (the first 50)"
    LIMIT = 50

    def get_queryset(self, request):
        # The inline's queryset cannot be sliced (the formset filters it by run afterwards), so it stays whole;
        # get_formset caps what is rendered.
        return visible(super().get_queryset(request), user=request.user).select_related("asset")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        limit = self.LIMIT

        class Capped(formset):
            def get_queryset(self):
                if not hasattr(self, "_capped"):
                    self._capped = super().get_queryset()[:limit]
                return self._capped

        return Capped

    def has_view_permission(self, request, obj=None):
        return True  # the run page is already scoped; the queryset is restricted as well

    @admin.display(description="asset")
    def asset_display(self, change):
        return asset_link(change.asset)

    @admin.display(description="what changed")
    def changes_display(self, change):
        return changes_table(change)


def counts_tables(run: ScanRun) -> bool:
    """Whether the run's progress counts tables sampled. While it runs, its phase says; an ended run has no phase
    (core.runs.finish clears it). The schema phase sets progress to the objects read at each checkpoint
    (scanning.sync), and detection restarts it at 0 of the tables to sample, which are always fewer than the
    objects read (each table comes with its schema and its columns): an ended scan whose progress is not its
    objects read went on to detection."""
    if run.counts_tables:
        return True
    return not run.is_active and run.progress_done != run.objects_seen


def short_error(error: str, limit: int = 90) -> str:
    """A run's error for a list: its first line, cut at a word (within a long word, such as a host name)."""
    first = error.strip().splitlines()[0] if error.strip() else ""
    if len(first) <= limit:
        return first or "—"
    cut = first[:limit]
    at_word = cut.rsplit(" ", 1)[0]
    return (at_word if len(at_word) > limit * 2 // 3 else cut) + " …"


@admin.register(ScanRun)
class ScanRunAdmin(ReadOnlyAdmin):
    # Few columns: at 1400 px the list shares the window with the navigation and the filters. Who asked, the
    # duration and the detail of progress are on the run's page.
    list_display = ["run_display", "status", "error_display", "drift_display", "queued_at"]
    list_display_links = ["run_display"]
    list_filter = ["status", "trigger", VisibleDataSourceFilter]
    search_fields = ["scan__name", "data_source__name", "error"]
    list_select_related = ["scan", "data_source", "requested_by"]
    date_hierarchy = "queued_at"
    fieldsets = [
        (None, {"fields": ["datasource_display", "scan_display", "trigger", "requested_by", "status", "error",
                           "targets_display"]}),
        ("Progress and drift", {"fields": ["phase", "progress", "objects_seen", "added", "changed", "removed",
                                           "unchanged", "columns_classified", "drift_link"]}),
        ("Timing", {"fields": ["queued_at", "started_at", "heartbeat_at", "finished_at", "duration_display",
                               "attempts", "cancel_requested"]}),
    ]
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]
    inlines = [AssetChangeInline]
    actions = ["cancel_runs"]

    class Media:
        css = {"all": ["racine/scanning.css"]}

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, unquote(object_id))
        if run is not None:  # named by its source and trigger, not by the model ("View scan run")
            extra_context = {**(extra_context or {}), "title": run_title(run), "subtitle": None}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="run", ordering="queued_at")
    def run_display(self, run):
        return run_title(run)

    @admin.display(description="error")
    def error_display(self, run):
        return short_error(run.error)

    @admin.display(description="data source")
    def datasource_display(self, run):
        return format_html('<a href="{}">{}</a>', reverse("admin:sources_datasource_change",
                                                          args=[run.data_source_id]), run.data_source)

    @admin.display(description="scan")
    def scan_display(self, run):
        if run.scan_id is None:
            return "Detection on demand (no scan)"
        return format_html('<a href="{}">{}</a>', reverse("admin:scanning_scan_change", args=[run.scan_id]),
                           run.scan)

    @admin.display(description="assets asked for")
    def targets_display(self, run):
        """Links to the asset lists, which apply the viewer's own permissions: no asset name is shown here."""
        if not run.targets:
            return "—"
        by_type: dict[str, list[int]] = {}
        for pk, kind in Asset.objects.filter(pk__in=run.targets).values_list("pk", "type"):
            by_type.setdefault(kind, []).append(pk)
        return format_html_join(", ", '<a href="{}?id__in={}">{} {}</a>', (
            (reverse(f"admin:catalog_{kind}asset_changelist"), ",".join(map(str, sorted(ids))), len(ids),
             Asset.Type(kind).label.lower() + ("s" if len(ids) > 1 else ""))
            for kind, ids in sorted(by_type.items())))

    @admin.display(description="progress")
    def progress(self, run):
        """What the progress counts: tables sampled (detection, exact), else schema objects read against the
        source's size at its last successful scan (an estimate)."""
        done, total = run.progress_done, run.progress_total
        if counts_tables(run):
            sampled = f"tables sampled {done} of {total}" if total is not None else f"tables sampled {done}"
            return sampled if run.is_detection else f"{sampled}, after reading {run.objects_seen} schema objects"
        if total:
            return f"schema objects read {done} of about {total}"
        return f"schema objects read {done}"

    @admin.display(description="found")
    def drift_display(self, run):
        """What the run found: its drift (a first scan: the objects it added) and the columns it classified."""
        found = []
        if not run.is_detection and (run.changed or run.removed or run.unchanged):
            found.append(f"{run.added} added, {run.changed} changed, {run.removed} removed")
        elif run.added:
            found.append(f"{counted(run.added, 'object')} added")
        if run.columns_classified:
            found.append(f"{counted(run.columns_classified, 'column')} classified")
        return "; ".join(found) or "—"

    @admin.display(description="duration")
    def duration_display(self, run):
        duration = run.duration
        return f"{duration.total_seconds():.1f} s" if duration is not None else "—"

    @admin.display(description="changes")
    def drift_link(self, run):
        count = run.changes.count()
        if not count and run.added:
            # Only a baseline adds assets without recording them (scanning.sync): "Added: 58" beside "All 0
            # changes" read as lost drift.
            return (f"This was the source's first scan: it added {counted(run.added, 'object')} to the catalog. "
                    "A first scan is the baseline later scans are compared with, so it lists no changes.")
        if not count:
            return "None: the source was as the previous scan saw it." if run.status == ScanRun.Status.SUCCEEDED \
                else "None recorded."
        url = reverse("admin:scanning_assetchange_changelist") + f"?run__id__exact={run.pk}"
        below = "listed below" if count <= AssetChangeInline.LIMIT else f"the first {AssetChangeInline.LIMIT} below"
        return format_html('<a href="{}">All {} of this run</a> ({})', url, counted(count, "change"), below)

    @admin.action(description="Cancel the selected runs", permissions=["view"])
    def cancel_runs(self, request, queryset):
        for run in queryset.select_related("scan", "data_source"):
            try:
                services.scan_run_cancel(run=run, acting_user=request.user)
            except PermissionDenied:
                self.message_user(request, f"{run_title(run)}: you may not cancel it.", messages.ERROR)
            except services.RunNotCancellable:
                self.message_user(request, f"{run_title(run)} has already finished.", messages.WARNING)
            else:
                self.message_user(request, f"{run_title(run)}: cancelled.", messages.SUCCESS)


class RunFilter(admin.SimpleListFilter):
    title = "run"
    parameter_name = "run__id__exact"

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, f"#{value}")] if value else []

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(run_id=int(value)) if value and value.isdigit() else queryset


@admin.register(AssetChange)
class AssetChangeAdmin(ReadOnlyAdmin):
    list_display = ["id", "run_display", "kind", "asset_display", "changes_display", "created_at"]
    list_filter = [RunFilter, "kind"]
    search_fields = ["asset__qualified_name"]
    list_select_related = ["run__scan", "run__data_source", "asset"]  # a run is named by its scan or its source
    show_full_result_count = False
    paginator = EstimatedCountPaginator  # drift rows grow with every scan
    fields = ["run_display", "asset_display", "kind", "changes_display", "created_at"]
    readonly_fields = fields

    class Media:
        css = {"all": ["racine/scanning.css"]}

    @admin.display(description="run")
    def run_display(self, change):
        return run_link(change.run)

    @admin.display(description="asset")
    def asset_display(self, change):
        return asset_link(change.asset)

    @admin.display(description="what changed")
    def changes_display(self, change):
        return changes_table(change)


@admin.action(description="Detect sensitive data again (one run per data source)", permissions=["classify"])
def detect_again(modeladmin, request, queryset):
    if queryset.count() > MAX_DETECT_ASSETS:
        modeladmin.message_user(request, f"Select at most {MAX_DETECT_ASSETS} assets, or their table, schema or "
                                         "database instead.", messages.ERROR)
        return
    by_source: dict[DataSource, list[Asset]] = {}
    for asset in queryset.select_related("parent", "data_source"):
        by_source.setdefault(asset.data_source, []).append(asset)
    for source, assets in by_source.items():
        try:
            run = services.detection_run_request(assets=assets, acting_user=request.user)
        except PermissionDenied:
            modeladmin.message_user(request, f"{source}: you may not classify some of these assets.", messages.ERROR)
        except ValidationError as exc:
            modeladmin.message_user(request, f"{source}: {' '.join(exc.messages)}", messages.ERROR)
        except services.ScanAlreadyRunning as exc:
            modeladmin.message_user(request, _busy(source, exc), messages.WARNING)
        else:
            say_run(modeladmin, request, f"{source} ({counted(len(assets), 'asset')})", run)


DataSourceAdmin.contribute(actions=[scan_now], columns=[last_run], annotate=[with_last_run])
DataSourceAdmin.contribute_buttons(SCAN_NOW)
AssetAdmin.contribute(actions=[detect_again])

from scanning import admin_rules  # noqa: E402,F401  (registers the classification rule admin)
