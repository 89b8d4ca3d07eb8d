"""How a run ends, whether it may be handed back for a retry, and how the reaper sends again or fails a queued run
whose message was lost: the state changes that scans and detections share. Each is one conditional UPDATE, so
that a worker, the reaper and a user's cancel never overwrite one another's outcome."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from scanning.models import ScanRun


def claim_run(run_id: int, *, phase: str, **kind) -> bool:
    """Take a queued run of this ``kind`` (extra filters) for this worker. If beat fired twice or the broker
    redelivered, exactly one caller wins. Counters are reset: the run is worked from the start."""
    return bool(ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.QUEUED, **kind).update(
        status=ScanRun.Status.RUNNING, started_at=Coalesce(F("started_at"), timezone.now()),
        heartbeat_at=timezone.now(), phase=phase, attempts=F("attempts") + 1, progress_done=0,
        columns_classified=0))


def finish_run(run_id: int, status: str, *, error: str = "",
               from_statuses=(ScanRun.Status.RUNNING,)) -> bool:
    return bool(ScanRun.objects.filter(pk=run_id, status__in=from_statuses).update(
        status=status, finished_at=timezone.now(), phase="", error=error[:4000]))


def still_wanted(run_id: int):
    """The run, still running and not asked to stop: the filter every hand-back for a retry goes through."""
    return ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.RUNNING, cancel_requested=False)


def back_to_queue(run_id: int, error: str, *, retry_in: float = 0.0) -> bool:
    """Hand a run back for the task's retry in ``retry_in`` seconds, which re-enters through ``claim_run``. The run
    is due then, not before: the reaper's "lost by the broker" clock starts at the end of the countdown, for a new
    message (one re-send again). Not a run asked to stop meanwhile: False, it is to end."""
    now = timezone.now()
    return bool(still_wanted(run_id).update(status=ScanRun.Status.QUEUED, phase="", queued_at=now,
                                            due_at=now + timedelta(seconds=retry_in), resent_at=None,
                                            error=error[:4000]))


def _same_message(run: ScanRun):
    """``run`` as the reaper read it: still queued for the same message (a retry's hand-back moves ``due_at``)."""
    return ScanRun.objects.filter(pk=run.pk, status=ScanRun.Status.QUEUED, due_at=run.due_at,
                                  resent_at=run.resent_at)


def mark_resent(run: ScanRun, now) -> bool:
    """Record that the reaper sends ``run``'s lost message again; False if a worker claimed the run meanwhile, or
    another reaper already did (two ticks at once send it once)."""
    return bool(_same_message(run).filter(resent_at__isnull=True).update(resent_at=now))


def fail_lost(run: ScanRun, now, error: str) -> bool:
    """Fail ``run`` whose message and re-sent message were both lost; False if a worker claimed it meanwhile (a
    worker that gets the message later finds it failed and does not claim it)."""
    return bool(_same_message(run).filter(resent_at__isnull=False).update(
        status=ScanRun.Status.FAILED, finished_at=now, phase="", error=error[:4000]))


def finish_unreachable(run_id: int, error: str) -> None:
    """End a run whose source stayed unreachable and that will not be retried: cancelled if that was asked for
    meanwhile, else failed with ``error`` (a run the reaper already ended is left as it is)."""
    if ScanRun.objects.filter(pk=run_id, cancel_requested=True).exists():
        finish_run(run_id, ScanRun.Status.CANCELLED)
    else:
        finish_run(run_id, ScanRun.Status.FAILED, error=error)
