"""Real Celery worker processes for integration tests, fed through the machine's Redis.

The test process's Celery app is pointed at Redis (not eager) on a queue of its own for the duration, so tests
never take each other's messages; workers are started on demand and stopped (or found killed) at the end.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.celery import app
from tests.support.services import require_redis

ROOT = Path(__file__).resolve().parents[2]
_SAVED_KEYS = ("broker_url", "result_backend", "task_always_eager", "task_default_queue", "task_routes")


def forget_connections() -> None:
    app._pool = None
    # The producer pool outlives app._pool: one made earlier in the session for the eager configuration's
    # memory:// broker would swallow every message sent to Redis here.
    app.amqp._producer_pool = None
    if hasattr(app._local, "backend"):
        del app._local.backend


def skip_unless_postgresql_app_database() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the worker and the test share the application database: needs PostgreSQL (set DATABASE_URL)")


def app_database_env() -> dict[str, str]:
    """The environment of workers that write into this test's own (PostgreSQL) database."""
    from django.conf import settings
    from django.db import connection

    skip_unless_postgresql_app_database()
    db = connection.settings_dict
    # The application name tells a worker's sessions from the test process's (tests/conftest.py, at the end).
    return {"DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                            f"/{db['NAME']}?application_name=racine-test-celery-worker",
            "RACINE_ENCRYPTION_KEYS": ",".join(settings.RACINE_ENCRYPTION_KEYS)}


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


class Workers:
    """Starts worker processes on the test's queue; ``logs`` holds each one's combined output file."""

    def __init__(self, tmp_path: Path, queue: str, env: dict[str, str], include: tuple[str, ...] = ()):
        self.tmp_path, self.queue, self.env, self.include = tmp_path, queue, env, include
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self) -> subprocess.Popen:
        number = len(self.processes)
        log_path = self.tmp_path / f"worker-{number}.log"
        with open(log_path, "w") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", self.queue, "--pool", "solo",
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{self.queue}-{number}@%h",
                 "--loglevel", "INFO", *(["--include", ",".join(self.include)] if self.include else [])],
                cwd=ROOT, env=self.env, stdout=log_file, stderr=subprocess.STDOUT)
        self.processes.append(process)
        self.logs.append(log_path)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextlib.contextmanager
def redis_workers(tmp_path: Path, *, env: dict[str, str] | None = None, without: tuple[str, ...] = (),
                  results: bool = False, include: tuple[str, ...] = ()) -> Iterator[Workers]:
    """This process sends to Redis on a fresh queue; yields a :class:`Workers` that starts workers on it.

    ``env`` adds to (and ``without`` removes from) the workers' environment; ``results`` keeps task results in
    Redis so the test can wait for them; ``include`` names modules the workers import at start (test-only
    event subscribers).
    """
    redis_url = require_redis()
    queue = f"racine-test-{uuid.uuid4().hex[:8]}"
    # What the app's own configuration set (the rest it reads from Django's settings, live, and must go on reading:
    # writing the values in force back would pin them, e.g. a test's CELERY_TASK_ALWAYS_EAGER=False for every
    # later test of the process).
    saved = {key: app.conf.changes[key] for key in _SAVED_KEYS if key in app.conf.changes}
    app.conf.update(broker_url=redis_url, result_backend=redis_url if results else None, task_always_eager=False,
                    task_default_queue=queue, task_routes={})
    forget_connections()
    worker_env = {**os.environ, "CELERY_BROKER_URL": redis_url, "DEBUG": "true", "RACINE_VAR_DIR": str(tmp_path),
                  "RACINE_LOG_FORMAT": "json", **(env or {})}
    worker_env.pop("CELERY_RESULT_BACKEND", None)
    if results:
        worker_env["CELERY_RESULT_BACKEND"] = redis_url
    for name in without:
        worker_env.pop(name, None)
    workers = Workers(tmp_path, queue, worker_env, include)
    try:
        yield workers
    finally:
        workers.stop()
        # A killed worker's message was never acknowledged: drop it with the queue.
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
        for key in _SAVED_KEYS:
            app.conf.changes.pop(key, None)
        app.conf.update(saved)
        forget_connections()
