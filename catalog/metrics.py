"""The catalog's metrics: the review backlog (classification suggestions waiting for a steward's decision).

Read through the partial index on suggested classifications (``assetclass_suggested``): the cost follows the
backlog, not the catalog. No labels: one organization-wide backlog.
"""
from __future__ import annotations

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from catalog.models import AssetClassification


def collect():
    backlog = (AssetClassification.objects.order_by().filter(status=AssetClassification.Status.SUGGESTED)
               .aggregate(waiting=Count("pk"), oldest=Min("created_at")))
    waiting = GaugeMetricFamily("racine_review_suggestions_waiting",
                                "Classification suggestions waiting for a steward's decision.",
                                value=backlog["waiting"])
    oldest = backlog["oldest"]
    age = GaugeMetricFamily("racine_review_oldest_suggestion_age_seconds",
                            "Age of the oldest suggestion waiting for a decision; 0 when none waits.",
                            value=max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0)
    return [waiting, age]
