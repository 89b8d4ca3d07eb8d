"""The roles, and the registry through which each app declares what its roles may do.

A role is granted *in a workspace* (``Membership``): each permission a role carries becomes a guardian object
permission on that Workspace, and ``accounts.permissions.restrict`` turns those rows into one filter over any
governed model. The auditor is the exception: an organization-wide reader, granted through model-level permissions
of the ``Auditors`` group, so it sees every workspace and changes nothing.

Every app declares its own models' grants in its ``roles.py`` with :func:`declare`; accounts names no model of
a higher app. The registry reads the declarations of every installed app the first time it is asked. How the
roles build on one another is decided here:

- every role has what is declared for ``MEMBERS`` (any member of a workspace);
- the analyst has nothing more; the data owner adds ``Role.DATA_OWNER``'s, the data steward ``Role.DATA_STEWARD``'s;
- the workspace admin has everything a data steward has, plus ``Role.WORKSPACE_ADMIN``'s;
- the auditor reads (``view``) every model declared for ``MEMBERS`` or for ``Role.AUDITOR``, and nothing else.

A permission may be declared ahead of its model (glossary terms, lineage, compliance and requests are planned):
the grant code skips it quietly, and ``services.roles_sync()`` — run after every ``migrate`` — applies it once the
model exists. A missing permission of a model that does exist is logged as a warning (a custom action left out of
``Meta.permissions``). Custom actions
follow ``<verb>_<model>`` codenames (``classify`` on ``catalog.asset`` → ``catalog.classify_asset``), declared in
that model's ``Meta.permissions``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

from django.db import models
from django.utils.module_loading import autodiscover_modules

AUDITORS_GROUP = "Auditors"

VIEW = frozenset({"view"})
READ_WRITE = frozenset({"view", "add", "change"})
FULL = frozenset({"view", "add", "change", "delete"})


class Role(models.TextChoices):
    WORKSPACE_ADMIN = "workspace_admin", "Workspace admin"
    DATA_STEWARD = "data_steward", "Data steward"
    DATA_OWNER = "data_owner", "Data owner"
    ANALYST = "analyst", "Analyst"
    AUDITOR = "auditor", "Auditor"


# What a declaration may grant to every member of a workspace, whatever their role.
MEMBERS = "members"

ORGANIZATION_WIDE_ROLES = frozenset({Role.AUDITOR})

Grants = Mapping[str, Iterable[str]]  # "app_label.model" -> actions
_declarations: list[Mapping[str, Grants]] = []


def declare(grants: Mapping[str, Grants]) -> None:
    """An app's grants, by ``MEMBERS`` or role: ``{Role.DATA_STEWARD: {"catalog.asset": READ_WRITE}}``. Called
    from the app's ``roles.py`` when the registry imports it."""
    unknown = set(grants) - {MEMBERS, *Role.values}
    if unknown:
        raise ValueError(f"unknown roles in a declaration: {sorted(unknown)}")
    _declarations.append(grants)
    role_grants.cache_clear()


def _collect(*keys: str) -> dict[str, frozenset[str]]:
    merged: dict[str, set[str]] = {}
    for grants in _declarations:
        for key in keys:
            for label, actions in grants.get(key, {}).items():
                merged.setdefault(label, set()).update(actions)
    return {label: frozenset(actions) for label, actions in merged.items()}


@cache
def role_grants() -> dict[str, dict[str, frozenset[str]]]:
    """Each role's permissions, as ``{"app_label.model": actions}``, from every installed app's declarations."""
    autodiscover_modules("roles")
    return {
        Role.ANALYST: _collect(MEMBERS),
        Role.DATA_OWNER: _collect(MEMBERS, Role.DATA_OWNER),
        Role.DATA_STEWARD: _collect(MEMBERS, Role.DATA_STEWARD),
        Role.WORKSPACE_ADMIN: _collect(MEMBERS, Role.DATA_STEWARD, Role.WORKSPACE_ADMIN),
        # Auditors read; the member grants beyond reading (filing requests) do not apply to them.
        Role.AUDITOR: dict.fromkeys(_collect(MEMBERS, Role.AUDITOR), VIEW),
    }


def permission_names(role: str) -> list[str]:
    """``app_label.codename`` of every permission ``role`` carries, sorted."""
    names = []
    for label, actions in role_grants()[role].items():
        app_label, model_name = label.split(".")
        names.extend(f"{app_label}.{action}_{model_name}" for action in actions)
    return sorted(names)


declare({
    MEMBERS: {"accounts.workspace": VIEW, "accounts.membership": VIEW},
    Role.WORKSPACE_ADMIN: {
        "accounts.workspace": {"view", "change"},
        "accounts.membership": FULL,
        "accounts.user": VIEW,
        "accounts.auditevent": VIEW,
    },
    Role.AUDITOR: {"accounts.user": VIEW, "accounts.auditevent": VIEW},
})
