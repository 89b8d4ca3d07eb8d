"""Catalog API: assets, and the inventory of sensitive data (``/assets/export/``)."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, renderers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from accounts.api.base import RestrictedViewSetMixin
from catalog import inventory, services
from catalog.api import filters, serializers
from catalog.models import Asset
from config.filters import DjangoFilterBackend, refuse_unknown_parameters
from config.pagination import KeysetPagination
from config.rows import RowListModelMixin


class InventoryCSVRenderer(renderers.BaseRenderer):
    """Selects CSV for the inventory (``?format=csv`` or ``Accept: text/csv``). The rows themselves are streamed
    by catalog.inventory; what DRF renders through here is an error, as the problem JSON every error is."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data, renderer_context=renderer_context)


class AssetViewSet(RestrictedViewSetMixin, RowListModelMixin, mixins.RetrieveModelMixin,
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

    def perform_content_negotiation(self, request, force=False):
        """A format the export does not offer is a 400 naming ``format`` (DRF answers 404, as for a missing
        object). Elsewhere the 404 stays: ``/assets/0.5/`` is asset 0 in format 5, which is no such page."""
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            if self.action != "export":
                raise
            offered = ", ".join(renderer.format for renderer in self.get_renderers())
            raise ValidationError({api_settings.URL_FORMAT_OVERRIDE: f"Choose one of: {offered}."},
                                  code="invalid") from None

    def perform_update(self, serializer):
        serializer.instance = services.asset_update(asset=serializer.instance,
                                                    acting_user=self.request.user, **serializer.validated_data)

    @extend_schema(
        filters=True,
        parameters=[OpenApiParameter("format", enum=list(inventory.FORMATS), default="csv",
                                     description="csv (the default) or json; or ask with the Accept header.")],
        responses={(200, "text/csv"): OpenApiTypes.STR,
                   (200, "application/json"): serializers.InventoryRowSerializer(many=True)},
        description="The inventory of sensitive data: one row per column with a sensitivity among the assets the "
                    "list shows for the same filters (removed columns only with removed=true), ordered by data "
                    "source and qualified name, streamed. In CSV, lists are joined with \"; \" and a cell a "
                    "spreadsheet would run as a formula starts with an apostrophe.")
    @action(detail=False, methods=["get"], filter_backends=[DjangoFilterBackend], pagination_class=None,
            renderer_classes=[InventoryCSVRenderer, renderers.JSONRenderer])
    def export(self, request):
        refuse_unknown_parameters(request, self, Asset.objects.none())
        columns = inventory.sensitive_columns(user=request.user, filters=request.query_params)
        return inventory.streaming_response(columns, request.accepted_renderer.format)
