"""Data sources in the stewards' back office. Scoped like the API (RestrictedAdminMixin); every change and every
action goes through sources.services, so the audit trail stays complete. A source's secret is write-only here too:
the form has a password field that never renders a value.

A source's page has buttons (Test connection here; Scan now from scanning, see ``ObjectButtonsMixin``) that post
to the admin, call the service and come back to the page with what happened; below its form, the parts higher apps
contribute (``PAGE_PARTS``): the catalog's curation of the source, its contents and history."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.text import get_text_list
from django.views.decorators.http import require_POST

from accounts.admin import ContributedAdminMixin, ServiceAdminMixin, workspace_field_kwargs
from accounts.contributions import Registry
from accounts.permissions import has_perm
from config.serializers import is_id_text
from sources import services
from sources.forms import DRIVER_OPTIONS, ENGINE_LABELS, DataSourceForm, option_fieldsets
from sources.models import DataSource
from sources.openlineage import namespaces_in_use
from sources.selectors import datasource_list


class VisibleDataSourceFilter(admin.SimpleListFilter):
    """Filter by data source, offering only the sources the steward may see (a plain related filter would list
    every workspace's source names)."""

    title = "data source"
    parameter_name = "data_source"
    source_field = "data_source_id"

    def lookups(self, request, model_admin):
        sources = datasource_list(user=request.user)
        return [(str(source.pk), f"{source.name} ({source.workspace.name})") for source in sources]

    def queryset(self, request, queryset):
        value = self.value()
        if is_id_text(value):
            return queryset.filter(**{self.source_field: int(value)})
        return queryset


MAX_CONNECTION_TESTS_PER_ACTION = 3

# The parts of a data source's page below its form, contributed by higher apps from a module ``admin_sources``
# (accounts.contributions): a builder ``build(request, source) -> dict | None`` registered with ``page_part``.
PAGE_PARTS = Registry("admin_sources", "data source page parts")
page_part = PAGE_PARTS.register


@dataclass(frozen=True)
class ObjectButton:
    """A button on an object's change page. ``shown(user, obj)`` decides whether it is offered (and a post from
    a user it is not offered to is a 403); ``act(modeladmin, request, obj)`` calls the service, which authorises
    and audits, and says what happened with ``message_user``."""

    name: str  # in the URL: <object id>/do/<name>/
    label: str
    shown: Callable[..., bool]
    act: Callable[..., None]


class ObjectButtonsMixin:
    """Buttons on the change page, each a form that posts (with its CSRF token) to ``<object id>/do/<name>/``;
    the answer is the same page, with the message the button left. A higher app adds its own with
    ``contribute_buttons`` from its admin module, as it adds actions (``ContributedAdminMixin``)."""

    object_buttons: tuple[ObjectButton, ...] = ()

    @classmethod
    def contribute_buttons(cls, *buttons: ObjectButton) -> None:
        cls.object_buttons = (*cls.object_buttons, *buttons)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_button"
        return [path("<path:object_id>/do/<slug:button>/", self.admin_site.admin_view(self.object_button_view),
                     name=name), *super().get_urls()]

    def buttons_for(self, request, obj) -> list[tuple[ObjectButton, str]]:
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_button"
        return [(button, reverse(name, args=[obj.pk, button.name])) for button in self.object_buttons
                if button.shown(request.user, obj)]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        if obj is not None:
            extra_context = {**(extra_context or {}), "object_buttons": self.buttons_for(request, obj)}
        return super().change_view(request, object_id, form_url, extra_context)

    @method_decorator(require_POST)
    def object_button_view(self, request, object_id, button):
        chosen = next((each for each in self.object_buttons if each.name == button), None)
        obj = self.get_object(request, unquote(object_id))  # the admin's queryset: only rows in the user's scope
        if chosen is None or obj is None or not self.has_view_permission(request, obj):
            raise Http404
        if not chosen.shown(request.user, obj):
            raise PermissionDenied
        chosen.act(self, request, obj)
        return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk]))


def say_connection_test(modeladmin, request, source: DataSource, *, prefix: str = "") -> None:
    """Test ``source``'s connection and say how it went: the server and the session, or the precise error (as
    precise as the caller may read: see ``services.connection_failure_message``)."""
    try:
        info = services.datasource_test_connection(data_source=source, acting_user=request.user)
    except PermissionDenied:
        modeladmin.message_user(request, f"{prefix}you may not test this connection.", messages.ERROR)
    except services.ConnectionTestFailed as exc:
        modeladmin.message_user(request, f"{prefix}connection failed: {exc}", messages.ERROR)
    except services.ConnectionTestBusy as exc:
        modeladmin.message_user(request, f"{prefix}not tested. {exc}", messages.ERROR)
    else:
        read_only = "read-only session" if info.read_only else "WARNING: the session accepts writes"
        modeladmin.message_user(request, f"{prefix}connected to {info.server} as {info.current_user or '—'} "
                                         f"({read_only}).", messages.SUCCESS if info.read_only else messages.WARNING)


TEST_CONNECTION = ObjectButton(
    name="test-connection", label="Test connection",
    shown=lambda user, source: has_perm(user, "test_connection", source),
    act=lambda modeladmin, request, source: say_connection_test(modeladmin, request, source, prefix="Test: "))


