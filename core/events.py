"""Domain events through a transactional outbox.

A lower app records a fact with ``record_event`` inside the transaction that makes it true: the event row commits
or rolls back with the change. After the commit a dispatch task is sent (in eager mode it runs at once, in
process); a periodic sweep (``core.tasks.events_dispatch_task``, every ``SWEEP_INTERVAL`` s) delivers whatever a
lost message, a dead worker or a retry's backoff left behind.

Higher apps subscribe, from their ``AppConfig.ready``::

    from core.events import subscribe

    @subscribe("scan.finished")
    def evaluate_compliance(event):   # event: core.models.Event; name, aggregate_*, payload, workspace_id
        ...

Delivery is at least once, so subscribers are idempotent (key what they write by the event's id or aggregate).
Each subscriber's call runs in a transaction with its delivery record: a retry calls again only the subscribers
that have not succeeded. An event is not delivered while an earlier event of the same aggregate is pending; one
whose subscribers keep failing is retried with exponential backoff, then dead-lettered after ``MAX_ATTEMPTS``
attempts (visible in the admin, where an operator can send it again). A dead letter no longer holds back the
later events of its aggregate: one poison event must not stop its aggregate for good.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from accounts import audit
from accounts.permissions import authorize
from core.models import Delivery, Event

logger = logging.getLogger("racine.events")

MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 60  # 1 min, 2 min, 4 min, 8 min, 16 min between the attempts
SWEEP_INTERVAL = 30
DISPATCH_BATCH = 200  # events one dispatch delivers at most before it hands over to the next task or sweep
ERROR_MAX_LENGTH = 4000
DELIVERED_RETENTION_DAYS = 30  # delivered events are kept this long (to look at), then pruned; dead ones stay

Subscriber = Callable[[Event], None]
_subscribers: dict[str, dict[str, Subscriber]] = defaultdict(dict)


def subscriber_name(func: Subscriber) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def subscribe(event_name: str) -> Callable[[Subscriber], Subscriber]:
    """Register the decorated function to be called with each ``event_name`` event. Registering the same function
    again (a module imported twice) replaces it."""
    def register(func: Subscriber) -> Subscriber:
        _subscribers[event_name][subscriber_name(func)] = func
        return func
    return register


def unsubscribe(event_name: str, func: Subscriber) -> None:
    _subscribers[event_name].pop(subscriber_name(func), None)


def subscribers(event_name: str) -> dict[str, Subscriber]:
    return dict(_subscribers.get(event_name, {}))


def _workspace_id(obj: models.Model) -> int | None:
    """The id of the workspace ``obj`` belongs to, following its model's ``workspace_path`` (no query for the
    last step: the foreign key's id)."""
    path = getattr(type(obj), "workspace_path", None)
    if not path:
        return None
    *through, last = path.split("__")
    current = obj
    for name in through:
        current = getattr(current, name, None)
        if current is None:
            return None
    return getattr(current, f"{last}_id", None)


def record_event(name: str, aggregate: models.Model, payload: dict) -> Event:
    """Record that ``name`` happened to ``aggregate``, in the caller's transaction (required: the event must
    commit or roll back with the change it reports). Dispatch is sent once the transaction commits."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"record_event({name!r}) must be called inside the transaction that makes the fact true")
    event = Event.objects.create(name=name, aggregate_type=aggregate._meta.label_lower,
                                 aggregate_id=str(aggregate.pk), payload=payload,
                                 workspace_id=_workspace_id(aggregate))
    _dispatch_after_commit()
    return event


def record_events(events: list[tuple[str, models.Model, dict]]) -> list[Event]:
    """``record_event`` for many facts at once (``(name, aggregate, payload)`` each), in one INSERT per thousand:
    a service that changes many rows in a fixed number of statements records their events the same way. The
    aggregates' workspaces are read as ``record_event`` reads them: select their path beforehand."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_events() must be called inside the transaction that makes the facts true")
    rows = Event.objects.bulk_create([Event(name=name, aggregate_type=aggregate._meta.label_lower,
                                            aggregate_id=str(aggregate.pk), payload=payload,
                                            workspace_id=_workspace_id(aggregate))
                                      for name, aggregate, payload in events], batch_size=1000)
    if rows:
        _dispatch_after_commit()
    return rows


def _send_dispatch() -> None:
    # Lazy: core.tasks imports this module (its task calls dispatch), an import cycle.
    from core.tasks import events_dispatch_task

    try:
        events_dispatch_task.delay()
    except Exception:
        # The change is committed and the event with it; the sweep delivers it when the broker is back.
        logger.exception("event dispatch not sent; the periodic sweep will deliver")


def _dispatch_after_commit() -> None:
    """One dispatch per transaction, however many events it recorded (a savepoint rolled back drops its own)."""
    if not any(callback is _send_dispatch for _, callback, _ in connection.run_on_commit):
        transaction.on_commit(_send_dispatch)


