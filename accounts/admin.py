"""The stewards' back office. Every governed admin goes through accounts.permissions, like the API: a steward sees
and changes here exactly what the API would let them, and every change goes through a service (audit row
included)."""
from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils.html import format_html, format_html_join

from accounts import audit, services
from accounts.authentication import api_token_revoke
from accounts.governed import GovernedModel
from accounts.models import ApiToken, AuditEvent, Membership, ObjectGrant, Organization, User, Workspace
from accounts.permissions import has_any_grant, has_perm
from accounts.selectors import visible, workspaces_allowing
from accounts.wording import counted


class RestrictedAdminMixin:
    """Scopes a ModelAdmin with the ``visible`` selector: changelists list only allowed rows; object pages answer
    as the API. Related-field choices come from selectors too (``formfield_for_foreignkey``)."""

    def get_queryset(self, request):
        return visible(super().get_queryset(request), user=request.user)

    def _allowed(self, request, action, obj=None):
        if obj is None:  # changelist and index: "any grant at all?" (grants are read once per request)
            return has_any_grant(request.user, self.model, action)
        # Django asks an object page the same questions several times (view, change, delete, the submit row):
        # one query per question and object in a request, not one per asking.
        asked = request.__dict__.setdefault("_racine_object_permissions", {})
        key = (type(obj)._meta.label, obj.pk, action)
        if key not in asked:
            asked[key] = has_perm(request.user, action, obj)
        return asked[key]

    def has_module_permission(self, request):
        return self._allowed(request, "view")

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, "view", obj) or self._allowed(request, "change", obj)

    def has_add_permission(self, request):
        return self._allowed(request, "add")

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, "change", obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, "delete", obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and type(formfield.widget) is widgets.ForeignKeyRawIdWidget:
            # A raw-id input takes any id typed in: only rows in scope are valid, and only they are named.
            if issubclass(db_field.related_model, GovernedModel):
                formfield.queryset = visible(formfield.queryset, user=request.user)
            formfield.widget = ScopedRawIdWidget(db_field.remote_field, self.admin_site, formfield.queryset,
                                                 using=formfield.widget.db)
        return formfield


class ScopedRawIdWidget(widgets.ForeignKeyRawIdWidget):
    """A raw-id input that names the chosen row only when it is in ``scope`` (the form field's queryset).
    Django's looks the id up in the whole table, so an id in the add page's URL (``?asset=<id>``) or in a refused
    form showed the name of a row of another workspace."""

    def __init__(self, rel, admin_site, scope, **kwargs):
        super().__init__(rel, admin_site, **kwargs)
        self.scope = scope  # not ``choices``: a ModelChoiceField sets that on its widget

    def label_and_url_for_value(self, value):
        try:
            chosen = self.scope.filter(**{self.rel.get_related_field().name: value}).exists()
        except (ValueError, TypeError, ValidationError):
            chosen = False
        return super().label_and_url_for_value(value) if chosen else ("", "")


def workspace_field_kwargs(*, user, perm: str) -> dict:
    """A workspace select's choices on an add form: the workspaces ``user`` may add to with ``perm``, the only one
    chosen already when there is nothing to choose."""
    workspaces = workspaces_allowing(user=user, perm=perm)
    only = list(workspaces[:2])
    return {"queryset": workspaces, **({"initial": only[0].pk} if len(only) == 1 else {})}


def admin_error_text(exc: Exception) -> str:
    return "; ".join(getattr(exc, "messages", None) or [str(exc)])


