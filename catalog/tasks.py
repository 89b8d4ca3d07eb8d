"""Thin Celery tasks over catalog services; schedules are registered by the project's periodic-task setup."""
from celery import shared_task

from catalog import curation


@shared_task(acks_late=True)
def asset_certifications_expire_task() -> int:
    return curation.asset_certifications_expire()
