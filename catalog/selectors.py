"""Reads of the catalog, always scoped to what ``user`` may see (accounts.permissions.restrict)."""
from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from accounts.permissions import restrict
from catalog.api.filters import AssetFilterSet
from catalog.models import Asset


def asset_list(*, user: User | None, filters: dict | None = None) -> QuerySet[Asset]:
    queryset = restrict(Asset.objects.select_related("data_source"), user, "view")
    return AssetFilterSet(filters, queryset).qs if filters else queryset
