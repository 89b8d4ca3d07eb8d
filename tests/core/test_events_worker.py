"""At least once with real workers: a Celery worker process (fed through Redis, writing into this test's
PostgreSQL database) is killed with SIGKILL while a subscriber runs; once its claim has expired, the sweep's task
makes another worker deliver the event again, and the outbox records the delivery."""
from __future__ import annotations

import signal
import time

import pytest
from django.db import transaction
from django.utils import timezone

from core.events import record_event
from core.models import Delivery, Event
from core.tasks import events_dispatch_task
from tests.catalog.factories import DataSourceFactory
from tests.support.celery_worker import app_database_env, redis_workers, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLAIM_S = 3


def lines(path) -> list[str]:
    """The file's whole lines (a worker may be writing the next one)."""
    text = path.read_text() if path.exists() else ""
    return text[:text.rfind("\n") + 1].splitlines()


def test_a_worker_killed_mid_delivery_is_redelivered_by_the_sweep_on_another_worker(tmp_path):
    env = {**app_database_env(), "RACINE_EVENT_CLAIM_TIMEOUT": str(CLAIM_S)}
    marks = tmp_path / "marks"
    with redis_workers(tmp_path, env=env, include=("tests.core.worker_subscribers",)) as workers:
        # Both started together (their start-ups overlap); whichever takes the dispatch task is killed.
        started = {process.pid: process for process in (workers.start(), workers.start())}
        with transaction.atomic():  # the commit sends the dispatch task to a worker
            event = record_event("test.slow_delivery", DataSourceFactory(), {"marks": str(marks)})
        wait_for(lambda: lines(marks), 90, "a worker to call the subscriber")
        first = started[int(lines(marks)[0])]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        event.refresh_from_db()
        assert (event.status, event.attempts) == (Event.Status.PENDING, 1) and event.claimed_until is not None

        time.sleep(max(0.0, (event.claimed_until - timezone.now()).total_seconds()) + 0.5)
        events_dispatch_task.delay()  # what beat sends every SWEEP_INTERVAL s; the other worker takes it

        def delivered():
            event.refresh_from_db()
            return event.status == Event.Status.DELIVERED
        wait_for(delivered, 60, "another worker to deliver the event")
    calls = lines(marks)
    assert len(calls) == 2 and calls[0] != calls[1]  # two worker processes
    assert event.attempts == 2
    assert Delivery.objects.get(event=event).delivered_at is not None
