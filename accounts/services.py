"""Writes to identity and access objects.

Arguments are keyword-only; every service runs in a transaction and writes its audit event in that transaction.
``acting_user`` is required: the user who acts, or ``accounts.actors.SYSTEM`` (tasks, commands, bootstrap), which
skips the authorisation check and is recorded as ``system``. Authorisation of a change lives here, against the
parent workspace, so the API, the admin and commands share one rule.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

from accounts import audit, lockout, mfa, writes
from accounts.actors import SYSTEM, SystemActor, user_or_none
from accounts.fields import check_text
from accounts.models import AuditEvent, Membership, ObjectGrant, Organization, User, Workspace
from accounts.permissions import authorize, clear_cache, perm_name, workspace_allows
from accounts.roles import AUDITORS_GROUP, ORGANIZATION_WIDE_ROLES, Role, permission_names, role_grants

logger = logging.getLogger("racine.accounts")

DEFAULT_WORKSPACE_NAME = "Default"
USER_AUDIT_FIELDS = ["username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser"]


def _require_superuser(acting_user: User | SystemActor) -> None:
    authorize(acting_user, lambda: acting_user.is_superuser)


# --- Organization, workspaces -------------------------------------------------------------------------------


@transaction.atomic
def organization_ensure(*, name: str | None = None) -> tuple[Organization, bool]:
    """The installation's organization, created on first call."""
    organization = Organization.objects.order_by("pk").first()
    if organization is not None:
        return organization, False
    organization = Organization.objects.create(name=name or settings.RACINE_ORGANIZATION_NAME)
    audit.record(event="organization.created", obj=organization)
    return organization, True


@transaction.atomic
def workspace_ensure(*, organization: Organization, name: str) -> tuple[Workspace, bool]:
    workspace, created = Workspace.objects.get_or_create(
        slug=slugify(name)[:100], defaults={"organization": organization, "name": name})
    if created:
        audit.record_created(event="workspace.created", actor=SYSTEM, obj=workspace)
    return workspace, created


@transaction.atomic
def workspace_create(*, name: str, acting_user: User | SystemActor, slug: str = "", description: str = "",
                     organization: Organization | None = None) -> Workspace:
    """A new workspace. Creating one is an organization-level act: superusers or holders of the model-level
    ``accounts.add_workspace`` permission."""
    with writes.creating(Workspace, acting_user=acting_user, event="workspace.created",
                         allowed=lambda: acting_user.has_perm("accounts.add_workspace"),
                         values={"name": name, "slug": slug or slugify(name)[:100],
                                 "description": description}) as workspace:
        workspace.organization = organization or Organization.current()
        workspace.full_clean()
    return workspace


@transaction.atomic
def workspace_update(*, workspace: Workspace, acting_user: User | SystemActor, **fields) -> Workspace:
    authorize(acting_user, lambda: workspace_allows(acting_user, "accounts.change_workspace", workspace))
    unknown = set(fields) - set(Workspace.audit_fields)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed."))
    before = audit.snapshot(workspace, Workspace.audit_fields)
    for name, value in fields.items():
        setattr(workspace, name, value)
    changes = audit.diff(before, audit.snapshot(workspace, Workspace.audit_fields))
    if not changes:
        return workspace  # nothing changed: no write and no audit row, so retries stay quiet
    workspace.full_clean()
    workspace.save(update_fields=[*changes, "updated_at"])
    audit.record(event="workspace.changed", actor=acting_user, obj=workspace, changes=changes)
    return workspace


@transaction.atomic
def workspace_delete(*, workspace: Workspace, acting_user: User | SystemActor) -> None:
    """Delete a workspace, its memberships and every guardian grant held on it."""
    authorize(acting_user, lambda: workspace_allows(acting_user, "accounts.delete_workspace", workspace))
    members = list(workspace.memberships.values_list("user__username", "role"))
    audit.record(event="workspace.deleted", actor=acting_user, obj=workspace,
                 changes=audit.diff(audit.snapshot(workspace, Workspace.audit_fields), {}),
                 extra={"memberships": [[username, role] for username, role in members]})
    # Guardian's generic rows have no foreign key to the workspace; without this they would outlive it and
    # apply to a future workspace that reuses the id.
    workspace_ct = ContentType.objects.get_for_model(Workspace)
    for model in (UserObjectPermission, GroupObjectPermission):
        model.objects.filter(content_type=workspace_ct, object_pk=str(workspace.pk)).delete()
    ObjectGrant.objects.filter(content_type=workspace_ct, object_id=str(workspace.pk)).delete()
    workspace.delete()


