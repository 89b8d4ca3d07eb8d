"""Scanning's metrics, counted from the runs table at scrape time (config.collectors caches them a few seconds).

Labels are bounded: a run's kind (scan or detection), its status, the reaper's reason, and the data source for
the per-source series — never a run, an asset or a user. Counters are totals over the runs the database holds.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from celery.schedules import crontab
from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, Max, Min, Q, Sum, Value, When
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from scanning.models import Scan, ScanRun
from scanning.services.runs import REAPED_LOST_ERROR, REAPED_SILENT_ERROR
from scanning.services.scans import parse_cron

KINDS = ("scan", "detection")
FINISHED = (ScanRun.Status.SUCCEEDED, ScanRun.Status.FAILED, ScanRun.Status.CANCELLED)
DURATION_BUCKETS_S = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400)
REAPED = {"heartbeat": REAPED_SILENT_ERROR, "lost_message": REAPED_LOST_ERROR}
SOURCE_LABELS = ["source_id", "source", "workspace"]
# Long enough to hold two firings of any cron schedule (a yearly one included).
SCHEDULE_HORIZON_DAYS = 2 * 366 + 1


def _kind():
    return Case(When(trigger=ScanRun.Trigger.DETECTION, then=Value("detection")), default=Value("scan"))


def _duration():
    return ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())


def _run_aggregates() -> list[dict]:
    timed = Q(started_at__isnull=False, finished_at__isnull=False)
    aggregates = {
        "runs": Count("pk"),
        "objects_seen_sum": Sum("objects_seen"),
        "columns_classified_sum": Sum("columns_classified"),
        "timed": Count("pk", filter=timed),
        "duration_sum": Sum("duration", filter=timed),
        "oldest_queued": Min("queued_at"),
        "oldest_started": Min("started_at"),
        "oldest_heartbeat": Min("heartbeat_at"),
    }
    for bound in DURATION_BUCKETS_S:
        aggregates[f"le_{bound}"] = Count("pk", filter=timed & Q(duration__lte=timedelta(seconds=bound)))
    for reason, prefix in REAPED.items():
        aggregates[f"reaped_{reason}"] = Count("pk", filter=Q(status=ScanRun.Status.FAILED, error__startswith=prefix))
    return list(ScanRun.objects.order_by().annotate(kind=_kind(), duration=_duration())
                .values("kind", "status").annotate(**aggregates))


def _seconds(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


def run_families(rows: list[dict], now: datetime):
    finished = CounterMetricFamily("racine_scan_runs", "Runs that finished, by kind and final status.",
                                   labels=["kind", "status"])
    active = GaugeMetricFamily("racine_scan_runs_active", "Runs queued or running now.", labels=["kind", "status"])
    objects = CounterMetricFamily("racine_scan_objects_seen", "Schema objects read by finished runs.",
                                  labels=["kind"])
    columns = CounterMetricFamily("racine_scan_columns_classified",
                                  "Columns given a classification suggestion by finished runs.", labels=["kind"])
    reaped = CounterMetricFamily("racine_scan_runs_reaped",
                                 "Runs failed by the reaper: no heartbeat from their worker, or their task message "
                                 "lost by the broker twice.", labels=["kind", "reason"])
    oldest = GaugeMetricFamily("racine_scan_run_oldest_active_age_seconds",
                               "Age of the oldest queued run (since queued) and of the oldest running run (since "
                               "started); 0 when there is none.", labels=["kind", "status"])
    silent = GaugeMetricFamily("racine_scan_run_oldest_heartbeat_age_seconds",
                               "Seconds since the least recent heartbeat of a running run; 0 when none runs.",
                               labels=["kind"])
    durations = HistogramMetricFamily("racine_scan_run_duration_seconds",
                                      "Duration of finished runs, from start to finish.", labels=["kind"])
    by_key = {(row["kind"], row["status"]): row for row in rows}
    for kind in KINDS:
        for status in FINISHED:
            finished.add_metric([kind, status], by_key.get((kind, status), {}).get("runs", 0))
        queued = by_key.get((kind, ScanRun.Status.QUEUED), {})
        running = by_key.get((kind, ScanRun.Status.RUNNING), {})
        active.add_metric([kind, ScanRun.Status.QUEUED], queued.get("runs", 0))
        active.add_metric([kind, ScanRun.Status.RUNNING], running.get("runs", 0))
        oldest.add_metric([kind, ScanRun.Status.QUEUED], _age(now, queued.get("oldest_queued")))
        oldest.add_metric([kind, ScanRun.Status.RUNNING], _age(now, running.get("oldest_started")))
        silent.add_metric([kind], _age(now, running.get("oldest_heartbeat")))
        done = [row for (row_kind, status), row in by_key.items() if row_kind == kind and status in FINISHED]
        objects.add_metric([kind], sum(row["objects_seen_sum"] or 0 for row in done))
        columns.add_metric([kind], sum(row["columns_classified_sum"] or 0 for row in done))
        for reason in REAPED:
            reaped.add_metric([kind, reason], sum(row[f"reaped_{reason}"] for row in done))
        buckets = [(str(float(bound)), sum(row[f"le_{bound}"] for row in done)) for bound in DURATION_BUCKETS_S]
        buckets.append(("+Inf", sum(row["timed"] for row in done)))
        total = sum((row["duration_sum"] or timedelta(0) for row in done), timedelta(0))
        durations.add_metric([kind], buckets, total.total_seconds())
    return [finished, active, objects, columns, reaped, oldest, silent, durations]


@lru_cache(maxsize=1024)
def schedule_max_gap_seconds(expression: str) -> float | None:
    """The longest wait between two consecutive firings of a cron ``expression`` (as celery beat reads it: the
    day of month and the day of week must both match); None when it fires less than twice in two years."""
    schedule = crontab(**parse_cron(expression))
    times_of_day = sorted(hour * 60 + minute for hour in schedule.hour for minute in schedule.minute)
    start = timezone.now().date()
    days = []
    for offset in range(SCHEDULE_HORIZON_DAYS):
        day = start + timedelta(days=offset)
        cron_weekday = (day.weekday() + 1) % 7  # cron counts from Sunday = 0
        if (day.month in schedule.month_of_year and day.day in schedule.day_of_month
                and cron_weekday in schedule.day_of_week):
            days.append(offset)
    if not days or (len(days) == 1 and len(times_of_day) == 1):
        return None
    gaps = [later - earlier for earlier, later in zip(times_of_day, times_of_day[1:], strict=False)]
    # From the day's last firing to the first firing of the next day it fires on.
    gaps += [(later - earlier) * 24 * 60 - times_of_day[-1] + times_of_day[0]
             for earlier, later in zip(days, days[1:], strict=False)]
    return max(gaps) * 60.0


def source_families(now: datetime):
    last_success = GaugeMetricFamily("racine_source_last_success_timestamp_seconds",
                                     "When the source's last successful run finished (Unix time).",
                                     labels=SOURCE_LABELS)
    last_failure = GaugeMetricFamily("racine_source_last_failure_timestamp_seconds",
                                     "When the source's last failed run finished (Unix time).", labels=SOURCE_LABELS)
    interval = GaugeMetricFamily("racine_source_scan_interval_seconds",
                                 "The longest wait between two firings of the source's enabled scheduled scans "
                                 "(the most frequent scan counts); absent for sources scanned on demand only.",
                                 labels=SOURCE_LABELS)
    names = ("data_source_id", "data_source__name", "data_source__workspace__name")
    latest = (ScanRun.objects.order_by().filter(status__in=[ScanRun.Status.SUCCEEDED, ScanRun.Status.FAILED])
              .values(*names, "status").annotate(last=Max("finished_at")))
    for row in latest:
        family = last_success if row["status"] == ScanRun.Status.SUCCEEDED else last_failure
        if row["last"] is not None:
            family.add_metric([str(row[names[0]]), row[names[1]], row[names[2]]], _seconds(row["last"]))
    shortest: dict[tuple[str, str, str], float] = {}
    for row in Scan.objects.order_by().filter(enabled=True).exclude(schedule="").values(*names, "schedule"):
        gap = schedule_max_gap_seconds(row["schedule"])
        key = (str(row[names[0]]), row[names[1]], row[names[2]])
        if gap is not None:
            shortest[key] = min(gap, shortest.get(key, gap))
    for key, gap in shortest.items():
        interval.add_metric(list(key), gap)
    return [last_success, last_failure, interval]


def collect():
    now = timezone.now()
    return [*run_families(_run_aggregates(), now), *source_families(now)]
