import logging
import socket

from celery import shared_task

from config.request_id import current_request_id

logger = logging.getLogger(__name__)


@shared_task
def worker_ping_task() -> dict:
    """Answers from a worker: proves the broker, the worker and the result backend are connected."""
    logger.info("worker ping answered")
    return {"worker": socket.gethostname(), "request_id": current_request_id()}
