"""config.collectors.CachedCollector: computed once per cache time, refreshed off the scrape's path."""
import threading
import time

import pytest
from django.db import connection
from prometheus_client.core import GaugeMetricFamily

from config import collectors
from config.collectors import CachedCollector

# A computation runs its queries in a transaction of its own (with the statement timeout).
pytestmark = pytest.mark.django_db


class Counting:
    def __init__(self):
        self.calls = 0
        self.fail = False
        self.computed = threading.Event()

    def __call__(self):
        self.calls += 1
        self.computed.set()
        if self.fail:
            raise RuntimeError("the database went away")
        return [GaugeMetricFamily("racine_test_value", "a test value", value=self.calls)]


def values(families) -> list[float]:
    return [sample.value for family in families for sample in family.samples]


def test_first_scrape_computes_then_the_cached_families_are_served(settings):
    settings.RACINE_METRICS_CACHE_SECONDS = 60
    compute = Counting()
    collector = CachedCollector("test", compute)

    assert values(collector.collect()) == [1]
    assert values(collector.collect()) == [1]
    assert compute.calls == 1


def test_stale_families_are_served_while_a_background_refresh_computes_the_next(settings):
    settings.RACINE_METRICS_CACHE_SECONDS = 0.01
    compute = Counting()
    collector = CachedCollector("test", compute)
    assert values(collector.collect()) == [1]
    compute.computed.clear()
    time.sleep(0.02)

    assert values(collector.collect()) == [1]  # served at once, the refresh runs meanwhile
    assert compute.computed.wait(5)
    deadline, served = time.monotonic() + 5, [1]
    while served == [1] and time.monotonic() < deadline:
        time.sleep(0.01)
        served = values(collector.collect())
    assert served == [2]


def test_a_failed_computation_keeps_the_last_families_and_reports_not_ok(settings):
    settings.RACINE_METRICS_CACHE_SECONDS = 0
    compute = Counting()
    collector = CachedCollector("test", compute)
    collector.collect()
    compute.fail = True

    assert values(collector.collect()) == [1]
    assert collector.ok is False


def test_a_collector_query_held_up_gives_up_at_the_statement_timeout(settings, monkeypatch):
    # Regression: a query with no end (waiting for a lock, say) held its computation, and the collector with it,
    # forever: never reported failed, and every scrape that computes in the request waited behind it.
    if connection.vendor != "postgresql":
        pytest.skip("the statement timeout is PostgreSQL's")
    settings.RACINE_METRICS_CACHE_SECONDS = 0
    monkeypatch.setattr(collectors, "COLLECTOR_STATEMENT_TIMEOUT_MS", 100)

    def held_up():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(3)")
        return []

    collector = CachedCollector("test", held_up)
    started = time.monotonic()
    collector.collect()

    assert time.monotonic() - started < 2
    assert collector.ok is False
