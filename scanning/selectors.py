"""Reads of scanning's objects (rule sets, scans, runs, drift), always scoped to what ``user`` may see (see
accounts.selectors)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery

from accounts.models import User
from accounts.permissions import restrict
from catalog.models import Asset
from catalog.selectors import asset_list
from scanning.models import AssetChange, ScanRuleSet, ScanRun
from sources.models import DataSource


def rule_set_list(*, user: User | None, action: str = "view") -> QuerySet[ScanRuleSet]:
    return restrict(ScanRuleSet.objects.select_related("workspace"), user, action)


def asset_change_list(*, user: User | None, run: ScanRun) -> QuerySet[AssetChange]:
    """The drift ``run`` recorded that ``user`` may see, in the order it was recorded."""
    return restrict(AssetChange.objects.filter(run=run).select_related("asset").order_by("id"), user, "view")


def asset_change_history(*, user: User | None, asset: Asset, limit: int) -> tuple[list[AssetChange], bool]:
    """The ``limit`` latest changes scans saw of ``asset`` and of the assets directly in it (a table's columns),
    newest first, that ``user`` may see; and whether there are more. With the changed assets' names and types
    and the runs' scans, for an asset's page."""
    # One IN over the asset and its children: the planner reaches the drift through its asset index, where an
    # OR of the asset and a subquery of its children read every change of every scan.
    around = Asset.objects.filter(Q(pk=asset.pk) | Q(parent_id=asset.pk)).values("pk")
    changes = restrict(AssetChange.objects.filter(asset_id__in=around), user, "view")
    latest = list(changes.select_related("asset", "run__scan")
                  .only("kind", "changes", "created_at", "asset__name", "asset__type", "run__scan__name")
                  .order_by("-created_at", "-id")[:limit + 1])
    return latest[:limit], len(latest) > limit


def sampleable_column_list(*, user: User | None) -> QuerySet[Asset]:
    """Columns ``user`` may have sampled for a rule preview: still in their source, and classifiable by ``user``
    (reading a column's values is a steward's right, like detection on demand)."""
    return asset_list(user=user, action="classify", present_only=True).filter(
        type=Asset.Type.COLUMN, parent__type__in=(Asset.Type.TABLE, Asset.Type.VIEW)).select_related("parent")


def run_list(*, user: User | None) -> QuerySet[ScanRun]:
    return restrict(ScanRun.objects.all(), user, "view")


def last_runs(*, user: User | None, data_source_ids) -> dict[int, ScanRun]:
    """The latest run the user may see of each of these data sources, by data source id (one query)."""
    runs = run_list(user=user)
    latest = runs.filter(data_source=OuterRef("pk")).order_by("-queued_at", "-pk").values("pk")[:1]
    latest_pks = DataSource.objects.filter(pk__in=data_source_ids).values(run=Subquery(latest))
    return {run.data_source_id: run for run in runs.filter(pk__in=latest_pks)}


def stuck_since(now: datetime) -> dict[str, datetime]:
    """From when a run counts as stuck, by status: running without a heartbeat for longer than the reaper's
    heartbeat timeout, or queued and not picked up for longer than its queued timeout."""
    return {ScanRun.Status.RUNNING: now - timedelta(seconds=settings.RACINE_SCAN_HEARTBEAT_TIMEOUT),
            ScanRun.Status.QUEUED: now - timedelta(seconds=settings.RACINE_RUN_QUEUED_TIMEOUT)}


def _needing_attention(now: datetime, failed_since: datetime) -> dict[str, Q]:
    stuck = stuck_since(now)
    return {
        "failed": Q(status=ScanRun.Status.FAILED, finished_at__gte=failed_since),
        "stuck_running": Q(status=ScanRun.Status.RUNNING, heartbeat_at__lt=stuck[ScanRun.Status.RUNNING]),
        "stuck_queued": Q(status=ScanRun.Status.QUEUED, due_at__lt=stuck[ScanRun.Status.QUEUED]),
    }


def runs_needing_attention(*, user: User | None, now: datetime, failed_since: datetime,
                           limit: int) -> tuple[dict[str, int], list[ScanRun]]:
    """The runs failed since ``failed_since`` and the runs stuck now (see ``stuck_since``): their counts by kind
    (``failed``, ``stuck_running``, ``stuck_queued``) and the ``limit`` latest of them."""
    kinds = _needing_attention(now, failed_since)
    runs = run_list(user=user)
    counts = runs.aggregate(**{kind: Count("pk", filter=condition) for kind, condition in kinds.items()})
    any_kind = Q()
    for condition in kinds.values():
        any_kind |= condition
    latest = list(runs.filter(any_kind).select_related("scan", "data_source").order_by("-queued_at", "-pk")[:limit])
    return counts, latest


def drift_counts(*, user: User | None, since: datetime) -> dict[str, int]:
    """The changes scans saw since ``since``, counted by kind (added, changed, removed)."""
    changes = restrict(AssetChange.objects.filter(created_at__gte=since), user, "view")
    return dict(changes.order_by().values_list("kind").annotate(count=Count("pk")))


def drift_by_run(*, user: User | None, since: datetime, limit: int) -> list[dict]:
    """The ``limit`` latest runs that saw changes since ``since``, with how many: ``run_id``,
    ``run__data_source__name``, ``run__queued_at``, ``count``."""
    changes = restrict(AssetChange.objects.filter(created_at__gte=since), user, "view")
    return list(changes.order_by().values("run_id", "run__data_source__name", "run__queued_at")
                .annotate(count=Count("pk")).order_by("-run__queued_at", "-run_id")[:limit])


def last_scanned(data_source_ids: set[int]) -> dict[int, datetime]:
    """When each data source's last successful scan ended (a detection on demand reads only some columns, so it
    does not count); sources never scanned are left out. For the catalog's inventory, whose rows the caller has
    already restricted: no user here."""
    return dict(ScanRun.objects.filter(data_source_id__in=data_source_ids, status=ScanRun.Status.SUCCEEDED)
                .exclude(trigger=ScanRun.Trigger.DETECTION).order_by()
                .values("data_source_id").annotate(last=Max("finished_at")).values_list("data_source_id", "last"))
