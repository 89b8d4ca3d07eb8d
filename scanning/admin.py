"""Data sources and scans in the stewards' back office. Scoped like the API (RestrictedAdminMixin); every change
and every action goes through scanning.services, so the audit trail and the beat schedule stay in step. A data
source's secret is write-only here too: the form has a password field that never renders a value."""
from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import get_text_list

from accounts.admin import ReadOnlyAdminMixin, RestrictedAdminMixin, ServiceAdminMixin
from accounts.models import User
from accounts.permissions import has_any_grant, restrict
from accounts.selectors import workspace_list, workspaces_allowing
from catalog.admin import ASSET_PROXIES, AssetAdmin, VisibleDataSourceFilter
from catalog.models import Asset, DataSource
from config.pagination import EstimatedCountPaginator
from scanning import services
from scanning.models import AssetChange, Scan, ScanRuleSet, ScanRun
from scanning.services.detection import MAX_DETECT_ASSETS


def _add_service_errors(form, exc: ValidationError) -> None:
    """A service's ValidationError onto the form, by field where it names one the form has."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class ServiceValidatedForm(forms.ModelForm):
    """Runs the service's own validation on the would-be instance, so that the rules the service enforces at save
    time (the connectors' settings, cron syntax, patterns) show as form errors, not as a failed save. Subclasses
    set ``validate`` to that service function."""

    validate: Callable[[models.Model], None]

    def _post_clean(self):
        super()._post_clean()  # builds self.instance from the cleaned data and runs the model's validation
        if self.errors:
            return
        try:
            self.validate(self.instance)
        except ValidationError as exc:
            _add_service_errors(self, exc)


class ServiceAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """The forms have already run the services' validation; the services still authorise and audit."""


def _busy(label, exc: services.ScanAlreadyRunning) -> str:
    return (f"{label}: a scan or detection of its source is already queued or running"
            f"{f' (run #{exc.run.pk})' if exc.run else ''}.")


def _queue_run(modeladmin, request, label, scan_of) -> None:
    """Queue a run from an admin action (``scan_of()`` gives the scan) and say how it went."""
    try:
        run = services.scan_run_request(scan=scan_of(), trigger=ScanRun.Trigger.MANUAL, acting_user=request.user)
    except PermissionDenied:
        modeladmin.message_user(request, f"{label}: you may not run scans of this source.", messages.ERROR)
    except services.ScanAlreadyRunning as exc:
        modeladmin.message_user(request, _busy(label, exc), messages.WARNING)
    else:
        modeladmin.message_user(request, f"{label}: scan queued (run #{run.pk}).", messages.SUCCESS)


# --- data sources -----------------------------------------------------------------------------------------------


class DataSourceForm(ServiceValidatedForm):
    password = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only. Leave blank to keep the stored secret; it is dropped when engine, host, port, "
                  "database, username or options change and you may not read it.")
    clear_secret = forms.BooleanField(required=False, help_text="Remove the stored secret.")

    class Meta:
        model = DataSource
        fields = ["workspace", "name", "engine", "host", "port", "database", "username", "options", "description",
                  "owners"]

    validate = staticmethod(services.datasources.validate_settings)


MAX_CONNECTION_TESTS_PER_ACTION = 3


