"""Request ids: one id per request, in every log line it causes, including those of the tasks it enqueued.

The id comes from the caller's ``X-Request-ID`` when it is well formed (a proxy or a client correlating its own
logs), otherwise it is generated. It travels to Celery as a message header and is restored in the worker.
"""
from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from celery import signals

HEADER = "X-Request-ID"
TASK_HEADER = "racine_request_id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("racine_request_id", default=None)

access_log = logging.getLogger("racine.request")


def current_request_id() -> str | None:
    return _current.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(candidate: str | None) -> str:
    """The caller's id when it is safe to echo into logs and headers; a fresh one otherwise."""
    if candidate and _VALID.match(candidate):
        return candidate
    return new_request_id()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = accept_request_id(request.headers.get(HEADER))
        request.request_id = request_id
        token = _current.set(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response[HEADER] = request_id
            access_log.info(
                "%s %s %s", request.method, request.path, response.status_code,
                extra={"method": request.method, "path": request.path, "status": response.status_code,
                       "duration_ms": round((time.monotonic() - started) * 1000, 1)},
            )
            return response
        finally:
            _current.reset(token)


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` to every record (None outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get()
        return True


class TextLogFormatter(logging.Formatter):
    """One line a person reads (``RACINE_LOG_FORMAT=text``, the default with DEBUG): time, level, logger, message,
    then the request's duration and id when there is a request. Tracebacks follow on their own lines."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)-8s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        line = super().formatMessage(record)
        duration = getattr(record, "duration_ms", None)
        if duration is not None:
            line += f" in {duration} ms"
        request_id = getattr(record, "request_id", None)
        return f"{line}  [request {request_id}]" if request_id else line


@signals.before_task_publish.connect
def _add_request_id_header(headers=None, **kwargs):
    request_id = _current.get()
    if request_id and headers is not None:
        headers[TASK_HEADER] = request_id


_task_tokens: dict[str, contextvars.Token] = {}


@signals.task_prerun.connect
def _restore_request_id(task_id=None, task=None, **kwargs):
    if task is None:
        return
    # Protocol 2 merges custom message headers into the request context; older paths keep them in .headers.
    request_id = getattr(task.request, TASK_HEADER, None) or (task.request.headers or {}).get(TASK_HEADER)
    if request_id:
        _task_tokens[task_id] = _current.set(request_id)


@signals.task_postrun.connect
def _clear_request_id(task_id=None, **kwargs):
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        _current.reset(token)
