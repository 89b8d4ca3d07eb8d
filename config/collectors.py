"""How each app serves its own metrics at /metrics: a collector per app, registered from its ``AppConfig.ready``.

Racine's own metrics are counted from the database (and, for events that leave no row, from counters in the shared
cache), not kept in process memory: a run finishes in a worker and a login fails in one of several web processes,
while the scrape reaches one web process. Each app contributes a function returning metric families; it is run
at most once per ``RACINE_METRICS_CACHE_SECONDS`` per process, so scrapes stay cheap whatever their frequency.
docs/operations.md says why this and not prometheus-client's multiprocess mode.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, connections, transaction
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily, Metric

from config.cache_guard import guarded

logger = logging.getLogger(__name__)

Families = Iterable[Metric]
THROTTLED_REQUESTS = "throttled_requests"
LOGIN_THROTTLE_SCOPE = "login"  # the login form's rate limit (accounts.middleware), beside the API's throttle scopes
# The most one of a collector's queries may take (statement or wait for a lock), a hundred times what they take on
# a large installation (docs/benchmarks.md#metrics).
COLLECTOR_STATEMENT_TIMEOUT_MS = 10_000


class CachedCollector:
    """A prometheus-client collector computing its families with ``compute`` at most every
    ``RACINE_METRICS_CACHE_SECONDS``, off the scrape's path.

    The first scrape of a process computes in the request. Later scrapes are served the last families at once and,
    when those are older than the cache time, start one refresh in a thread of its own, whose result the next
    scrape serves: the scrape's cost does not depend on the size of the database. At 0 every scrape computes in
    the request. A failing computation is logged and keeps the last families (if any), with
    ``racine_metrics_collector_ok{collector=…}`` at 0, so one broken query does not blank the whole page."""

    def __init__(self, name: str, compute: Callable[[], Families]) -> None:
        self.name, self.compute = name, compute
        self._lock = threading.Lock()
        self._families: list[Metric] = []
        self._computed_at: float | None = None
        self._refreshing = False
        self.ok = True

    def describe(self) -> list[Metric]:
        # prometheus-client calls collect() at registration when there is no describe(); that would query the
        # database while apps load (before migrations, in every management command).
        return []

    def collect(self) -> list[Metric]:
        cache_seconds = settings.RACINE_METRICS_CACHE_SECONDS
        with self._lock:
            if self._computed_at is None or cache_seconds == 0:
                self._store(self._compute())
            elif time.monotonic() - self._computed_at >= cache_seconds and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, name=f"metrics-{self.name}", daemon=True).start()
            return self._families

    def _compute(self) -> list[Metric] | None:
        try:
            with _bounded_statements():
                return list(self.compute())
        except Exception:  # noqa: BLE001 — a metrics page with the others beats a 500
            logger.exception("metrics collector %s failed", self.name)
            return None

    def _store(self, families: list[Metric] | None) -> None:
        self.ok = families is not None
        if families is not None:
            self._families = families
        self._computed_at = time.monotonic()

    def _refresh(self) -> None:
        try:
            families = self._compute()
            with self._lock:
                self._store(families)
        finally:
            with self._lock:
                self._refreshing = False
            # Database connections are per thread: this thread's would otherwise stay open until it is collected.
            connections.close_all()


@contextmanager
def _bounded_statements() -> Iterator[None]:
    """Queries that give up after ``COLLECTOR_STATEMENT_TIMEOUT_MS``: without it a query held up (by a migration's
    lock on the runs table, say) kept its refresh thread, and with it every later refresh, waiting; the page served
    the old figures with the collector reported ok. In the request (the first scrape) it kept a web thread per
    scrape, all waiting for the computation's lock."""
    if connection.vendor != "postgresql":  # SQLite (the embedded mode) waits for no server-side lock
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {int(COLLECTOR_STATEMENT_TIMEOUT_MS)}")
        yield


class _CollectorHealth:
    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> list[Metric]:
        family = GaugeMetricFamily("racine_metrics_collector_ok",
                                   "1 when the collector's last computation succeeded, 0 when it failed.",
                                   labels=["collector"])
        for collector in _collectors.values():
            family.add_metric([collector.name], 1 if collector.ok else 0)
        return [family]


_collectors: dict[str, CachedCollector] = {}
_health = _CollectorHealth()
_registration_lock = threading.Lock()


def register_collector(name: str, compute: Callable[[], Families]) -> CachedCollector:
    """Serve ``compute``'s families at /metrics (called from each app's ``AppConfig.ready``; idempotent)."""
    with _registration_lock:
        if name not in _collectors:
            # The registry collects in registration order: the health report must come after every collector.
            if _collectors:
                REGISTRY.unregister(_health)
            _collectors[name] = CachedCollector(name, compute)
            REGISTRY.register(_collectors[name])
            REGISTRY.register(_health)
        return _collectors[name]


def shared_counter_key(name: str, *labels: str) -> str:
    return ":".join(("racine:metrics", name, *labels))


def shared_counter_inc(name: str, *labels: str) -> None:
    """Count an event that leaves no row in the database in the shared cache, so every web process adds to the
    same number; while the cache is unreachable the event goes uncounted (and the outage is counted instead)."""
    key = shared_counter_key(name, *labels)

    def increment() -> None:
        backend = caches[DEFAULT_CACHE_ALIAS]
        if isinstance(backend, RedisCache):
            # Redis's INCR starts a missing key at 0: one round trip, where Django's add() then incr() take three
            # (SET NX, EXISTS, INCRBY) — on every refused request of a flood.
            backend._cache.get_client(write=True).incr(backend.make_and_validate_key(key))
            return
        # add() then incr(): incr() of a missing key raises; add() is a no-op when the key exists.
        cache.add(key, 0, timeout=None)
        cache.incr(key)

    guarded(f"metrics_{name}", increment, fallback=None)


def shared_counter_values(name: str, label_values: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    """The shared counters of ``name`` for each label tuple (0 for those never counted); empty when the cache is
    unreachable."""
    keys = {shared_counter_key(name, *labels): labels for labels in label_values}
    found = guarded(f"metrics_{name}", lambda: cache.get_many(list(keys)), fallback=None)
    if found is None:
        return {}
    return {labels: int(found.get(key, 0)) for key, labels in keys.items()}
