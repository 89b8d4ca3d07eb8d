"""Issue 4, "a worker killed mid-scan leaves a consistent catalog": a real Celery worker process (fed through Redis,
writing into this test's PostgreSQL database) scans a PostgreSQL source in small batches and is killed with SIGKILL
half-way, inside a batch's transaction: the batch's rows written, not committed. The reaper fails the run once its
heartbeat is older than the timeout; the catalog then holds whole batches only — every parent present, every drift
row on an asset of the source, the run's counters equal to the rows written, nothing twice — and the next run
completes the catalog.

Where the kill lands is not left to timing: the test holds the run's row lock (:func:`worker_held_mid_batch`), so
the worker waits at the heartbeat that ends each batch's transaction, and the test lets it through one batch at a
time until the run has committed what the step needs. The source is therefore small (a dozen batches), not big.

It is done twice: on the source's first (baseline) scan, and on a rescan after a column was added to every table,
so that the killed run had written drift rows too. A cancel through the API, reaching the same kind of worker
mid-scan, is the orderly version of the same stop.
"""
from __future__ import annotations

import contextlib
import signal

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.urls import reverse

from accounts.actors import SYSTEM
from accounts.roles import Role
from bench.scan.build_db import SCHEMAS, ddl
from catalog.models import Asset
from scanning import services
from scanning.models import AssetChange, ScanRun
from sources import services as source_services
from sources.connectors import ConnectionSettings, connector_for
from tests.support import target_dbs
from tests.support.celery_worker import (
    app_database_env,
    redis_workers,
    skip_unless_postgresql_app_database,
    wait_for,
)
from tests.support.factories import UserFactory, membership
from tests.support.personas import verified_client
from tests.support.target_dbs import scan_workspace, schema_only_rule_set

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TABLES = 40  # 4 schemas of 10 tables of 25 columns, and a view each: 1,065 objects
BATCH_SIZE = 100  # objects per batch (and transaction): 11 batches a scan
SECRET = "Worker-Secret-5b7e"  # trust authentication ignores it; the worker still handles it


@pytest.fixture(scope="module")
def big_source():
    """A PostgreSQL database of 40 tables of 25 columns (the benchmark's generator, smaller)."""
    skip_unless_postgresql_app_database()
    with target_dbs.pg_server() as (url, admin), target_dbs.pg_database(admin, url, "racine_t_kill") as (name, conn):
        for batch in ddl(TABLES):
            with conn.transaction():
                conn.execute(batch)
        yield name, url, conn


def source_objects(name, url) -> set[str]:
    """The qualified names of the source's whole catalog, read by the connector directly."""
    settings_ = ConnectionSettings(engine="postgresql", host=url.hostname, port=url.port or 5432, database=name,
                                   username=url.username or "postgres", statement_timeout_s=120)
    with connector_for(settings_) as connector:
        return {obj.qualified_name for batch in connector.iter_schema() for obj in batch}


@pytest.fixture
def celery_via_redis(tmp_path):
    """Workers writing into this test's database, started by the test on a queue of this test's own."""
    env = {**app_database_env(), "RACINE_SCAN_BATCH_SIZE": str(BATCH_SIZE), "LOG_LEVEL": "DEBUG"}
    with redis_workers(tmp_path, env=env) as workers:
        yield workers


def request_run(source) -> ScanRun:
    scan = services.scan_default(data_source=source, rule_set=schema_only_rule_set(source.workspace),
                                 acting_user=SYSTEM)
    return services.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)


def worker_waits_for_this_connection() -> bool:
    # pg_locks, not pg_stat_activity: the latter is a snapshot kept for the whole transaction.
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks"
                       " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))")
        return cursor.fetchone()[0]


@contextlib.contextmanager
def worker_held_mid_batch(run: ScanRun, *, until):
    """Yields the run (as committed) while its worker waits inside a batch's transaction, and ``until(run)`` holds.

    Every batch ends with the run's heartbeat, an UPDATE of its row in the batch's transaction. This holds that
    row's lock (FOR NO KEY UPDATE: drift rows referring to the run still go in), so the worker stops at its next
    heartbeat with the batch written and not committed. When the committed run does not satisfy ``until`` yet,
    the lock is let go: the worker, queued first, commits that batch, and the next lock, queued behind it, is
    held before the worker has read and written the next one. The block runs with the lock still held.
    """
    while True:
        with transaction.atomic():
            held = ScanRun.objects.select_for_update(no_key=True).get(pk=run.pk)
            assert held.status in ScanRun.ACTIVE, f"the run ended before the kill: {held.status} {held.error}"
            wait_for(worker_waits_for_this_connection, 120, "the worker to reach the run's row")
            if held.status == ScanRun.Status.RUNNING and until(held):
                yield held
                return


