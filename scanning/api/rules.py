"""Custom classification rules (``/classification-rules/``, with a ``preview`` on pasted values or a real
column)."""
from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.base import RestrictedModelViewSet, ScopedRelationsMixin
from accounts.selectors import workspace_list
from catalog.models import Asset
from catalog.selectors import active_classification_list
from config.filters import FilterSet
from config.serializers import ModelSerializer
from scanning.detection import VALIDATORS
from scanning.models import ClassificationRule
from scanning.selectors import sampleable_column_list
from scanning.services import classifications as services

MAX_PREVIEW_VALUE_LENGTH = 4096


class ClassificationRuleSerializer(ScopedRelationsMixin, ModelSerializer):
    validator = serializers.ChoiceField(choices=sorted(VALIDATORS), required=False, allow_blank=True,
                                        help_text="A built-in validator the values must pass.")
    classification_name = serializers.CharField(source="classification.name", read_only=True)
    scoped_relations = {"workspace": workspace_list, "classification": active_classification_list}

    class Meta:
        model = ClassificationRule
        fields = ["id", "workspace", "classification", "classification_name", "description", "column_name_regex",
                  "value_regex", "validator", "min_match_share", "min_distinct", "enabled", "created_by",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]


class ClassificationRuleUpdateSerializer(ClassificationRuleSerializer):
    class Meta(ClassificationRuleSerializer.Meta):
        read_only_fields = [*ClassificationRuleSerializer.Meta.read_only_fields, "workspace"]


class RulePreviewSerializer(ScopedRelationsMixin, serializers.Serializer):
    """A rule (saved or not), and either values pasted by the steward (neither stored nor echoed back) or a column
    of a source to sample now (its values answered masked)."""

    column_name_regex = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    value_regex = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    validator = serializers.ChoiceField(choices=sorted(VALIDATORS), required=False, allow_blank=True, default="")
    min_match_share = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.8)
    min_distinct = serializers.IntegerField(min_value=1, default=1)
    column_name = serializers.CharField(required=False, allow_blank=True, max_length=512, default="",
                                        help_text="A column name to check the rule's column-name pattern against.")
    values = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=MAX_PREVIEW_VALUE_LENGTH),
        max_length=services.MAX_PREVIEW_VALUES, required=False,
        help_text="Values to judge; give these or ``column``.")
    column = serializers.PrimaryKeyRelatedField(
        queryset=Asset.objects.none(), required=False,
        help_text=f"A column (asset id) to sample now, {services.PREVIEW_SAMPLE_SIZE} values as a scan reads them, "
                  "instead of pasted values; needs the right to classify it. Its name is the column name checked.")
    scoped_relations = {"column": sampleable_column_list}

    def validate(self, attrs):
        if ("values" in attrs) == ("column" in attrs):
            raise serializers.ValidationError("Give either values or a column, not both.")
        if "column" in attrs and attrs.get("column_name"):
            raise serializers.ValidationError({"column_name": ["A sampled column is checked by its own name."]})
        return attrs


class PreviewResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    matched = serializers.BooleanField(allow_null=True)
    reason = serializers.CharField()
    masked = serializers.CharField(required=False, help_text="The sampled value, masked (column previews only).")


class RulePreviewOutputSerializer(serializers.Serializer):
    per_value = PreviewResultSerializer(many=True, source="results",
                                        help_text="One entry per value, by index: a pasted value is not "
                                                  "repeated, a sampled one is masked.")
    matched = serializers.IntegerField()
    non_null = serializers.IntegerField()
    match_share = serializers.FloatField()
    distinct_matched = serializers.IntegerField()
    column_name_matches = serializers.BooleanField(
        allow_null=True, help_text="Whether the column name given matches the rule's pattern; null without one.")
    would_match = serializers.BooleanField()
    name_only = serializers.BooleanField(help_text="The rule has no value condition: it matches on the column "
                                                   "name alone, values are not checked.")


class ClassificationRuleFilterSet(FilterSet):
    workspace = django_filters.NumberFilter(field_name="workspace_id")
    classification = django_filters.NumberFilter(field_name="classification_id")

    class Meta:
        model = ClassificationRule
        fields = ["workspace", "classification", "enabled", "validator"]


class ClassificationRuleViewSet(RestrictedModelViewSet):
    """Stewards' own detection rules, per workspace, used by every scan of the workspace's sources."""

    queryset = ClassificationRule.objects.select_related("classification", "workspace")
    serializer_class = ClassificationRuleSerializer
    filterset_class = ClassificationRuleFilterSet
    search_fields = ["description", "column_name_regex", "value_regex", "classification__name"]
    ordering_fields = ["created_at", "updated_at"]
    action_permissions = {"preview": "view"}

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return ClassificationRuleUpdateSerializer
        return ClassificationRuleSerializer

    def perform_create(self, serializer):
        serializer.instance = services.classification_rule_create(acting_user=self.request.user,
                                                                  **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.classification_rule_update(rule=serializer.instance,
                                                                  acting_user=self.request.user,
                                                                  **serializer.validated_data)

    def perform_destroy(self, instance):
        services.classification_rule_delete(rule=instance, acting_user=self.request.user)

    @extend_schema(request=RulePreviewSerializer, responses=RulePreviewOutputSerializer,
                   description="Run a rule (saved or not) on pasted values, or on a column of a source sampled now, "
                               "and say, per value (by index), whether it matches, and whether the rule would "
                               "classify such a column. Nothing is stored or logged; pasted values are not echoed "
                               "back, sampled values only masked.")
    @action(detail=False, methods=["post"])
    def preview(self, request):
        data = RulePreviewSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        values, column, column_name = fields.pop("values", None), fields.pop("column", None), fields.pop("column_name")
        if column is not None:
            report = services.classification_rule_preview_column(rule=ClassificationRule(**fields), column=column,
                                                                 acting_user=request.user)
        else:
            report = services.classification_rule_preview(rule=ClassificationRule(**fields), values=values,
                                                          column_name=column_name)
        return Response(RulePreviewOutputSerializer(report).data)


def register(router) -> None:
    router.register("classification-rules", ClassificationRuleViewSet, basename="classificationrule")
