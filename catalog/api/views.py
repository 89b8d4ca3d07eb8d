"""Catalog API: assets."""
from __future__ import annotations

from rest_framework import mixins, viewsets

from accounts.api.base import RestrictedViewSetMixin
from catalog import services
from catalog.api import filters, serializers
from catalog.models import Asset
from config.pagination import KeysetPagination


class AssetViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Databases, schemas, tables, views and columns found by scans. Stewards edit the description; the rest
    is written by scans only. Scope comes from the asset's data source's workspace.

    The list is paginated by cursor (follow ``next``), without a total: a catalog holds hundreds of thousands of
    assets, and a count or a page offset would read all of them on every page."""

    queryset = Asset.objects.select_related("data_source")
    serializer_class = serializers.AssetSerializer
    filterset_class = filters.AssetFilterSet
    pagination_class = KeysetPagination
    search_fields = ["qualified_name", "description", "source_description"]
    ordering_fields = ["qualified_name", "name", "type", "changed_at", "first_seen_at", "row_count"]

    def perform_update(self, serializer):
        serializer.instance = services.asset_update(asset=serializer.instance,
                                                    acting_user=self.request.user, **serializer.validated_data)