# --- Users --------------------------------------------------------------------------------------------------


@transaction.atomic
def superuser_ensure(*, username: str, email: str, password: str) -> tuple[User, bool]:
    """An administrator, created when no user of that name exists; an existing one is left as it is."""
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user, False
    user = User.objects.create_superuser(username=username, email=email, password=password)
    audit.record_created(event="user.created", actor=SYSTEM, obj=user, fields=USER_AUDIT_FIELDS)
    return user, True


@transaction.atomic
def user_create(*, acting_user: User | SystemActor, username: str, email: str = "", first_name: str = "",
                last_name: str = "", password: str | None = None, is_active: bool = True) -> User:
    """A new account. Only superusers create accounts; workspace admins then add them through memberships."""
    with writes.creating(User, acting_user=acting_user, event="user.created",
                         allowed=lambda: acting_user.is_superuser, audit_fields=USER_AUDIT_FIELDS,
                         values={"username": username, "email": email, "first_name": first_name,
                                 "last_name": last_name, "is_active": is_active}) as user:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
    return user


@transaction.atomic
def user_update(*, user: User, acting_user: User | SystemActor, **fields) -> User:
    _require_superuser(acting_user)
    allowed = {"email", "first_name", "last_name", "is_active"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed here."))
    if fields.get("is_active") is False and acting_user is not SYSTEM and acting_user.pk == user.pk:
        # As with deleting it: the last superuser could lock the organization out of its own administration.
        raise ValidationError({"is_active": "You cannot deactivate your own account."})
    before = audit.snapshot(user, USER_AUDIT_FIELDS)
    for name, value in fields.items():
        setattr(user, name, value)
    changes = audit.diff(before, audit.snapshot(user, USER_AUDIT_FIELDS))
    if not changes:
        return user
    user.full_clean(exclude=["password"])
    user.save(update_fields=list(changes))
    audit.record(event="user.changed", actor=acting_user, obj=user, changes=changes)
    return user


@transaction.atomic
def user_delete(*, user: User, acting_user: User | SystemActor) -> None:
    _require_superuser(acting_user)
    if acting_user is not SYSTEM and acting_user.pk == user.pk:
        raise ValidationError("You cannot delete your own account.")
    audit.record_deleted(event="user.deleted", actor=acting_user, obj=user, fields=USER_AUDIT_FIELDS)
    user.delete()


@transaction.atomic
def mfa_reset(*, user: User, acting_user: User | SystemActor, request=None) -> dict:
    """Remove ``user``'s second factor (a lost or stolen phone) and end their sessions: their next login asks
    for the password and then enrols a new authenticator. Superusers only (like every change to an account);
    ``manage.py reset_mfa`` is the system's way.

    Returns what was done, as audited: the removed devices' ids and the number of sessions ended.
    """
    _require_superuser(acting_user)
    if acting_user is not SYSTEM and acting_user.pk == user.pk:
        # Turning off one's own second factor needs a fresh verification (mfa.disable); this must not skip it.
        raise ValidationError("Turn off your own second factor from your two-factor page, not with a reset.")
    devices = mfa.remove_devices(user)
    outcome = {"devices": devices, "sessions_ended": _end_sessions(user)}
    audit.record(event="mfa.reset", actor=acting_user, obj=user, request=request, extra=outcome)
    return outcome


def login_unlock(*, user: User, acting_user: User | SystemActor, request=None) -> int:
    """Lift the login lockouts of ``user`` before they expire (the locked message tells them to ask an
    administrator): their recorded failed logins, from every address, are forgotten. Superusers only.

    Returns the number of failures forgotten, as audited."""
    _require_superuser(acting_user)
    forgotten = lockout.unlock(username=user.get_username())
    audit.record(event="login.unlocked", actor=acting_user, obj=user, request=request,
                 extra={"failures_forgotten": forgotten})
    return forgotten


def _end_sessions(user: User) -> int:
    """Delete the stored sessions of ``user`` (Racine keeps sessions in the database, Django's default engine).
    Sessions carry no user column, so the live ones are decoded: an admin action, not a hot path."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    ended = 0
    live = store.get_model_class().objects.filter(expire_date__gt=timezone.now())
    for session in live.iterator(chunk_size=500):
        if store().decode(session.session_data).get(SESSION_KEY) == str(user.pk):
            store(session_key=session.session_key).delete()  # through the store: cached_db drops its cache too
            ended += 1
    return ended


# --- Roles and memberships ----------------------------------------------------------------------------------


def _permissions_for(names) -> tuple[list[Permission], list[str]]:
    """The Permission rows for ``app_label.codename`` names, and the names that do not exist (yet)."""
    names = set(names)
    if not names:
        return [], []
    pairs = [name.split(".", 1) for name in names]
    # By codename as well as app: a role names a few dozen of the apps' hundreds of permissions.
    found = {f"{p.content_type.app_label}.{p.codename}": p
             for p in Permission.objects.select_related("content_type").filter(
                 content_type__app_label__in={app_label for app_label, _ in pairs},
                 codename__in={codename for _, codename in pairs})}
    existing = [found[name] for name in sorted(names) if name in found]
    return existing, sorted(names - set(found))


def _model_installed(name: str) -> bool:
    """Whether the model an ``app_label.action_model`` permission is about exists in this installation."""
    app_label, codename = name.split(".", 1)
    try:
        models = apps.get_app_config(app_label).get_models()
    except LookupError:
        return False
    return any(codename.endswith(f"_{model._meta.model_name}") for model in models)


def _log_missing(missing: list[str], context: str) -> None:
    """Roles declare the permissions of models not built yet (accounts.roles): skipping those is the design and
    is not news (it was an INFO line on every migrate). A missing permission of an installed model is a mistake —
    a custom action left out of the model's ``Meta.permissions`` — and is worth a warning."""
    planned = [name for name in missing if not _model_installed(name)]
    broken = [name for name in missing if name not in planned]
    if broken:
        logger.warning("%s: %d role permissions do not exist although their models do (an action missing from "
                       "Meta.permissions?), skipped: %s", context, len(broken), ", ".join(broken))
    if planned:
        logger.debug("%s: %d role permissions of models not built yet, skipped (%s)", context, len(planned),
                     ", ".join(planned[:5]) + ("…" if len(planned) > 5 else ""))


def _role_permissions(role: str | None) -> list[Permission]:
    if role is None or role in ORGANIZATION_WIDE_ROLES:
        return []
    existing, missing = _permissions_for(permission_names(role))
    _log_missing(missing, f"role {role}")
    return existing


def _sync_workspace_grants(*, user: User, workspace: Workspace, role: str | None,
                           permissions: list[Permission] | None = None) -> None:
    """Make the user's guardian rows on ``workspace`` exactly those of ``role`` (plus live ObjectGrants).
    ``permissions``: the role's, when the caller has them already (:func:`roles_sync`, for many members)."""
    workspace_ct = ContentType.objects.get_for_model(Workspace)
    desired = {p.pk: p for p in (_role_permissions(role) if permissions is None else permissions)}
    rows = UserObjectPermission.objects.filter(user=user, content_type=workspace_ct, object_pk=str(workspace.pk))
    current = set(rows.values_list("permission_id", flat=True))
    protected = set(ObjectGrant.objects.filter(
        user=user, content_type=workspace_ct, object_id=str(workspace.pk), revoked_at__isnull=True,
        expires_at__gt=timezone.now()).values_list("permission_id", flat=True))
    stale = current - set(desired) - protected
    if stale:
        rows.filter(permission_id__in=stale).delete()
    # bulk_create, not assign_perm: guardian's save() insists a permission belong to the object's own model,
    # but a role's grant is by design a permission on child models (catalog.view_asset) held on the workspace.
    UserObjectPermission.objects.bulk_create(
        [UserObjectPermission(user=user, permission=desired[pk], content_type=workspace_ct,
                              object_pk=str(workspace.pk)) for pk in set(desired) - current],
        ignore_conflicts=True)
    clear_cache(user)


def auditors_group() -> Group:
    """The organization-wide readers, with the model-level view permissions of the auditor role."""
    group, _ = Group.objects.get_or_create(name=AUDITORS_GROUP)
    existing, missing = _permissions_for(permission_names(Role.AUDITOR))
    _log_missing(missing, "auditors group")
    group.permissions.set(existing)
    return group


def _sync_auditor(user: User) -> None:
    group = auditors_group()
    if Membership.objects.filter(user=user, role=Role.AUDITOR).exists():
        user.groups.add(group)
    else:
        user.groups.remove(group)
    clear_cache(user)


def _check_role_change(*, acting_user: User | SystemActor, workspace: Workspace, perm: str, roles: set[str]) -> None:
    authorize(acting_user, lambda: workspace_allows(acting_user, perm, workspace))
    if roles & set(ORGANIZATION_WIDE_ROLES):
        # An auditor reads every workspace: a workspace admin must not be able to hand that out.
        _require_superuser(acting_user)


@transaction.atomic
def membership_create(*, user: User, workspace: Workspace, role: str, acting_user: User | SystemActor) -> Membership:
    if role not in role_grants():
        raise ValidationError({"role": f"Unknown role {role!r}."})
    _check_role_change(acting_user=acting_user, workspace=workspace, perm="accounts.add_membership", roles={role})
    try:
        # The unique constraint decides, in a savepoint: a check before the insert let two concurrent adds both
        # pass it, and the second became a 500.
        with transaction.atomic():
            membership = Membership.objects.create(user=user, workspace=workspace, role=role)
    except IntegrityError:
        if not Membership.objects.filter(user=user, workspace=workspace).exists():
            raise
        raise ValidationError({"user": "This user is already a member of the workspace; change their role."}) from None
    _sync_workspace_grants(user=user, workspace=workspace, role=role)
    if role in ORGANIZATION_WIDE_ROLES:
        _sync_auditor(user)
    audit.record(event="membership.created", actor=acting_user, obj=membership,
                 changes={"user": [None, user.get_username()], "role": [None, role]})
    return membership


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, acting_user: User | SystemActor) -> Membership:
    if role not in role_grants():
        raise ValidationError({"role": f"Unknown role {role!r}."})
    membership = Membership.objects.select_for_update().select_related("user", "workspace").get(pk=membership.pk)
    if membership.role == role:
        return membership
    _check_role_change(acting_user=acting_user, workspace=membership.workspace,
                       perm="accounts.change_membership", roles={membership.role, role})
    before, membership.role = membership.role, role
    membership.save(update_fields=["role", "updated_at"])
    _sync_workspace_grants(user=membership.user, workspace=membership.workspace, role=role)
    if {before, role} & set(ORGANIZATION_WIDE_ROLES):
        _sync_auditor(membership.user)
    audit.record(event="membership.changed", actor=acting_user, obj=membership,
                 changes={"role": [before, role]}, extra={"user": membership.user.get_username()})
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership, acting_user: User | SystemActor) -> None:
    _check_role_change(acting_user=acting_user, workspace=membership.workspace,
                       perm="accounts.delete_membership", roles={membership.role})
    user, workspace, role = membership.user, membership.workspace, membership.role
    audit.record(event="membership.deleted", actor=acting_user, obj=membership,
                 changes={"user": [user.get_username(), None], "role": [role, None]})
    membership.delete()
    _sync_workspace_grants(user=user, workspace=workspace, role=None)
    if role in ORGANIZATION_WIDE_ROLES:
        _sync_auditor(user)


