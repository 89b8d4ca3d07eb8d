"""Scan runs: retries of an unreachable source (with backoff, or at once final in eager mode), the claim that makes
a redelivered task harmless, and the reaper."""
from __future__ import annotations

import contextlib
import socket
import threading
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from accounts.actors import SYSTEM
from core.runs import claim, fail_lost, hand_back, mark_resent
from scanning import services
from scanning.models import ScanRun
from scanning.tasks import scan_run_execute_task
from sources import services as source_services
from sources.connectors import SourceUnavailable
from sources.services import RUN_CANNOT_CONNECT
from tests.catalog.factories import DataSourceFactory, ScanRunFactory
from tests.support.dead_services import black_hole, closed_port
from tests.support.target_dbs import scan_workspace

pytestmark = pytest.mark.django_db

SECRET = "unreachable-Secret-77"


@pytest.fixture
def unreachable_run():
    source = source_services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM, name="down",
                                        engine="postgresql", host="127.0.0.1", port=closed_port(), database="shop",
                                        username="scanner", password=SECRET)
    scan = services.scan_default(data_source=source, acting_user=SYSTEM)
    return ScanRunFactory(scan=scan, status=ScanRun.Status.QUEUED, started_at=None, finished_at=None)


def test_unreachable_source_hands_the_run_back_for_a_retry(unreachable_run):
    requested_at = unreachable_run.queued_at
    with pytest.raises(SourceUnavailable):
        services.scan_run_execute(scan_run_id=unreachable_run.pk, final_attempt=False, retry_in=90)
    unreachable_run.refresh_from_db()
    assert unreachable_run.status == ScanRun.Status.QUEUED and unreachable_run.attempts == 1
    assert unreachable_run.queued_at > requested_at
    # Due when the retry's countdown ends: the reaper does not take the backoff for a lost message.
    assert unreachable_run.due_at == unreachable_run.queued_at + timedelta(seconds=90)
    assert unreachable_run.error == RUN_CANNOT_CONNECT
    assert unreachable_run.started_at is not None and unreachable_run.finished_at is None


def test_unreachable_source_on_the_final_attempt_fails_the_run(unreachable_run):
    services.scan_run_execute(scan_run_id=unreachable_run.pk, final_attempt=True)
    unreachable_run.refresh_from_db()
    assert unreachable_run.status == ScanRun.Status.FAILED and unreachable_run.attempts == 1
    assert unreachable_run.error == RUN_CANNOT_CONNECT
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
        # The run is due when the retry is: the countdown the task scheduled it with.
        waits = (unreachable_run.due_at - unreachable_run.queued_at).total_seconds()
        assert waits == pytest.approx(scheduled[-1][1], abs=1e-3)
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
    assert unreachable_run.error == RUN_CANNOT_CONNECT


def test_run_is_executed_once_when_delivered_twice(unreachable_run):
    services.scan_run_execute(scan_run_id=unreachable_run.pk, final_attempt=True)
    services.scan_run_execute(scan_run_id=unreachable_run.pk, final_attempt=True)  # a redelivery: not claimed
    unreachable_run.refresh_from_db()
    assert unreachable_run.attempts == 1 and unreachable_run.status == ScanRun.Status.FAILED


NOTHING_REAPED = {"failed": 0, "requeued": 0, "lost": 0}


@pytest.fixture
def sent(monkeypatch):
    """The messages the reaper sends again: (run id, detection?, retries already used)."""
    messages = []
    monkeypatch.setattr("scanning.services.runs._enqueue",
                        lambda run_id, detection, retries=0: messages.append((run_id, detection, retries)))
    return messages


def test_reaper_fails_silent_runs(settings, sent):
    settings.RACINE_SCAN_HEARTBEAT_TIMEOUT = 60
    now = timezone.now()
    silent = ScanRunFactory(status=ScanRun.Status.RUNNING, heartbeat_at=now - timedelta(seconds=61),
                            finished_at=None)
    alive = ScanRunFactory(status=ScanRun.Status.RUNNING, heartbeat_at=now - timedelta(seconds=30),
                           finished_at=None)
    assert services.scan_runs_reap(now=now) == {"failed": 1, "requeued": 0, "lost": 0}
    silent.refresh_from_db()
    alive.refresh_from_db()
    assert silent.status == ScanRun.Status.FAILED and "no heartbeat for 60 s" in silent.error
    assert alive.status == ScanRun.Status.RUNNING
    assert sent == []


