"""One connection test in flight per user: each holds a web worker and a socket for up to the connect and statement
timeouts, so parallel tests pointed at silent hosts could take every worker."""
from __future__ import annotations

import time

import pytest
from django.urls import reverse

import sources.services as datasources
from accounts.models import AuditEvent
from config import cache_guard
from config.health import REDIS_CACHE_BACKEND
from sources.connectors import ConnectionInfo
from tests.catalog.factories import DataSourceFactory
from tests.support.dead_services import closed_port

pytestmark = pytest.mark.django_db

INFO = ConnectionInfo(engine="postgresql", server_version="16.4", current_user="scanner", database="shop",
                      read_only=True, statement_timeout_s=60.0)


def _test(client, source):
    return client.post(reverse("api:datasource-test-connection", args=[source.pk]))


class _Connector:
    """Stands for a connector; ``during`` runs while the test is connected (the slot is held)."""

    def __init__(self, during=None):
        self.during = during

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def test_connection(self):
        if self.during is not None:
            self.during()
        return INFO


def test_a_second_test_while_the_first_is_in_flight_is_a_429_problem(world, monkeypatch):
    source, other = DataSourceFactory(workspace=world.workspace_a), DataSourceFactory(workspace=world.workspace_a)
    steward, admin = world.client("steward"), world.client("workspace_admin")
    seen = {}

    def meanwhile():
        seen["same user"] = _test(steward, other)
        seen["another user"] = _test(admin, other)

    connectors = iter([_Connector(during=meanwhile), _Connector(), _Connector()])
    monkeypatch.setattr(datasources, "connector_for", lambda *args, **kwargs: next(connectors))
    first = _test(steward, source)
    assert first.status_code == 200 and first.json()["ok"] is True
    busy = seen["same user"]
    assert busy.status_code == 429 and busy["Content-Type"] == "application/problem+json"
    assert busy.json()["code"] == "connection_test_in_flight"
    assert "A connection test of yours is still running" in busy.json()["detail"]
    assert seen["another user"].status_code == 200  # one slot per user, not one for everybody
    assert _test(steward, other).status_code == 200  # released when the first answered
    # the refused test neither read the secret nor counts as a test
    assert AuditEvent.objects.filter(event="datasource.connection_tested").count() == 3


def test_a_failed_test_releases_the_slot(world, settings):
    settings.RACINE_CONNECT_TIMEOUT = 1
    source = DataSourceFactory(workspace=world.workspace_a, host="127.0.0.1", port=closed_port())
    steward = world.client("steward")
    assert _test(steward, source).json()["ok"] is False
    assert _test(steward, source).json()["ok"] is False  # not a 429


def test_a_slot_left_by_a_killed_process_expires(world, monkeypatch):
    monkeypatch.setattr(datasources, "connection_test_slot_seconds", lambda: 1)
    monkeypatch.setattr(datasources, "connector_for", lambda *args, **kwargs: _Connector())
    source = DataSourceFactory(workspace=world.workspace_a)
    steward = world.client("steward")
    crashed = datasources.connection_test_slot(world.user("steward"))
    crashed.__enter__()  # taken, never given back: the process died during its test
    assert _test(steward, source).status_code == 429
    time.sleep(1.2)
    assert _test(steward, source).status_code == 200


def test_without_the_cache_connection_tests_run(world, settings, monkeypatch):
    # A slot is a speed bump like the API throttles: a Redis outage must not take away connection tests.
    monkeypatch.setattr(datasources, "connector_for", lambda *args, **kwargs: _Connector())
    working = settings.CACHES
    settings.CACHES = {"default": {"BACKEND": REDIS_CACHE_BACKEND,
                                   "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
                                   "OPTIONS": settings.REDIS_CACHE_OPTIONS}}
    try:
        source = DataSourceFactory(workspace=world.workspace_a)
        steward = world.client("steward")
        assert _test(steward, source).json()["ok"] is True
        assert _test(steward, source).json()["ok"] is True
    finally:
        settings.CACHES = working  # before the suite's own teardown clears the cache
        cache_guard.retry_now()
