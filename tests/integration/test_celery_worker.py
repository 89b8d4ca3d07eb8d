"""A real Celery worker process, fed through Redis, runs a task that a request enqueued.

The request id given to the web request must appear in the request's own log line and in the worker's log
line for the task, and the task's result comes back through the result backend.
"""
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery.result import AsyncResult

from config.celery import app
from tests.support.services import require_redis

pytestmark = [pytest.mark.integration, pytest.mark.django_db, pytest.mark.urls("tests.config.urls")]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_celery(tmp_path):
    """Point this process's Celery app at Redis (not eager) and start a worker on a queue of its own."""
    redis_url = require_redis()
    queue = f"racine-test-{uuid.uuid4().hex[:8]}"
    saved = {key: app.conf[key] for key in ("broker_url", "result_backend", "task_always_eager",
                                               "task_default_queue", "task_routes")}
    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False,
                    task_default_queue=queue, task_routes={})
    _forget_connections()
    log_path = tmp_path / "worker.log"
    env = {**os.environ, "CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url, "DEBUG": "true",
           "RACINE_VAR_DIR": str(tmp_path), "RACINE_LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
    env.pop("DATABASE_URL", None)  # the ping task needs no database; the worker uses its own embedded one
    with open(log_path, "w") as log_file:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool", "solo",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{queue}@%h",
             "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        yield log_path
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        app.conf.update(saved)
        _forget_connections()


def _forget_connections():
    app._pool = None
    # The producer pool outlives app._pool: one made earlier in the session for the eager configuration's
    # memory:// broker would swallow every message sent to Redis here.
    app.amqp._producer_pool = None
    if hasattr(app._local, "backend"):
        del app._local.backend


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
