"""The read path: every list, choice and look-up that the API, the admin, commands and tasks show a user comes from
a selector, scoped to what that user may see. ``accounts.permissions`` decides; selectors are the only callers of
its ``restrict()`` (tests/test_read_path.py fails on a call anywhere else).

``visible`` is the one generic selector, for the bases that scope whatever model a view or admin page lists
(``accounts.api.base``, ``accounts.admin``); each app's ``selectors`` module offers the named reads its other
callers need (related-field choices, look-ups by id, services' checks over many rows)."""
from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User, Workspace
from accounts.permissions import grants, restrict


def visible(queryset: QuerySet, *, user: User | None, action: str = "view") -> QuerySet:
    """The rows of ``queryset`` that ``user`` may ``action`` (deny by default), whatever its model and shape: the
    API's viewsets and the admin's pages apply it to the queryset they declare, so none of them can forget it."""
    return restrict(queryset, user, action)


def workspace_list(*, user: User | None, action: str = "view") -> QuerySet[Workspace]:
    return restrict(Workspace.objects.select_related("organization"), user, action)


def workspaces_allowing(*, user: User | None, perm: str) -> QuerySet[Workspace]:
    """Workspaces in which ``user`` may use ``perm`` (e.g. ``"accounts.add_membership"``), for create forms."""
    held = grants(user, perm, Workspace)  # nothing for anonymous or inactive users
    superuser = user is not None and user.is_active and getattr(user, "is_superuser", False)
    if held.model_wide or superuser:
        return Workspace.objects.all()
    return Workspace.objects.filter(pk__in=held.workspace_ids)


def membership_user_choices(*, user: User | None) -> QuerySet[User]:
    """Whom ``user`` may give a membership to: every active account, whoever asks. A workspace admin adds people
    who belong to none of their workspaces yet, so the choice is not the caller's scope (``visible`` on User
    would be); whether they may add to the chosen workspace is the service's rule."""
    return User.objects.filter(is_active=True)
