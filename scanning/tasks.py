"""Thin Celery tasks: ids in, one service call, and for a run's task the retry policy of ``RunTask``. Routed to the
``scans`` queue; ``detection_*`` tasks to the ``detection`` queue (config.celery)."""
import gc
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from celery import Task, shared_task
from celery.signals import worker_init
from django.conf import settings

from accounts.actors import SYSTEM
from scanning import services
from scanning.detection import reference
from scanning.models import Scan, ScanRun
from scanning.services import detection
from sources.connectors import SourceUnavailable

MAX_RETRIES = 5
logger = logging.getLogger("racine.scanning")


@worker_init.connect
def preload_reference(**kwargs):
    """The detection engine's reference data, read from its cache (or built) in the worker's parent before the
    pool forks its children: they share it copy-on-write, and a child's first detection does not wait for it.
    ``gc.freeze()`` keeps the children's collector from writing to these objects' headers, which would copy
    their pages into each child. (The worker imports the task modules before it sends ``worker_init``.)"""
    reference.load_all()
    gc.freeze()
    logger.info("detection reference data preloaded before forking")


def _backoff(retries: int, *, within: float | None = None) -> float:
    """Exponential backoff (60 s, 120 s, 240 s, …) with jitter, so that the runs of many sources behind one failed
    network path do not all come back at the same second. A retry waits in the worker, unacknowledged: it must
    come due before the broker's visibility timeout, or Redis would deliver it a second time — and before
    ``within`` seconds when the run stays RUNNING meanwhile (the reaper's heartbeat timeout)."""
    ceiling = min(settings.CELERY_BROKER_VISIBILITY_TIMEOUT, within or float("inf")) * 0.75 / 1.25
    return min(60 * 2 ** retries, ceiling) * random.uniform(0.75, 1.25)


@dataclass(frozen=True)
class Attempt:
    final: bool
    retry_in: float


class RunTask(Task):
    """A run's task that reads a data source: an unreachable source is retried with a growing backoff, up to
    ``MAX_RETRIES`` times; every other outcome is the run's to record (the services end it)."""

    max_retries = MAX_RETRIES

    @contextmanager
    def attempt(self, *, within: float | None = None) -> Iterator[Attempt]:
        """This delivery's attempt: whether it is the final one (in-process, eager mode there is no one to retry
        later, so the first failure is final) and the countdown of the retry, which the service records on the
        run as when it is due. ``within``: see ``_backoff``. A SourceUnavailable raised in the block schedules
        the retry."""
        final = self.request.is_eager or self.request.retries >= self.max_retries
        countdown = _backoff(self.request.retries, within=within)
        try:
            yield Attempt(final=final, retry_in=countdown)
        except SourceUnavailable as exc:
            raise self.retry(exc=exc, countdown=countdown) from None


@shared_task(bind=True, base=RunTask)
def scan_run_execute_task(self, scan_run_id: int) -> None:
    with self.attempt() as attempt:
        services.scan_run_execute(scan_run_id=scan_run_id, final_attempt=attempt.final, retry_in=attempt.retry_in)


@shared_task
def scan_scheduled_task(scan_id: int) -> int | None:
    """Beat's entry point for a scan's schedule. A tick while the source is being scanned is skipped."""
    scan = Scan.objects.select_related("data_source").filter(pk=scan_id, enabled=True).first()
    if scan is None:
        return None
    try:
        return services.scan_run_request(scan=scan, trigger=ScanRun.Trigger.SCHEDULE, acting_user=SYSTEM).pk
    except services.ScanAlreadyRunning as busy:
        logger.info("scheduled scan skipped: its source has a run queued or running",
                    extra={"scan": scan_id, "scan_run": busy.run.pk if busy.run else None})
        return None


@shared_task
def scan_runs_reap_task() -> dict:
    return services.scan_runs_reap()


@shared_task(bind=True, base=RunTask)
def detection_run_task(self, scan_run_id: int, table_ids: list[int]) -> None:
    # The scan's run stays RUNNING while its retry waits: come back before the reaper takes it for dead.
    with self.attempt(within=settings.RACINE_SCAN_HEARTBEAT_TIMEOUT) as attempt:
        detection.detection_run(scan_run_id=scan_run_id, table_ids=table_ids, final_attempt=attempt.final)


@shared_task(bind=True, base=RunTask)
def detection_on_demand_task(self, scan_run_id: int) -> None:
    with self.attempt() as attempt:
        detection.detection_on_demand(scan_run_id=scan_run_id, final_attempt=attempt.final,
                                      retry_in=attempt.retry_in)
