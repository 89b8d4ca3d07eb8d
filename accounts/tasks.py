"""Thin Celery tasks over accounts services; schedules are registered by the project's periodic-task setup."""
from celery import shared_task

from accounts import services


@shared_task(acks_late=True)
def object_grants_expire_task() -> int:
    return services.object_grants_expire()


@shared_task(acks_late=True)
def audit_events_prune_task() -> int:
    return services.audit_events_prune()
