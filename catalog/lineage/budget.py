"""A time budget for reading one statement: past it, the statement is given up and the script goes on.

sqlglot is pure Python and a pathological statement (deep nesting the parser backtracks through, a huge CASE) can
hold a request for minutes. A signal alarm only works in a process's main thread, and request and Celery worker
threads are not; so one shared watchdog thread raises `TookTooLong` in the thread whose budget ran out
(CPython's ``PyThreadState_SetAsyncExc``), delivered at its next bytecode, and clears it again if the thread left
its budget before the exception arrived. Nothing is spent while no budget runs out: entering and leaving a budget
is a lock and a dict update, and no thread is started until the first budget is asked for.

Limit: the exception waits while the thread runs C code without giving the interpreter back (one long regular
expression match); the splitter's expressions are written not to backtrack.
"""
from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count


class TookTooLong(BaseException):  # noqa: N818 — a BaseException so no `except Exception` on the way swallows it
    """Raised in a thread whose time budget ran out."""


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exception) if exception else None)


class _Watchdog:
    def __init__(self):
        self._condition = threading.Condition()
        self._watched: dict[int, tuple[float, int]] = {}  # thread id -> (deadline, token of this budget)
        self._fired: set[int] = set()  # tokens of budgets whose exception was sent
        self._tokens = count()
        self._thread: threading.Thread | None = None

    @contextmanager
    def budget(self, seconds: float) -> Iterator[None]:
        thread_id, token = threading.get_ident(), next(self._tokens)
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lineage-budget", daemon=True)
                self._thread.start()
            self._watched[thread_id] = (time.monotonic() + seconds, token)
            self._condition.notify()
        try:
            yield
        finally:
            with self._condition:
                self._watched.pop(thread_id, None)
                if token in self._fired:
                    self._fired.discard(token)
                    _raise_in(thread_id, None)  # sent but maybe not yet raised: it must not land after the budget

    def _run(self) -> None:
        with self._condition:
            while True:
                now, nearest = time.monotonic(), None
                for thread_id, (deadline, token) in list(self._watched.items()):
                    if deadline <= now:
                        del self._watched[thread_id]
                        self._fired.add(token)
                        _raise_in(thread_id, TookTooLong)
                    else:
                        nearest = deadline if nearest is None else min(nearest, deadline)
                self._condition.wait(None if nearest is None else nearest - now)


_WATCHDOG = _Watchdog()


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Run the block with at most ``seconds`` of wall-clock time (None: no limit); past it `TookTooLong` is raised
    inside the block. Budgets do not nest: use one per thread at a time."""
    if seconds is None:
        yield
        return
    with _WATCHDOG.budget(seconds):
        yield
