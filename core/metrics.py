"""Core's metrics: the domain-event outbox — events waiting for delivery, how long the oldest has waited, and the
dead letters an operator must look at. Read through the ``(status, next_attempt_at)`` index: the cost follows the
events not yet delivered, not the outbox's history. No labels."""
from __future__ import annotations

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from core.models import Event


def collect():
    outbox = Event.objects.order_by().filter(status__in=[Event.Status.PENDING, Event.Status.DEAD]).aggregate(
        pending=Count("pk", filter=Q(status=Event.Status.PENDING)),
        dead=Count("pk", filter=Q(status=Event.Status.DEAD)),
        oldest=Min("created_at", filter=Q(status=Event.Status.PENDING)))
    oldest = outbox["oldest"]
    return [
        GaugeMetricFamily("racine_events_pending", "Domain events recorded and not yet delivered to every subscriber.",
                          value=outbox["pending"]),
        GaugeMetricFamily("racine_events_oldest_pending_age_seconds",
                          "Age of the oldest event not yet delivered (the outbox's lag); 0 when none waits.",
                          value=max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0),
        GaugeMetricFamily("racine_events_dead_letters",
                          "Events given up after their last attempt, waiting for an operator's retry.",
                          value=outbox["dead"]),
    ]
