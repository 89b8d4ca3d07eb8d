"""Reads of identity and access objects, always scoped to what ``user`` may see."""
from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import AuditEvent, Membership, User, Workspace
from accounts.permissions import grants, restrict


def workspace_list(*, user: User, action: str = "view") -> QuerySet[Workspace]:
    return restrict(Workspace.objects.select_related("organization"), user, action)


def membership_list(*, user: User) -> QuerySet[Membership]:
    return restrict(Membership.objects.select_related("user", "workspace"), user, "view")


def user_list(*, user: User) -> QuerySet[User]:
    return restrict(User.objects.order_by("username"), user, "view")


def audit_event_list(*, user: User) -> QuerySet[AuditEvent]:
    return restrict(AuditEvent.objects.select_related("content_type"), user, "view")


def workspaces_allowing(*, user: User, perm: str) -> QuerySet[Workspace]:
    """Workspaces in which ``user`` may use ``perm`` (e.g. ``"accounts.add_membership"``), for create forms."""
    held = grants(user, perm, Workspace)  # nothing for anonymous or inactive users
    superuser = user is not None and user.is_active and getattr(user, "is_superuser", False)
    if held.model_wide or superuser:
        return Workspace.objects.all()
    return Workspace.objects.filter(pk__in=held.workspace_ids)
