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
from accounts.permissions import authorize, has_perm, workspace_allows
from catalog.models import Asset, Classification
from scanning.detection import BUILTIN_CLASSIFICATIONS, CustomRule, mask_value, preview_rule
from scanning.models import ClassificationRule, ScanRuleSet
from sources.connectors import ConnectorError, parse_qualified_name
from sources.crypto import SecretUnreadable
from sources.services import connection_failure_message, open_connector

logger = logging.getLogger("racine.scanning")

RULE_FIELDS = ("classification", "description", "column_name_regex", "value_regex", "validator",
               "min_match_share", "min_distinct", "enabled")
MAX_PREVIEW_VALUES = 1000
PREVIEW_SAMPLE_SIZE = ScanRuleSet._meta.get_field("sample_size").default  # what a default scan reads


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


def classification_rule_preview_column(*, rule: ClassificationRule, column: Asset,
                                       acting_user: User | SystemActor) -> dict:
    """What ``rule`` (saved or not) says about a real column, sampled now as a scan samples it
    (``PREVIEW_SAMPLE_SIZE`` values, ``Connector.sample_values``): the same report as for pasted values, each
    entry with the value masked. Nothing is stored; reading the source's secret is audited with its purpose."""
    authorize(acting_user, lambda: has_perm(acting_user, "classify", column))
    if column.type != Asset.Type.COLUMN or column.removed_at is not None or column.parent is None:
        raise ValidationError({"column": ["Choose a column that is still in its source."]})
    rule.clean()
    table_path = parse_qualified_name(column.parent.qualified_name)
    name = parse_qualified_name(column.qualified_name)[-1]
    try:
        with open_connector(column.data_source, acting_user=acting_user,
                            purpose=f"rule preview on column {column.pk}") as connector:
            values = connector.sample_values(table_path, [name], PREVIEW_SAMPLE_SIZE).values[name]
    except (ConnectorError, SecretUnreadable) as exc:
        logger.info("rule preview could not sample column %s: %s", column.pk, type(exc).__name__)
        raise ValidationError({"column": [
            f"The column could not be sampled: {connection_failure_message(exc, detailed=False)}."]}) from None
    classification = rule.classification.name if rule.classification_id else "PREVIEW"
    report = _preview(rule, values, column_name=name)
    for result, value in zip(report["results"], values, strict=True):
        result["masked"] = mask_value(value, classification)
    return report


def _preview(rule: ClassificationRule, values: list, column_name: str) -> dict:
    name = rule.classification.name if rule.classification_id else "PREVIEW"
    report = preview_rule(rule.to_custom_rule(name), [str(v) if v is not None else None for v in values],
                          column_name=column_name or None)
    report["name_only"] = not (rule.value_regex or rule.validator)
    return report


def classification_rule_preview(*, rule: ClassificationRule, values: list[str], column_name: str = "") -> dict:
    """What ``rule`` (saved or not) says about pasted values, and about ``column_name`` when one is given.
    Nothing is stored, logged or echoed back: the answer has one entry per value by index, with whether it
    matched."""
    if len(values) > MAX_PREVIEW_VALUES:
        raise ValidationError({"values": [f"Paste at most {MAX_PREVIEW_VALUES} values."]})
    rule.clean()
    return _preview(rule, values, column_name)


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
