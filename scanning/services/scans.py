"""Rule sets and scans, with each scan's schedule kept in step as a django-celery-beat PeriodicTask."""
from __future__ import annotations

import json

from celery.schedules import crontab
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from accounts import audit, writes
from accounts.actors import SystemActor, user_or_none
from accounts.models import User, Workspace
from accounts.permissions import authorize, has_perm, workspace_allows
from catalog.models import Asset, AssetClassification
from scanning.models import AssetChange, Scan, ScanRuleSet
from sources.connectors import ConnectorConfigError, Filters
from sources.connectors.filters import name_matcher
from sources.models import DataSource

RULE_SET_FIELDS = ("name", "description", "include_schemas", "exclude_schemas", "include_tables", "exclude_tables",
                   "include_columns", "exclude_columns", "sample_size", "detection_enabled", "classifications",
                   "profiling_enabled")
SCAN_FIELDS = ("name", "rule_set", "schedule", "enabled")
SCHEDULED_TASK = "scanning.tasks.scan_scheduled_task"
CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
# A scan that adds this many assets refreshes the catalog's planner statistics itself.
ANALYZE_AFTER_ADDED = 10_000


# --- rule sets -------------------------------------------------------------------------------------------------

def rule_set_filters(rule_set: ScanRuleSet) -> Filters:
    return Filters(
        include_schemas=tuple(rule_set.include_schemas), exclude_schemas=tuple(rule_set.exclude_schemas),
        include_tables=tuple(rule_set.include_tables), exclude_tables=tuple(rule_set.exclude_tables),
        include_columns=tuple(rule_set.include_columns), exclude_columns=tuple(rule_set.exclude_columns))


PATTERN_FIELDS = ("include_schemas", "exclude_schemas", "include_tables", "exclude_tables", "include_columns",
                  "exclude_columns")
MAX_LIST_ITEMS = 500
MAX_ITEM_LENGTH = 1000


def validate_rule_set(rule_set: ScanRuleSet) -> None:
    rule_set.full_clean()
    for name in (*PATTERN_FIELDS, "classifications"):
        value = getattr(rule_set, name)
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise ValidationError({name: ["Give a list of non-empty strings."]})
        if len(value) > MAX_LIST_ITEMS or any(len(item) > MAX_ITEM_LENGTH for item in value):
            raise ValidationError({name: [f"Give at most {MAX_LIST_ITEMS} entries of at most {MAX_ITEM_LENGTH} "
                                          "characters each."]})
    if not 1 <= rule_set.sample_size <= 10_000:
        raise ValidationError({"sample_size": ["Sample between 1 and 10,000 values per column."]})
    errors: dict[str, list[str]] = {}
    for name in PATTERN_FIELDS:
        for pattern in getattr(rule_set, name):
            try:
                name_matcher(pattern)
            except ConnectorConfigError as exc:
                errors.setdefault(name, []).append(str(exc))
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def rule_set_create(*, workspace: Workspace, acting_user: User | SystemActor, **fields) -> ScanRuleSet:
    with writes.creating(ScanRuleSet, acting_user=acting_user, event="scan_rule_set.created",
                         allowed=lambda: workspace_allows(acting_user, "scanning.add_scanruleset", workspace),
                         values={"workspace": workspace}, fields=fields, editable=RULE_SET_FIELDS) as rule_set:
        validate_rule_set(rule_set)
    return rule_set


@transaction.atomic
def rule_set_update(*, rule_set: ScanRuleSet, acting_user: User | SystemActor, **fields) -> ScanRuleSet:
    with writes.changing(rule_set, acting_user=acting_user, event="scan_rule_set.changed",
                         allowed=lambda: has_perm(acting_user, "change", rule_set),
                         fields=fields, editable=RULE_SET_FIELDS):
        validate_rule_set(rule_set)
    return rule_set


@transaction.atomic
def rule_set_delete(*, rule_set: ScanRuleSet, acting_user: User | SystemActor) -> None:
    authorize(acting_user, lambda: has_perm(acting_user, "delete", rule_set))
    if rule_set.scans.exists():
        raise ValidationError("This rule set is used by scans; change or delete them first.")
    audit.record(event="scan_rule_set.deleted", actor=acting_user, obj=rule_set)
    rule_set.delete()


def rule_set_default(*, workspace: Workspace) -> ScanRuleSet:
    """The workspace's default rule set (everything, 100 values per column, detection on)."""
    rule_set, _ = ScanRuleSet.objects.get_or_create(
        workspace=workspace, name="Default", defaults={"description": "Every schema, table and column."})
    return rule_set


# --- scans and their schedules ---------------------------------------------------------------------------------

def parse_cron(expression: str) -> dict[str, str]:
    """The five cron fields of ``expression``; ValidationError when celery would not accept them."""
    parts = expression.split()
    if len(parts) != len(CRON_FIELDS):
        raise ValidationError({"schedule": ["Use five cron fields: minute hour day-of-month month day-of-week "
                                            "(e.g. '0 2 * * *')."]})
    fields = dict(zip(CRON_FIELDS, parts, strict=True))
    try:
        crontab(**fields)
    except (ValueError, TypeError) as exc:
        raise ValidationError({"schedule": [f"Not a valid cron expression: {exc}"]}) from None
    return fields


