"""The plumbing every domain app shares: the abstract run of a long job, and the domain-event outbox."""
from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class Run(models.Model):
    """A long job executed by a Celery worker: queued, claimed by one worker, kept alive by heartbeats, handed
    back for a retry, ended once (``core.runs`` holds the state changes; each is one conditional UPDATE).

    A concrete run adds what it works on and its own counters, and may say which domain events record its end
    (``ended_events``)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    # Counters a claim sets back to zero: a claimed run is worked from the start.
    reset_on_claim: tuple[str, ...] = ("progress_done",)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=20, blank=True, help_text="What the run is doing now.")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(
        default=timezone.now,
        help_text="When the run's task message is due at a worker: when it was queued, or when the countdown of "
                  "its retry ends. The reaper takes a message not picked up long after this for lost.")
    resent_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the reaper sent the task again because its message seemed lost (once per message).")
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, help_text="What went wrong, without secrets.")

    class Meta:
        abstract = True

    @property
    def duration(self):
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def ended_events(self) -> list[tuple[str, models.Model, dict]]:
        """The domain events (name, aggregate, payload) that record this run's end, read just after it ended:
        ``core.runs.finish`` records them in the same transaction."""
        return []


class Event(models.Model):
    """A fact a lower app recorded in the transaction that made it true (the outbox), for the subscribers that
    higher apps registered (``core.events``). Delivered at least once, in order per aggregate; after
    ``core.events.MAX_ATTEMPTS`` failed attempts it is dead-lettered for an operator to look at and retry."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Dead letter"

    name = models.CharField(max_length=64, db_index=True, help_text="What happened, e.g. scan.finished.")
    aggregate_type = models.CharField(max_length=100, help_text="The model the fact is about (app_label.model).")
    aggregate_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    # No constraint: an event outlives a deleted workspace, like the audit trail.
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.DO_NOTHING, db_constraint=False,
                                  null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(
        null=True, blank=True,
        help_text="A dispatcher is delivering the event until then; past it (the worker died), another may.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)
        permissions = [("retry_event", "Can send a dead-lettered event again")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="core_event_due"),
            models.Index(fields=["aggregate_type", "aggregate_id", "status"], name="core_event_aggregate"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk} ({self.aggregate_type} {self.aggregate_id})"


class Delivery(models.Model):
    """One subscriber's delivery of one event: a retry calls again only the subscribers not yet delivered."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=200, help_text="The subscriber's dotted name.")
    attempts = models.PositiveSmallIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["event", "subscriber"]
        verbose_name_plural = "deliveries"
        default_permissions = ("view",)
        constraints = [models.UniqueConstraint(fields=["event", "subscriber"], name="core_delivery_once")]

    def __str__(self) -> str:
        return f"{self.subscriber} for event #{self.event_id}"
