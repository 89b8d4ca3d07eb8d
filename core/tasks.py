"""Thin Celery tasks of the core: the event dispatcher (sent after each commit that recorded events, and by beat
as the sweep for anything a lost message, a dead worker or a retry's backoff left pending), and the daily pruning
of delivered events."""
from celery import shared_task

from core import events


@shared_task
def events_dispatch_task() -> int:
    return events.dispatch()


@shared_task
def events_prune_task() -> int:
    return events.delivered_events_prune()