def queued_run(due_at, **kw) -> ScanRun:
    return ScanRunFactory(status=ScanRun.Status.QUEUED, started_at=None, finished_at=None, queued_at=due_at,
                          due_at=due_at, **kw)


def test_a_lost_message_is_sent_again_once_then_the_run_fails_and_frees_its_source(settings, sent):
    """Regression (issue 9): a queued run whose message the broker lost stayed queued for good, and its source
    refused every new run (409) until someone cancelled it."""
    settings.RACINE_RUN_QUEUED_TIMEOUT = 300
    t0 = timezone.now() - timedelta(hours=1)
    run = queued_run(t0)
    at = lambda seconds: t0 + timedelta(seconds=seconds)  # noqa: E731 - the test's clock

    assert services.scan_runs_reap(now=at(299)) == NOTHING_REAPED  # not overdue yet
    assert services.scan_runs_reap(now=at(301)) == {"failed": 0, "requeued": 1, "lost": 0}
    assert sent == [(run.pk, False, 0)]
    run.refresh_from_db()
    assert run.status == ScanRun.Status.QUEUED and run.resent_at == at(301)
    # Once: the next ticks wait for the re-sent message for a whole timeout.
    assert services.scan_runs_reap(now=at(302)) == NOTHING_REAPED
    assert services.scan_runs_reap(now=at(600)) == NOTHING_REAPED
    assert services.scan_runs_reap(now=at(602)) == {"failed": 0, "requeued": 0, "lost": 1}
    assert len(sent) == 1
    run.refresh_from_db()
    assert run.status == ScanRun.Status.FAILED and run.finished_at == at(602) and run.phase == ""
    assert run.error.startswith("The run's task message was lost by the broker: not picked up 300 s after")
    assert services.scan_runs_reap(now=at(3600)) == NOTHING_REAPED
    # The source takes a new run again.
    again = services.scan_run_request(scan=run.scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)
    assert again.status == ScanRun.Status.QUEUED


def test_a_retry_is_overdue_from_the_end_of_its_countdown_and_is_sent_with_its_retries(settings, sent,
                                                                                     unreachable_run):
    settings.RACINE_RUN_QUEUED_TIMEOUT = 300
    with pytest.raises(SourceUnavailable):
        services.scan_run_execute(scan_run_id=unreachable_run.pk, final_attempt=False, retry_in=1200)
    unreachable_run.refresh_from_db()
    handed_back = unreachable_run.queued_at
    assert services.scan_runs_reap(now=handed_back + timedelta(seconds=1200 + 299)) == NOTHING_REAPED
    assert services.scan_runs_reap(now=handed_back + timedelta(seconds=1200 + 301))["requeued"] == 1
    assert sent == [(unreachable_run.pk, False, 1)]  # the retry budget is kept: one attempt was used


def test_a_new_hand_back_after_a_resend_is_a_new_message_with_its_own_resend(settings, sent, unreachable_run):
    settings.RACINE_RUN_QUEUED_TIMEOUT = 300
    ScanRun.objects.filter(pk=unreachable_run.pk).update(due_at=timezone.now() - timedelta(seconds=400))
    assert services.scan_runs_reap()["requeued"] == 1
    with pytest.raises(SourceUnavailable):  # the re-sent message is picked up; the source is still down
        services.scan_run_execute(scan_run_id=unreachable_run.pk, final_attempt=False, retry_in=60)
    unreachable_run.refresh_from_db()
    assert unreachable_run.resent_at is None
    later = unreachable_run.due_at + timedelta(seconds=301)
    assert services.scan_runs_reap(now=later) == {"failed": 0, "requeued": 1, "lost": 0}  # not failed at once


def test_a_run_waiting_behind_other_messages_is_left_alone(settings, sent, monkeypatch):
    """No worker free (a long scan, workers restarting): the message waits on its queue, it is not lost."""
    settings.RACINE_RUN_QUEUED_TIMEOUT = 300
    monkeypatch.setattr("core.runs.messages_waiting", lambda task: 0 if task.name.endswith("detection_on_demand_task")
                        else 4)
    long_ago = timezone.now() - timedelta(hours=5)
    scan_run = queued_run(long_ago)
    detection_run = queued_run(long_ago, scan=None, data_source=DataSourceFactory(),
                               trigger=ScanRun.Trigger.DETECTION)
    assert services.scan_runs_reap() == {"failed": 0, "requeued": 1, "lost": 0}
    assert sent == [(detection_run.pk, True, 0)]  # its own queue is empty
    scan_run.refresh_from_db()
    assert scan_run.status == ScanRun.Status.QUEUED and scan_run.resent_at is None