class ReadOnlyAdminMixin:
    """Nothing is added, changed or deleted through this admin (put it first among the bases); custom actions may
    still call services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceAdminMixin(RestrictedAdminMixin):
    """Saves and deletes through services, which authorise and audit. What a service refuses at save time (a grant
    revoked since the form opened, a rule the form could not check) is shown as a message and raised (403 for a
    permission)."""

    def run_service(self, request, fn, **kwargs):
        try:
            return fn(**kwargs)
        except (PermissionDenied, ValidationError) as exc:
            self.message_user(request, admin_error_text(exc), messages.ERROR)
            raise

    @staticmethod
    def stored(obj):
        """The row as stored. The admin hands save_model an instance the form has already changed, so a service
        given it would see no difference to validate, apply or audit."""
        return type(obj)._base_manager.get(pk=obj.pk)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


def add_service_errors(form, exc: ValidationError) -> None:
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
            add_service_errors(self, exc)


class ContributedAdminMixin:
    """A page that higher apps add actions and list columns to. Imports point down, so the page's own app cannot
    name what a higher app does with its objects (scan a source, detect an asset again); the higher app's admin
    module calls ``contribute`` instead. Actions are admin action functions (``modeladmin, request, queryset``),
    columns are list_display callables (``obj``), and ``annotate`` functions (``queryset`` → queryset) add to the
    page's queryset what those columns read, so that a column costs no query per row."""

    contributed_annotations: list[Callable] = []

    @classmethod
    def contribute(cls, *, actions: tuple[Callable, ...] = (), columns: tuple[Callable, ...] = (),
                   annotate: tuple[Callable, ...] = ()) -> None:
        cls.actions = [*(cls.actions or ()), *actions]
        cls.list_display = [*cls.list_display, *columns]
        cls.contributed_annotations = [*cls.contributed_annotations, *annotate]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        for annotate in self.contributed_annotations:
            queryset = annotate(queryset)
        return queryset


def _permission_labels(permissions) -> list[str]:
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in permissions)


class AuditedM2MAdminMixin:
    """Audits what the stock Django admins (users, groups) save, since they bypass the services: field changes,
    and the permission and group sets, which are grants. ``changeform_view`` is atomic, so the events commit
    with the change."""

    audit_event_prefix = ""
    audit_fields: list[str] = []
    audit_m2m: dict = {}  # m2m field -> function rendering the related objects as sorted labels

    def _m2m_state(self, obj) -> dict:
        return {name: render(getattr(obj, name).all()) for name, render in self.audit_m2m.items()}

    def save_model(self, request, obj, form, change):
        if change:
            stored = type(obj)._base_manager.get(pk=obj.pk)
            obj._racine_audit_before = (audit.snapshot(stored, self.audit_fields), self._m2m_state(stored))
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        after = (audit.snapshot(obj, self.audit_fields), self._m2m_state(obj))
        before = getattr(obj, "_racine_audit_before", ({}, {name: [] for name in self.audit_m2m}))
        changes = audit.diff(before[0], after[0])
        changes.update({name: [before[1].get(name, []), labels] for name, labels in after[1].items()
                        if labels != before[1].get(name, [])})
        if change and not changes:
            return
        event = f"{self.audit_event_prefix}.{'changed' if change else 'created'}"
        audit.record(event=event, actor=request.user, obj=obj, changes=changes, request=request)

    def delete_model(self, request, obj):
        audit.record(event=f"{self.audit_event_prefix}.deleted", actor=request.user, obj=obj, request=request,
                     changes=audit.diff({**audit.snapshot(obj, self.audit_fields), **self._m2m_state(obj)}, {}))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


