"""Thin Celery tasks: ids in, one service call, the retry policy. Routed to the ``scans`` queue; ``detection_*``
tasks to the ``detection`` queue (config.celery)."""
import logging
import random

from celery import shared_task
from django.conf import settings

from accounts.actors import SYSTEM
from scanning import services
from scanning.models import ScanRun
from scanning.services import detection
from sources.connectors import SourceUnavailable

MAX_RETRIES = 5
logger = logging.getLogger("racine.scanning")


@shared_task(bind=True, max_retries=MAX_RETRIES)
def scan_run_execute_task(self, scan_run_id: int) -> None:
    # In-process (eager) mode there is no one to retry later: the first failure is final.
    final = self.request.is_eager or self.request.retries >= MAX_RETRIES
    countdown = _backoff(self.request.retries)  # the run records when the retry is due
    try:
        services.scan_run_execute(scan_run_id=scan_run_id, final_attempt=final, retry_in=countdown)
    except SourceUnavailable as exc:
        raise self.retry(exc=exc, countdown=countdown) from None


@shared_task
def scan_scheduled_task(scan_id: int) -> int | None:
    """Beat's entry point for a scan's schedule. A tick while the source is being scanned is skipped."""
    from scanning.models import Scan

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


def _backoff(retries: int, *, within: float | None = None) -> float:
    """Exponential backoff (60 s, 120 s, 240 s, …) with jitter, so that the runs of many sources behind one failed
    network path do not all come back at the same second. A retry waits in the worker, unacknowledged: it must
    come due before the broker's visibility timeout, or Redis would deliver it a second time — and before
    ``within`` seconds when the run stays RUNNING meanwhile (the reaper's heartbeat timeout)."""
    ceiling = min(settings.CELERY_BROKER_VISIBILITY_TIMEOUT, within or float("inf")) * 0.75 / 1.25
    return min(60 * 2 ** retries, ceiling) * random.uniform(0.75, 1.25)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def detection_run_task(self, scan_run_id: int, table_ids: list[int]) -> None:
    final = self.request.is_eager or self.request.retries >= MAX_RETRIES
    try:
        detection.detection_run(scan_run_id=scan_run_id, table_ids=table_ids, final_attempt=final)
    except SourceUnavailable as exc:
        # The scan's run stays RUNNING while this waits: come back before the reaper takes it for dead.
        countdown = _backoff(self.request.retries, within=settings.RACINE_SCAN_HEARTBEAT_TIMEOUT)
        raise self.retry(exc=exc, countdown=countdown) from None


@shared_task(bind=True, max_retries=MAX_RETRIES)
def detection_on_demand_task(self, scan_run_id: int) -> None:
    final = self.request.is_eager or self.request.retries >= MAX_RETRIES
    countdown = _backoff(self.request.retries)
    try:
        detection.detection_on_demand(scan_run_id=scan_run_id, final_attempt=final, retry_in=countdown)
    except SourceUnavailable as exc:
        raise self.retry(exc=exc, countdown=countdown) from None
