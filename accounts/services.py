"""Writes to identity objects. Arguments are keyword-only; every service runs in a transaction."""
from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from accounts.models import Organization, User, Workspace

DEFAULT_WORKSPACE_NAME = "Default"


@transaction.atomic
def organization_ensure(*, name: str | None = None) -> tuple[Organization, bool]:
    """The installation's organization, created on first call."""
    organization = Organization.objects.order_by("pk").first()
    if organization is not None:
        return organization, False
    return Organization.objects.create(name=name or settings.RACINE_ORGANIZATION_NAME), True


@transaction.atomic
def workspace_ensure(*, organization: Organization, name: str) -> tuple[Workspace, bool]:
    return Workspace.objects.get_or_create(
        slug=slugify(name)[:100], defaults={"organization": organization, "name": name})


@transaction.atomic
def superuser_ensure(*, username: str, email: str, password: str) -> tuple[User, bool]:
    """An administrator, created when no user of that name exists; an existing one is left as it is."""
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user, False
    return User.objects.create_superuser(username=username, email=email, password=password), True
