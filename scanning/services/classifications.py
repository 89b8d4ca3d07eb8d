"""Classifications the engine knows (seeded into the catalog) and the stewards' own detection rules.

Built-ins live in ``scanning.detection`` (the engine is their source of truth); ``catalog.Classification`` holds
them as rows so that assets can point at them. Custom rules are ``ClassificationRule`` rows per workspace,
validated like the engine validates them and converted to its ``CustomRule`` for a scan.
"""
from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import connections, transaction

from accounts import audit, writes
from accounts.actors import SystemActor, user_or_none
from accounts.models import User, Workspace
from accounts.permissions import has_perm, workspace_allows
from catalog.models import Classification
from scanning.detection import BUILTIN_CLASSIFICATIONS, CustomRule, preview_rule
from scanning.models import ClassificationRule

logger = logging.getLogger("racine.scanning")

RULE_FIELDS = ("classification", "description", "column_name_regex", "value_regex", "validator",
               "min_match_share", "min_distinct", "enabled")
MAX_PREVIEW_VALUES = 1000


# --- built-in classifications ----------------------------------------------------------------------------------

@transaction.atomic
def classifications_sync_builtin() -> dict[str, int]:
    """Make ``catalog.Classification`` hold every built-in of the engine. Idempotent: a second call writes nothing.

    New built-ins are created; existing ones get the engine's category and description. Their sensitivity and
    ``is_active`` are left alone once the row exists: stewards may raise a label or switch a classification off,
    and an upgrade must not undo that. A built-in the engine no longer has is deactivated, never deleted (assets
    may point at it).
    """
    existing = {row.name: row for row in Classification.objects.select_for_update().all()}
    created, updated = [], []
    for spec in BUILTIN_CLASSIFICATIONS:
        row = existing.get(spec.name)
        if row is None:
            created.append(Classification(name=spec.name, category=spec.category, sensitivity=spec.sensitivity,
                                          description=spec.description, is_builtin=True))
            continue
        if (row.category, row.description, row.is_builtin) != (spec.category, spec.description, True):
            row.category, row.description, row.is_builtin = spec.category, spec.description, True
            updated.append(row)
    known = {spec.name for spec in BUILTIN_CLASSIFICATIONS}
    retired = [row for row in existing.values() if row.is_builtin and row.name not in known and row.is_active]
    for row in retired:
        row.is_active = False
    Classification.objects.bulk_create(created)
    Classification.objects.bulk_update(updated, ["category", "description", "is_builtin", "updated_at"])
    Classification.objects.bulk_update(retired, ["is_active", "updated_at"])
    counts = {"created": len(created), "updated": len(updated), "retired": len(retired)}
    if any(counts.values()):
        audit.record(event="classification.builtin_synced",
                     extra={**counts, "created_names": sorted(c.name for c in created)[:200],
                            "retired_names": sorted(r.name for r in retired)})
    return counts


def classifications_sync_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate handler: seed the built-ins once scanning (the last app they need) is migrated."""
    if sender.label != "scanning":
        return
    if Classification._meta.db_table not in connections[using].introspection.table_names():
        return  # a partial migrate (catalog not there yet): the next full migrate seeds them
    counts = classifications_sync_builtin()
    logger.debug("built-in classifications synced", extra=counts)


# --- custom rules ------------------------------------------------------------------------------------------------

def _validate_rule(rule: ClassificationRule) -> None:
    rule.full_clean()
    if not rule.classification.is_active:
        raise ValidationError({"classification": ["This classification is switched off."]})
    try:
        rule.to_custom_rule()
    except (ValueError, TypeError) as exc:  # the engine's own checks, should they be stricter than the model's
        raise ValidationError({"__all__": [str(exc)]}) from None


@transaction.atomic
def classification_rule_create(*, workspace: Workspace, acting_user: User | SystemActor,
                               **fields) -> ClassificationRule:
    with writes.creating(ClassificationRule, acting_user=acting_user, event="classification_rule.created",
                         allowed=lambda: workspace_allows(acting_user, "scanning.add_classificationrule", workspace),
                         values={"workspace": workspace, "created_by": user_or_none(acting_user)},
                         fields=fields, editable=RULE_FIELDS) as rule:
        _validate_rule(rule)
    return rule


@transaction.atomic
def classification_rule_update(*, rule: ClassificationRule, acting_user: User | SystemActor,
                               **fields) -> ClassificationRule:
    with writes.changing(rule, acting_user=acting_user, event="classification_rule.changed",
                         allowed=lambda: has_perm(acting_user, "change", rule), fields=fields, editable=RULE_FIELDS):
        _validate_rule(rule)
    return rule


@transaction.atomic
def classification_rule_delete(*, rule: ClassificationRule, acting_user: User | SystemActor) -> None:
    writes.delete(rule, acting_user=acting_user, event="classification_rule.deleted",
                  allowed=lambda: has_perm(acting_user, "delete", rule))


def classification_rule_preview(*, rule: ClassificationRule, values: list[str], column_name: str = "") -> dict:
    """What ``rule`` (saved or not) says about pasted values, and about ``column_name`` when one is given.
    Nothing is stored, logged or echoed back: the answer has one entry per value by index, with whether it
    matched."""
    if len(values) > MAX_PREVIEW_VALUES:
        raise ValidationError({"values": [f"Paste at most {MAX_PREVIEW_VALUES} values."]})
    rule.clean()
    name = rule.classification.name if rule.classification_id else "PREVIEW"
    report = preview_rule(rule.to_custom_rule(name), [str(v) if v is not None else None for v in values],
                          column_name=column_name or None)
    report["name_only"] = not (rule.value_regex or rule.validator)
    return report


def custom_rules_for(workspace_id: int) -> list[CustomRule]:
    """The engine rules of a workspace's enabled custom rules on active classifications.

    A rule that the engine refuses (e.g. a validator it no longer has) is skipped with a warning instead of
    failing every scan of the workspace.
    """
    rules = []
    for rule in (ClassificationRule.objects.filter(workspace_id=workspace_id, enabled=True,
                                                   classification__is_active=True)
                 .select_related("classification").order_by("pk")):
        try:
            rules.append(rule.to_custom_rule())
        except (ValueError, TypeError):
            logger.warning("custom classification rule skipped: the engine refuses it",
                           extra={"classification_rule": rule.pk})
    return rules