@transaction.atomic
def roles_sync() -> int:
    """Re-apply every membership's role, e.g. after new apps' permissions were migrated. Safe to re-run.

    Returns the number of memberships processed.
    """
    auditors_group()
    count = 0
    auditor_ids = set()
    permissions = {}  # per role, looked up once rather than once per membership
    for membership in Membership.objects.select_related("user", "workspace").iterator(chunk_size=500):
        if membership.role not in permissions:
            permissions[membership.role] = _role_permissions(membership.role)
        _sync_workspace_grants(user=membership.user, workspace=membership.workspace, role=membership.role,
                               permissions=permissions[membership.role])
        if membership.role in ORGANIZATION_WIDE_ROLES:
            auditor_ids.add(membership.user_id)
        count += 1
    group = Group.objects.get(name=AUDITORS_GROUP)
    group.user_set.set(User.objects.filter(pk__in=auditor_ids))
    return count


# --- Direct grants on single objects ------------------------------------------------------------------------


@transaction.atomic
def object_grant_create(*, user: User, obj, action: str, expires_at: datetime, acting_user: User | SystemActor,
                        reason: str = "") -> ObjectGrant:
    """Let ``user`` ``action`` this one object until ``expires_at`` (e.g. an approved access request). Only a
    superuser (or ``SYSTEM``) may: a grant reaches past every workspace's roles, and no role decides who may
    hand them out until access requests have their approvers."""
    authorize(acting_user, lambda: acting_user.is_superuser)
    if expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    check_text(ObjectGrant, "reason", reason)
    name = perm_name(obj, action)
    app_label, codename = name.split(".", 1)
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    if permission is None:
        raise ValidationError({"action": f"{name} does not exist."})
    content_type = ContentType.objects.get_for_model(obj)
    # A new grant replaces earlier ones on the same object: their expiry must not cancel it.
    ObjectGrant.objects.filter(user=user, content_type=content_type, object_id=str(obj.pk),
                               permission=permission, revoked_at__isnull=True).update(revoked_at=timezone.now())
    grant = ObjectGrant.objects.create(user=user, content_type=content_type, object_id=str(obj.pk),
                                       permission=permission, expires_at=expires_at,
                                       granted_by=user_or_none(acting_user), reason=reason)
    assign_perm(permission, user, obj)
    clear_cache(user)
    audit.record(event="grant.created", actor=acting_user, obj=obj,
                 changes={"permission": [None, name], "user": [None, user.get_username()]},
                 extra={"expires_at": expires_at, "reason": reason, "grant_id": grant.pk})
    return grant


