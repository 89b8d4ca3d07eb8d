"""Identity: users, the organization and its workspaces, memberships, grants, API tokens, the audit trail."""
from __future__ import annotations

from django.contrib.auth.models import AbstractUser, Permission, UserManager
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.text import slugify

from accounts.fields import DESCRIPTION_MAX_LENGTH, NOTE_MAX_LENGTH, BoundedTextField
from accounts.governed import GovernedModel
from accounts.roles import Role


class GovernedUserManager(UserManager):
    """Django's UserManager; named here because migration 0002 names it."""


class User(AbstractUser):
    """A person (or an operator's service account) using Racine."""

    # A user is seen through the workspaces they belong to (a workspace admin sees its members).
    workspace_path = "memberships__workspace"
    objects = GovernedUserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class Organization(models.Model):
    """The one organization of an installation, with the policies that apply across its workspaces."""

    name = models.CharField(max_length=200)
    mfa_required_roles = models.JSONField(
        default=list, blank=True,
        help_text="Roles whose members must verify a second factor for the admin and session API use.")
    max_token_lifetime_days = models.PositiveIntegerField(
        default=90, help_text="API tokens cannot be created to live longer than this.")
    audit_retention_days = models.PositiveIntegerField(
        default=365, help_text="Audit events older than this are removed by prune_audit_events.")
    lockout_failures = models.PositiveIntegerField(
        default=5, validators=[MinValueValidator(1)],
        help_text="Failed logins for one account from one address, within the lockout window, that lock out "
                  "that account from that address (the account stays open from elsewhere).")
    lockout_address_accounts = models.PositiveIntegerField(
        default=20, validators=[MinValueValidator(2)],
        help_text="Distinct accounts failing from one address, within the lockout window, that block the address "
                  "for every account (credential stuffing).")
    lockout_minutes = models.PositiveIntegerField(
        default=15, validators=[MinValueValidator(1)],
        help_text="The lockout window: failures count for this long, and a lockout lifts once the failures "
                  "that caused it are older.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name

    @classmethod
    def current(cls) -> Organization:
        """The installation's organization (created by ``manage.py bootstrap``)."""
        organization = cls.objects.order_by("pk").first()
        if organization is None:
            raise cls.DoesNotExist("No organization yet: run `manage.py bootstrap`.")
        return organization


class LoginFailure(models.Model):
    """A refused password, kept while it counts towards a lockout (``accounts.lockout``).

    In the database rather than the cache: a lockout must hold when the cache is unreachable or restarted empty.
    """

    account = models.CharField(
        max_length=64, help_text="SHA-256 of the user name as typed, case-folded: an unknown name counts like a "
                                 "real one.")
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["account", "ip", "created_at"], name="loginfailure_pair"),
                   models.Index(fields=["ip", "created_at"], name="loginfailure_address")]

    def __str__(self) -> str:
        return f"login failure from {self.ip or 'no address'} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class Workspace(GovernedModel):
    """A team's area inside the organization; every governed object belongs to exactly one workspace."""

    workspace_path = ""
    audit_fields = ["name", "slug", "description"]

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="workspaces")
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = BoundedTextField(blank=True, max_length=DESCRIPTION_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.slug:
            self.slug = slugify(self.name)[:100]


class ApiToken(models.Model):
    """A bearer token for the API. Only a hash is stored; the secret is shown once, at creation."""

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Read and write"
        # For a pipeline (Airflow, Spark, dbt) that only reports what it ran: such a token sends lineage and does
        # nothing else its user could, so a leaked scheduler configuration exposes no catalog.
        LINEAGE = "lineage", "Send lineage events only"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True, help_text="Public part of the token, for look-up.")
    secret_hash = models.CharField(max_length=64, help_text="SHA-256 of the whole token.")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"
        verbose_name_plural = "API tokens"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now and self.user.is_active


class Membership(GovernedModel):
    """A user's role in one workspace. The role's permissions live as guardian object permissions on the
    workspace (kept in step by ``accounts.services``); this row says *why* they are there."""

    workspace_path = "workspace"
    audit_fields = ["role"]

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique_user_workspace")]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.get_role_display()})"


class ObjectGrant(models.Model):
    """A permission on one object for one user, until ``expires_at`` (e.g. an approved access request on a
    data source). The grant itself is a guardian object permission; this row carries who, why and until when,
    and lets ``object_grants_expire`` revoke it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="object_grants")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.CharField(max_length=64)
    permission = models.ForeignKey(Permission, on_delete=models.CASCADE)
    expires_at = models.DateTimeField(db_index=True)
    granted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reason = BoundedTextField(blank=True, max_length=NOTE_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "content_type", "object_id"], name="objectgrant_user_obj")]

    def __str__(self) -> str:
        return f"{self.permission.codename} on {self.content_type.model} #{self.object_id} for {self.user}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class AppendOnlyError(RuntimeError):
    """Raised on any attempt to change or delete an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events are append-only.")

    def delete(self):
        raise AppendOnlyError("Audit events are append-only; old events are removed by prune_audit_events.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("Audit events are append-only.")

    def update_or_create(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are append-only.")


class AuditEvent(GovernedModel):
    """One thing that happened: who, what, on which object, in which workspace, from which request.

    Append-only at every layer: the ORM refuses updates and deletes (model and queryset), the admin and API are
    read-only, and on PostgreSQL a trigger refuses UPDATE and DELETE unless the pruning service has set
    ``racine.audit_prune`` for its own transaction. References to users, workspaces and content types carry no
    database constraint and are never nulled: deleting a user must not rewrite history (and could not, with
    the trigger), so ``actor_label`` and ``object_repr`` keep the readable names.
    """

    workspace_path = "workspace"

    event = models.CharField(max_length=64, db_index=True)
    actor = models.ForeignKey(User, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
                              related_name="+")
    actor_label = models.CharField("actor", max_length=150, blank=True,
                                   help_text='Who did it, as named then ("system" for jobs and commands).')
    workspace = models.ForeignKey(Workspace, on_delete=models.DO_NOTHING, db_constraint=False, null=True,
                                  blank=True, related_name="+")
    content_type = models.ForeignKey(ContentType, on_delete=models.DO_NOTHING, db_constraint=False, null=True,
                                     blank=True, related_name="+", verbose_name="object type")
    object_id = models.CharField("object ID", max_length=64, blank=True)
    object_repr = models.CharField("object", max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    extra = models.JSONField("details", default=dict, blank=True, encoder=DjangoJSONEncoder)
    request_id = models.CharField("request ID", max_length=128, blank=True)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.CharField("browser or client", max_length=512, blank=True)
    created_at = models.DateTimeField("when", default=timezone.now, db_index=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # Nobody may hold change/delete on the trail, so those permissions do not exist.
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["workspace", "created_at"], name="auditevent_ws_created"),
            models.Index(fields=["content_type", "object_id"], name="auditevent_target"),
            models.Index(fields=["actor", "created_at"], name="auditevent_actor_created"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.event} by {self.actor_label or '-'}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events are append-only.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are append-only.")
