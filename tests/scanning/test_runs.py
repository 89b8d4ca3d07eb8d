"""Scan runs: retries of an unreachable source (with backoff, or at once final in eager mode), the claim that makes
a redelivered task harmless, and the reaper."""
from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from scanning import services
from scanning.connectors import SourceUnavailable
from scanning.models import ScanRun
from scanning.tasks import scan_run_execute_task
from tests.catalog.factories import ScanRunFactory
from tests.support.target_dbs import scan_workspace

pytestmark = pytest.mark.django_db

SECRET = "unreachable-Secret-77"


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unreachable_run():
    source = services.datasource_create(workspace=scan_workspace(), acting_user=None, name="down",
                                        engine="postgresql", host="127.0.0.1", port=closed_port(), database="shop",
                                        username="scanner", password=SECRET)
    scan = services.scan_default(data_source=source)
    return ScanRunFactory(scan=scan, status=ScanRun.Status.QUEUED, started_at=None, finished_at=None)


def test_unreachable_source_hands_the_run_back_for_a_retry(unreachable_run):
    requested_at = unreachable_run.queued_at
    with pytest.raises(SourceUnavailable):
        services.scan_run_execute(scan_run_id=unreachable_run.pk, final_attempt=False)
    unreachable_run.refresh_from_db()
    assert unreachable_run.status == ScanRun.Status.QUEUED and unreachable_run.attempts == 1
    assert unreachable_run.queued_at > requested_at  # the reaper does not take the backoff for a lost message
    assert "cannot reach PostgreSQL" in unreachable_run.error and SECRET not in unreachable_run.error
    assert unreachable_run.started_at is not None and unreachable_run.finished_at is None


def test_unreachable_source_on_the_final_attempt_fails_the_run(unreachable_run):
    services.scan_run_execute(scan_run_id=unreachable_run.pk, final_attempt=True)
    unreachable_run.refresh_from_db()
    assert unreachable_run.status == ScanRun.Status.FAILED and unreachable_run.attempts == 1
    assert "cannot reach PostgreSQL" in unreachable_run.error and SECRET not in unreachable_run.error
    assert unreachable_run.finished_at is not None


def test_task_retries_with_growing_jittered_backoff(unreachable_run, monkeypatch):
    scheduled = []

    def retry(*, exc, countdown):
        scheduled.append((type(exc), countdown))
        return Retry(exc=exc, when=countdown)

    monkeypatch.setattr(scan_run_execute_task, "retry", retry)
    for attempt in range(3):
        scan_run_execute_task.push_request(retries=attempt, is_eager=False)
        try:
            with pytest.raises(Retry):
                scan_run_execute_task.run(unreachable_run.pk)
        finally:
            scan_run_execute_task.pop_request()
        unreachable_run.refresh_from_db()
        assert unreachable_run.status == ScanRun.Status.QUEUED and unreachable_run.attempts == attempt + 1
    assert [kind for kind, _ in scheduled] == [SourceUnavailable] * 3
    for attempt, (_, countdown) in enumerate(scheduled):
        assert 60 * 2 ** attempt * 0.75 <= countdown <= 60 * 2 ** attempt * 1.25


def test_task_after_its_last_retry_fails_the_run(unreachable_run, monkeypatch):
    monkeypatch.setattr(scan_run_execute_task, "retry", lambda **kw: pytest.fail("no retry after the last"))
    scan_run_execute_task.push_request(retries=scan_run_execute_task.max_retries, is_eager=False)
    try:
        scan_run_execute_task.run(unreachable_run.pk)
    finally:
        scan_run_execute_task.pop_request()
    unreachable_run.refresh_from_db()
    assert unreachable_run.status == ScanRun.Status.FAILED


def test_eager_mode_fails_at_once_with_a_clear_error(unreachable_run):
    result = scan_run_execute_task.apply(args=[unreachable_run.pk])  # eager: nobody would retry later
    assert result.successful()
    unreachable_run.refresh_from_db()
    assert unreachable_run.status == ScanRun.Status.FAILED and unreachable_run.attempts == 1
    assert unreachable_run.error.startswith("cannot reach PostgreSQL at 127.0.0.1:")
    assert SECRET not in unreachable_run.error


def test_run_is_executed_once_when_delivered_twice(unreachable_run):
    services.scan_run_execute(scan_run_id=unreachable_run.pk, final_attempt=True)
    services.scan_run_execute(scan_run_id=unreachable_run.pk, final_attempt=True)  # a redelivery: not claimed
    unreachable_run.refresh_from_db()
    assert unreachable_run.attempts == 1 and unreachable_run.status == ScanRun.Status.FAILED


def test_reaper_fails_silent_runs_and_resends_lost_queued_ones(settings, monkeypatch):
    settings.RACINE_SCAN_HEARTBEAT_TIMEOUT = 60
    sent = []
    monkeypatch.setattr("scanning.services.runs._enqueue", lambda run_id, detection: sent.append(run_id))
    now = timezone.now()
    silent = ScanRunFactory(status=ScanRun.Status.RUNNING, heartbeat_at=now - timedelta(seconds=61),
                            finished_at=None)
    alive = ScanRunFactory(status=ScanRun.Status.RUNNING, heartbeat_at=now - timedelta(seconds=30),
                           finished_at=None)
    lost = ScanRunFactory(status=ScanRun.Status.QUEUED, started_at=None, finished_at=None,
                          queued_at=now - timedelta(seconds=settings.CELERY_BROKER_VISIBILITY_TIMEOUT + 1))
    assert services.scan_runs_reap(now=now) == {"failed": 1, "requeued": 1}
    silent.refresh_from_db()
    alive.refresh_from_db()
    assert silent.status == ScanRun.Status.FAILED and "no heartbeat for 60 s" in silent.error
    assert alive.status == ScanRun.Status.RUNNING
    assert sent == [lost.pk]
    assert services.scan_runs_reap(now=now) == {"failed": 0, "requeued": 0}  # once per redelivery delay


def test_longest_backoff_comes_due_before_the_broker_redelivers(settings):
    """Regression: the 30-minute cap with jitter (up to 2,250 s) outlived the 2,100 s visibility timeout, so Redis
    could hand a waiting retry to a second worker."""
    from scanning.tasks import _backoff

    settings.CELERY_BROKER_VISIBILITY_TIMEOUT = 2100
    assert max(_backoff(retries) for retries in range(12) for _ in range(50)) < 2100
