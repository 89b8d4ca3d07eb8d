"""Metrics of the running installation rather than of its data: Celery queue depth read from the broker,
readiness (the checks of /health/ready) and requests refused by a rate limit (counted in the shared cache).

Registered by ``config.apps`` like every app's collector (``config.collectors``).
"""
from __future__ import annotations

from django.conf import settings
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from config.celery import QUEUES, app
from config.collectors import LOGIN_THROTTLE_SCOPE, THROTTLED_REQUESTS, shared_counter_values
from config.health import PROBE_TIMEOUT_S, run_readiness_probes


def queue_depths() -> dict[str, int]:
    """Messages waiting on each of Racine's queues, not yet taken by a worker (for Redis, the list lengths)."""
    timeouts = {"socket_connect_timeout": PROBE_TIMEOUT_S, "socket_timeout": PROBE_TIMEOUT_S}
    depths = {}
    with app.connection_for_read(connect_timeout=PROBE_TIMEOUT_S, transport_options=timeouts) as connection:
        connection.ensure_connection(max_retries=0, timeout=PROBE_TIMEOUT_S)
        channel = connection.channel()
        for name in QUEUES:
            try:
                depths[name] = channel.queue_declare(queue=name, passive=True).message_count
            except connection.channel_errors:  # Redis drops an emptied list: no such queue, nothing waits
                depths[name] = 0
                channel = connection.channel()  # AMQP closes the channel of a failed passive declare
    return depths


def throttle_scopes() -> list[str]:
    return [*settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}), LOGIN_THROTTLE_SCOPE]


def collect():
    families = []
    ready = GaugeMetricFamily("racine_readiness_check_ok",
                              "1 when the readiness check passes (as GET /health/ready reports it), else 0.",
                              labels=["check"])
    results = run_readiness_probes()
    for check, result in sorted(results.items()):
        ready.add_metric([check], 1 if result["status"] == "ok" else 0)
    families.append(ready)
    families.append(GaugeMetricFamily("racine_ready", "1 when every readiness check passes, else 0.",
                                      value=int(all(result["status"] == "ok" for result in results.values()))))
    depth = GaugeMetricFamily("racine_celery_queue_messages",
                              "Task messages waiting on the queue in the broker, not yet taken by a worker.",
                              labels=["queue"])
    reachable = GaugeMetricFamily("racine_celery_broker_reachable",
                                  "1 when the broker answered the queue-depth query, else 0.")
    # Without a broker (tasks run in process: the embedded development setup) both families stay empty.
    if not settings.CELERY_TASK_ALWAYS_EAGER:
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
