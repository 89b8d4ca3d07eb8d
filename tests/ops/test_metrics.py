"""Racine's own metrics at /metrics: what they count, and that their series do not grow with the catalog."""
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts import lockout
from accounts.models import LoginFailure
from catalog.models import AssetClassification
from config import throttling
from core.models import Event
from scanning.metrics import schedule_max_gap_seconds
from scanning.models import ScanRun
from scanning.services.runs import scan_runs_reap
from tests.catalog.classification_factories import AssetClassificationFactory, asset_tree
from tests.catalog.factories import AssetFactory, DataSourceFactory, ScanFactory, ScanRunFactory
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uncached_metrics(settings):
    settings.RACINE_METRICS_CACHE_SECONDS = 0


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples if sample.name.startswith("racine_")}


def value(samples, name, **labels) -> float:
    return samples[(name, frozenset(labels.items()))]


def source_labels(source) -> dict:
    return {"source_id": str(source.pk), "source": source.name, "workspace": source.workspace.name}


def test_runs_counted_by_kind_and_status_with_durations_and_totals(client):
    scan = ScanFactory()
    now = timezone.now()
    ScanRunFactory(scan=scan, started_at=now - timedelta(seconds=40), finished_at=now, objects_seen=120,
                   columns_classified=7)
    ScanRunFactory(scan=scan, status=ScanRun.Status.FAILED, started_at=now - timedelta(seconds=3), finished_at=now)
    ScanRunFactory(scan=None, trigger=ScanRun.Trigger.DETECTION, data_source=scan.data_source,
                   started_at=now - timedelta(seconds=200), finished_at=now, columns_classified=2)
    ScanRunFactory(scan=ScanFactory(), status=ScanRun.Status.QUEUED, started_at=None,
                   queued_at=now - timedelta(seconds=90))

    samples = scrape(client)

    assert value(samples, "racine_scan_runs_total", kind="scan", status="succeeded") == 1
    assert value(samples, "racine_scan_runs_total", kind="scan", status="failed") == 1
    assert value(samples, "racine_scan_runs_total", kind="detection", status="succeeded") == 1
    assert value(samples, "racine_scan_runs_total", kind="detection", status="cancelled") == 0
    assert value(samples, "racine_scan_runs_active", kind="scan", status="queued") == 1
    assert value(samples, "racine_scan_runs_active", kind="scan", status="running") == 0
    assert 90 <= value(samples, "racine_scan_run_oldest_active_age_seconds", kind="scan", status="queued") < 120
    assert value(samples, "racine_scan_objects_seen_total", kind="scan") == 120
    assert value(samples, "racine_scan_columns_classified_total", kind="scan") == 7
    assert value(samples, "racine_scan_columns_classified_total", kind="detection") == 2
    assert value(samples, "racine_scan_run_duration_seconds_bucket", kind="scan", le="5.0") == 1
    assert value(samples, "racine_scan_run_duration_seconds_bucket", kind="scan", le="60.0") == 2
    assert value(samples, "racine_scan_run_duration_seconds_count", kind="scan") == 2
    assert value(samples, "racine_scan_run_duration_seconds_sum", kind="scan") == pytest.approx(43)
    assert value(samples, "racine_scan_run_duration_seconds_bucket", kind="detection", le="120.0") == 0
    assert value(samples, "racine_scan_run_duration_seconds_bucket", kind="detection", le="300.0") == 1


def test_last_success_and_failure_per_source_and_the_schedule_they_are_held_to(client):
    scan = ScanFactory(schedule="0 2 * * *")
    ScanFactory(data_source=scan.data_source, schedule="0 */6 * * *")
    succeeded = ScanRunFactory(scan=scan, finished_at=timezone.now() - timedelta(hours=3))
    failed = ScanRunFactory(scan=scan, status=ScanRun.Status.FAILED)
    on_demand_only = DataSourceFactory()

    samples = scrape(client)

    labels = source_labels(scan.data_source)
    assert value(samples, "racine_source_last_success_timestamp_seconds", **labels) == pytest.approx(
        succeeded.finished_at.timestamp())
    assert value(samples, "racine_source_last_failure_timestamp_seconds", **labels) == pytest.approx(
        failed.finished_at.timestamp())
    assert value(samples, "racine_source_scan_interval_seconds", **labels) == 6 * 3600
    assert ("racine_source_scan_interval_seconds", frozenset(source_labels(on_demand_only).items())) not in samples


@pytest.mark.parametrize(("expression", "gap_s"), [
    ("*/15 * * * *", 15 * 60),
    ("0 2 * * *", 24 * 3600),
    ("0 2 * * 1-5", 3 * 24 * 3600),  # Friday 02:00 to Monday 02:00
    ("30 1,13 * * *", 12 * 3600),
    ("0 0 1 * *", 31 * 24 * 3600),
])
def test_schedule_gap_is_the_longest_wait_between_two_firings(expression, gap_s):
    assert schedule_max_gap_seconds(expression) == gap_s