def _remove_object_permission(grant: ObjectGrant) -> None:
    still_granted = ObjectGrant.objects.filter(
        user=grant.user_id, content_type=grant.content_type_id, object_id=grant.object_id,
        permission=grant.permission_id, revoked_at__isnull=True, expires_at__gt=timezone.now(),
    ).exclude(pk=grant.pk).exists()
    role_granted = False
    if grant.content_type.model_class() is Workspace:
        role = Membership.objects.filter(user=grant.user_id, workspace=grant.object_id).values_list(
            "role", flat=True).first()
        role_granted = role is not None and grant.permission in _role_permissions(role)
    if not (still_granted or role_granted):
        UserObjectPermission.objects.filter(user=grant.user_id, content_type=grant.content_type_id,
                                            object_pk=grant.object_id, permission=grant.permission_id).delete()


def _grant_target(grant: ObjectGrant):
    model = grant.content_type.model_class()
    target = model._default_manager.filter(pk=grant.object_id).first() if model is not None else None
    return target


@transaction.atomic
def object_grant_revoke(*, grant: ObjectGrant, acting_user: User | SystemActor, reason: str = "",
                        event: str = "grant.revoked") -> ObjectGrant:
    """End ``grant`` and record who did: a superuser (the grants' admin page) or ``SYSTEM`` (the expiry task)."""
    authorize(acting_user, lambda: acting_user.is_superuser)
    grant = ObjectGrant.objects.select_for_update().select_related("content_type", "permission", "user").get(
        pk=grant.pk)
    if grant.revoked_at is not None:
        return grant  # already done: a retried expiry or double click adds nothing
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at"])
    _remove_object_permission(grant)
    clear_cache(grant.user)
    target = _grant_target(grant)
    permission = f"{grant.content_type.app_label}.{grant.permission.codename}"
    audit.record(event=event, actor=acting_user, obj=target,
                 changes={"permission": [permission, None], "user": [grant.user.get_username(), None]},
                 extra={"grant_id": grant.pk, "reason": reason, "object_type": grant.content_type.model,
                        "object_id": grant.object_id})
    return grant


