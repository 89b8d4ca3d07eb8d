"""/api/v1/property-definitions/: each workspace's custom properties (name, label, type, allowed values, the asset
types they apply to). Members read; stewards write. Their values on assets are part of an asset's curation
(``properties`` in /api/v1/assets/{id}/curation/ and in bulk curation, catalog.api.curation). Views are thin:
shape in, one catalog.properties service, shape out."""
from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers

from accounts.api.base import RestrictedModelViewSet, ScopedRelationsMixin
from accounts.selectors import workspace_list
from catalog import properties
from catalog.models import Asset, PropertyDefinition
from config.filters import FilterSet
from config.serializers import ModelSerializer


class PropertyDefinitionSerializer(ScopedRelationsMixin, ModelSerializer):
    """A custom property of a workspace's assets. ``name`` is its key in curation documents and in the asset
    list's ``?property=name:value`` filter, and does not change. ``allowed_values`` are a choice's values (choice and
    multi_choice only); ``applies_to`` the asset types that may carry it (empty: all)."""

    allowed_values = serializers.ListField(
        child=serializers.CharField(max_length=properties.CHOICE_MAX_LENGTH), required=False,
        max_length=properties.MAX_CHOICES,
        help_text="The values a choice offers, in order (choice and multi_choice only). A value assets still "
                  "carry cannot be dropped.")
    applies_to = serializers.ListField(
        child=serializers.ChoiceField(choices=Asset.Type.choices), required=False, max_length=len(Asset.Type),
        help_text="The asset types that may carry the property; empty: every type.")
    scoped_relations = {"workspace": workspace_list}

    class Meta:
        model = PropertyDefinition
        fields = ["id", "workspace", "name", "label", "help_text", "type", "allowed_values", "applies_to",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class PropertyDefinitionUpdateSerializer(PropertyDefinitionSerializer):
    class Meta(PropertyDefinitionSerializer.Meta):
        read_only_fields = [*PropertyDefinitionSerializer.Meta.read_only_fields, "workspace", "name"]


class PropertyDefinitionFilterSet(FilterSet):
    workspace = django_filters.NumberFilter(field_name="workspace_id")
    name = django_filters.CharFilter()
    type = django_filters.MultipleChoiceFilter(choices=PropertyDefinition.Type.choices, distinct=False)

    class Meta:
        model = PropertyDefinition
        fields = ["workspace", "name", "type"]


class PropertyDefinitionViewSet(RestrictedModelViewSet):
    """The custom properties of the workspaces you are a member of. Changing a definition's type, dropping one
    of its choices or leaving out an asset type is refused (400 naming how many assets) while values need it."""

    queryset = PropertyDefinition.objects.all()
    filterset_class = PropertyDefinitionFilterSet
    search_fields = ["name", "label", "help_text"]
    ordering_fields = ["name", "label", "created_at"]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return PropertyDefinitionUpdateSerializer
        return PropertyDefinitionSerializer

    def perform_create(self, serializer):
        serializer.instance = properties.property_definition_create(acting_user=self.request.user,
                                                                    **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = properties.property_definition_update(
            definition=serializer.instance, acting_user=self.request.user, **serializer.validated_data)

    @extend_schema(responses={204: None, 409: OpenApiResponse(
        description="Problem details: assets still carry a value of the property (clear them first, e.g. by "
                    "bulk curation with filters {\"property\": \"<name>\"}); `blocked_by` counts them.")})
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        properties.property_definition_delete(definition=instance, acting_user=self.request.user)


def register(router) -> None:
    router.register("property-definitions", PropertyDefinitionViewSet, basename="propertydefinition")
