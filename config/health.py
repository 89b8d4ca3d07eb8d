"""Probes for orchestrators: live (the process serves) and ready (its dependencies answer).

Readiness answers within ``READY_DEADLINE_S`` whatever is down, refused or silent. Each dependency is probed on a
short-lived connection of its own with a short connect and read timeout — never the application's connection
pool, whose wait for a connection (10 s) made each check of a down database last that long. The probes run in
parallel, and one that has not answered by the deadline counts as failed; its thread ends at its own timeout.
The migrations check reuses the database probe's connection rather than making a second attempt.
"""
from __future__ import annotations

import copy
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from functools import partial

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.utils import load_backend
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from redis.backoff import NoBackoff
from redis.retry import Retry

from config.celery import app
from config.metrics import is_operator_request

READY_DEADLINE_S = 1.5
PROBE_TIMEOUT_S = 1.0
REDIS_CACHE_BACKEND = "django.core.cache.backends.redis.RedisCache"

Results = dict[str, dict]


def database_settings() -> dict:
    """The default database's connection settings (under tests, those of the test database)."""
    return connections[DEFAULT_DB_ALIAS].settings_dict


def _probe_connection(database: dict):
    """A connection of its own to ``database``, outside the pool, that gives up connecting quickly."""
    settings_dict = copy.deepcopy(database)
    options = settings_dict.setdefault("OPTIONS", {})
    options.pop("pool", None)
    # The default alias: the migration loader looks routers and connections up by it.
    connection = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias=DEFAULT_DB_ALIAS)
    if connection.vendor in ("postgresql", "mysql"):
        # libpq and psycopg round a connect timeout up to 2 s: the deadline still answers first.
        options["connect_timeout"] = max(1, round(PROBE_TIMEOUT_S))
    elif connection.vendor == "sqlite":
        options["timeout"] = PROBE_TIMEOUT_S
    return connection


def check_database_and_migrations(database: dict) -> Results:
    connection = _probe_connection(database)
    try:
        database = _outcome(lambda: _select_one(connection))
        if database["status"] != "ok":
            return {"database": database,
                    "migrations": {"status": "fail", "error": "not checked: the database did not answer",
                                   "duration_ms": 0.0}}
        return {"database": database, "migrations": _outcome(lambda: _no_pending_migrations(connection))}
    finally:
        connection.close()
        # The migration recorder reads its table through connections[alias], the application's connection of this
        # (probe) thread, taken from the pool: give it back, or every probe keeps one of the pool's connections
        # until /health/ready and every request wait for a free one.
        connections[DEFAULT_DB_ALIAS].close()


def _select_one(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _no_pending_migrations(connection) -> None:
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise RuntimeError(f"{len(pending)} unapplied migration(s); run `manage.py migrate`")


def check_cache() -> Results:
    return {"cache": _outcome(_cache_round_trip)}


def _cache_round_trip() -> None:
    cache_settings = settings.CACHES["default"]
    key = f"racine:health:{uuid.uuid4().hex}"
    if cache_settings["BACKEND"] != REDIS_CACHE_BACKEND:  # in-process caches cannot be unreachable
        cache.set(key, "1", timeout=10)
        if cache.get(key) != "1":
            raise RuntimeError("the cache did not return the value just written")
        cache.delete(key)
        return
    location = cache_settings["LOCATION"]
    url = (location.split(",") if isinstance(location, str) else list(location))[0]
    # No retries: redis-py's client otherwise retries a failed command ten times.
    with redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT_S, socket_timeout=PROBE_TIMEOUT_S,
                              retry=Retry(NoBackoff(), 0)) as client:
        client.set(key, b"1", ex=10)
        if client.get(key) != b"1":
            raise RuntimeError("the cache did not return the value just written")
        client.delete(key)


def check_broker() -> Results:
    return {"broker": _outcome(_broker_connect)}


def _broker_connect() -> None:
    timeouts = {"socket_connect_timeout": PROBE_TIMEOUT_S, "socket_timeout": PROBE_TIMEOUT_S}
    with app.connection_for_write(connect_timeout=PROBE_TIMEOUT_S, transport_options=timeouts) as connection:
        connection.ensure_connection(max_retries=0, timeout=PROBE_TIMEOUT_S)


def readiness_probes() -> dict[tuple[str, ...], Callable[[], Results]]:
    """Each probe, keyed by the checks it reports."""
    # The settings are read here, in the request's thread: the probes run in threads of their own.
    probes = {("database", "migrations"): partial(check_database_and_migrations, database_settings()),
              ("cache",): check_cache}
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        probes[("broker",)] = check_broker
    return probes


def run_readiness_probes() -> Results:
    probes = readiness_probes()
    started = time.monotonic()
    executor = ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="readiness")
    futures = {executor.submit(probe): names for names, probe in probes.items()}
    wait_for(futures, timeout=READY_DEADLINE_S)
    # The threads of silent probes are not waited for: they end at their own connect or read timeout.
    executor.shutdown(wait=False, cancel_futures=True)
    results: Results = {}
    for future, names in futures.items():
        if future.done():
            results.update(future.result())
            continue
        elapsed = round((time.monotonic() - started) * 1000, 1)
        for name in names:
            results[name] = {"status": "fail", "error": f"no answer within {READY_DEADLINE_S} s",
                             "duration_ms": elapsed}
    return results


def _outcome(check: Callable[[], None]) -> dict:
    started = time.monotonic()
    try:
        check()
        outcome = {"status": "ok"}
    except Exception as exc:  # noqa: BLE001 — any failure of a dependency makes the instance unready
        # The exception class and message name the failing dependency; no traceback, no connection string.
        outcome = {"status": "fail", "error": f"{type(exc).__name__}: {_without_secrets(str(exc))}"}
    outcome["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    return outcome


@never_cache
@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request):
    results = run_readiness_probes()
    healthy = all(result["status"] == "ok" for result in results.values())
    # Probes only need the status and which check failed; the error text (host names, user names) is for
    # operators: loopback callers and holders of the metrics token.
    if not is_operator_request(request):
        for result in results.values():
            result.pop("error", None)
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": results}, status=200 if healthy else 503)


def _without_secrets(message: str) -> str:
    """Drop URL credentials (user:password@) that drivers sometimes echo in their errors."""
    return re.sub(r"//[^/@\s]*@", "//***@", message)[:300]