def test_a_worker_that_claims_the_run_meanwhile_wins_over_the_reaper(settings):
    """The reaper reads the overdue runs, then updates each on condition that it is still the same queued message:
    a worker's claim, a hand-back for a retry or another reaper's tick in between make its update a no-op."""
    run = queued_run(timezone.now() - timedelta(hours=1))
    read_by_reaper = ScanRun.objects.get(pk=run.pk)
    now = timezone.now()
    assert mark_resent(read_by_reaper, now) and not mark_resent(read_by_reaper, now)  # two ticks: one re-send

    read_by_reaper = ScanRun.objects.get(pk=run.pk)
    assert claim(ScanRun, run.pk, phase="schema")  # the late message arrives first
    assert not fail_lost(read_by_reaper, now, "lost")
    assert hand_back(ScanRun, run.pk, "unreachable", retry_in=60)  # … and is handed back for a retry
    assert not fail_lost(read_by_reaper, now, "lost")
    run.refresh_from_db()
    assert run.status == ScanRun.Status.QUEUED and run.error == "unreachable"


def test_a_message_that_arrives_after_the_run_failed_is_not_claimed(settings, sent, unreachable_run):
    settings.RACINE_RUN_QUEUED_TIMEOUT = 300
    ScanRun.objects.filter(pk=unreachable_run.pk).update(due_at=timezone.now() - timedelta(seconds=301),
                                                         resent_at=timezone.now() - timedelta(seconds=301))
    assert services.scan_runs_reap()["lost"] == 1
    services.scan_run_execute(scan_run_id=unreachable_run.pk, final_attempt=True)  # the lost message, after all
    unreachable_run.refresh_from_db()
    assert unreachable_run.status == ScanRun.Status.FAILED and unreachable_run.attempts == 0
    assert "message was lost" in unreachable_run.error


def test_longest_backoff_comes_due_before_the_broker_redelivers(settings):
    """Regression: the 30-minute cap with jitter (up to 2,250 s) outlived the 2,100 s visibility timeout, so Redis
    could hand a waiting retry to a second worker."""
    from scanning.tasks import _backoff

    settings.CELERY_BROKER_VISIBILITY_TIMEOUT = 2100
    assert max(_backoff(retries) for retries in range(12) for _ in range(50)) < 2100


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_a_failed_run_records_no_port_scan(engine, settings, caplog):
    """Whether the port was closed, silent or spoke another protocol, the run (read by everyone who sees it) says
    the same; the worker's log keeps the reason for the operator."""
    settings.RACINE_CONNECT_TIMEOUT = 1
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def answer_in_http():
        with contextlib.suppress(OSError), listener:
            while True:
                conn, _ = listener.accept()
                with conn:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    threading.Thread(target=answer_in_http, daemon=True).start()
    errors = []
    with black_hole() as silent:
        for port in (closed_port(), silent, listener.getsockname()[1]):
            source = source_services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM,
                                                name=f"{engine} {port}", engine=engine, host="127.0.0.1", port=port,
                                                database="shop", username="scanner", password=SECRET)
            run = ScanRunFactory(scan=services.scan_default(data_source=source, acting_user=SYSTEM),
                                 status=ScanRun.Status.QUEUED, started_at=None, finished_at=None)
            services.scan_run_execute(scan_run_id=run.pk, final_attempt=True)
            run.refresh_from_db()
            errors.append(run.error)
    assert errors == [RUN_CANNOT_CONNECT] * 3
    assert "could not connect to its source" in caplog.text and SECRET not in caplog.text


def test_a_run_refused_by_the_network_policy_does_not_record_what_the_host_resolved_to(settings, caplog):
    """The policy's refusal names the resolved addresses and the deny entries; every reader of the run saw them."""
    settings.RACINE_TARGET_DENY = ["10.0.0.0/8"]
    source = source_services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM, name="internal",
                                               engine="postgresql", host="10.1.2.3", port=5432, database="shop",
                                               username="scanner", password=SECRET)
    run = ScanRunFactory(scan=services.scan_default(data_source=source, acting_user=SYSTEM),
                         status=ScanRun.Status.QUEUED, started_at=None, finished_at=None)
    services.scan_run_execute(scan_run_id=run.pk, final_attempt=True)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.FAILED
    assert run.error == "the network policy does not allow this target"
    assert "10.0.0.0/8" in caplog.text  # the operator still finds the reason in the worker's log
