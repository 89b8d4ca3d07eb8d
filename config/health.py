"""Probes for orchestrators: live (the process serves) and ready (its dependencies answer)."""
from __future__ import annotations

import re
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.metrics import is_operator_request

BROKER_TIMEOUT_S = 2.0


def check_database() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_migrations() -> str:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise RuntimeError(f"{len(pending)} unapplied migration(s); run `manage.py migrate`")
    return "ok"


def check_cache() -> str:
    key = f"racine:health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return the value just written")
    cache.delete(key)
    return "ok"


def check_broker() -> str:
    from config.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
    return "ok"


def readiness_checks() -> dict:
    checks = {"database": check_database, "migrations": check_migrations, "cache": check_cache}
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = check_broker
    return checks


@never_cache
@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request):
    # Probes only need the status and which check failed; the error text (host names, user names) is for
    # operators: loopback callers and holders of the metrics token.
    detailed = is_operator_request(request)
    results, healthy = {}, True
    for name, check in readiness_checks().items():
        started = time.monotonic()
        try:
            results[name] = {"status": check()}
        except Exception as exc:  # noqa: BLE001 — any failure of a dependency makes the instance unready
            healthy = False
            # The exception class and message name the failing dependency; no traceback, no connection string.
            results[name] = {"status": "fail"}
            if detailed:
                results[name]["error"] = f"{type(exc).__name__}: {_without_secrets(str(exc))}"
        results[name]["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": results}, status=200 if healthy else 503)


def _without_secrets(message: str) -> str:
    """Drop URL credentials (user:password@) that drivers sometimes echo in their errors."""
    return re.sub(r"//[^/@\s]*@", "//***@", message)[:300]
