"""How long does /metrics take with a large catalog and run history?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/racine_bench_metrics REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python -m bench.metrics.run [--assets 250000] [--runs 10000] [--requests 50]

Drops and recreates the database named in ``DATABASE_URL`` (PostgreSQL only), migrates it and writes the API
benchmark's catalog (``bench.api.run``: ``--assets`` assets in five sources, three suggested classifications per
table), one scheduled scan per source and ``--runs`` finished runs spread over the sources (scans and
detections; succeeded, failed — some by the reaper — and cancelled), one queued run, and login failures. Then, in
this process with production settings (``DEBUG=false``, the broker on ``REDIS_URL``), it requests ``/metrics``
``--requests`` times as a loopback scraper:

  in request   ``RACINE_METRICS_CACHE_SECONDS=0``: every request computes every collector before answering
  refreshing   a cache time of 1 ms: every request finds the figures stale, is served the last ones and starts
               their refresh in background threads, which compete with it for the CPU (the worst case of the
               default configuration: a scrape interval longer than the cache time)
  cached       the default cache time (10 s), no refresh due

and prints the median, p95, min and max of each, the page's size and series count, and each collector's own
computing time (median): the work a refresh does in the background.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.api.run import build, copy_rows, free_port, production_environment, recreate_database  # noqa: E402

FINISHED = (("succeeded", 0.85), ("failed", 0.1), ("cancelled", 0.05))


def add_runs(runs: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from accounts import lockout
    from accounts.models import LoginFailure
    from scanning.models import Scan, ScanRuleSet, ScanRun
    from scanning.services.runs import REAPED_SILENT_ERROR
    from sources.models import DataSource

    randomness = random.Random(15)
    sources = list(DataSource.objects.order_by("pk"))
    scans = []
    for source in sources:
        rule_set = ScanRuleSet.objects.create(workspace=source.workspace, name=f"{source.name} rules")
        scans.append(Scan.objects.create(data_source=source, rule_set=rule_set, name=f"{source.name} nightly",
                                         schedule="0 2 * * *"))
    now = timezone.now()
    statuses = [status for status, _ in FINISHED]
    weights = [weight for _, weight in FINISHED]

    def rows():
        for number in range(runs):
            scan = scans[number % len(scans)]
            detection = number % 4 == 3
            status = randomness.choices(statuses, weights)[0]
            started = now - timedelta(hours=runs - number)
            finished = started + timedelta(seconds=randomness.uniform(2, 3000))
            error = f"{REAPED_SILENT_ERROR} (no heartbeat for 300 s)" if status == "failed" and number % 3 == 0 else ""
            yield {"scan_id": None if detection else scan.pk, "data_source_id": scan.data_source_id,
                   "status": status, "trigger": "detection" if detection else "schedule",
                   "queued_at": started, "due_at": started, "started_at": started, "heartbeat_at": finished,
                   "finished_at": finished, "objects_seen": randomness.randint(100, 60000),
                   "columns_classified": randomness.randint(0, 400), "error": error}

    written = copy_rows(ScanRun, rows())
    ScanRun.objects.create(scan=scans[0], data_source_id=scans[0].data_source_id, status=ScanRun.Status.QUEUED)
    LoginFailure.objects.bulk_create(LoginFailure(account=lockout.account_key(f"user{n % 40}"), ip=f"10.0.{n % 7}.1")
                                     for n in range(300))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"wrote {written:,} finished runs and 1 queued over {len(sources)} sources")


def measure(label: str, requests: int, pause: float = 0.0) -> list[float]:
    from django.test import Client

    client = Client()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_HOST="127.0.0.1")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        time.sleep(pause)  # lets the background refreshes started by this request run, as between two scrapes
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"  {label:<12}median {statistics.median(times) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f}  "
          f"min {min(times) * 1000:6.1f}  max {max(times) * 1000:6.1f}  ({requests} requests)")
    return times


def describe_page() -> None:
    from django.test import Client
    from prometheus_client.parser import text_string_to_metric_families

    body = Client().get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_HOST="127.0.0.1").content.decode()
    racine = [sample for family in text_string_to_metric_families(body) for sample in family.samples
              if sample.name.startswith("racine_")]
    print(f"  page: {len(body) / 1024:.0f} KiB, {len(racine)} racine_* samples")


def measure_collectors(requests: int) -> None:
    from config import collectors

    print(f"  collectors, computing time (median of {requests}):")
    for name, collector in collectors._collectors.items():
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            list(collector.compute())
            times.append(time.perf_counter() - started)
        print(f"    {name:<10}{statistics.median(times) * 1000:6.1f} ms  (max {max(times) * 1000:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=250_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database the benchmark may drop and recreate")
    os.environ.update(production_environment(free_port()))
    recreate_database(url)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    build(args.assets)
    add_runs(args.runs)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    describe_page()
    cache_seconds = settings.RACINE_METRICS_CACHE_SECONDS
    settings.RACINE_METRICS_CACHE_SECONDS = 0
    measure("in request", args.requests)
    settings.RACINE_METRICS_CACHE_SECONDS = 0.001
    measure("refreshing", args.requests, pause=0.05)
    settings.RACINE_METRICS_CACHE_SECONDS = cache_seconds
    measure("cached", args.requests)
    measure_collectors(args.requests)


if __name__ == "__main__":
    main()
