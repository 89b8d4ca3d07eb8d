"""A real Celery worker process, fed through Redis, runs a task that a request enqueued.

The request id given to the web request must appear in the request's own log line and in the worker's log
line for the task, and the task's result comes back through the result backend.
"""
import json
import logging
import time
import uuid
from pathlib import Path

import pytest
from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery.result import AsyncResult

from config.celery import app
from tests.support.celery_worker import redis_workers

pytestmark = [pytest.mark.integration, pytest.mark.django_db, pytest.mark.urls("tests.config.urls")]


@pytest.fixture
def redis_celery(tmp_path):
    """A worker on a queue of its own, results in Redis; yields the worker's log file."""
    # The ping task needs no database; the worker uses its own embedded one.
    with redis_workers(tmp_path, env={"LOG_LEVEL": "INFO"}, without=("DATABASE_URL",), results=True) as workers:
        workers.start()
        yield workers.logs[0]


def _json_lines(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue  # celery's banner
    return lines


def test_worker_runs_task_enqueued_by_request_with_its_request_id(redis_celery, client, caplog):
    request_id = f"ci-{uuid.uuid4().hex}"
    with caplog.at_level(logging.INFO, logger="racine.request"):
        response = client.post("/api/v1/_test/enqueue-ping", headers={"X-Request-ID": request_id})
    assert response.status_code == 200

    try:
        result = AsyncResult(response.json()["task_id"], app=app).get(timeout=90)
    except CeleryTimeoutError:
        pytest.fail(f"no answer from the worker; its log:\n{redis_celery.read_text()[-3000:]}")
    assert result["request_id"] == request_id
    assert result["worker"]

    request_lines = [r for r in caplog.records if r.name == "racine.request"]
    assert [r.request_id for r in request_lines] == [request_id]

    deadline = time.monotonic() + 10
    while True:
        task_lines = [line for line in _json_lines(redis_celery) if line.get("logger") == "config.tasks"]
        if task_lines or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [line["request_id"] for line in task_lines] == [request_id]
    assert task_lines[0]["message"] == "worker ping answered"


def test_after_the_workers_the_app_reads_the_django_settings_again(tmp_path, settings):
    """Regression: the configuration in force when the workers came up was written back at the end, pinning a
    test's CELERY_TASK_ALWAYS_EAGER=False (and the broker) for every later test of the process, whose scans then
    stayed queued."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with redis_workers(tmp_path):
        assert app.conf.task_always_eager is False
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_BROKER_URL = "memory://regression/"
    assert app.conf.task_always_eager is True
    assert app.conf.broker_url == "memory://regression/"
    assert app.conf.task_default_queue == "default"
