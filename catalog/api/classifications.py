"""Classifications API: what kinds of data mean (``/classifications/``) and their application to assets, with the
stewards' decisions (``/asset-classifications/``: confirm, reject, in bulk, or classify by hand).

Views are thin: shape in, one catalog service, shape out. Re-running detection is scanning's
(``/detections/``).
"""
from __future__ import annotations

from functools import partial

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.base import RestrictedModelViewSet, RestrictedViewSetMixin, ScopedRelationsMixin
from catalog import services
from catalog.lineage.selectors import evidences_seen_by
from catalog.models import Asset, AssetClassification, Classification
from catalog.selectors import active_classification_list, asset_classification_list, asset_list
from config.filters import FilterSet
from config.problems import Conflict
from config.rows import RowListModelMixin
from config.serializers import IdField, ModelSerializer

MAX_BULK = 500


# --- serializers -----------------------------------------------------------------------------------------------

class ClassificationSerializer(ModelSerializer):
    class Meta:
        model = Classification
        fields = ["id", "name", "category", "sensitivity", "description", "is_builtin", "is_active", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "is_builtin", "created_at", "updated_at"]


class SeenEvidenceField(serializers.DictField):
    """Evidence as the caller may read it (catalog.propagation.evidences_seen_by): a lineage path's columns outside
    the caller's scope are counted, never named."""

    def to_representation(self, value):
        request = self.context.get("request")
        value = evidences_seen_by([value], user=getattr(request, "user", None))[0]
        return super().to_representation(value)


class AssetClassificationSerializer(serializers.ModelSerializer):
    """A classification on an asset. Evidence holds measurements and masked examples only."""

    classification_name = serializers.CharField(source="classification.name", read_only=True)
    sensitivity = serializers.CharField(source="classification.sensitivity", read_only=True)
    asset_qualified_name = serializers.CharField(source="asset.qualified_name", read_only=True)
    evidence = SeenEvidenceField(read_only=True, help_text="Why: the detection's measurements (match share, "
                                                           "masked examples, reasons), a manual decision, or the "
                                                           "lineage path a copy was found along (columns you may "
                                                           "not see counted, not named).")

    class Meta:
        model = AssetClassification
        fields = ["id", "asset", "asset_qualified_name", "classification", "classification_name", "sensitivity",
                  "status", "source", "confidence", "evidence", "decided_by", "decided_at", "decision_note",
                  "created_at", "updated_at"]
        read_only_fields = fields


class AssetClassificationCreateSerializer(ScopedRelationsMixin, serializers.Serializer):
    """Classify an asset by hand. ``asset`` accepts only assets the caller can see (others read as missing)."""

    asset = serializers.PrimaryKeyRelatedField(queryset=Asset.objects.none())
    classification = serializers.PrimaryKeyRelatedField(queryset=Classification.objects.none())
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    scoped_relations = {"asset": partial(asset_list, present_only=True), "classification": active_classification_list}


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class BulkDecisionSerializer(serializers.Serializer):
    ids = serializers.ListField(child=IdField(), min_length=1, max_length=MAX_BULK)
    decision = serializers.ChoiceField(choices=[AssetClassification.Status.CONFIRMED,
                                                AssetClassification.Status.REJECTED])
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class BulkDecisionResultSerializer(serializers.Serializer):
    decision = serializers.CharField()
    classifications = AssetClassificationSerializer(many=True)


# --- filters -----------------------------------------------------------------------------------------------------