def object_grants_expire(*, now: datetime | None = None) -> int:
    """Revoke every grant whose expiry has passed; returns how many. Idempotent (a revoked grant is skipped)."""
    now = now or timezone.now()
    expired = ObjectGrant.objects.filter(revoked_at__isnull=True, expires_at__lte=now).values_list("pk", flat=True)
    count = 0
    for grant_id in list(expired):
        grant = ObjectGrant.objects.get(pk=grant_id)
        object_grant_revoke(grant=grant, acting_user=SYSTEM, reason="expired", event="grant.expired")
        count += 1
    return count


# --- Audit trail retention ----------------------------------------------------------------------------------


@transaction.atomic
def audit_events_prune(*, dry_run: bool = False, now: datetime | None = None) -> int:
    """Delete audit events older than the organization's retention; returns how many (would be) deleted."""
    organization = Organization.objects.order_by("pk").first()
    retention_days = organization.audit_retention_days if organization else 365
    cutoff = (now or timezone.now()) - timedelta(days=retention_days)
    old = AuditEvent.objects.filter(created_at__lt=cutoff)
    if dry_run:
        return old.count()
    on_postgresql = connection.vendor == "postgresql"
    if on_postgresql:
        with connection.cursor() as cursor:
            # The trigger lets deletes through only while this is set. SET LOCAL ends with the transaction;
            # switching it off right after the delete also covers a caller's enclosing transaction.
            cursor.execute("SET LOCAL racine.audit_prune = 'on'")
    # _raw_delete: the queryset's delete() refuses on purpose; this is the one sanctioned path. On failure the
    # atomic block rolls back, and the setting with it.
    deleted = old._raw_delete(old.db)
    if on_postgresql:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL racine.audit_prune = 'off'")
    audit.record(event="audit.pruned", extra={"deleted": deleted, "cutoff": cutoff,
                                              "retention_days": retention_days})
    return deleted


def roles_sync_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate handler: once the last app with models has had its permissions created, re-apply roles."""
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if not with_models or sender.label != with_models[-1].label:
        return
    count = roles_sync()
    logger.debug("roles re-applied to %d memberships after migrate", count)
