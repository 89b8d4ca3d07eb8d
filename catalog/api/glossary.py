"""/api/v1/tags/ and /api/v1/glossary-terms/: each workspace's tags and glossary. Members read; stewards write
(data owners add and change terms). Views are thin: shape in, one catalog service (catalog.curation,
catalog.glossary), shape out."""
from __future__ import annotations

import django_filters
from rest_framework import serializers

from accounts.api.base import RestrictedModelViewSet, ScopedRelationsMixin
from accounts.selectors import workspace_list
from catalog import curation, glossary
from catalog.markdown import render_markdown
from catalog.models import GlossaryTerm, Tag
from catalog.selectors import active_classification_list, glossary_term_list
from config.filters import FilterSet
from config.serializers import ModelSerializer


def _term_choices(*, user):
    return glossary_term_list(user=user)


class TagSerializer(ScopedRelationsMixin, ModelSerializer):
    scoped_relations = {"workspace": workspace_list}

    class Meta:
        model = Tag
        fields = ["id", "workspace", "name", "description", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class TagUpdateSerializer(TagSerializer):
    class Meta(TagSerializer.Meta):
        read_only_fields = [*TagSerializer.Meta.read_only_fields, "workspace"]


class GlossaryTermSerializer(ScopedRelationsMixin, ModelSerializer):
    """A term. ``definition`` is Markdown; ``definition_html`` its rendering, sanitised. ``parent``,
    ``related_terms`` and ``classification`` accept only what the caller can see; the service checks they are of
    the term's workspace and that the hierarchy has no cycle."""

    synonyms = serializers.ListField(child=serializers.CharField(max_length=glossary.WORD_MAX_LENGTH), required=False,
                                     max_length=glossary.WORDS_MAX_COUNT)
    abbreviations = serializers.ListField(child=serializers.CharField(max_length=glossary.WORD_MAX_LENGTH),
                                          required=False, max_length=glossary.WORDS_MAX_COUNT)
    definition_html = serializers.SerializerMethodField()
    scoped_relations = {"workspace": workspace_list, "parent": _term_choices, "related_terms": _term_choices,
                        "classification": active_classification_list}

    class Meta:
        model = GlossaryTerm
        fields = ["id", "workspace", "name", "definition", "definition_html", "synonyms", "abbreviations", "parent",
                  "related_terms", "status", "stewards", "classification", "created_at", "updated_at"]
        read_only_fields = ["id", "stewards", "created_at", "updated_at"]

    def get_definition_html(self, term) -> str:
        return render_markdown(term.definition)


class GlossaryTermUpdateSerializer(GlossaryTermSerializer):
    class Meta(GlossaryTermSerializer.Meta):
        read_only_fields = [*GlossaryTermSerializer.Meta.read_only_fields, "workspace"]


class TagFilterSet(FilterSet):
    workspace = django_filters.NumberFilter(field_name="workspace_id")
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Tag
        fields = ["workspace", "name"]


class GlossaryTermFilterSet(FilterSet):
    workspace = django_filters.NumberFilter(field_name="workspace_id")
    parent = django_filters.NumberFilter(field_name="parent_id")
    name = django_filters.CharFilter(lookup_expr="icontains")
    status = django_filters.MultipleChoiceFilter(choices=GlossaryTerm.Status.choices, distinct=False)

    class Meta:
        model = GlossaryTerm
        fields = ["workspace", "parent", "name", "status"]


class TagViewSet(RestrictedModelViewSet):
    """Tags of the workspaces you are a member of."""

    queryset = Tag.objects.all()
    filterset_class = TagFilterSet
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]

    def get_serializer_class(self):
        return TagUpdateSerializer if self.action in ("update", "partial_update") else TagSerializer

    def perform_create(self, serializer):
        serializer.instance = curation.tag_create(acting_user=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = curation.tag_update(tag=serializer.instance, acting_user=self.request.user,
                                                  **serializer.validated_data)

    def perform_destroy(self, instance):
        curation.tag_delete(tag=instance, acting_user=self.request.user)


class GlossaryTermViewSet(RestrictedModelViewSet):
    """The glossary of the workspaces you are a member of: definitions, synonyms, hierarchy, related terms and
    the classification a term implies."""

    queryset = GlossaryTerm.objects.select_related("parent", "classification").prefetch_related("related_terms",
                                                                                                 "stewards")
    filterset_class = GlossaryTermFilterSet
    search_fields = ["name", "definition"]
    ordering_fields = ["name", "status", "created_at", "updated_at"]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return GlossaryTermUpdateSerializer
        return GlossaryTermSerializer

    def perform_create(self, serializer):
        serializer.instance = glossary.glossary_term_create(acting_user=self.request.user,
                                                            **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = glossary.glossary_term_update(term=serializer.instance, acting_user=self.request.user,
                                                            **serializer.validated_data)

    def perform_destroy(self, instance):
        glossary.glossary_term_delete(term=instance, acting_user=self.request.user)


def register(router) -> None:
    router.register("tags", TagViewSet, basename="tag")
    router.register("glossary-terms", GlossaryTermViewSet, basename="glossaryterm")
