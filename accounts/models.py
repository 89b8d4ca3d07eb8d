"""Identity: users, the organization and its workspaces, API tokens."""
from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.text import slugify


class User(AbstractUser):
    """A person (or an operator's service account) using Racine."""

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
        default=5, help_text="Failed logins (per user and per address) before a temporary lockout.")
    lockout_minutes = models.PositiveIntegerField(default=15, help_text="How long a lockout lasts.")
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


class Workspace(models.Model):
    """A team's area inside the organization; every governed object belongs to exactly one workspace."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="workspaces")
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
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

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now and self.user.is_active
