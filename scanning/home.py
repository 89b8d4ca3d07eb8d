"""Scanning's panels of the steward's home (accounts.home): each source with its last run, the runs that failed or
are stuck, and the drift the scans saw. Every number links to the admin list that shows the same rows."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.home import change_url, changelist_url, panel
from accounts.permissions import has_any_grant
from scanning import selectors
from scanning.models import AssetChange, ScanRun
from sources.models import DataSource
from sources.selectors import datasource_list

SOURCES_SHOWN = 25
RUNS_SHOWN = 10
RECENT_DAYS = 7


def _recent_since():
    # Whole seconds: the cut-off is written into the links, and the list they open must count the same rows.
    return (timezone.now() - timedelta(days=RECENT_DAYS)).replace(microsecond=0)


@panel(key="sources", title="Sources and their last run", template="admin/home/sources.html", order=10)
def sources_panel(request):
    user = request.user
    if not has_any_grant(user, DataSource, "view"):
        return None
    visible = datasource_list(user=user)
    shown = list(visible.order_by("name", "pk")[:SOURCES_SHOWN])
    runs = selectors.last_runs(user=user, data_source_ids=[source.pk for source in shown])
    total = len(shown) if len(shown) < SOURCES_SHOWN else visible.count()
    return {
        "total": total,
        "total_url": changelist_url("sources.datasource"),
        "rows": [{"source": source, "url": change_url(source), "run": runs.get(source.pk),
                  "run_url": change_url(runs[source.pk]) if source.pk in runs else None} for source in shown],
        "more": total - len(shown),
    }


@panel(key="runs", title="Failed or stuck runs", template="admin/home/runs.html", order=20)
def runs_panel(request):
    user = request.user
    if not has_any_grant(user, ScanRun, "view"):
        return None
    now = timezone.now().replace(microsecond=0)
    since = _recent_since()
    counts, latest = selectors.runs_needing_attention(user=user, now=now, failed_since=since, limit=RUNS_SHOWN)
    stuck = selectors.stuck_since(now)
    run_list = "scanning.scanrun"
    kinds = [
        {"key": "failed", "label": f"failed in the last {RECENT_DAYS} days", "count": counts["failed"],
         "url": changelist_url(run_list, status__exact=ScanRun.Status.FAILED, finished_at__gte=since.isoformat())},
        {"key": "stuck_running", "label": "running without a heartbeat", "count": counts["stuck_running"],
         "url": changelist_url(run_list, status__exact=ScanRun.Status.RUNNING,
                               heartbeat_at__lt=stuck[ScanRun.Status.RUNNING].isoformat())},
        {"key": "stuck_queued", "label": "queued and not picked up", "count": counts["stuck_queued"],
         "url": changelist_url(run_list, status__exact=ScanRun.Status.QUEUED,
                               due_at__lt=stuck[ScanRun.Status.QUEUED].isoformat())},
    ]
    return {"kinds": kinds, "runs": [{"run": run, "url": change_url(run)} for run in latest],
            "total": sum(counts.values())}


@panel(key="drift", title=f"Drift of the last {RECENT_DAYS} days", template="admin/home/drift.html", order=50)
def drift_panel(request):
    user = request.user
    if not has_any_grant(user, AssetChange, "view"):
        return None
    since = _recent_since()
    counts = selectors.drift_counts(user=user, since=since)
    change_list = "scanning.assetchange"
    kinds = [{"key": kind, "label": label.lower(), "count": counts.get(kind, 0),
              "url": changelist_url(change_list, kind__exact=kind, created_at__gte=since.isoformat())}
             for kind, label in AssetChange.Kind.choices]
    runs = [{**row, "url": changelist_url(change_list, run__id__exact=row["run_id"],
                                          created_at__gte=since.isoformat())}
            for row in selectors.drift_by_run(user=user, since=since, limit=RUNS_SHOWN)]
    return {"kinds": kinds, "runs": runs, "total": sum(kind["count"] for kind in kinds),
            "total_url": changelist_url(change_list, created_at__gte=since.isoformat())}
