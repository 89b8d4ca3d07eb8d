"""The project's periodic jobs, as code. ``manage.py setup_periodic_tasks`` writes them into django-celery-beat's
tables; beat reads them from there. Scan schedules are not here: each scan keeps its own beat entry in step
(scanning.services.scans)."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.events import DELIVERED_RETENTION_DAYS, SWEEP_INTERVAL


@dataclass(frozen=True)
class Job:
    name: str
    task: str
    every_s: int
    description: str

    @property
    def expire_seconds(self) -> int:
        # Just under the interval: a tick no worker picked up before the next one is due is dropped, so ticks
        # missed during an outage do not pile up and run back to back.
        return max(1, self.every_s - max(1, self.every_s // 10))


def jobs() -> list[Job]:
    return [
        Job("racine: reap scan runs", "scanning.tasks.scan_runs_reap_task", settings.RACINE_SCAN_REAPER_INTERVAL,
            "Fail scan runs whose worker stopped sending heartbeats; send again once, then fail, queued runs "
            "whose message the broker lost."),
        Job("racine: deliver domain events", "core.tasks.events_dispatch_task", SWEEP_INTERVAL,
            "Deliver the domain events left pending: a lost dispatch message, a worker that died while "
            "delivering, a retry whose backoff has passed."),
        Job("racine: prune delivered events", "core.tasks.events_prune_task", 24 * 3600,
            f"Delete domain events delivered more than {DELIVERED_RETENTION_DAYS} days ago (dead letters stay)."),
        Job("racine: expire object grants", "accounts.tasks.object_grants_expire_task", 5 * 60,
            "Revoke direct object grants (approved access requests) past their expiry."),
        Job("racine: expire certifications", "catalog.tasks.asset_certifications_expire_task", 15 * 60,
            "End the certifications and deprecations of assets past their expiry (audited)."),
        Job("racine: prune audit events", "accounts.tasks.audit_events_prune_task", 24 * 3600,
            "Delete audit events older than the organization's retention."),
    ]


@transaction.atomic
def periodic_tasks_ensure() -> list[tuple[PeriodicTask, bool]]:
    """Create or update each job's PeriodicTask by name, in place: never deleted and recreated, so what admins
    set on an entry (enabled, queue, …) survives; the schedule, task and expiry follow the code."""
    results = []
    for job in jobs():
        interval, _ = IntervalSchedule.objects.get_or_create(every=job.every_s, period=IntervalSchedule.SECONDS)
        task, created = PeriodicTask.objects.update_or_create(
            name=job.name,
            defaults={"task": job.task, "interval": interval, "crontab": None, "solar": None, "clocked": None,
                      "expire_seconds": job.expire_seconds, "description": job.description, "one_off": False},
            create_defaults={"task": job.task, "interval": interval, "expire_seconds": job.expire_seconds,
                             "description": job.description, "enabled": True})
        results.append((task, created))
    return results
