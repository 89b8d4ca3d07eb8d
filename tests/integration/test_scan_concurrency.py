"""Issue 4, "one run per source at a time", under real concurrency: two threads, each with its own database
connection, hit the API (and the service) at the same instant; the partial unique constraint lets exactly one run
in and the other request gets 409 naming it.

Needs the PostgreSQL application database (CI sets DATABASE_URL): SQLite serialises writers on one file, so the
race this test is about cannot happen there.
"""
from __future__ import annotations

import sqlite3
import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from accounts.actors import SYSTEM
from accounts.roles import Role
from scanning import services
from scanning.models import Scan, ScanRun
from sources import services as source_services
from tests.support.factories import UserFactory, membership
from tests.support.personas import verified_client
from tests.support.target_dbs import scan_workspace

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


@pytest.fixture(autouse=True)
def _postgresql_app_database():
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs the PostgreSQL application database (set DATABASE_URL); "
                    "SQLite serialises writers, so there is no race to test")


@pytest.fixture
def enqueued(monkeypatch):
    """Runs handed to Celery; nothing executes, so the winner's run stays queued while the loser tries."""
    sent: list[int] = []
    monkeypatch.setattr("scanning.services.runs._enqueue", lambda run_id, detection: sent.append(run_id))
    return sent


@pytest.fixture
def source(tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
    return source_services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM, name="shop",
                                             engine="sqlite", database=str(path))


def at_once(*calls):
    """Run each call in its own thread, released together by a barrier; returns results (or exceptions)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the exception is the result under test
            results[index] = exc
        finally:
            connections.close_all()  # this thread's connection; the test database must be droppable afterwards

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def steward_clients(source, count):
    user = UserFactory()
    membership(user, source.workspace, Role.DATA_STEWARD)
    return [verified_client(user) for _ in range(count)]  # one client (and session) per thread


def test_two_simultaneous_scan_requests_give_one_run_and_one_409(source, enqueued):
    clients = steward_clients(source, 2)
    url = reverse("api:datasource-scan-run", args=[source.pk])
    for round_ in range(ROUNDS):
        responses = at_once(*(lambda c=c: c.post(url) for c in clients))
        assert sorted(r.status_code for r in responses) == [202, 409], [r.content for r in responses]
        accepted = next(r for r in responses if r.status_code == 202).json()
        refused = next(r for r in responses if r.status_code == 409).json()
        assert refused["run"] == accepted["id"]
        assert refused["status"] == 409 and refused["code"] == "scan_already_running"
        assert list(ScanRun.objects.filter(data_source=source, status__in=ScanRun.ACTIVE)
                    .values_list("pk", flat=True)) == [accepted["id"]]
        assert enqueued[-1] == accepted["id"] and len(enqueued) == round_ + 1
        ScanRun.objects.filter(pk=accepted["id"]).update(status=ScanRun.Status.CANCELLED)
    assert Scan.objects.filter(data_source=source).count() == 1  # the default scan was created once, too
    assert ScanRun.objects.filter(data_source=source).count() == ROUNDS


def test_two_simultaneous_run_requests_on_one_scan_give_one_run_and_one_409(source, enqueued):
    scan = services.scan_default(data_source=source, acting_user=SYSTEM)
    clients = steward_clients(source, 2)
    url = reverse("api:scan-run", args=[scan.pk])
    responses = at_once(*(lambda c=c: c.post(url) for c in clients))
    assert sorted(r.status_code for r in responses) == [202, 409]
    winner = next(r for r in responses if r.status_code == 202).json()["id"]
    assert next(r for r in responses if r.status_code == 409).json()["run"] == winner
    assert enqueued == [winner]


def test_simultaneous_service_requests_let_exactly_one_run_in(source, enqueued):
    scan = services.scan_default(data_source=source, acting_user=SYSTEM)
    for _ in range(ROUNDS):
        results = at_once(*(lambda: services.scan_run_request(scan=scan, trigger=ScanRun.Trigger.SCHEDULE,
                                                              acting_user=SYSTEM) for _ in range(3)))
        runs = [r for r in results if isinstance(r, ScanRun)]
        refused = [r for r in results if isinstance(r, services.ScanAlreadyRunning)]
        assert len(runs) == 1 and len(refused) == 2, results
        assert all(exc.run is not None and exc.run.pk == runs[0].pk for exc in refused)
        ScanRun.objects.filter(pk=runs[0].pk).update(status=ScanRun.Status.SUCCEEDED)
    assert ScanRun.objects.filter(data_source=source).count() == ROUNDS
