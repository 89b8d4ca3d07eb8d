"""/api/v1/suggestions/: what the data suggests stewards say about assets (catalog.suggestions) — a term to link or a
description to take, with the evidence — and the curators' decisions: accept (applied through the curation
services, audited like the same change by hand) or dismiss (never suggested again), one by one or in bulk.

Members read the suggestions of the assets they see; who may curate an asset (its workspace's stewards and data
owners, its own owners) decides them — a visible suggestion the caller may not decide is a 403, one already
decided a 409. Views are thin: shape in, one service, shape out.
"""
from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.base import RestrictedViewSetMixin
from catalog import suggestions
from catalog.models import Suggestion
from catalog.selectors import suggestion_list
from config.filters import FilterSet
from config.problems import Conflict
from config.rows import RowListModelMixin
from config.serializers import IdField

MAX_BULK = 500
DECIDED = OpenApiResponse(description="Already accepted or dismissed (a problem saying by whom): nothing changed.")


class SuggestionSerializer(serializers.ModelSerializer):
    """One suggestion: ``term`` (a term suggestion) or ``description`` (a description suggestion), ``reason`` the
    evidence in words, ``source_asset`` the curated column it copies (none for a term implied by a confirmed
    classification)."""

    asset_qualified_name = serializers.CharField(source="asset.qualified_name", read_only=True)
    term_name = serializers.CharField(source="term.name", read_only=True, allow_null=True, default=None)
    source_asset_qualified_name = serializers.CharField(source="source_asset.qualified_name", read_only=True,
                                                        allow_null=True, default=None)

    class Meta:
        model = Suggestion
        fields = ["id", "asset", "asset_qualified_name", "kind", "rule", "term", "term_name", "description",
                  "reason", "source_asset", "source_asset_qualified_name", "status", "decided_by", "decided_at",
                  "created_at"]
        read_only_fields = fields


class SuggestionBulkDecisionSerializer(serializers.Serializer):
    ids = serializers.ListField(child=IdField(), min_length=1, max_length=MAX_BULK)
    decision = serializers.ChoiceField(choices=list(suggestions.DECISIONS))


class SuggestionBulkResultSerializer(serializers.Serializer):
    decision = serializers.CharField()
    suggestions = SuggestionSerializer(many=True)


class SuggestionFilterSet(FilterSet):
    # Ids through NumberFilter: a choice filter would answer 400 for unknown ids and so reveal hidden ones.
    asset = django_filters.NumberFilter(field_name="asset_id")
    data_source = django_filters.NumberFilter(field_name="asset__data_source_id")
    kind = django_filters.MultipleChoiceFilter(choices=Suggestion.Kind.choices, distinct=False)
    rule = django_filters.MultipleChoiceFilter(choices=Suggestion.Rule.choices, distinct=False)
    status = django_filters.MultipleChoiceFilter(choices=Suggestion.Status.choices, distinct=False)

    class Meta:
        model = Suggestion
        fields = ["asset", "data_source", "kind", "rule", "status"]


def _decided(exc: suggestions.AlreadyDecided) -> Conflict:
    return Conflict(str(exc), code="already_decided", extra={"decided": [row.pk for row in exc.decided]})


class SuggestionViewSet(RestrictedViewSetMixin, RowListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """Suggestions for the assets you see: a glossary term to link, or a description to take, each with why."""

    queryset = Suggestion.objects.select_related("asset", "term", "source_asset")
    serializer_class = SuggestionSerializer
    filterset_class = SuggestionFilterSet
    search_fields = ["asset__qualified_name", "term__name", "description"]
    ordering_fields = ["created_at", "status"]
    # Deciding is curating the suggestion's asset, a rule of its own (catalog.curation.may_curate) that the
    # service checks: the route asks only that the caller sees suggestions.
    action_permissions = {"accept": "view", "dismiss": "view", "bulk": "view"}

    def _decide(self, request, decide):
        try:
            row = decide(suggestion=self.get_object(), acting_user=request.user)
        except suggestions.AlreadyDecided as exc:
            raise _decided(exc) from None
        return Response(SuggestionSerializer(suggestion_list(user=request.user).get(pk=row.pk)).data)

    @extend_schema(request=None, responses={200: SuggestionSerializer, 409: DECIDED},
                   description="Accept: link the term or write the description on the asset, through the same "
                               "services (and audit rows) as by hand. 403 for a caller who may not curate the "
                               "asset; 400 when the change is refused (a term deprecated since).")
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._decide(request, suggestions.suggestion_accept)

    @extend_schema(request=None, responses={200: SuggestionSerializer, 409: DECIDED},
                   description="Dismiss: nothing changes on the asset, and the same suggestion is not made again.")
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        return self._decide(request, suggestions.suggestion_dismiss)

    @extend_schema(request=SuggestionBulkDecisionSerializer,
                   responses={200: SuggestionBulkResultSerializer, 409: DECIDED},
                   description=f"Accept or dismiss up to {MAX_BULK} suggestions at once, all or none: 404 when one "
                               "is not visible, 403 when the caller may not curate one's asset, 409 when one was "
                               "decided already.")
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        data = SuggestionBulkDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = set(data.validated_data["ids"])
        rows = list(suggestion_list(user=request.user).filter(pk__in=ids))
        if len(rows) != len(ids):
            raise exceptions.NotFound("One or more of these suggestions do not exist.")
        try:
            suggestions.suggestions_decide(suggestions=rows, decision=data.validated_data["decision"],
                                           acting_user=request.user)
        except suggestions.AlreadyDecided as exc:
            raise _decided(exc) from None
        fresh = suggestion_list(user=request.user).filter(pk__in=ids).order_by("pk")
        return Response({"decision": data.validated_data["decision"],
                         "suggestions": SuggestionSerializer(fresh, many=True).data})


def register(router) -> None:
    router.register("suggestions", SuggestionViewSet, basename="suggestion")
