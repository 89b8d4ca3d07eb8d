"""The Celery application: JSON only, late acknowledgement, one task prefetched, queues per kind of work."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("racine")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # A task is acknowledged after it ran, so a worker that dies mid-task leaves it to be redelivered;
    # tasks are idempotent services for that reason.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue="default",
    task_queues=None,
    task_create_missing_queues=True,
    task_routes={
        "scanning.tasks.detection_*": {"queue": "detection"},
        "scanning.tasks.*": {"queue": "scans"},
        "compliance.tasks.*": {"queue": "compliance"},
    },
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    result_expires=24 * 3600,
)

app.autodiscover_tasks()


QUEUES = ("default", "scans", "detection", "compliance")