def kill_mid_scan(worker, run: ScanRun, *, until) -> ScanRun:
    """SIGKILL the worker inside a batch's transaction once the batches it committed make ``until(run)`` hold."""
    with worker_held_mid_batch(run, until=until):
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    # Let go, the worker's database session finds its client gone and rolls the batch back.
    run.refresh_from_db()
    return run


def reap(run: ScanRun) -> None:
    with override_settings(RACINE_SCAN_HEARTBEAT_TIMEOUT=1):
        wait_for(lambda: services.scan_runs_reap()["failed"], 15, "the reaper to fail the silent run")
    run.refresh_from_db()
    assert run.status == ScanRun.Status.FAILED and "stopped responding" in run.error


def assert_consistent(source, run: ScanRun, total: int) -> None:
    assets = Asset.objects.filter(data_source=source)
    names = list(assets.values_list("qualified_name", flat=True))
    assert len(names) == len(set(names))
    # Whole batches only, parents first: every asset but the database has its parent, inside the source.
    assert not assets.exclude(type__in=[Asset.Type.SOURCE, Asset.Type.DATABASE]).filter(parent__isnull=True).exists()
    assert not assets.filter(type=Asset.Type.DATABASE).exclude(parent__type=Asset.Type.SOURCE).exists()
    assert not assets.exclude(parent__isnull=True).exclude(parent__data_source=source).exists()
    changes = AssetChange.objects.filter(run__data_source=source)
    assert not changes.exclude(asset__data_source=source).exists()
    assert changes.filter(run=run).count() == len(set(changes.filter(run=run).values_list("asset", flat=True)))
    # The killed run stopped part-way, and its counters are exactly what it committed.
    assert 0 < run.objects_seen < total
    assert run.objects_seen == run.added + run.changed + run.unchanged and run.removed == 0
    assert run.progress_done == run.objects_seen


