"""How a run ends, and whether it may be handed back for a retry: the state changes that scans and detections
share. Each is one conditional UPDATE, so that a worker, the reaper and a user's cancel never overwrite one
another's outcome."""
from __future__ import annotations

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


def back_to_queue(run_id: int, error: str) -> bool:
    """Hand a run back for the task's retry, which re-enters through ``claim_run``; queued again, the reaper's
    "lost by the broker" clock starts again too. Not a run asked to stop meanwhile: False, it is to end."""
    return bool(still_wanted(run_id).update(status=ScanRun.Status.QUEUED, phase="", queued_at=timezone.now(),
                                            error=error[:4000]))


def finish_unreachable(run_id: int, error: str) -> None:
    """End a run whose source stayed unreachable and that will not be retried: cancelled if that was asked for
    meanwhile, else failed with ``error`` (a run the reaper already ended is left as it is)."""
    if ScanRun.objects.filter(pk=run_id, cancel_requested=True).exists():
        finish_run(run_id, ScanRun.Status.CANCELLED)
    else:
        finish_run(run_id, ScanRun.Status.FAILED, error=error)
