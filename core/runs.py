"""The state changes of a run (``core.models.Run``), for any concrete run model: claim, heartbeat, hand back for a
retry, finish, and the reaper's. Each is one conditional UPDATE, so that a worker, the reaper and a user's cancel
never overwrite one another's outcome; the one that ends a run records its domain events in the same
transaction."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.events import record_event
from core.models import Run

logger = logging.getLogger("racine.runs")
ERROR_MAX_LENGTH = 4000


def claim(model: type[Run], run_id: int, *, phase: str, **where) -> bool:
    """Take a queued run (matching ``where``) for this worker. If beat fired twice or the broker redelivered,
    exactly one caller wins. The counters ``model.reset_on_claim`` are reset: the run is worked from the start."""
    now = timezone.now()
    return bool(model.objects.filter(pk=run_id, status=Run.Status.QUEUED, **where).update(
        status=Run.Status.RUNNING, started_at=Coalesce(F("started_at"), now), heartbeat_at=now, phase=phase,
        attempts=F("attempts") + 1, **dict.fromkeys(model.reset_on_claim, 0)))


def still_wanted(model: type[Run], run_id: int):
    """The run, still running and not asked to stop: the filter every heartbeat and hand-back goes through."""
    return model.objects.filter(pk=run_id, status=Run.Status.RUNNING, cancel_requested=False)


def heartbeat(model: type[Run], run_id: int, **changes) -> bool:
    """Say the run is alive, with ``changes`` (progress, counters) in the same UPDATE. False: the run was
    cancelled, reaped or ended meanwhile, and its worker is to stop (roll back what it was writing)."""
    return bool(still_wanted(model, run_id).update(heartbeat_at=timezone.now(), **changes))


def hand_back(model: type[Run], run_id: int, error: str, *, retry_in: float = 0.0) -> bool:
    """Hand a run back for the task's retry in ``retry_in`` seconds, which re-enters through ``claim``. The run is
    due then, not before: the reaper's "lost by the broker" clock starts at the end of the countdown, for a new
    message (one re-send again). Not a run asked to stop meanwhile: False, it is to end."""
    now = timezone.now()
    return bool(still_wanted(model, run_id).update(
        status=Run.Status.QUEUED, phase="", queued_at=now, due_at=now + timedelta(seconds=retry_in),
        resent_at=None, error=error[:ERROR_MAX_LENGTH]))


def finish(model: type[Run], run_id: int, status: str, *, error: str = "",
           from_statuses=(Run.Status.RUNNING,), at=None, **where) -> bool:
    """End the run with ``status`` if it is still in one of ``from_statuses`` (and matches ``where``), and record
    the domain events of its end in the same transaction. False: someone else ended or took it first."""
    with transaction.atomic():
        ended = model.objects.filter(pk=run_id, status__in=from_statuses, **where).update(
            status=status, finished_at=at or timezone.now(), phase="", error=error[:ERROR_MAX_LENGTH])
        if ended:
            for name, aggregate, payload in model.objects.get(pk=run_id).ended_events():
                record_event(name, aggregate, payload)
    return bool(ended)


def fail_unless_cancelled(model: type[Run], run_id: int, error: str) -> None:
    """End a run that will not be retried: cancelled if that was asked for meanwhile, else failed with ``error``
    (a run the reaper already ended is left as it is)."""
    if model.objects.filter(pk=run_id, cancel_requested=True).exists():
        finish(model, run_id, Run.Status.CANCELLED)
    else:
        finish(model, run_id, Run.Status.FAILED, error=error)


def messages_waiting(task) -> int:
    """Messages ready on the queue ``task`` is routed to, not yet taken by a worker."""
    queue = task.app.amqp.router.route({}, task.name)["queue"]
    with task.app.connection_for_read() as conn:
        try:
            return queue.bind(conn.default_channel).queue_declare(passive=True).message_count
        except conn.channel_errors:  # Redis drops an emptied list: no such queue, nothing waits
            return 0


def reap(model: type[Run], *, now=None, heartbeat_timeout: int, queued_timeout: int, task_for: Callable,
         resend: Callable, silent_error: str, lost_error: str) -> dict[str, int]:
    """Fail the runs whose worker stopped sending heartbeats ``heartbeat_timeout`` s ago (with ``silent_error``);
    send again (``resend(run)``), then fail (with ``lost_error``), the queued runs whose message the broker lost.
    ``task_for(run)`` is the Celery task that executes ``run``: nothing is taken for lost while messages wait on
    its queue. Returns the counts."""
    now = now or timezone.now()
    silent = model.objects.filter(status=Run.Status.RUNNING,
                                  heartbeat_at__lt=now - timedelta(seconds=heartbeat_timeout))
    # One by one, each still silent when it is ended: a heartbeat that comes in meanwhile keeps its run.
    failed = sum(finish(model, run_id, Run.Status.FAILED, error=silent_error, at=now,
                        heartbeat_at__lt=now - timedelta(seconds=heartbeat_timeout))
                 for run_id in silent.values_list("pk", flat=True))
    requeued, lost = _recover_lost_messages(model, now, queued_timeout, task_for, resend, lost_error)
    if failed or requeued or lost:
        logger.warning("runs reaped", extra={"model": model._meta.label, "failed": failed, "requeued": requeued,
                                             "lost": lost})
    return {"failed": failed, "requeued": requeued, "lost": lost}


def _same_message(model: type[Run], run: Run):
    """``run`` as the reaper read it: still queued for the same message (a retry's hand-back moves ``due_at``)."""
    return model.objects.filter(pk=run.pk, status=Run.Status.QUEUED, due_at=run.due_at, resent_at=run.resent_at)


def mark_resent(run: Run, now) -> bool:
    """Record that the reaper sends ``run``'s lost message again; False if a worker claimed the run meanwhile, or
    another reaper already did (two ticks at once send it once)."""
    return bool(_same_message(type(run), run).filter(resent_at__isnull=True).update(resent_at=now))


def fail_lost(run: Run, now, error: str) -> bool:
    """Fail ``run`` whose message and re-sent message were both lost; False if a worker claimed it meanwhile (a
    worker that gets the message later finds it failed and does not claim it)."""
    return run.resent_at is not None and finish(
        type(run), run.pk, Run.Status.FAILED, error=error, at=now, from_statuses=(Run.Status.QUEUED,),
        due_at=run.due_at, resent_at=run.resent_at)


def _recover_lost_messages(model: type[Run], now, timeout: int, task_for: Callable, resend: Callable,
                           lost_error: str) -> tuple[int, int]:
    """A queued run not picked up ``timeout`` s after it was due, while nothing waits on its queue, lost its
    message (e.g. Redis restarted without persistence): send it once more; if that is not picked up either within
    the timeout, fail it, so that what it holds (a source's one active run) is free again. A run whose queue
    holds messages may be waiting behind them for a free worker: left alone until the queue drains. Every step
    is a conditional update on the run as read, so a worker that claims it meanwhile wins."""
    overdue = now - timedelta(seconds=timeout)
    candidates = model.objects.filter(status=Run.Status.QUEUED).filter(
        Q(resent_at__isnull=True, due_at__lt=overdue) | Q(resent_at__lt=overdue))
    backlog: dict[str, int] = {}
    requeued = lost = 0
    for run in candidates:
        queue = task_for(run)
        if queue.name not in backlog:
            backlog[queue.name] = messages_waiting(queue)
        if backlog[queue.name]:
            continue
        if run.resent_at is None:
            if mark_resent(run, now):
                resend(run)
                logger.warning("queued run not picked up: its message is sent again",
                               extra={"model": model._meta.label, "run": run.pk})
                requeued += 1
        elif fail_lost(run, now, lost_error):
            logger.error("queued run failed: its message was lost twice",
                         extra={"model": model._meta.label, "run": run.pk})
            lost += 1
    return requeued, lost
