"""Reads of the catalog, always scoped to what ``user`` may see (see accounts.selectors)."""
from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from accounts.permissions import restrict
from catalog.models import Asset, AssetClassification, Classification


def asset_list(*, user: User | None, action: str = "view", present_only: bool = False) -> QuerySet[Asset]:
    """Assets ``user`` may ``action``; with ``present_only``, only those still in their source (not removed)."""
    queryset = Asset.objects.select_related("data_source")
    if present_only:
        queryset = queryset.filter(removed_at__isnull=True)
    return restrict(queryset, user, action)


def active_classification_list(*, user: User | None) -> QuerySet[Classification]:
    """The classifications in use (not switched off) that ``user`` may see: the choices of a classification by hand
    or of a custom rule."""
    return restrict(Classification.objects.filter(is_active=True), user, "view")


def asset_classification_list(*, user: User | None, action: str = "view") -> QuerySet[AssetClassification]:
    return restrict(AssetClassification.objects.select_related("asset", "classification"), user, action)
