"""How long does the steward's home (the admin index) take to draw with a catalog of 50,000 columns?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/racine_bench_home \\
        .venv/bin/python -m bench.home.run [--columns 50000] [--requests 30]

Drops and recreates the database named in ``DATABASE_URL`` (PostgreSQL only: the figures are about its planner),
migrates it and writes, with ``COPY``, the catalog of ``bench.api.run`` (five sources, four in workspace A and one
in B; databases, schemas, tables of 24 columns) sized to at least ``--columns`` columns. A fifth of the columns
carry a sensitivity and a classification (two thirds suggested, one third confirmed, as a first review leaves
them); each source has ``--runs`` runs over the last 30 days (one in ten failed, the last one stuck without a
heartbeat) and each run a share of the drift, a third of it in the last 7 days.

Then it asks for ``/admin/`` in process (Django's test client, production settings: DEBUG off), ``--requests``
times per persona after one warm-up request, and prints the median server time, its spread (min–max) and the
number of queries: a data steward of A (sees four fifths), the auditor (every workspace, model-level grants),
a superuser (no filter at all).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.api.run import (  # noqa: E402  (after the path is set, as the other benches)
    COLUMN_NAMES,
    SCHEMAS,
    SOURCES,
    catalog_world,
    copy_rows,
)
from bench.setup import fresh_django_on_postgres  # noqa: E402

# The columns a scan classifies, with what it found: a fifth of COLUMN_NAMES.
FOUND = {"customer_email": ("PII.EMAIL", "confidential"), "phone": ("PII.PHONE", "confidential"),
         "first_name": ("PII.PERSON_NAME", "confidential"), "iban": ("FINANCIAL.IBAN", "restricted"),
         "birth_date": ("PII.DATE_OF_BIRTH", "confidential")}


def assets_for(columns: int) -> int:
    """The number of assets ``asset_rows`` needs to write at least ``columns`` columns (one table in every 25
    assets, plus a database and its schemas per source)."""
    per_source_columns = -(-columns // len(SOURCES))
    tables_per_schema = -(-per_source_columns // (len(SCHEMAS) * len(COLUMN_NAMES)))
    return len(SOURCES) * (1 + len(SCHEMAS) + len(SCHEMAS) * tables_per_schema * (1 + len(COLUMN_NAMES)))


def build(columns: int, runs_per_source: int) -> dict:
    from django.db import connection
    from django.utils import timezone

    from accounts import services
    from accounts.actors import SYSTEM
    from accounts.models import User
    from accounts.roles import Role
    from catalog.models import Asset, AssetClassification, Classification
    from scanning.models import AssetChange, Scan, ScanRuleSet, ScanRun
    from tests.support.factories import UserFactory

    started = time.perf_counter()
    workspaces, sources, written = catalog_world(assets_for(columns))
    for name, (_, sensitivity) in FOUND.items():
        Asset.objects.filter(type=Asset.Type.COLUMN, name=name).update(sensitivity=sensitivity)

    now = timezone.now()
    kinds = {name: Classification.objects.get_or_create(
        name=classification, defaults={"category": classification.split(".")[0], "sensitivity": sensitivity})[0]
        for name, (classification, sensitivity) in FOUND.items()}
    found = list(Asset.objects.filter(type=Asset.Type.COLUMN, name__in=FOUND).values_list("pk", "name"))
    copy_rows(AssetClassification, (
        {"asset_id": pk, "classification_id": kinds[name].pk, "confidence": 0.9,
         "status": "confirmed" if index % 3 == 0 else "suggested",
         "created_at": now - timedelta(days=index % 30), "updated_at": now} for index, (pk, name) in enumerate(found)))

    run_rows = []
    for source in sources:
        rule_set = ScanRuleSet.objects.create(workspace=source.workspace, name=f"{source.name} rules")
        scan = Scan.objects.create(data_source=source, rule_set=rule_set, name=f"{source.name} nightly")
        for index in range(runs_per_source):
            at = now - timedelta(days=30) + timedelta(days=30) * index / runs_per_source
            last = index == runs_per_source - 1
            status = "running" if last else "failed" if index % 10 == 0 else "succeeded"
            run_rows.append({"scan_id": scan.pk, "data_source_id": source.pk, "trigger": "schedule",
                             "status": status, "queued_at": at, "due_at": at, "started_at": at,
                             "heartbeat_at": now - timedelta(hours=1) if last else at,
                             "finished_at": None if last else at + timedelta(minutes=3),
                             "error": "connection refused" if status == "failed" else ""})
    copy_rows(ScanRun, run_rows)
    runs = {source.pk: list(ScanRun.objects.filter(data_source=source).order_by("queued_at").values_list(
        "pk", "queued_at")) for source in sources}
    columns_of = {source.pk: list(Asset.objects.filter(data_source=source, type=Asset.Type.COLUMN)
                                  .order_by("pk").values_list("pk", flat=True)[:runs_per_source * 20])
                  for source in sources}
    # Twenty changes per run, each on another column: a run's changes are unique by asset.
    drift = copy_rows(AssetChange, (
        {"run_id": run_id, "asset_id": asset_id, "kind": ("added", "changed", "removed")[offset % 3],
         "created_at": queued_at}
        for source_id, source_runs in runs.items() for index, (run_id, queued_at) in enumerate(source_runs)
        for offset, asset_id in enumerate(columns_of[source_id][index * 20:(index + 1) * 20])))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    steward = UserFactory(username="bench-steward", is_staff=True)
    services.membership_create(user=steward, workspace=workspaces["A"], role=Role.DATA_STEWARD, acting_user=SYSTEM)
    auditor = UserFactory(username="bench-auditor", is_staff=True)
    services.membership_create(user=auditor, workspace=workspaces["A"], role=Role.AUDITOR, acting_user=SYSTEM)
    superuser = UserFactory(username="bench-superuser", is_staff=True, is_superuser=True)
    column_count = Asset.objects.filter(type=Asset.Type.COLUMN).count()
    print(f"built {written:,} assets ({column_count:,} columns, {len(found):,} classified), "
          f"{len(run_rows):,} runs, {drift:,} changes in {time.perf_counter() - started:.0f}s")
    return {"data steward of A": steward, "auditor": User.objects.get(pk=auditor.pk), "superuser": superuser}


def reference_ms(repeat: int) -> float:
    """The median time of one plain scan of the asset table: how busy the machine is, to read the figures by."""
    from catalog.models import Asset

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        Asset.objects.count()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def serve_static_from_the_checkout() -> None:
    """Production serves the admin's static files from collectstatic's manifest, which a checkout has not built."""
    from django.conf import settings

    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


def server_times(personas: dict, path: str, requests: int) -> None:
    """Ask for ``path`` ``requests`` times per persona after one warm-up request, in process (Django's test
    client), and print the median server time, its spread (min–max), the median CPU time of this process (Django's
    part, without PostgreSQL's: steadier than the wall time on a shared machine) and the number of queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.support.personas import verified_client

    print(f"  {'persona':<22}{'median ms':>10}{'min–max':>16}{'CPU ms':>8}{'queries':>9}")
    for label, user in personas.items():
        client = verified_client(user)
        assert client.get(path).status_code == 200, label
        times, cpu = [], []
        for _ in range(requests):
            started, started_cpu = time.perf_counter(), time.process_time()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            assert response.status_code == 200, label
        spread = f"{min(times) * 1000:.1f}–{max(times) * 1000:.1f}"
        print(f"  {label:<22}{statistics.median(times) * 1000:10.1f}{spread:>16}{statistics.median(cpu) * 1000:8.1f}"
              f"{len(queries):>9}")


def measure(personas: dict, requests: int) -> None:
    serve_static_from_the_checkout()
    print(f"\nGET /admin/ (the steward's home), server time in process over {requests} requests; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"  {'(reference: a count of every asset)':<48}{reference_ms(requests):8.1f} ms")
    server_times(personas, "/admin/", requests)




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--columns", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=200, help="runs per source")
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    fresh_django_on_postgres()
    measure(build(args.columns, args.runs), args.requests)


if __name__ == "__main__":
    main()