class ClassificationFilterSet(FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    category = django_filters.CharFilter()
    sensitivity = django_filters.MultipleChoiceFilter(choices=Asset.Sensitivity.choices)

    class Meta:
        model = Classification
        fields = ["name", "category", "sensitivity", "is_builtin", "is_active"]


class AssetClassificationFilterSet(FilterSet):
    # Ids through NumberFilter: a choice filter would answer 400 for unknown ids and so reveal hidden ones.
    asset = django_filters.NumberFilter(field_name="asset_id")
    table = django_filters.NumberFilter(field_name="asset__parent_id", help_text="Classifications of the columns "
                                                                                 "of this table.")
    data_source = django_filters.NumberFilter(field_name="asset__data_source_id")
    classification = django_filters.NumberFilter(field_name="classification_id")
    classification_name = django_filters.CharFilter(field_name="classification__name")
    status = django_filters.MultipleChoiceFilter(choices=AssetClassification.Status.choices)
    source = django_filters.MultipleChoiceFilter(choices=AssetClassification.Source.choices)
    min_confidence = django_filters.NumberFilter(field_name="confidence", lookup_expr="gte")

    class Meta:
        model = AssetClassification
        fields = ["asset", "table", "data_source", "classification", "classification_name", "status", "source",
                  "min_confidence"]


# --- views -------------------------------------------------------------------------------------------------------

class ClassificationViewSet(RestrictedModelViewSet):
    """Organization-wide classifications: the engine's built-ins and stewards' own. Members read them; stewards
    add their own and may change a built-in's sensitivity or switch it off (not its name or meaning)."""

    queryset = Classification.objects.all()
    serializer_class = ClassificationSerializer
    filterset_class = ClassificationFilterSet
    search_fields = ["name", "category", "description"]
    ordering_fields = ["name", "category", "sensitivity", "created_at"]

    def perform_create(self, serializer):
        serializer.instance = services.classification_create(acting_user=self.request.user,
                                                             **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.classification_update(classification=serializer.instance,
                                                             acting_user=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.classification_delete(classification=instance, acting_user=self.request.user)


class AssetClassificationViewSet(RestrictedViewSetMixin, RowListModelMixin, mixins.RetrieveModelMixin,
                                 mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Classifications applied to assets: suggestions from scans, and the stewards' decisions on them."""

    queryset = AssetClassification.objects.select_related("asset", "classification")
    serializer_class = AssetClassificationSerializer
    filterset_class = AssetClassificationFilterSet
    search_fields = ["asset__qualified_name", "classification__name"]
    ordering_fields = ["confidence", "created_at", "updated_at", "status"]
    action_permissions = {"confirm": "confirm", "reject": "confirm", "bulk": "confirm"}

    @extend_schema(request=AssetClassificationCreateSerializer, responses={201: AssetClassificationSerializer},
                   description="Classify an asset by hand: a confirmed, manual classification. 409 when the asset "
                               "already has it (decide on that one instead).")
    def create(self, request, *args, **kwargs):
        data = AssetClassificationCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        try:
            row = services.asset_classification_create(acting_user=request.user, **data.validated_data)
        except services.AlreadyClassified as exc:
            raise Conflict(str(exc), code="already_classified", extra={"existing": exc.existing.pk}) from None
        return Response(AssetClassificationSerializer(row).data, status=201)

    def _decide(self, request, fn):
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = fn(asset_classification=self.get_object(), acting_user=request.user, **data.validated_data)
        row = AssetClassification.objects.select_related("asset", "classification").get(pk=row.pk)
        return Response(AssetClassificationSerializer(row).data)

    @extend_schema(request=DecisionSerializer, responses=AssetClassificationSerializer,
                   description="Confirm the classification. A confirmed classification is never changed by scans.")
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._decide(request, services.asset_classification_confirm)

    @extend_schema(request=DecisionSerializer, responses=AssetClassificationSerializer,
                   description="Reject the classification. Scans leave it rejected unless its evidence changes "
                               "materially; then it comes back as a suggestion that says so.")
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, services.asset_classification_reject)

    @extend_schema(request=BulkDecisionSerializer, responses=BulkDecisionResultSerializer,
                   description=f"Confirm or reject up to {MAX_BULK} classifications at once, all or none: 404 when "
                               "one of them is not visible, 403 when one may not be decided by the caller.")
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        data = BulkDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = set(data.validated_data["ids"])
        rows = list(asset_classification_list(user=request.user).filter(pk__in=ids))
        if len(rows) != len(ids):
            raise exceptions.NotFound("One or more of these classifications do not exist.")
        services.asset_classifications_decide(asset_classifications=rows,
                                              decision=data.validated_data["decision"], acting_user=request.user,
                                              note=data.validated_data["note"])
        fresh = (AssetClassification.objects.select_related("asset", "classification").filter(pk__in=ids)
                 .order_by("pk"))
        return Response({"decision": data.validated_data["decision"],
                         "classifications": AssetClassificationSerializer(fresh, many=True).data})


def register(router) -> None:
    router.register("classifications", ClassificationViewSet, basename="classification")
    router.register("asset-classifications", AssetClassificationViewSet, basename="assetclassification")
