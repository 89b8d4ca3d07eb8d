"""Data sources in the stewards' back office. Scoped like the API (RestrictedAdminMixin); every change and every
action goes through sources.services, so the audit trail stays complete. A source's secret is write-only here too:
the form has a password field that never renders a value."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.text import get_text_list

from accounts.admin import ContributedAdminMixin, ServiceAdminMixin, ServiceValidatedForm
from accounts.selectors import workspaces_allowing
from sources import services
from sources.models import DataSource
from sources.selectors import datasource_list, datasource_owner_choices


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
        if value and value.isdigit():
            return queryset.filter(**{self.source_field: int(value)})
        return queryset


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

    validate = staticmethod(services.validate_settings)


MAX_CONNECTION_TESTS_PER_ACTION = 3


@admin.register(DataSource)
class DataSourceAdmin(ContributedAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    """Scanning contributes its "scan now" action and a last-run column (see ``ContributedAdminMixin``)."""

    form = DataSourceForm
    list_display = ["name", "workspace", "engine", "host", "database", "has_secret", "created_at"]
    list_filter = ["engine"]  # a workspace filter would list every workspace's name, including unseen ones
    search_fields = ["name", "host", "database", "description"]
    list_select_related = ["workspace"]
    filter_horizontal = ["owners"]
    actions = ["test_connection"]

    def get_readonly_fields(self, request, obj=None):
        return ["workspace"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "workspace":
            kwargs["queryset"] = workspaces_allowing(user=request.user, perm="sources.add_datasource")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "owners":  # members of the caller's workspaces; the service checks the source's own
            kwargs["queryset"] = datasource_owner_choices(user=request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(boolean=True, description="secret")
    def has_secret(self, obj):
        return obj.has_secret

    def _fields(self, form):
        names = [name for name in services.DATASOURCE_FIELDS if name in form.cleaned_data]
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
            had_secret, retargeted = stored.has_secret, services.secret_target_changes(stored, fields)
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
                self.message_user(request, f"{source}: connected to {info.server} as "
                                           f"{info.current_user or '—'} ({read_only}).", messages.SUCCESS)