def test_worker_killed_mid_scan_leaves_a_consistent_catalog_and_the_next_run_completes(big_source,
                                                                                       celery_via_redis):
    name, url, target = big_source
    source = source_services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM, name="big",
                                        engine="postgresql", host=url.hostname, port=url.port or 5432,
                                        database=name, username=url.username or "postgres", password=SECRET)
    expected = source_objects(name, url)
    assert len(expected) > 10 * BATCH_SIZE  # a kill after the first batch leaves most of the scan undone

    # 1. The baseline scan, killed after its first batches.
    worker = celery_via_redis.start()
    first = kill_mid_scan(worker, request_run(source), until=lambda run: run.progress_done > 0)
    # The next worker starts up while the reaper waits; the killed run's message (never acknowledged) is not
    # delivered again before the broker's visibility timeout, and a run that is not queued is not claimed.
    worker = celery_via_redis.start()
    reap(first)
    assert_consistent(source, first, len(expected))
    # A baseline: added = rows written (the source's own asset is no scanned row).
    assert first.added == Asset.objects.filter(data_source=source).exclude(type=Asset.Type.SOURCE).count()
    assert not AssetChange.objects.filter(run__data_source=source).exists()

    # 2. The next run completes the catalog, and reports as added exactly what the killed run had not written
    # (the catalog already showed the rest).
    written_by_first = set(Asset.objects.filter(data_source=source).exclude(type=Asset.Type.SOURCE)
                           .values_list("qualified_name", flat=True))
    second = request_run(source)
    wait_for(lambda: ScanRun.objects.filter(pk=second.pk).exclude(status__in=ScanRun.ACTIVE).exists(), 180,
             "the rescan to finish")
    second.refresh_from_db()
    assert second.status == ScanRun.Status.SUCCEEDED, second.error
    assert set(Asset.objects.filter(data_source=source, removed_at__isnull=True).exclude(type=Asset.Type.SOURCE)
               .values_list("qualified_name", flat=True)) == expected
    added_by_second = set(AssetChange.objects.filter(run=second).values_list("asset__qualified_name", flat=True))
    assert added_by_second == expected - written_by_first
    assert second.added == len(added_by_second) and not AssetChange.objects.filter(
        run=second).exclude(kind=AssetChange.Kind.ADDED).exists()

    # 3. A column added to every table; the rescan is killed once it has written drift.
    for schema in SCHEMAS:
        with target.transaction():
            for i in range(TABLES // len(SCHEMAS)):
                target.execute(f"ALTER TABLE {schema}.t{i:04d} ADD COLUMN drift integer")
    grown = source_objects(name, url)
    new_columns = grown - expected
    assert len(new_columns) == TABLES
    third = kill_mid_scan(worker, request_run(source), until=lambda run: run.added > 0)
    celery_via_redis.start()
    reap(third)
    assert_consistent(source, third, len(grown))
    added_by_third = set(AssetChange.objects.filter(run=third).values_list("asset__qualified_name", flat=True))
    assert third.added == len(added_by_third) and added_by_third < new_columns
    assert not AssetChange.objects.filter(run=third).exclude(kind=AssetChange.Kind.ADDED).exists()

    # 4. The last run completes: the whole catalog, and exactly the drift the killed run had not recorded.
    fourth = request_run(source)
    wait_for(lambda: ScanRun.objects.filter(pk=fourth.pk).exclude(status__in=ScanRun.ACTIVE).exists(), 180,
             "the last rescan to finish")
    fourth.refresh_from_db()
    assert fourth.status == ScanRun.Status.SUCCEEDED, fourth.error
    assert set(Asset.objects.filter(data_source=source, removed_at__isnull=True).exclude(type=Asset.Type.SOURCE)
               .values_list("qualified_name", flat=True)) == grown
    added_by_fourth = set(AssetChange.objects.filter(run=fourth).values_list("asset__qualified_name", flat=True))
    assert added_by_fourth == new_columns - added_by_third
    assert fourth.added == len(added_by_fourth) and (fourth.changed, fourth.removed) == (0, 0)

    # The workers' own logs (at DEBUG) never carried the source's password.
    assert "catalog synced" in celery_via_redis.logs[1].read_text()  # the log is the worker's, and it is read
    assert [log.name for log in celery_via_redis.logs if SECRET in log.read_text()] == []


def test_cancel_through_the_api_stops_a_worker_scan_after_its_batch(big_source, celery_via_redis):
    """The other way a run stops half-way: a steward cancels it while the worker writes a batch. At that batch's
    heartbeat the worker rolls it back, keeps every batch it committed before, marks the run cancelled and stays up
    for the next run."""
    name, url, _ = big_source
    workspace = scan_workspace()
    source = source_services.datasource_create(workspace=workspace, acting_user=SYSTEM, name="big, cancelled",
                                        engine="postgresql", host=url.hostname, port=url.port or 5432,
                                        database=name, username=url.username or "postgres")
    scan = services.scan_default(data_source=source, rule_set=schema_only_rule_set(workspace), acting_user=SYSTEM)
    steward = UserFactory()
    membership(steward, workspace, Role.DATA_STEWARD)
    client = verified_client(steward)
    worker = celery_via_redis.start()

    queued = client.post(reverse("api:scan-run", args=[scan.pk]))
    assert queued.status_code == 202
    run = ScanRun.objects.get(pk=queued.json()["id"])
    with worker_held_mid_batch(run, until=lambda held: held.progress_done > 0) as held:
        # In the lock's transaction: the worker sees the cancel when it is let go, at the batch's heartbeat.
        cancelled = client.post(reverse("api:scanrun-cancel", args=[run.pk]))
        assert cancelled.status_code == 200 and cancelled.json()["cancel_requested"] is True
    wait_for(lambda: ScanRun.objects.filter(pk=run.pk, status=ScanRun.Status.CANCELLED).exists(), 60,
             "the worker to stop the run")
    run.refresh_from_db()
    assert worker.poll() is None  # the worker is still up
    assert_consistent(source, run, len(source_objects(name, url)))
    assert run.added == Asset.objects.filter(data_source=source).exclude(type=Asset.Type.SOURCE).count()
    assert run.progress_done == held.progress_done  # the batch in hand rolled back, the ones before it kept

    again = client.post(reverse("api:scan-run", args=[scan.pk]))
    assert again.status_code == 202
    wait_for(lambda: ScanRun.objects.filter(pk=again.json()["id"], status=ScanRun.Status.SUCCEEDED).exists(), 180,
             "the next run on the same worker")