@admin.register(DataSource)
class DataSourceAdmin(ServiceAdmin):
    form = DataSourceForm
    list_display = ["name", "workspace", "engine", "host", "database", "has_secret", "last_run", "created_at"]
    list_filter = ["engine"]  # a workspace filter would list every workspace's name, including unseen ones
    search_fields = ["name", "host", "database", "description"]
    list_select_related = ["workspace"]
    filter_horizontal = ["owners"]
    actions = ["test_connection", "scan_now"]

    def get_readonly_fields(self, request, obj=None):
        return ["workspace"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "workspace":
            kwargs["queryset"] = workspaces_allowing(user=request.user, perm="catalog.add_datasource")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "owners":  # members of the caller's workspaces; the service checks the source's own
            kwargs["queryset"] = User.objects.filter(
                is_active=True, memberships__workspace__in=workspace_list(user=request.user)).distinct()
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(boolean=True, description="secret")
    def has_secret(self, obj):
        return obj.has_secret

    @admin.display(description="last run")
    def last_run(self, obj):
        run = obj.scan_runs.order_by("-queued_at").first()
        if run is None:
            return "—"
        return format_html('<a href="{}">#{} {}</a>', reverse("admin:scanning_scanrun_change", args=[run.pk]),
                           run.pk, run.get_status_display())

    def _fields(self, form):
        names = [name for name in services.datasources.DATASOURCE_FIELDS if name in form.cleaned_data]
        return {name: form.cleaned_data[name] for name in names}

    def _password(self, form):
        if form.cleaned_data.get("clear_secret"):
            return ""
        return form.cleaned_data.get("password") or None  # blank keeps the stored secret

    def save_model(self, request, obj, form, change):
        owners = form.cleaned_data.get("owners")
        if change:
            fields = {name: value for name, value in self._fields(form).items() if name in form.changed_data}
            stored = self.stored(obj)
            had_secret, retargeted = stored.has_secret, services.datasources.secret_target_changes(stored, fields)
            updated = self.run_service(request, services.datasource_update, data_source=stored,
                                       acting_user=request.user, password=self._password(form),
                                       owners=owners if "owners" in form.changed_data else None, **fields)
            if had_secret and not updated.has_secret and self._password(form) is None:
                self._say_secret_dropped(request, updated, retargeted)
        else:
            created = self.run_service(request, services.datasource_create, workspace=form.cleaned_data["workspace"],
                                       acting_user=request.user, password=self._password(form) or "",
                                       owners=owners or (), **self._fields(form))
            obj.pk = created.pk

    def save_related(self, request, form, formsets, change):
        pass  # owners were saved by the service, with the rest

    def _say_secret_dropped(self, request, source, retargeted: list[str]) -> None:
        # The service dropped the secret (the caller changed where it is sent and may not read it): without this
        # message the steward sees "changed successfully" and learns of it from the next failed scan.
        self.message_user(request, f"The stored password of “{source}” was removed because you changed "
                                   f"{get_text_list(retargeted, 'and')} and may not read it: enter the password "
                                   "again, or scans cannot log in.", messages.WARNING)

    def delete_model(self, request, obj):
        self.run_service(request, services.datasource_delete, data_source=obj, acting_user=request.user)

    @admin.action(description="Test connection", permissions=["view"])
    def test_connection(self, request, queryset):
        # One request tests the sources one after another, each for up to the connect timeout (and a failure seen
        # without the right to read the secret always takes that long): a long selection would hold a web worker
        # past the server's request timeout.
        if queryset.count() > MAX_CONNECTION_TESTS_PER_ACTION:
            self.message_user(request, f"Select at most {MAX_CONNECTION_TESTS_PER_ACTION} sources to test at once.",
                              messages.ERROR)
            return
        for source in queryset:
            try:
                info = services.datasource_test_connection(data_source=source, acting_user=request.user)
            except PermissionDenied:
                self.message_user(request, f"{source}: you may not test this connection.", messages.ERROR)
            except services.ConnectionTestFailed as exc:
                self.message_user(request, f"{source}: connection failed: {exc}", messages.ERROR)
            except services.ConnectionTestBusy as exc:
                self.message_user(request, f"{source}: not tested. {exc}", messages.ERROR)
            else:
                read_only = "read-only session" if info.read_only else "WARNING: the session accepts writes"
                self.message_user(request, f"{source}: connected to {info.server_version} as "
                                           f"{info.current_user or '—'} ({read_only}).", messages.SUCCESS)

    @admin.action(description="Scan now", permissions=["view"])
    def scan_now(self, request, queryset):
        for source in queryset:
            _queue_run(self, request, source,
                       lambda source=source: services.scan_default(data_source=source, acting_user=request.user))


# --- rule sets and scans ------------------------------------------------------------------------------------------


class ScanRuleSetForm(ServiceValidatedForm):
    validate = staticmethod(services.scans.validate_rule_set)

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
            kwargs["queryset"] = workspaces_allowing(user=request.user, perm="scanning.add_scanruleset")
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
            kwargs["queryset"] = restrict(DataSource.objects.select_related("workspace"), request.user, "view")
        if db_field.name == "rule_set":
            kwargs["queryset"] = restrict(ScanRuleSet.objects.all(), request.user, "view")
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


class AssetChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The first changes of a run; the full list is on the drift page, linked from the run."""

    model = AssetChange
    fields = ["kind", "asset", "changes"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    LIMIT = 50

    def get_queryset(self, request):
        # The inline's queryset cannot be sliced (the formset filters it by run afterwards), so it stays whole;
        # get_formset caps what is rendered.
        return restrict(super().get_queryset(request), request.user, "view").select_related("asset")

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


@admin.register(ScanRun)
class ScanRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "what", "data_source", "status", "trigger", "requested_by", "progress", "added", "changed",
                    "removed", "unchanged", "columns_classified", "duration_display", "queued_at"]
    list_filter = ["status", "trigger", VisibleDataSourceFilter]
    search_fields = ["scan__name", "data_source__name", "error"]
    list_select_related = ["scan", "data_source", "requested_by"]
    date_hierarchy = "queued_at"
    fields = ["scan", "data_source", "status", "trigger", "requested_by", "targets_display", "phase", "progress",
              "objects_seen", "added", "changed", "removed", "unchanged", "columns_classified", "queued_at",
              "started_at", "heartbeat_at", "finished_at", "duration_display", "cancel_requested", "attempts",
              "error", "drift_link"]
    readonly_fields = fields
    inlines = [AssetChangeInline]
    actions = ["cancel_runs"]

    @admin.display(description="scan", ordering="scan__name")
    def what(self, run):
        return run.scan if run.scan_id is not None else "Detection on demand"

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
        if run.progress_total:
            share = min(100, round(100 * run.progress_done / run.progress_total))
            if run.counts_tables:
                return f"{run.progress_done} / {run.progress_total} tables ({share} %)"
            return f"{run.progress_done} / ~{run.progress_total} ({share} %)"
        return f"{run.progress_done}"

    @admin.display(description="duration")
    def duration_display(self, run):
        duration = run.duration
        return f"{duration.total_seconds():.1f} s" if duration is not None else "—"

    @admin.display(description="drift")
    def drift_link(self, run):
        url = reverse("admin:scanning_assetchange_changelist") + f"?run__id__exact={run.pk}"
        return format_html('<a href="{}">All {} changes of this run</a>', url, run.changes.count())

    @admin.action(description="Cancel the selected runs", permissions=["view"])
    def cancel_runs(self, request, queryset):
        for run in queryset.select_related("scan"):
            try:
                services.scan_run_cancel(run=run, acting_user=request.user)
            except PermissionDenied:
                self.message_user(request, f"Run #{run.pk}: you may not cancel it.", messages.ERROR)
            except services.RunNotCancellable:
                self.message_user(request, f"Run #{run.pk} has already finished.", messages.WARNING)
            else:
                self.message_user(request, f"Run #{run.pk}: cancelled.", messages.SUCCESS)


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
    list_display = ["id", "run", "kind", "asset", "created_at"]
    list_filter = [RunFilter, "kind"]
    search_fields = ["asset__qualified_name"]
    list_select_related = ["run", "asset"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator  # drift rows grow with every scan
    fields = ["run", "asset", "kind", "changes", "created_at"]
    readonly_fields = fields



# --- detection on demand, from the asset pages ----------------------------------------------------------------


class AssetDetectionAdmin(AssetAdmin):
    """catalog's asset pages with a "detect again" action: detection is scanning's, and catalog may not import
    scanning, so scanning registers the asset pages again with it."""

    actions = ["detect_again"]

    def has_classify_permission(self, request):
        return has_any_grant(request.user, Asset, "classify")

    @admin.action(description="Detect sensitive data again (one run per data source)", permissions=["classify"])
    def detect_again(self, request, queryset):
        if queryset.count() > MAX_DETECT_ASSETS:
            self.message_user(request, f"Select at most {MAX_DETECT_ASSETS} assets, or their table, schema or "
                                       "database instead.", messages.ERROR)
            return
        by_source: dict[DataSource, list[Asset]] = {}
        for asset in queryset.select_related("parent", "data_source"):
            by_source.setdefault(asset.data_source, []).append(asset)
        for source, assets in by_source.items():
            try:
                run = services.detection_run_request(assets=assets, acting_user=request.user)
            except PermissionDenied:
                self.message_user(request, f"{source}: you may not classify some of these assets.", messages.ERROR)
            except ValidationError as exc:
                self.message_user(request, f"{source}: {' '.join(exc.messages)}", messages.ERROR)
            except services.ScanAlreadyRunning as exc:
                self.message_user(request, _busy(source, exc), messages.WARNING)
            else:
                self.message_user(request, format_html(
                    '{}: detection queued on {} asset(s) — <a href="{}">run #{}</a>.', source, len(assets),
                    reverse("admin:scanning_scanrun_change", args=[run.pk]), run.pk), messages.SUCCESS)


for asset_proxy in ASSET_PROXIES:
    admin.site.unregister(asset_proxy)
    admin.site.register(asset_proxy, AssetDetectionAdmin)

from scanning import admin_rules  # noqa: E402,F401  (registers the classification rule admin)
