"""The asset lists' curation filters in the back office: by tag, glossary term, owner and certification, as the API's
asset list filters (``/api/v1/assets/?tag=…&term=…&owner=…&certification=…``). Each filter runs the API's own
filter (``catalog.api.filters.AssetFilterSet.filter_one``), so both select the same assets for the same value.

What a filter offers is what the user may see: the tags and terms of their workspaces, and the users who own an
asset they see (named, or through a group). The three lists are read in one query per page (a UNION), shared by
the filters through the request, so an asset list costs one query more for them whatever the catalog holds.
"""
from __future__ import annotations

from collections import Counter

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import CharField, F, Q, Value
from django.http import HttpRequest

from accounts.models import User
from catalog.api.filters import AssetFilterSet
from catalog.models import AssetOwner
from catalog.selectors import asset_list, glossary_term_list, tag_list

TAG, TERM, OWNER = "tag", "term", "owner"
_CHOICES_ATTRIBUTE = "_racine_curation_filter_choices"


def _rows(queryset, kind: str, label: str, place: str):
    """``queryset`` as (kind, id, label, place) rows, the shape the three lists share in their UNION."""
    text = CharField()
    return (queryset.order_by().annotate(choice_kind=Value(kind, output_field=text),
                                         choice_label=F(label), choice_place=place)
            .values_list("choice_kind", "pk", "choice_label", "choice_place"))


def curation_choices(request: HttpRequest) -> dict[str, list[tuple[str, str]]]:
    """The tags, terms and owners the asset lists' filters offer ``request.user``, by kind, as (value, label)
    sorted by label: read once a request, in one query."""
    cached = getattr(request, _CHOICES_ATTRIBUTE, None)
    if cached is not None:
        return cached
    user = request.user
    owners = AssetOwner.objects.filter(asset__in=asset_list(user=user).values("pk"))
    owning = User.objects.filter(Q(pk__in=owners.values("user_id"))
                                 | Q(groups__in=owners.filter(group__isnull=False).values("group_id")))
    nowhere = Value("", output_field=CharField())
    rows = _rows(tag_list(user=user), TAG, "name", F("workspace__name")).union(
        _rows(glossary_term_list(user=user).select_related(None).prefetch_related(None), TERM, "name",
              F("workspace__name")),
        _rows(owning, OWNER, User.USERNAME_FIELD, nowhere))
    found: dict[str, list[tuple[str, str]]] = {TAG: [], TERM: [], OWNER: []}
    places = {}
    for kind, pk, label, place in rows:
        found[kind].append((str(pk), label))
        places[(kind, str(pk))] = place
    # A name is followed by its workspace when the user sees the same name in two of them.
    for kind, choices in found.items():
        times = Counter(label for _, label in choices)
        found[kind] = sorted(((pk, f"{label} ({places[(kind, pk)]})" if times[label] > 1 else label)
                              for pk, label in choices), key=lambda choice: (choice[1].casefold(), choice[0]))
    setattr(request, _CHOICES_ATTRIBUTE, found)
    return found


class ApiAssetFilter(admin.SimpleListFilter):
    """A filter of the API's asset list (``parameter_name`` is the name of the API's query parameter)."""

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        try:
            return AssetFilterSet.filter_one(queryset, self.parameter_name, value)
        except ValueError as refused:
            raise IncorrectLookupParameters(str(refused)) from None


class CurationChoiceFilter(ApiAssetFilter):
    """A filter offering what ``curation_choices`` lists under its ``parameter_name`` (tag, term or owner)."""

    def lookups(self, request, model_admin):
        return curation_choices(request)[self.parameter_name]


class TagFilter(CurationChoiceFilter):
    title = "tag"
    parameter_name = TAG


class TermFilter(CurationChoiceFilter):
    title = "glossary term"
    parameter_name = TERM


class OwnerFilter(CurationChoiceFilter):
    """Owners in any capacity; a user owns the assets of their groups too (the API's ``owner``)."""

    title = "owner"
    parameter_name = OWNER


class CertificationFilter(ApiAssetFilter):
    title = "certification"
    parameter_name = "certification"

    def lookups(self, request, model_admin):
        return [(value, str(label)) for value, label in AssetFilterSet.base_filters["certification"].extra["choices"]]


CURATION_FILTERS = [TagFilter, TermFilter, OwnerFilter, CertificationFilter]
