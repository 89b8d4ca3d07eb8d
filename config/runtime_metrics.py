"""Metrics of the running installation rather than of its data: Celery queue depth read from the broker,
readiness (the checks of /health/ready) and requests refused by a rate limit (counted in the shared cache).

Registered by ``config.apps`` like every app's collector (``config.collectors``).
"""
from __future__ import annotations

import threading
import time

from django.conf import settings
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from config.collectors import LOGIN_THROTTLE_SCOPE, THROTTLED_REQUESTS, shared_counter_values
from config.health import PROBE_TIMEOUT_S, run_readiness_probes

# Readiness probes take up to READY_DEADLINE_S (1.5 s) when a dependency is silent, and the migrations check alone
# costs tens of milliseconds: a scrape reports the last result and refreshes it in the background when older.
READINESS_REFRESH_S = 15.0


class LastReadiness:
    """The latest readiness results of this process. The first call waits for the probes; later calls return at
    once, starting a refresh in a thread of its own when the results are older than ``READINESS_REFRESH_S``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: dict | None = None
        self._probed_at = 0.0
        self._refreshing = False

    def results(self) -> dict:
        with self._lock:
            first = self._results is None
            stale = time.monotonic() - self._probed_at >= READINESS_REFRESH_S
            if not first and stale and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="readiness-metrics", daemon=True).start()
        if first:
            self._refresh()
        return self._results

    def _refresh(self) -> None:
        try:
            results = run_readiness_probes()
        finally:
            with self._lock:
                self._refreshing = False
        with self._lock:
            self._results, self._probed_at = results, time.monotonic()


last_readiness = LastReadiness()


def queue_depths() -> dict[str, int]:
    """Messages waiting on each of Racine's queues, not yet taken by a worker (for Redis, the list lengths)."""
    from config.celery import QUEUES, app

    timeouts = {"socket_connect_timeout": PROBE_TIMEOUT_S, "socket_timeout": PROBE_TIMEOUT_S}
    depths = {}
    with app.connection_for_read(connect_timeout=PROBE_TIMEOUT_S, transport_options=timeouts) as connection:
        connection.ensure_connection(max_retries=0, timeout=PROBE_TIMEOUT_S)
        channel = connection.default_channel
        for name in QUEUES:
            try:
                depths[name] = channel.queue_declare(queue=name, passive=True).message_count
            except connection.channel_errors:  # Redis drops an emptied list: no such queue, nothing waits
                depths[name] = 0
    return depths


def throttle_scopes() -> list[str]:
    return [*settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}), LOGIN_THROTTLE_SCOPE]


def collect():
    families = []
    ready = GaugeMetricFamily("racine_readiness_check_ok",
                              "1 when the readiness check passed (as GET /health/ready reports it) at the last "
                              f"probe, at most {READINESS_REFRESH_S:.0f} s ago, else 0.",
                              labels=["check"])
    results = last_readiness.results()
    for check, result in sorted(results.items()):
        ready.add_metric([check], 1 if result["status"] == "ok" else 0)
    families.append(ready)
    families.append(GaugeMetricFamily("racine_ready", "1 when every readiness check passes, else 0.",
                                      value=int(all(result["status"] == "ok" for result in results.values()))))
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        depth = GaugeMetricFamily("racine_celery_queue_messages",
                                  "Task messages waiting on the queue in the broker, not yet taken by a worker.",
                                  labels=["queue"])
        reachable = GaugeMetricFamily("racine_celery_broker_reachable",
                                      "1 when the broker answered the queue-depth query, else 0.")
        try:
            for name, messages in queue_depths().items():
                depth.add_metric([name], messages)
            reachable.add_metric([], 1)
        except Exception:  # noqa: BLE001 — the broker's failure is a value of this metric, not a failed scrape
            reachable.add_metric([], 0)
        families += [depth, reachable]
    throttled = CounterMetricFamily("racine_throttled_requests",
                                    "Requests refused by a rate limit (429), by throttle scope.", labels=["scope"])
    for (scope,), count in shared_counter_values(THROTTLED_REQUESTS, [(s,) for s in throttle_scopes()]).items():
        throttled.add_metric([scope], count)
    families.append(throttled)
    return families