def test_runs_failed_by_the_reaper_are_counted_by_reason(client, settings):
    settings.RACINE_SCAN_HEARTBEAT_TIMEOUT = 60
    ScanRunFactory(status=ScanRun.Status.RUNNING, heartbeat_at=timezone.now() - timedelta(seconds=61))
    ScanRunFactory(status=ScanRun.Status.FAILED)

    scan_runs_reap()
    samples = scrape(client)

    assert value(samples, "racine_scan_runs_reaped_total", kind="scan", reason="heartbeat") == 1
    assert value(samples, "racine_scan_runs_reaped_total", kind="scan", reason="lost_message") == 0
    assert value(samples, "racine_scan_runs_total", kind="scan", status="failed") == 2


def test_review_backlog_counts_suggestions_waiting_and_the_oldest_age(client):
    waiting = AssetClassificationFactory()
    AssetClassification.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(days=3))
    AssetClassificationFactory(status=AssetClassification.Status.CONFIRMED)

    samples = scrape(client)

    assert value(samples, "racine_review_suggestions_waiting") == 1
    assert value(samples, "racine_review_oldest_suggestion_age_seconds") == pytest.approx(3 * 86400, abs=60)


def test_login_failures_and_lockouts_in_force(client):
    policy = lockout.policy()
    for _ in range(policy.failures):
        LoginFailure.objects.create(account=lockout.account_key("alice"), ip="10.0.0.1")
    LoginFailure.objects.create(account=lockout.account_key("bob"), ip="10.0.0.2")
    LoginFailure.objects.create(account=lockout.account_key("carol"), ip="10.0.0.3",
                                created_at=timezone.now() - policy.window - timedelta(minutes=1))

    samples = scrape(client)

    assert value(samples, "racine_login_failures_window") == policy.failures + 1
    assert value(samples, "racine_login_lockouts_active", scope="account_address") == 1
    assert value(samples, "racine_login_lockouts_active", scope="address") == 0


def test_throttled_requests_are_counted_across_processes_in_the_shared_cache(client, world, monkeypatch):
    monkeypatch.setattr(throttling.UserRateThrottle, "THROTTLE_RATES", {"user": "1/minute", "anon": "1/minute"})
    steward = world.client("steward")
    assert steward.get("/api/v1/workspaces/").status_code == 200
    assert steward.get("/api/v1/workspaces/").status_code == 429

    samples = scrape(client)

    assert value(samples, "racine_throttled_requests_total", scope="user") == 1
    assert value(samples, "racine_throttled_requests_total", scope="login") == 0


def test_readiness_is_exposed_per_check(client):
    samples = scrape(client)

    assert value(samples, "racine_readiness_check_ok", check="database") == 1
    assert value(samples, "racine_ready") == 1


def test_a_failing_collector_is_reported_and_the_others_still_served(client, monkeypatch):
    from scanning import metrics

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(metrics, "_run_aggregates", broken)

    samples = scrape(client)

    assert value(samples, "racine_metrics_collector_ok", collector="scanning") == 0
    assert value(samples, "racine_metrics_collector_ok", collector="catalog") == 1
    assert ("racine_review_suggestions_waiting", frozenset()) in samples


def test_series_count_does_not_grow_with_assets_users_or_runs(client):
    scan = ScanFactory(schedule="0 2 * * *")
    ScanRunFactory(scan=scan)
    ScanRunFactory(scan=scan, status=ScanRun.Status.FAILED)
    AssetClassificationFactory()
    before = set(scrape(client))

    database, schema, table, columns = asset_tree(scan.data_source, table="orders",
                                                  columns={f"c{i}": "text" for i in range(30)})
    AssetFactory.create_batch(20, data_source=scan.data_source, parent=table)
    UserFactory.create_batch(20)
    for _ in range(10):
        ScanRunFactory(scan=scan)
        ScanRunFactory(scan=scan, status=ScanRun.Status.FAILED)
    for column in list(columns.values())[:10]:
        AssetClassificationFactory(asset=column)
    for account in range(10):
        LoginFailure.objects.create(account=lockout.account_key(f"user{account}"), ip=f"10.0.0.{account}")

    assert set(scrape(client)) == before


def test_event_outbox_lag_and_dead_letters(client):
    Event.objects.create(name="scan.finished", aggregate_type="scanning.scanrun", aggregate_id="1",
                         created_at=timezone.now() - timedelta(minutes=10))
    Event.objects.create(name="scan.finished", aggregate_type="scanning.scanrun", aggregate_id="2")
    Event.objects.create(name="scan.finished", aggregate_type="scanning.scanrun", aggregate_id="3",
                         status=Event.Status.DEAD)
    Event.objects.create(name="scan.finished", aggregate_type="scanning.scanrun", aggregate_id="4",
                         status=Event.Status.DELIVERED, created_at=timezone.now() - timedelta(days=1))

    samples = scrape(client)

    assert value(samples, "racine_events_pending") == 2
    assert value(samples, "racine_events_oldest_pending_age_seconds") == pytest.approx(600, abs=60)
    assert value(samples, "racine_events_dead_letters") == 1
