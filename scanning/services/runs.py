"""Runs: request, execute (claim, read, write), cancel, and reap runs whose worker died or whose message was lost.

A run is a scan's (schema, then detection on what changed) or a detection asked for on demand on some assets
(``ScanRun.Trigger.DETECTION``, executed by ``scanning.services.detection.detection_on_demand``). Both kinds share
the one-active-run-per-source constraint, progress, heartbeats, cancelling and the reaper."""
from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction

from accounts import audit
from accounts.actors import SYSTEM, SystemActor, user_or_none
from accounts.models import User
from accounts.permissions import authorize, has_perm
from catalog.models import Asset
from core import runs
from scanning.models import Scan, ScanRun
from scanning.services.detection import after_schema, check_detection_targets, may_classify_all
from scanning.services.scans import refresh_catalog_statistics, rule_set_filters
from scanning.sync import CatalogSync, RunStopped
from sources.connectors import ConnectorError, SourceUnavailable
from sources.crypto import SecretUnreadable
from sources.services import open_connector, run_failure_message

logger = logging.getLogger("racine.scanning")

# The reaper's failures start with these words (scanning.metrics counts them: runs reaped by reason).
REAPED_SILENT_ERROR = "The worker stopped responding"
REAPED_LOST_ERROR = "The run's task message was lost by the broker"


class ScanAlreadyRunning(Exception):
    """The source already has a queued or running run (at most one at a time)."""

    def __init__(self, run: ScanRun | None):
        super().__init__("A scan or detection of this data source is already queued or running.")
        self.run = run


class RunNotCancellable(Exception):
    """The run has already finished."""


def _task(*, detection: bool):
    """A run's task: a scan's on the ``scans`` queue, a detection's on the ``detection`` queue (config.celery)."""
    # Lazy: scanning.tasks imports the services it calls (this module among them), a cycle.
    from scanning.tasks import detection_on_demand_task, scan_run_execute_task

    return detection_on_demand_task if detection else scan_run_execute_task


def _enqueue(run_id: int, *, detection: bool, retries: int = 0) -> None:
    """Send a queued run to its worker; ``retries``: the retries it already used, so a re-send keeps its budget."""
    _task(detection=detection).apply_async((run_id,), retries=retries)


def active_run(data_source_id: int) -> ScanRun | None:
    return ScanRun.objects.filter(data_source_id=data_source_id, status__in=ScanRun.ACTIVE).first()


def scan_run_request(*, scan: Scan, trigger: str, acting_user: User | SystemActor) -> ScanRun:
    """Queue a run of ``scan``; raises ScanAlreadyRunning when its source has one queued or running.

    The partial unique constraint decides, not a check in Python: two simultaneous requests cannot both insert.
    """
    authorize(acting_user, lambda: has_perm(acting_user, "run", scan))
    previous = (ScanRun.objects.filter(data_source_id=scan.data_source_id, status=ScanRun.Status.SUCCEEDED)
                .order_by("-finished_at").values_list("objects_seen", flat=True).first())
    try:
        with transaction.atomic():
            run = ScanRun.objects.create(scan=scan, data_source_id=scan.data_source_id, trigger=trigger,
                                         requested_by=user_or_none(acting_user), progress_total=previous)
            audit.record(event="scan_run.requested", actor=acting_user, obj=run,
                         extra={"scan": scan.pk, "trigger": trigger})
            transaction.on_commit(lambda: _enqueue(run.pk, detection=False))
    except IntegrityError:
        raise ScanAlreadyRunning(active_run(scan.data_source_id)) from None
    return run


def detection_run_request(*, assets: list[Asset], acting_user: User | SystemActor) -> ScanRun:
    """Queue a detection on ``assets`` (columns, tables or views, schemas, a database: one source), read with the
    rule set of the source's first scan. Authorised (``classify`` on every asset) before anything is written;
    raises ScanAlreadyRunning when the source has a run queued or running."""
    plan = check_detection_targets(assets, acting_user)
    data_source_id = assets[0].data_source_id
    try:
        with transaction.atomic():
            run = ScanRun.objects.create(scan=None, data_source_id=data_source_id, trigger=ScanRun.Trigger.DETECTION,
                                         requested_by=user_or_none(acting_user),
                                         targets=sorted(asset.pk for asset in assets), progress_total=len(plan))
            audit.record(event="detection.requested", actor=acting_user, obj=run,
                         extra={"assets": run.targets, "tables": len(plan)})
            transaction.on_commit(lambda: _enqueue(run.pk, detection=True))
    except IntegrityError:
        raise ScanAlreadyRunning(active_run(data_source_id)) from None
    return run