def _sync_periodic_task(scan: Scan) -> None:
    """Create or update the scan's beat entry in place (never delete and recreate: that would wipe what
    admins changed on it, such as its queue or expiry)."""
    if not scan.schedule:
        if scan.periodic_task_id:
            PeriodicTask.objects.filter(pk=scan.periodic_task_id).update(enabled=False)
        return
    schedule, _ = CrontabSchedule.objects.get_or_create(**parse_cron(scan.schedule), timezone=settings.TIME_ZONE)
    task, _ = PeriodicTask.objects.update_or_create(
        name=f"racine: scan {scan.pk}",
        defaults={"task": SCHEDULED_TASK, "crontab": schedule, "interval": None, "args": json.dumps([scan.pk]),
                  "enabled": scan.enabled, "description": f"Scheduled scan {scan.name!r} of {scan.data_source}"})
    if scan.periodic_task_id != task.pk:
        Scan.objects.filter(pk=scan.pk).update(periodic_task=task)
        scan.periodic_task = task


def validate_scan(scan: Scan) -> None:
    scan.full_clean()
    if scan.rule_set.workspace_id != scan.data_source.workspace_id:
        raise ValidationError({"rule_set": ["The rule set belongs to another workspace."]})
    if scan.schedule:
        parse_cron(scan.schedule)


@transaction.atomic
def scan_create(*, data_source: DataSource, acting_user: User | SystemActor, rule_set: ScanRuleSet | None = None,
                **fields) -> Scan:
    with writes.creating(Scan, acting_user=acting_user, event="scan.created",
                         allowed=lambda: workspace_allows(acting_user, "scanning.add_scan", data_source.workspace)
                         and has_perm(acting_user, "view", data_source),
                         values={"data_source": data_source, "created_by": user_or_none(acting_user)},
                         fields=fields, editable=SCAN_FIELDS) as scan:
        scan.rule_set = rule_set or rule_set_default(workspace=data_source.workspace)
        validate_scan(scan)
    _sync_periodic_task(scan)
    return scan


@transaction.atomic
def scan_update(*, scan: Scan, acting_user: User | SystemActor, **fields) -> Scan:
    with writes.changing(scan, acting_user=acting_user, event="scan.changed",
                         allowed=lambda: has_perm(acting_user, "change", scan), fields=fields, editable=SCAN_FIELDS):
        validate_scan(scan)
    _sync_periodic_task(scan)
    return scan


@transaction.atomic
def scan_delete(*, scan: Scan, acting_user: User | SystemActor) -> None:
    authorize(acting_user, lambda: has_perm(acting_user, "delete", scan))
    audit.record(event="scan.deleted", actor=acting_user, obj=scan)
    scan.delete()


def scan_schedule_drop(sender, instance: Scan, **kwargs) -> None:
    """post_delete of a scan: its beat entry goes with it, or it would keep ticking. A signal, not a step of
    scan_delete, because scans also go by cascade when their data source is deleted (by sources, which does not
    know about scans)."""
    if instance.periodic_task_id:
        PeriodicTask.objects.filter(pk=instance.periodic_task_id).delete()


def scan_default(*, data_source: DataSource, acting_user: User | SystemActor,
                 rule_set: ScanRuleSet | None = None) -> Scan:
    """The scan that "scan now" runs: the source's first scan (with ``rule_set``: its first scan using that rule
    set), created on first use as a manual scan.

    Creating it needs the right to run scans in the source's workspace, so that asking to scan without that right
    leaves nothing behind; the run request then checks ``run`` on the scan itself.
    """
    scans = data_source.scans.order_by("pk")
    if rule_set is not None:
        scans = scans.filter(rule_set=rule_set)
    scan = scans.first()
    if scan is not None:
        return scan
    authorize(acting_user, lambda: has_perm(acting_user, "view", data_source)
             and workspace_allows(acting_user, "scanning.run_scan", data_source.workspace))
    if rule_set is not None and rule_set.workspace_id != data_source.workspace_id:
        raise ValidationError({"rule_set": ["The rule set belongs to another workspace."]})
    name = "Manual" if rule_set is None else f"Manual ({rule_set.name})"[:200]
    with transaction.atomic():
        scan, created = Scan.objects.get_or_create(
            data_source=data_source, name=name,
            defaults={"rule_set": rule_set or rule_set_default(workspace=data_source.workspace),
                      "created_by": user_or_none(acting_user)})
        if created:
            audit.record_created(event="scan.created", actor=acting_user, obj=scan)
    return scan


def refresh_catalog_statistics(*, added: int) -> None:
    """``ANALYZE`` the catalog's tables on PostgreSQL after a scan added ``ANALYZE_AFTER_ADDED`` assets or more.

    A fresh catalog has no statistics until autovacuum gets round to it (after 10% of the table changed, at its
    next wake-up): meanwhile the planner takes the first scan's 250,000 rows for a few hundred and picks plans
    (nested loops, sorts of the whole catalog) that make every list slow. Smaller scans leave this to autovacuum.
    """
    if added < ANALYZE_AFTER_ADDED or connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table)
                       for model in (Asset, AssetClassification, AssetChange))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")