@admin.register(DataSource)
class DataSourceAdmin(ObjectButtonsMixin, ContributedAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    """Scanning contributes its "scan now" action and button and a last-run column (see ``ContributedAdminMixin``,
    ``ObjectButtonsMixin``)."""

    form = DataSourceForm
    object_buttons = (TEST_CONNECTION,)
    # Few and narrow columns: scanning adds the last run, and at 1400 px the list shares the window with the
    # navigation and the filters.
    list_display = ["name", "workspace", "engine", "location", "has_secret"]
    list_filter = ["engine"]  # a workspace filter would list every workspace's name, including unseen ones
    search_fields = ["name", "host", "database"]
    list_select_related = ["workspace"]
    actions = ["test_connection"]

    class Media:
        css = {"all": ["racine/sources.css"]}
        js = ["racine/datasource_form.js"]

    def get_fieldsets(self, request, obj=None):
        connection = ["workspace", "name", "engine", "host", "port", "database", "username"]
        if obj is not None and not self.has_change_permission(request, obj):  # a viewer: nothing to write
            return [(None, {"fields": [*connection, "options_display", "has_secret"]}),
                    ("OpenLineage", {"fields": ["namespaces_in_use"]})]
        lineage = ("OpenLineage", {"fields": ["openlineage_namespaces", *(["namespaces_in_use"] if obj else [])],
                                   "description": "OpenLineage events (POST /api/v1/openlineage/) whose datasets "
                                                  "are in these namespaces are matched to this source's tables."})
        return [(None, {"fields": [*connection, "password", "clear_secret"]}), *option_fieldsets(), lineage]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["source_parts"] = PAGE_PARTS.shown(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_readonly_fields(self, request, obj=None):
        return ["workspace", "namespaces_in_use"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "workspace":
            kwargs.update(workspace_field_kwargs(user=request.user, perm="sources.add_datasource"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(boolean=True, description="secret")
    def has_secret(self, obj):
        return obj.has_secret

    @admin.display(description="where", ordering="host")
    def location(self, obj):
        if obj.engine == DataSource.Engine.SQLITE:
            return obj.database
        if obj.engine == DataSource.Engine.SQLALCHEMY:
            return (obj.options or {}).get("url") or "—"  # never with a password: the services refuse one
        return f"{obj.host}{f':{obj.port}' if obj.port else ''}/{obj.database}"

    @admin.display(description="namespaces in use")
    def namespaces_in_use(self, obj):
        in_use = namespaces_in_use(obj)
        if not in_use:
            return "none: declare the namespaces OpenLineage events name this source in"
        derived = "" if obj.openlineage_namespaces else " (from the connection settings)"
        return format_html("{}{}", format_html_join("", "<div>{}</div>", ((namespace,) for namespace in in_use)),
                           derived)

    @admin.display(description="driver options")
    def options_display(self, obj):
        labels = {option.key: option.field.label for option in DRIVER_OPTIONS if option.engine == obj.engine}
        if not obj.options:
            return f"none (the {ENGINE_LABELS.get(obj.engine, obj.engine)} driver's defaults)"
        return format_html_join("", "<div>{}: {}</div>", ((labels.get(key, key), value)
                                                          for key, value in sorted(obj.options.items())))

    def _fields(self, form):
        names = [name for name in services.DATASOURCE_FIELDS if name in form.cleaned_data]
        return {name: form.cleaned_data[name] for name in names}

    def _password(self, form):
        if form.cleaned_data.get("clear_secret"):
            return ""
        return form.cleaned_data.get("password") or None  # blank keeps the stored secret

    def save_model(self, request, obj, form, change):
        if change:
            fields = {name: value for name, value in self._fields(form).items() if name in form.changed_data}
            stored = self.stored(obj)
            had_secret, retargeted = stored.has_secret, services.secret_target_changes(stored, fields)
            updated = self.run_service(request, services.datasource_update, data_source=stored,
                                       acting_user=request.user, password=self._password(form), **fields)
            if had_secret and not updated.has_secret and self._password(form) is None:
                self._say_secret_dropped(request, updated, retargeted)
        else:
            created = self.run_service(request, services.datasource_create, workspace=form.cleaned_data["workspace"],
                                       acting_user=request.user, password=self._password(form) or "",
                                       **self._fields(form))
            obj.pk = created.pk

    def _say_secret_dropped(self, request, source, retargeted: list[str]) -> None:
        # The service dropped the secret (the caller changed where it is sent and may not read it): without this
        # message the steward sees "changed successfully" and learns of it from the next failed scan.
        self.message_user(request, f"The stored password of “{source}” was removed because you changed "
                                   f"{get_text_list(retargeted, 'and')} and may not read it: enter the password "
                                   "again, or scans cannot log in.", messages.WARNING)

    def delete_model(self, request, obj):
        self.run_service(request, services.datasource_delete, data_source=obj, acting_user=request.user)

    def get_deleted_objects(self, objs, request):
        # Django refuses the deletion unless the user may delete every kind of object it cascades to; scan runs
        # and classifications are history with no delete of their own here, so a scanned source could not be
        # deleted by anyone, superusers included. Deleting the source is what the service authorises (and audits),
        # with everything under it.
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

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
            say_connection_test(self, request, source, prefix=f"{source}: ")
