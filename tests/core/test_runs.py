"""The run primitives of core.runs, on a concrete run model (ScanRun): one claim wins, a heartbeat tells a worker
whether to go on, a hand-back re-queues for a retry, a run ends once and records its end as domain events in
the same transaction, and the reaper fails silent runs and lost messages through the same end."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core import runs
from core.models import Event
from scanning.models import ScanRun
from tests.catalog.factories import DataSourceFactory, ScanRunFactory

pytestmark = pytest.mark.django_db


def queued(**kw) -> ScanRun:
    return ScanRunFactory(status=ScanRun.Status.QUEUED, started_at=None, finished_at=None, **kw)


def running(**kw) -> ScanRun:
    return ScanRunFactory(**{"status": ScanRun.Status.RUNNING, "heartbeat_at": timezone.now(), "finished_at": None,
                             **kw})


def test_one_claim_wins_and_resets_the_counters_the_model_names():
    run = queued(progress_done=7, columns_classified=3, objects_seen=11)
    assert runs.claim(ScanRun, run.pk, phase="schema")
    assert not runs.claim(ScanRun, run.pk, phase="schema")  # a redelivered message
    run.refresh_from_db()
    assert (run.status, run.phase, run.attempts) == (ScanRun.Status.RUNNING, "schema", 1)
    assert (run.progress_done, run.columns_classified, run.objects_seen) == (0, 0, 11)
    assert run.started_at is not None and run.heartbeat_at is not None


def test_a_claim_takes_only_a_run_of_the_kind_asked_for():
    run = queued()
    assert not runs.claim(ScanRun, run.pk, phase="detection", trigger=ScanRun.Trigger.DETECTION)
    assert runs.claim(ScanRun, run.pk, phase="schema", scan__isnull=False)


def test_a_heartbeat_says_whether_the_worker_goes_on():
    run = running(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert runs.heartbeat(ScanRun, run.pk, progress_done=4)
    run.refresh_from_db()
    assert run.progress_done == 4 and run.heartbeat_at > timezone.now() - timedelta(seconds=5)
    ScanRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    assert not runs.heartbeat(ScanRun, run.pk, progress_done=5)
    run.refresh_from_db()
    assert run.progress_done == 4


def test_a_hand_back_requeues_for_the_retry_due_after_its_countdown_unless_a_cancel_was_asked():
    run = running(resent_at=timezone.now())
    assert runs.hand_back(ScanRun, run.pk, "unreachable", retry_in=120)
    run.refresh_from_db()
    assert (run.status, run.error, run.resent_at) == (ScanRun.Status.QUEUED, "unreachable", None)
    assert timedelta(seconds=119) < run.due_at - run.queued_at <= timedelta(seconds=121)
    cancelled = running(cancel_requested=True)
    assert not runs.hand_back(ScanRun, cancelled.pk, "unreachable")


def test_a_run_ends_once_and_records_its_end_in_the_same_transaction():
    run = running(added=2, changed=1)
    assert runs.finish(ScanRun, run.pk, ScanRun.Status.SUCCEEDED)
    assert not runs.finish(ScanRun, run.pk, ScanRun.Status.FAILED, error="late")  # the first outcome stays
    run.refresh_from_db()
    assert (run.status, run.error, run.phase) == (ScanRun.Status.SUCCEEDED, "", "")
    events = {event.name: event for event in Event.objects.all()}
    assert set(events) == {"scan.finished", "asset.changed"}
    finished = events["scan.finished"]
    assert (finished.aggregate_type, finished.aggregate_id) == ("scanning.scanrun", str(run.pk))
    assert finished.workspace_id == run.data_source.workspace_id
    assert finished.payload["status"] == "succeeded" and finished.payload["added"] == 2
    drift = events["asset.changed"]
    assert (drift.aggregate_id, drift.payload) == (str(run.data_source_id), {
        "data_source": run.data_source_id, "run": run.pk, "added": 2, "changed": 1, "removed": 0})


def test_a_run_without_drift_records_no_asset_change_and_a_detection_its_own_names():
    scan_run = running()
    runs.finish(ScanRun, scan_run.pk, ScanRun.Status.FAILED, error="boom")
    detection = running(scan=None, data_source=DataSourceFactory(), trigger=ScanRun.Trigger.DETECTION, targets=[1])
    runs.finish(ScanRun, detection.pk, ScanRun.Status.CANCELLED)
    assert sorted(Event.objects.values_list("name", "payload__error")) == [
        ("detection.cancelled", ""), ("scan.failed", "boom")]


def test_an_end_rolled_back_with_its_transaction_leaves_no_event():
    run = running()
    with pytest.raises(RuntimeError), transaction.atomic():
        runs.finish(ScanRun, run.pk, ScanRun.Status.SUCCEEDED)
        raise RuntimeError("the caller's transaction fails after the end")
    run.refresh_from_db()
    assert run.status == ScanRun.Status.RUNNING and not Event.objects.exists()


def test_fail_unless_cancelled_honours_a_cancel_asked_for_meanwhile():
    asked = running(cancel_requested=True)
    plain = running()
    runs.fail_unless_cancelled(ScanRun, asked.pk, "unreachable")
    runs.fail_unless_cancelled(ScanRun, plain.pk, "unreachable")
    asked.refresh_from_db()
    plain.refresh_from_db()
    assert (asked.status, asked.error) == (ScanRun.Status.CANCELLED, "")
    assert (plain.status, plain.error) == (ScanRun.Status.FAILED, "unreachable")


def test_the_reaper_fails_silent_runs_through_the_end_that_records_events(monkeypatch):
    now = timezone.now()
    silent = running(heartbeat_at=now - timedelta(seconds=61))
    alive = running(heartbeat_at=now - timedelta(seconds=30))
    resent = []
    counts = runs.reap(ScanRun, now=now, heartbeat_timeout=60, queued_timeout=300, task_for=None,
                       resend=resent.append, silent_error="silent", lost_error="lost")
    assert counts == {"failed": 1, "requeued": 0, "lost": 0} and resent == []
    silent.refresh_from_db()
    alive.refresh_from_db()
    assert (silent.status, silent.error, silent.finished_at) == (ScanRun.Status.FAILED, "silent", now)
    assert alive.status == ScanRun.Status.RUNNING
    assert list(Event.objects.values_list("name", "aggregate_id")) == [("scan.failed", str(silent.pk))]


def test_the_reaper_resends_a_lost_message_once_then_fails_the_run(monkeypatch):
    class Task:
        name = "a.task"

    monkeypatch.setattr(runs, "messages_waiting", lambda task: 0)
    due = timezone.now() - timedelta(hours=1)
    run = queued(due_at=due, queued_at=due)
    resent = []
    reap = lambda now: runs.reap(ScanRun, now=now, heartbeat_timeout=60, queued_timeout=300,  # noqa: E731
                                 task_for=lambda run: Task, resend=resent.append, silent_error="", lost_error="lost")
    assert reap(due + timedelta(seconds=301)) == {"failed": 0, "requeued": 1, "lost": 0}
    assert [r.pk for r in resent] == [run.pk]
    assert reap(due + timedelta(seconds=400)) == {"failed": 0, "requeued": 0, "lost": 0}
    assert reap(due + timedelta(seconds=602)) == {"failed": 0, "requeued": 0, "lost": 1}
    run.refresh_from_db()
    assert (run.status, run.error) == (ScanRun.Status.FAILED, "lost")
    assert Event.objects.get().name == "scan.failed"


def test_run_properties():
    run = ScanRunFactory.build(status=ScanRun.Status.QUEUED, started_at=None, finished_at=None)
    assert run.is_active and run.duration is None
    run.started_at = timezone.now() - timedelta(seconds=30)
    run.finished_at = run.started_at + timedelta(seconds=12)
    assert run.duration == timedelta(seconds=12)