@contextmanager
def _young_garbage_collections() -> Iterator[None]:
    """Collect only the young generations, once per batch, while the schema is read.

    A scan allocates container objects all the time (each batch's schema objects and the catalog rows read for
    them), which makes CPython's automatic collector walk the whole heap again and again: it was a third of an
    unchanged rescan's time on the 50,000-column benchmark. Reference
    counting frees nearly everything a batch allocates; the explicit young collection after each batch bounds
    whatever cycles remain to one batch. The collector is process-wide: a worker running tasks in threads pauses
    it for the others too, for the length of the schema step.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def scan_run_execute(*, scan_run_id: int, final_attempt: bool = True, retry_in: float = 0.0) -> None:
    """Run a queued scan to its end. Safe to call twice: only the caller that claims the run does the work.

    A source that is unreachable hands the run back to the queue (for the task's retry, due in ``retry_in`` s)
    unless this is the final attempt; any other failure fails the run with a message that holds no secret.
    """
    # Claim with a conditional UPDATE: if beat fired twice or the broker redelivered, one worker wins.
    if not runs.claim(ScanRun, scan_run_id, phase="schema", scan__isnull=False):
        logger.info("scan run not claimed (already taken or finished)", extra={"scan_run": scan_run_id})
        return
    run = ScanRun.objects.select_related("scan__rule_set", "data_source__workspace").get(pk=scan_run_id)
    secrets: tuple[str, ...] = ()
    try:
        with open_connector(run.data_source, acting_user=SYSTEM, purpose=f"scan run {run.pk}",
                            batch_size=settings.RACINE_SCAN_BATCH_SIZE) as connector:
            secrets = connector.settings.secrets
            with _young_garbage_collections():
                sync = CatalogSync(run)
                for batch in connector.iter_schema(include=rule_set_filters(run.scan.rule_set)):
                    sync.apply(batch)
                    gc.collect(1)
                sync.finish()
            refresh_catalog_statistics(added=sync.counts["added"])
            after_schema(run=run, sync=sync, connector=connector)
    except RunStopped:
        if runs.finish(ScanRun, run.pk, ScanRun.Status.CANCELLED):
            logger.info("scan run cancelled", extra={"scan_run": run.pk})
        return
    except SourceUnavailable as exc:
        error = run_failure_message(exc, run_id=run.pk, secrets=secrets)
        if not final_attempt and runs.hand_back(ScanRun, run.pk, error, retry_in=retry_in):
            raise
        runs.fail_unless_cancelled(ScanRun, run.pk, error)
        return
    except (ConnectorError, SecretUnreadable) as exc:
        runs.finish(ScanRun, run.pk, ScanRun.Status.FAILED,
                    error=run_failure_message(exc, run_id=run.pk, secrets=secrets))
        return
    except SoftTimeLimitExceeded:
        runs.finish(ScanRun, run.pk, ScanRun.Status.FAILED, error="The scan exceeded its time limit.")
        return
    except Exception:
        # Unknown failure: the traceback goes to the log (with the request id), the run says where to look.
        logger.exception("scan run failed", extra={"scan_run": run.pk})
        runs.finish(ScanRun, run.pk, ScanRun.Status.FAILED,
                    error="Internal error while scanning; see the worker's log.")
        return


def may_cancel(user, run: ScanRun) -> bool:
    """A scan's run: who may run the scan. A detection: who may classify every asset it was asked for."""
    if not run.is_detection:
        return has_perm(user, "run", run.scan)
    return may_classify_all(user, run.targets)


def scan_run_cancel(*, run: ScanRun, acting_user: User | SystemActor) -> ScanRun:
    """Cancel a queued run at once; ask a running one to stop after its current batch (or table)."""
    authorize(acting_user, lambda: may_cancel(acting_user, run))
    with transaction.atomic():
        cancelled_while_queued = runs.finish(ScanRun, run.pk, ScanRun.Status.CANCELLED,
                                             from_statuses=(ScanRun.Status.QUEUED,))
        if not cancelled_while_queued and not ScanRun.objects.filter(
                pk=run.pk, status=ScanRun.Status.RUNNING).update(cancel_requested=True):
            raise RunNotCancellable("This run has already finished.")
        audit.record(event="scan_run.cancelled", actor=acting_user, obj=run)
    run.refresh_from_db()
    return run


def scan_runs_reap(*, now=None) -> dict[str, int]:
    """Fail runs whose worker stopped sending heartbeats; send again, then fail, queued runs whose message the
    broker lost (``core.runs.reap``)."""
    heartbeat_timeout, queued_timeout = settings.RACINE_SCAN_HEARTBEAT_TIMEOUT, settings.RACINE_RUN_QUEUED_TIMEOUT
    return runs.reap(
        ScanRun, now=now, heartbeat_timeout=heartbeat_timeout, queued_timeout=queued_timeout,
        task_for=lambda run: _task(detection=run.is_detection),
        resend=lambda run: _enqueue(run.pk, detection=run.is_detection, retries=run.attempts),
        silent_error=f"{REAPED_SILENT_ERROR} (no heartbeat for {heartbeat_timeout} s); the catalog keeps the "
                     "batches it had written.",
        lost_error=f"{REAPED_LOST_ERROR}: not picked up {queued_timeout} s after it was due, nor when sent again. "
                   "Request a new run.")
