"""Issue 9, "a run can stay queued forever": a run's task message is deleted from the Redis broker before any worker
took it — what a broker restart without persistence does — and a real Celery worker (writing into this test's
PostgreSQL database) is running. The reaper, its clock moved past the queued timeout, sends the message again and
the run completes; when the re-sent message is lost too, the run ends failed with a message that says so, and the
source takes a new run (no 409). A message that still waits on its queue is never taken for lost.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis
from django.urls import reverse

from accounts.actors import SYSTEM
from accounts.roles import Role
from scanning import services
from scanning.models import ScanRun
from sources import services as source_services
from tests.support import target_dbs
from tests.support.celery_worker import app_database_env, redis_workers, skip_unless_postgresql_app_database, wait_for
from tests.support.factories import UserFactory, membership
from tests.support.personas import verified_client
from tests.support.services import require_redis
from tests.support.target_dbs import scan_workspace, schema_only_rule_set

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def source_database():
    skip_unless_postgresql_app_database()
    with (target_dbs.pg_server() as (url, admin),
          target_dbs.pg_database(admin, url, "racine_t_lost") as (name, conn)):
        conn.execute("CREATE TABLE customers (id integer PRIMARY KEY, email text)")
        yield name, url


@pytest.fixture
def scan(source_database):
    name, url = source_database
    source = source_services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM, name="lost messages",
                                        engine="postgresql", host=url.hostname, port=url.port or 5432,
                                        database=name, username=url.username or "postgres")
    return services.scan_default(data_source=source, rule_set=schema_only_rule_set(source.workspace),
                                 acting_user=SYSTEM)


@pytest.fixture
def workers(tmp_path):
    with redis_workers(tmp_path, env=app_database_env()) as workers:
        yield workers


def delete_waiting_message(queue: str, run: ScanRun) -> None:
    """Delete the run's message, the only one waiting on the test's queue, from the broker's Redis database."""
    broker = redis.Redis.from_url(require_redis())
    messages = [json.loads(raw) for raw in broker.lrange(queue, 0, -1)]
    assert [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages] == [
        ("scanning.tasks.scan_run_execute_task", f"({run.pk},)")]
    broker.delete(queue)


def past_timeout(run: ScanRun, settings, seconds: float):
    """The reaper's clock: ``seconds`` after the run's message (or its re-sent one) became overdue."""
    run.refresh_from_db()
    return (run.resent_at or run.due_at) + timedelta(seconds=settings.RACINE_RUN_QUEUED_TIMEOUT + seconds)


def finished(run: ScanRun) -> ScanRun:
    wait_for(lambda: ScanRun.objects.filter(pk=run.pk).exclude(status__in=ScanRun.ACTIVE).exists(), 90,
             f"run {run.pk} to finish")
    run.refresh_from_db()
    return run


def test_a_lost_message_is_sent_again_and_the_run_completes(scan, workers, settings):
    run = services.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)
    # No worker yet: the message waits on its queue. However long that lasts, it is not lost.
    assert services.scan_runs_reap(now=past_timeout(run, settings, 3600))["requeued"] == 0

    delete_waiting_message(workers.queue, run)
    workers.start()
    wait_for(lambda: "ready." in workers.logs[0].read_text(), 60, "the worker to be ready")
    run.refresh_from_db()
    assert run.status == ScanRun.Status.QUEUED  # nothing left for the worker to pick up

    assert services.scan_runs_reap(now=past_timeout(run, settings, 1)) == {"failed": 0, "requeued": 1, "lost": 0}
    assert finished(run).status == ScanRun.Status.SUCCEEDED, run.error
    assert run.attempts == 1 and run.resent_at is not None and run.objects_seen > 0


def test_a_message_lost_again_fails_the_run_and_the_source_takes_new_runs(scan, workers, settings):
    steward = UserFactory()
    membership(steward, scan.data_source.workspace, Role.DATA_STEWARD)
    client = verified_client(steward)
    queued = client.post(reverse("api:scan-run", args=[scan.pk]))
    assert queued.status_code == 202
    run = ScanRun.objects.get(pk=queued.json()["id"])
    delete_waiting_message(workers.queue, run)

    assert services.scan_runs_reap(now=past_timeout(run, settings, 1))["requeued"] == 1
    delete_waiting_message(workers.queue, run)  # the re-sent message is lost as well
    assert client.post(reverse("api:scan-run", args=[scan.pk])).status_code == 409  # the symptom, meanwhile
    assert services.scan_runs_reap(now=past_timeout(run, settings, -1)) == {"failed": 0, "requeued": 0, "lost": 0}
    assert services.scan_runs_reap(now=past_timeout(run, settings, 1)) == {"failed": 0, "requeued": 0, "lost": 1}
    run.refresh_from_db()
    assert run.status == ScanRun.Status.FAILED and run.attempts == 0
    assert "task message was lost by the broker" in run.error

    again = client.post(reverse("api:scan-run", args=[scan.pk]))
    assert again.status_code == 202
    workers.start()
    assert finished(ScanRun.objects.get(pk=again.json()["id"])).status == ScanRun.Status.SUCCEEDED