@admin.register(User)
class RacineUserAdmin(AuditedM2MAdminMixin, RestrictedAdminMixin, UserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    audit_event_prefix = "user"
    audit_fields = services.USER_AUDIT_FIELDS
    audit_m2m = {"groups": lambda groups: sorted(group.name for group in groups),
                 "user_permissions": _permission_labels}
    actions = ["reset_second_factor", "unlock_login"]

    @admin.action(description="Reset second factor (lost device): remove it, log out, enrol again",
                  permissions=["change"])
    def reset_second_factor(self, request, queryset):
        try:
            with transaction.atomic():
                for user in queryset:
                    services.mfa_reset(user=user, acting_user=request.user, request=request)
        except (PermissionDenied, ValidationError) as exc:
            self.message_user(request, admin_error_text(exc), messages.ERROR)
            return
        self.message_user(request, f"Second factor reset for {counted(queryset.count(), 'user')}; they enrol again "
                                   "at their next login.", messages.SUCCESS)

    @admin.action(description="Unlock login: forget failed login attempts (lockout)", permissions=["change"])
    def unlock_login(self, request, queryset):
        try:
            with transaction.atomic():
                forgotten = sum(services.login_unlock(user=user, acting_user=request.user, request=request)
                                for user in queryset)
        except PermissionDenied as exc:
            self.message_user(request, admin_error_text(exc), messages.ERROR)
            return
        self.message_user(request, f"Login unlocked for {counted(queryset.count(), 'user')}; "
                                   f"{counted(forgotten, 'failed attempt')} forgotten.", messages.SUCCESS)

    def user_change_password(self, request, id, form_url=""):
        # The admin's set-password page saves outside changeform_view: audit the fact (never the value) here.
        with transaction.atomic():
            before = User.objects.filter(pk=id).values_list("password", flat=True).first()
            response = super().user_change_password(request, id, form_url)
            user = User.objects.filter(pk=id).first()
            if user is not None and before is not None and user.password != before:
                audit.record(event="user.password_changed", actor=request.user, obj=user, request=request)
        return response


admin.site.unregister(Group)


@admin.register(Group)
class RacineGroupAdmin(AuditedM2MAdminMixin, GroupAdmin):
    """Groups carry model-level permissions (the Auditors group reads every workspace): every edit is a grant."""

    audit_event_prefix = "group"
    audit_fields = ["name"]
    audit_m2m = {"permissions": _permission_labels}


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "max_token_lifetime_days", "audit_retention_days", "lockout_failures",
                    "lockout_address_accounts"]
    fieldsets = [
        (None, {"fields": ["name", "mfa_required_roles", "max_token_lifetime_days", "audit_retention_days"]}),
        ("Login lockout", {
            "fields": ["lockout_failures", "lockout_address_accounts", "lockout_minutes"],
            "description": "Failures lock one account from one address; an address is blocked for everyone only "
                           "when its failures span many accounts.",
        }),
    ]

    def has_add_permission(self, request):
        # One organization per installation, created by `manage.py bootstrap`.
        return not Organization.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # The organization's policies (MFA, lockout, token lifetime, audit retention) weaken security when
        # lowered: every change is on the trail, in the admin's own transaction.
        fields = [field.name for field in Organization._meta.concrete_fields
                  if field.name not in ("id", "created_at", "updated_at")]
        before = audit.snapshot(Organization.objects.get(pk=obj.pk), fields) if change else {}
        super().save_model(request, obj, form, change)
        changes = audit.diff(before, audit.snapshot(obj, fields))
        if changes:
            audit.record(event="organization.changed" if change else "organization.created", actor=request.user,
                         obj=obj, changes=changes, request=request)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["user", "role", "created_at"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # memberships are added on their own page, through the service


@admin.register(Workspace)
class WorkspaceAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "organization", "created_at"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        if change:
            self.run_service(request, services.workspace_update, workspace=self.stored(obj), acting_user=request.user,
                         **{name: form.cleaned_data[name] for name in form.changed_data
                            if name in Workspace.audit_fields})
        else:
            created = self.run_service(request, services.workspace_create, acting_user=request.user,
                                   name=obj.name, slug=obj.slug, description=obj.description,
                                   organization=obj.organization)
            obj.pk = created.pk

    def save_formset(self, request, form, formset, change):
        # The inline is read-only: write nothing, but let the formset note that nothing changed, which the
        # admin's change message reads (skipping this made every workspace save a 500).
        formset.save(commit=False)

    def delete_model(self, request, obj):
        self.run_service(request, services.workspace_delete, workspace=obj, acting_user=request.user)


@admin.register(Membership)
class MembershipAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role", "workspace"]
    search_fields = ["user__username", "user__email", "workspace__name"]
    autocomplete_fields = []

    def get_readonly_fields(self, request, obj=None):
        return ["user", "workspace"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "workspace":
            kwargs["queryset"] = workspaces_allowing(user=request.user, perm="accounts.add_membership")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_filter(self, request):
        return ["role"]  # a workspace filter would list every workspace's name, including unseen ones

    def save_model(self, request, obj, form, change):
        if change:
            self.run_service(request, services.membership_change_role, membership=self.stored(obj),
                         role=form.cleaned_data["role"], acting_user=request.user)
        else:
            created = self.run_service(request, services.membership_create, user=obj.user,
                                   workspace=obj.workspace, role=obj.role, acting_user=request.user)
            obj.pk = created.pk

    def delete_model(self, request, obj):
        self.run_service(request, services.membership_delete, membership=obj, acting_user=request.user)



@admin.register(ObjectGrant)
class ObjectGrantAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Direct grants are created by approved requests; here superusers review and revoke them."""

    list_display = ["user", "permission", "content_type", "object_id", "expires_at", "revoked_at", "granted_by"]
    list_select_related = ["user", "permission__content_type", "content_type", "granted_by"]
    list_filter = ["content_type"]
    search_fields = ["user__username", "object_id", "reason"]
    readonly_fields = ["user", "content_type", "object_id", "permission", "expires_at", "granted_by", "reason",
                       "created_at", "revoked_at"]
    actions = ["revoke_selected"]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


    @admin.action(description="Revoke the selected grants", permissions=["view"])
    def revoke_selected(self, request, queryset):
        for grant in queryset:
            services.object_grant_revoke(grant=grant, acting_user=request.user, reason="revoked in the admin")


def readable_value(value) -> str:
    """A value of the audit trail's JSON as a person reads it: lists joined, mappings as "key: value", nothing
    said as such."""
    if value is None:
        return "—"
    if value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(readable_value(item) for item in value) or "(none)"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {readable_value(item)}" for key, item in value.items()) or "(none)"
    return str(value)


def _label(name) -> str:
    return str(name).replace("_", " ")


def changes_table(changes: dict):
    """A ``{field: [before, after]}`` diff (accounts.audit.diff) as a table of field, before and after; a value
    of another shape (written by hand) spans both columns."""
    if not changes:
        return "—"
    rows = format_html_join("", "{}", (
        (format_html("<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>", _label(name),
                     readable_value(value[0]), readable_value(value[1]))
         if isinstance(value, (list, tuple)) and len(value) == 2 else
         format_html("<tr><th scope=\"row\">{}</th><td colspan=\"2\">{}</td></tr>", _label(name),
                     readable_value(value)),)
        for name, value in changes.items()))
    return format_html('<table class="racine-changes"><thead><tr><th scope="col">Field</th><th scope="col">Before'
                       '</th><th scope="col">After</th></tr></thead><tbody>{}</tbody></table>', rows)


def details_table(details: dict):
    """A mapping as a table of one row per key."""
    if not details:
        return "—"
    rows = format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>',
                            ((_label(name), readable_value(value)) for name, value in details.items()))
    return format_html('<table class="racine-details"><tbody>{}</tbody></table>', rows)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, RestrictedAdminMixin, admin.ModelAdmin):
    """Read-only: nobody adds, changes or deletes audit events here (nor anywhere else). What changed and the
    event's details are shown as tables, not as the JSON they are stored as."""

    list_display = ["created_at", "event", "actor_label", "workspace", "object_repr", "changed_fields"]
    list_filter = ["event"]
    search_fields = ["event", "actor_label", "object_repr", "request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["workspace"]
    readonly_fields = ["created_at", "event", "actor_label", "workspace", "content_type", "object_id",
                       "object_repr", "changes_display", "details_display", "request_id", "ip", "user_agent"]
    fields = readonly_fields
    actions = None


    def has_view_permission(self, request, obj=None):
        return self._allowed(request, "view", obj)

    @admin.display(description="changed")
    def changed_fields(self, event):
        return ", ".join(_label(name) for name in event.changes) or "—"

    @admin.display(description="changes")
    def changes_display(self, event):
        return changes_table(event.changes)

    @admin.display(description="details")
    def details_display(self, event):
        return details_table(event.extra)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only, with one audited action: revoke. Editing ``revoked_at`` here used to bring a revoked token back
    to life, and a deletion erased it, both without an audit event. Tokens are created from an MFA-verified
    session or by ``manage.py create_token``; a revoked one stays, so the trail's references to it stay readable."""

    list_display = ["name", "prefix", "user", "scope", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["scope"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["user", "name", "prefix", "scope", "created_at", "expires_at", "last_used_at", "revoked_at"]
    exclude = ["secret_hash"]
    actions = ["revoke_selected"]


    @admin.action(description="Revoke the selected tokens", permissions=["view"])
    def revoke_selected(self, request, queryset):
        for api_token in queryset.select_related("user"):
            api_token_revoke(api_token=api_token, acting_user=request.user, request=request)
