"""The domain-event outbox: an event commits or rolls back with the change it reports; the dispatcher delivers it
after the commit (in process, in eager mode), at least once, in order per aggregate, retrying a failing
subscriber with backoff, then dead-lettering it; a retry calls again only the subscribers that failed."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.actors import SYSTEM
from core import events
from core.events import record_event, subscribe
from core.models import Delivery, Event
from tests.catalog.factories import DataSourceFactory

pytestmark = pytest.mark.django_db

calls: list[tuple[str, int]] = []
failing: set[str] = set()  # aggregate ids whose events the flaky subscriber refuses for now


def record_call(event: Event) -> None:
    calls.append(("recorder", event.pk))


def flaky(event: Event) -> None:
    calls.append(("flaky", event.pk))
    if event.aggregate_id in failing:
        raise ValueError(f"cannot take {event.name} now")


@pytest.fixture
def subscribers():
    calls.clear()
    failing.clear()
    for func in (record_call, flaky):
        subscribe("thing.happened")(func)
    yield
    for func in (record_call, flaky):
        events.unsubscribe("thing.happened", func)


@pytest.fixture
def source():
    return DataSourceFactory()


def later(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


def called(name: str) -> list[int]:
    return [pk for who, pk in calls if who == name]


@pytest.mark.django_db(transaction=True)
def test_an_event_is_recorded_only_inside_a_transaction(source):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        record_event("thing.happened", source, {})
    with transaction.atomic():
        event = record_event("thing.happened", source, {"n": 1})
    assert (event.aggregate_type, event.aggregate_id, event.workspace_id) == (
        source._meta.label_lower, str(source.pk), source.workspace_id)


def test_eager_mode_delivers_after_the_commit_in_process(subscribers, source, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        first = record_event("thing.happened", source, {"n": 1})
        second = record_event("thing.happened", source, {"n": 2})
        assert calls == []  # nothing before the commit
    assert len(callbacks) == 1  # one dispatch for the transaction, however many events it recorded
    assert called("recorder") == [first.pk, second.pk] and called("flaky") == [first.pk, second.pk]
    assert set(Event.objects.values_list("status", flat=True)) == {Event.Status.DELIVERED}
    assert Delivery.objects.filter(delivered_at__isnull=False).count() == 4


def test_an_event_of_a_rolled_back_transaction_is_never_delivered(subscribers, source,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            record_event("thing.happened", source, {})
            raise RuntimeError("the writer fails after recording")
        with transaction.atomic(), pytest.raises(RuntimeError), transaction.atomic():  # a savepoint rolled back
            record_event("thing.happened", source, {})
            raise RuntimeError("the inner block fails")
    assert callbacks == [] and not Event.objects.exists()
    assert events.dispatch(now=later(3600)) == 0 and calls == []


def test_a_failing_subscriber_is_retried_with_backoff_then_dead_lettered(subscribers, source):
    failing.add(str(source.pk))
    with transaction.atomic():
        event = record_event("thing.happened", source, {})
    now = timezone.now()
    for attempt in range(1, events.MAX_ATTEMPTS + 1):
        assert events.dispatch(now=now) == 1
        event.refresh_from_db()
        assert event.attempts == attempt and "ValueError: cannot take thing.happened now" in event.last_error
        if attempt < events.MAX_ATTEMPTS:
            assert event.status == Event.Status.PENDING
            backoff = timedelta(seconds=events.BACKOFF_BASE_S * 2 ** (attempt - 1))
            assert event.next_attempt_at - now >= backoff
            assert events.dispatch(now=event.next_attempt_at - timedelta(seconds=1)) == 0  # not before it is due
            now = event.next_attempt_at
    assert event.status == Event.Status.DEAD
    assert called("flaky") == [event.pk] * events.MAX_ATTEMPTS
    assert called("recorder") == [event.pk]  # it succeeded the first time: never called again
    failed = Delivery.objects.get(event=event, subscriber=events.subscriber_name(flaky))
    assert (failed.attempts, failed.delivered_at) == (events.MAX_ATTEMPTS, None)
    assert events.dispatch(now=later(10 ** 6)) == 0  # a dead letter waits for an operator


def test_events_of_one_aggregate_are_delivered_in_order(subscribers, source):
    other = DataSourceFactory()
    failing.add(str(source.pk))
    with transaction.atomic():
        first = record_event("thing.happened", source, {"n": 1})
        second = record_event("thing.happened", source, {"n": 2})
        elsewhere = record_event("thing.happened", other, {})
    events.dispatch()
    assert called("flaky") == [first.pk, elsewhere.pk]  # the second waits behind the first; the other does not
    failing.clear()
    events.dispatch(now=later(events.BACKOFF_BASE_S + 1))
    assert called("flaky") == [first.pk, elsewhere.pk, first.pk, second.pk]
    assert set(Event.objects.values_list("status", flat=True)) == {Event.Status.DELIVERED}


def test_a_dead_letter_no_longer_holds_back_its_aggregate(subscribers, source):
    with transaction.atomic():
        first = record_event("thing.happened", source, {})
        second = record_event("thing.happened", source, {})
    Event.objects.filter(pk=first.pk).update(status=Event.Status.DEAD)
    events.dispatch()
    assert called("recorder") == [second.pk]


def test_a_dispatcher_that_died_mid_delivery_is_taken_over_after_its_claim_and_delivered_ones_are_not_repeated(
        subscribers, source, settings):
    settings.RACINE_EVENT_CLAIM_TIMEOUT = 60
    with transaction.atomic():
        event = record_event("thing.happened", source, {})
    claimed = events._claim_next(timezone.now())
    events._call(claimed, events.subscriber_name(record_call), record_call)  # then the worker dies
    assert events.dispatch() == 0  # its claim holds
    assert events.dispatch(now=later(61)) == 1
    event.refresh_from_db()
    assert event.status == Event.Status.DELIVERED and event.attempts == 2
    assert called("recorder") == [event.pk] and called("flaky") == [event.pk]


def test_a_dispatcher_whose_claim_was_taken_over_neither_repeats_nor_overwrites(subscribers, source, settings):
    settings.RACINE_EVENT_CLAIM_TIMEOUT = 60
    failing.add(str(source.pk))
    with transaction.atomic():
        event = record_event("thing.happened", source, {})
    stale = events._claim_next(timezone.now())  # a slow dispatcher, past its claim
    assert events.dispatch(now=later(61)) == 1  # another takes over; the flaky subscriber fails there
    failing.clear()
    taken_over = Event.objects.get(pk=event.pk)
    assert events.deliver(stale)  # the slow one comes back and succeeds…
    event.refresh_from_db()
    # … but the outcome belongs to the claim that took over: still pending, its backoff untouched.
    assert (event.status, event.next_attempt_at) == (Event.Status.PENDING, taken_over.next_attempt_at)
    events.dispatch(now=taken_over.next_attempt_at)
    event.refresh_from_db()
    assert event.status == Event.Status.DELIVERED
    assert called("recorder") == [event.pk] and called("flaky") == [event.pk, event.pk]


@pytest.mark.django_db(transaction=True)
def test_many_events_are_recorded_together_only_inside_a_transaction_and_delivered_each(subscribers, source,
                                                                                     monkeypatch):
    other = DataSourceFactory()
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events.record_events([("thing.happened", source, {})])
    sent = []
    monkeypatch.setattr(events, "_send_dispatch", lambda: sent.append(1))
    with transaction.atomic():
        recorded = events.record_events([("thing.happened", source, {"n": 1}), ("thing.happened", other, {"n": 2})])
        assert events.record_events([]) == []
    assert sent == [1]  # one dispatch for the transaction
    assert [(event.aggregate_id, event.workspace_id, event.payload) for event in Event.objects.order_by("pk")] == [
        (str(source.pk), source.workspace_id, {"n": 1}), (str(other.pk), other.workspace_id, {"n": 2})]
    events.dispatch()
    assert called("recorder") == [event.pk for event in recorded]


def test_an_event_without_subscribers_is_delivered_at_once(source):
    with transaction.atomic():
        event = record_event("nobody.listens", source, {})
    events.dispatch()
    event.refresh_from_db()
    assert event.status == Event.Status.DELIVERED and not event.deliveries.exists()


def test_a_retried_dead_letter_gets_a_fresh_budget_and_is_audited(subscribers, source):
    from accounts.models import AuditEvent

    with transaction.atomic():
        event = record_event("thing.happened", source, {})
    Event.objects.filter(pk=event.pk).update(status=Event.Status.DEAD, attempts=events.MAX_ATTEMPTS)
    assert events.dead_letters_retry(events=[event], acting_user=SYSTEM) == 1
    assert events.dead_letters_retry(events=[event], acting_user=SYSTEM) == 0  # no longer a dead letter
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Event.Status.PENDING, 0)
    assert AuditEvent.objects.filter(event="event.retried", object_id=str(event.pk)).count() == 1
    events.dispatch()
    event.refresh_from_db()
    assert event.status == Event.Status.DELIVERED


def test_a_broker_that_refuses_the_dispatch_does_not_fail_the_committed_change(source, monkeypatch, caplog,
                                                                               django_capture_on_commit_callbacks):
    from core import tasks

    def refuse():
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.events_dispatch_task, "delay", refuse)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        record_event("thing.happened", source, {})
    assert Event.objects.get().status == Event.Status.PENDING  # for the sweep
    assert "the periodic sweep will deliver" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_skips_an_event_another_one_is_claiming_instead_of_waiting(source, monkeypatch):
    """On PostgreSQL the candidate row is read with FOR UPDATE SKIP LOCKED: while another dispatcher's claim
    transaction holds the oldest event, this one takes the next at once."""
    import psycopg
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; elsewhere the conditional claim alone decides")
    monkeypatch.setattr(events, "_send_dispatch", lambda: None)  # no delivery at the commit: the test dispatches
    with transaction.atomic():
        held = record_event("thing.happened", source, {})
        free = record_event("thing.happened", DataSourceFactory(), {})
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"] or "postgres",
                         dbname=db["NAME"]) as other, other.transaction():
        other.execute("SET lock_timeout = '5s'")
        other.execute("SELECT id FROM core_event WHERE id = %s FOR UPDATE", [held.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # waiting on the lock would fail the test, not hang it
        claimed = events._claim_next(timezone.now())
    assert claimed.pk == free.pk


def test_delivered_events_are_pruned_after_their_retention_and_dead_letters_stay(subscribers, source):
    with transaction.atomic():
        old, recent, dead = (record_event("thing.happened", DataSourceFactory(), {}) for _ in range(3))
    events.dispatch()
    Event.objects.filter(pk=dead.pk).update(status=Event.Status.DEAD)
    Event.objects.filter(pk__in=[old.pk, dead.pk]).update(
        delivered_at=timezone.now() - timedelta(days=events.DELIVERED_RETENTION_DAYS + 1))
    assert events.delivered_events_prune() == 1
    assert set(Event.objects.values_list("pk", flat=True)) == {recent.pk, dead.pk}
    assert not Delivery.objects.filter(event_id=old.pk).exists()
