"""The one table of roles: what each role may do, per model and action, inside a workspace.

A role is granted *in a workspace* (``Membership``): each permission below becomes a guardian object permission
on that Workspace, and ``accounts.permissions.restrict`` turns those rows into one filter over any governed
model. The auditor is the exception: an organization-wide reader, granted through model-level permissions of
the ``Auditors`` group, so it sees every workspace and changes nothing.

Models of apps that are not built yet are named here already. Their permissions do not exist until those apps
are migrated; the grant code skips them (with a log line) and ``services.roles_sync()`` — run after every
``migrate`` — applies them once they exist. Custom actions follow ``<verb>_<model>`` codenames
(``classify`` on ``catalog.asset`` → ``catalog.classify_asset``), declared in that model's ``Meta.permissions``.
"""
from __future__ import annotations

from django.db import models

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


# Models whose rows any member of a workspace may read.
_MEMBER_READ = {
    "accounts.workspace": VIEW,
    "accounts.membership": VIEW,
    "sources.datasource": VIEW,
    "catalog.asset": VIEW,
    "catalog.classification": VIEW,
    "catalog.assetclassification": VIEW,
    "catalog.glossaryterm": VIEW,
    "catalog.tag": VIEW,
    "catalog.lineageedge": VIEW,
    "scanning.scan": VIEW,
    "scanning.scanrun": VIEW,
    "scanning.scanruleset": VIEW,
    "scanning.assetchange": VIEW,
    "scanning.classificationrule": VIEW,
    "compliance.framework": VIEW,
    "compliance.compliancerule": VIEW,
    "compliance.finding": VIEW,
    "compliance.score": VIEW,
    "governance.request": VIEW | {"add"},
}


def _merge(*tables: dict[str, frozenset[str] | set[str]]) -> dict[str, frozenset[str]]:
    merged: dict[str, set[str]] = {}
    for table in tables:
        for label, actions in table.items():
            merged.setdefault(label, set()).update(actions)
    return {label: frozenset(actions) for label, actions in merged.items()}


_STEWARD = _merge(_MEMBER_READ, {
    "sources.datasource": READ_WRITE | {"test_connection"},
    "catalog.asset": READ_WRITE | {"classify"},
    "catalog.classification": READ_WRITE,
    "catalog.assetclassification": FULL | {"confirm"},
    "catalog.glossaryterm": FULL,
    "catalog.tag": FULL,
    "catalog.lineageedge": FULL,
    "scanning.scan": FULL | {"run"},
    "scanning.scanruleset": FULL,
    "scanning.classificationrule": FULL,
    "compliance.finding": READ_WRITE | {"acknowledge"},
    "governance.request": READ_WRITE,
})

ROLES: dict[str, dict[str, frozenset[str]]] = {
    Role.ANALYST: _merge(_MEMBER_READ),
    Role.DATA_OWNER: _merge(_MEMBER_READ, {
        "catalog.asset": READ_WRITE | {"classify"},
        "catalog.assetclassification": READ_WRITE | {"confirm"},
        "catalog.glossaryterm": READ_WRITE,
        "compliance.finding": READ_WRITE | {"acknowledge"},
        "governance.request": READ_WRITE | {"approve"},
    }),
    Role.DATA_STEWARD: _STEWARD,
    Role.WORKSPACE_ADMIN: _merge(_STEWARD, {
        "accounts.workspace": {"view", "change"},
        "accounts.membership": FULL,
        "accounts.user": VIEW,
        "accounts.auditevent": VIEW,
        # Only the workspace admin may read a source's connection secret; analysts never see it.
        "sources.datasource": FULL | {"view_secret", "test_connection"},
        "compliance.compliancerule": FULL,
        "compliance.framework": READ_WRITE,
        "governance.request": FULL | {"approve"},
    }),
    # Organization-wide: these become model-level permissions of the Auditors group, never workspace grants.
    Role.AUDITOR: _merge(_MEMBER_READ, {
        "accounts.user": VIEW,
        "accounts.auditevent": VIEW,
        "governance.request": VIEW,
    }),
}
# Auditors read; the member default of filing requests does not apply to them.
ROLES[Role.AUDITOR] = {label: frozenset({"view"}) for label in ROLES[Role.AUDITOR]}

ORGANIZATION_WIDE_ROLES = frozenset({Role.AUDITOR})


def permission_names(role: str) -> list[str]:
    """``app_label.codename`` of every permission ``role`` carries, sorted."""
    names = []
    for label, actions in ROLES[role].items():
        app_label, model_name = label.split(".")
        names.extend(f"{app_label}.{action}_{model_name}" for action in actions)
    return sorted(names)