def _due(now):
    earlier_pending = Event.objects.filter(aggregate_type=OuterRef("aggregate_type"),
                                           aggregate_id=OuterRef("aggregate_id"),
                                           status=Event.Status.PENDING, pk__lt=OuterRef("pk"))
    return (Event.objects.filter(status=Event.Status.PENDING, next_attempt_at__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .exclude(Exists(earlier_pending)).order_by("pk"))


def _claim_next(now) -> Event | None:
    """Claim the oldest deliverable event for ``settings.RACINE_EVENT_CLAIM_TIMEOUT`` s; None when there is none.

    On PostgreSQL the candidate is locked with SKIP LOCKED, so concurrent dispatchers each take a different
    event without waiting; everywhere the claim itself is a conditional UPDATE, so two dispatchers that read the
    same candidate cannot both win it."""
    lease = now + timedelta(seconds=settings.RACINE_EVENT_CLAIM_TIMEOUT)
    while True:
        with transaction.atomic():
            due = _due(now)
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True, of=("self",))
            event = due.first()
            if event is None:
                return None
            claimed = Event.objects.filter(pk=event.pk, status=Event.Status.PENDING).filter(
                Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).update(
                claimed_until=lease, attempts=F("attempts") + 1)
        if claimed:
            event.claimed_until, event.attempts = lease, event.attempts + 1
            return event


def _call(event: Event, name: str, func: Subscriber) -> str | None:
    """Call one subscriber, in one transaction with its delivery record; the error text if it failed."""
    delivery, _ = Delivery.objects.get_or_create(event=event, subscriber=name)
    if delivery.delivered_at is not None:
        return None  # delivered at an earlier attempt
    try:
        with transaction.atomic():
            func(event)
            Delivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1, delivered_at=timezone.now(),
                                                           last_error="")
        return None
    except Exception as exc:
        logger.exception("event subscriber failed", extra={"event": event.pk, "event_name": event.name,
                                                           "subscriber": name})
        error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX_LENGTH]
        Delivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1, last_error=error)
        return f"{name}: {error}"


def deliver(event: Event, *, now=None) -> bool:
    """Call ``event``'s subscribers not yet delivered, then record the outcome (a retry's backoff counts from
    ``now``), if the claim is still ours: a dispatcher whose claim expired leaves the outcome to the one that
    claimed the event after it. True when every subscriber succeeded."""
    errors = [error for name, func in subscribers(event.name).items()
              if (error := _call(event, name, func)) is not None]
    mine = Event.objects.filter(pk=event.pk, status=Event.Status.PENDING, claimed_until=event.claimed_until)
    now = now or timezone.now()
    if not errors:
        mine.update(status=Event.Status.DELIVERED, delivered_at=now, claimed_until=None, last_error="")
        return True
    last_error = "\n".join(errors)[:ERROR_MAX_LENGTH]
    if event.attempts >= MAX_ATTEMPTS:
        if mine.update(status=Event.Status.DEAD, claimed_until=None, last_error=last_error):
            logger.error("event dead-lettered", extra={"event": event.pk, "event_name": event.name,
                                                       "attempts": event.attempts})
    else:
        mine.update(claimed_until=None, last_error=last_error,
                    next_attempt_at=now + timedelta(seconds=BACKOFF_BASE_S * 2 ** (event.attempts - 1)))
    return False


def dispatch(*, now=None, limit: int = DISPATCH_BATCH) -> int:
    """Deliver the events that are due, oldest first, at most ``limit``; returns how many were attempted."""
    attempted = 0
    while attempted < limit:
        current = now or timezone.now()
        event = _claim_next(current)
        if event is None:
            break
        deliver(event, now=current)
        attempted += 1
    return attempted


def delivered_events_prune(*, now=None) -> int:
    """Delete the events delivered more than ``DELIVERED_RETENTION_DAYS`` ago (with their deliveries); returns
    how many events."""
    cutoff = (now or timezone.now()) - timedelta(days=DELIVERED_RETENTION_DAYS)
    _, deleted = Event.objects.filter(status=Event.Status.DELIVERED, delivered_at__lt=cutoff).delete()
    return deleted.get(Event._meta.label, 0)


@transaction.atomic
def dead_letters_retry(*, events, acting_user) -> int:
    """Send dead-lettered events again, from a fresh budget of attempts (audited); returns how many. For
    operators: who holds ``core.retry_event`` (superusers do)."""
    authorize(acting_user, lambda: acting_user.has_perm("core.retry_event"))
    dead = list(Event.objects.select_for_update().filter(pk__in=[event.pk for event in events],
                                                         status=Event.Status.DEAD))
    for event in dead:
        audit.record(event="event.retried", actor=acting_user, obj=event,
                     extra={"name": event.name, "workspace": event.workspace_id, "attempts": event.attempts,
                            "last_error": event.last_error[:500]})
    Event.objects.filter(pk__in=[event.pk for event in dead]).update(
        status=Event.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), claimed_until=None)
    if dead:
        _dispatch_after_commit()
    return len(dead)
