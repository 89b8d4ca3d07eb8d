"""/api/v1/search/: the catalog searched by words, with facets. A thin view: catalog.selectors.asset_search finds
and ranks (catalog.search), in what the caller may see; facet counts come from the same assets."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from accounts.api.base import ModelActionPermission
from catalog import search
from catalog.api.serializers import UnsetAsNullChoiceField
from catalog.models import Asset
from catalog.selectors import asset_search, search_filters
from config.pagination import Pagination

FACET_HELP = {
    "type": "database, schema, table, view or column.",
    "source": "A data source's id.",
    "schema": "A schema's asset id.",
    "classification": "A classification's name (suggested or confirmed on the asset), e.g. PII.EMAIL.",
    "sensitivity": "public, internal, confidential or restricted.",
    "tag": "A tag's id.",
    "term": "A glossary term's id.",
    "owner": "user:<id> or group:<id> (named owner in any capacity).",
    "certification": "certified, deprecated or none.",
}


class SearchResultSerializer(serializers.ModelSerializer):
    match = serializers.ChoiceField(choices=search.TIERS, source="search_match", read_only=True,
                                    help_text="Why it was found, in ranking order: exact name, name prefix, name "
                                              "words, glossary term or synonym, tag / classification / owner / "
                                              "qualified name, typo, description.")
    found_by = serializers.CharField(source="search_found_by", read_only=True,
                                     help_text='The field that holds the words, plainly: "name", "start of the name", '
                                               '"words of the name", \'term "Electronic mail"\', \'synonym "inbox" '
                                               'of term "Electronic mail"\', \'tag "gdpr"\', \'classification '
                                               '"PII.EMAIL"\', \'owner "alice"\', "qualified name", "close spelling '
                                               'of the name", "description", "source comment".')
    data_source_name = serializers.CharField(source="data_source.name", read_only=True)
    title = serializers.CharField(read_only=True, help_text="What to show the asset as: its qualified name; for a "
                                                           "data source's own asset (type source), the source's name.")
    sensitivity = UnsetAsNullChoiceField(choices=Asset.Sensitivity.choices, read_only=True, allow_null=True,
                                         help_text="null when no classification gives it one.")

    class Meta:
        model = Asset
        fields = ["id", "type", "name", "qualified_name", "title", "data_source", "data_source_name", "data_type",
                  "description", "source_description", "sensitivity", "match", "found_by"]
        read_only_fields = fields


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="What to pass as the filter of the same name.")
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="How many results the filter on this value leaves: exact up to "
                                               f"{search.COUNT_EXACT_UP_TO:,}, then {search.COUNT_EXACT_UP_TO:,} "
                                               "with count_is_exact false.")
    count_is_exact = serializers.BooleanField(help_text="false: there are more than count.")


FacetsSerializer = type("SearchFacetsSerializer", (serializers.Serializer,), {
    name: FacetValueSerializer(many=True, help_text=help_text) for name, help_text in FACET_HELP.items()})


@extend_schema_serializer(many=False)  # the page itself, with its facets: not a list of pages
class SearchPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text=f"How many assets are found: exact up to {search.COUNT_EXACT_UP_TO:,}; "
                                               "past it this bound, with count_is_exact false (the pages reach as "
                                               "far), as Elasticsearch's track_total_hits does.")
    count_is_exact = serializers.BooleanField(help_text="false: more than count assets are found.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SearchResultSerializer(many=True)
    facets = FacetsSerializer(help_text="Per facet, its values among all the results (not the page), largest "
                                        "first.")


class SearchViewSet(viewsets.ViewSet):
    """Search the catalog: asset names and qualified names, descriptions (the stewards' and the source's),
    glossary terms with their synonyms and abbreviations, tags, classifications and owners. Only the present
    assets you may see, in facets too."""

    pagination_class = Pagination

    def get_permissions(self):
        # The project's defaults (authentication, token scope, MFA), then: a view grant on assets somewhere.
        return [cls() for cls in api_settings.DEFAULT_PERMISSION_CLASSES] + [ModelActionPermission()]

    def governed_model(self):
        return Asset

    def permission_action(self) -> str:
        return "view"

    @extend_schema(
        summary="Search the catalog",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, required=True,
                             description=f"Words to find (1 to {search.QUERY_MAX_LENGTH} characters; snake_case and "
                                         "camelCase are split into words; a word is also a prefix; one typo in a "
                                         "word of 4 to 7 letters, two from 8, are forgiven)."),
            *(OpenApiParameter(name, OpenApiTypes.STR, many=True, explode=True,
                               description=f"{help_text} Repeat for any of several values.")
              for name, help_text in FACET_HELP.items()),
            OpenApiParameter("page", OpenApiTypes.INT, description="A page number (from 1)."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="Results per page (at most 500)."),
        ],
        responses=SearchPageSerializer,
        description="Ranked: the exact name first, then names starting with the words, names containing them, "
                    "glossary terms and synonyms, tags / classifications / owners / qualified names, typos, "
                    "descriptions. Facets count the filtered results (the same filters narrow them: several "
                    "values of one facet are alternatives, facets combine). An unknown parameter or facet value "
                    "(or one you cannot see) is a 400.")
    def list(self, request):
        known = {"q", "page", "page_size", api_settings.URL_FORMAT_OVERRIDE, *search.FACETS}
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            raise ValidationError(dict.fromkeys(unknown, "Unknown query parameter."), code="unknown")
        filters = search_filters(user=request.user,
                                 values={name: request.query_params.getlist(name) for name in search.FACETS
                                         if name in request.query_params})
        found = asset_search(user=request.user, text=request.query_params.get("q", ""), filters=filters)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(found, request, view=self)
        response = paginator.get_paginated_response(SearchResultSerializer(page, many=True).data)
        page_data = dict(response.data)
        response.data = {"count": page_data.pop("count"), "count_is_exact": found.count_is_exact, **page_data,
                         "facets": found.facets()}
        return response


def register(router) -> None:
    router.register("search", SearchViewSet, basename="search")
