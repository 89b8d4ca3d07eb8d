"""Reads of the catalog, always scoped to what ``user`` may see (see accounts.selectors)."""
from __future__ import annotations

from collections import defaultdict

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import CharField, Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from accounts.fields import UNSTORABLE_TEXT
from accounts.models import AuditEvent, Membership, User
from accounts.permissions import restrict, visible_scope
from accounts.selectors import workspace_list
from catalog import search
from catalog.models import (
    Asset,
    AssetCertification,
    AssetClassification,
    AssetOwner,
    AssetPropertyValue,
    AssetTag,
    Classification,
    DefinitionLineage,
    GlossaryTerm,
    GlossaryTermAsset,
    PropertyDefinition,
    Suggestion,
    Tag,
)
from sources.models import DataSource
from sources.selectors import datasource_list


def asset_list(*, user: User | None, action: str = "view", present_only: bool = False) -> QuerySet[Asset]:
    """Assets ``user`` may ``action``; with ``present_only``, only those still in their source (not removed)."""
    queryset = Asset.objects.select_related("data_source")
    if present_only:
        queryset = queryset.filter(removed_at__isnull=True)
    return restrict(queryset, user, action)


class SearchResults:
    """The assets a search finds, best first, read a page at a time: ``count()`` and slices, as Django's and
    DRF's paginators read them, and ``facets()``. Each asset carries ``search_match``: why it was found
    (catalog.search.TIERS). The count is exact up to ``search.COUNT_EXACT_UP_TO``, then that bound with
    ``count_is_exact`` false (the pages then reach that far); facet counts are bounded the same way, so a facet's
    count is still the count its filter gives."""

    def __init__(self, *, user: User | None, query: search.Query, filters: search.Filters,
                 visible: search.Visibility | None):
        self.user, self.query, self.filters = user, query, filters
        self._visible = visible
        self._count: int | None = None
        # Every result ranked, when no more than the bound: the statement that counts them ranks them too, and
        # the pages are then read from it.
        self._ranked: list[tuple[int, str]] | None = None

    def count(self) -> int:
        if self._count is None:
            self._count, self._ranked = search.search_ranked(self.query, self._visible, self.filters,
                                                             up_to=search.COUNT_EXACT_UP_TO)
        return min(self._count, search.COUNT_EXACT_UP_TO)

    @property
    def count_is_exact(self) -> bool:
        self.count()
        return self._count <= search.COUNT_EXACT_UP_TO

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window):
        if not isinstance(window, slice) or window.step is not None:
            raise TypeError("search results are read in slices")
        start = window.start or 0
        stop = window.stop if window.stop is not None else self.count()
        if stop <= start:
            return []
        self.count()
        found = self._ranked[start:stop] if self._ranked is not None else \
            search.search_page(self.query, self._visible, self.filters, limit=stop - start, offset=start)
        assets = asset_list(user=self.user).select_related("data_source").in_bulk([pk for pk, _ in found])
        terms, labels = _search_links([pk for pk, tier in found if tier in ("term", "label", "fuzzy")])
        page = []
        for pk, tier in found:
            if pk in assets:  # an asset made invisible between the two statements is left out
                asset = assets[pk]
                asset.search_match = tier
                asset.search_found_by = search.found_by(
                    self.query, tier, name=asset.name, description=asset.description,
                    source_description=asset.source_description, labels=labels[pk], terms=terms[pk])
                page.append(asset)
        return page

    def ids(self) -> RawSQL:
        """The ids of every asset found, as a subquery: ``queryset.filter(pk__in=results.ids())`` narrows another
        list (the admin's asset changelists) to them, in its own order."""
        statement = search.search_ids(self.query, self._visible, self.filters)
        return RawSQL(statement.sql, statement.params)

    def facets(self) -> dict[str, list[dict]]:
        facets = search.search_facets(self.query, self._visible, self.filters)
        labels = {"type": Asset.Type, "sensitivity": Asset.Sensitivity, "certification": AssetCertification.Status}
        for name, values in facets.items():
            for item in values:
                item["count_is_exact"] = item["count"] <= search.COUNT_EXACT_UP_TO
                item["count"] = min(item["count"], search.COUNT_EXACT_UP_TO)
                if name not in labels:
                    continue
                if item["value"] in labels[name].values:
                    item["label"] = str(labels[name](item["value"]).label)
                elif item["value"] == search.NO_CERTIFICATION:
                    item["label"] = "Not certified"
        return facets


def _search_links(asset_ids: list[int]) -> tuple[dict, dict]:
    """The glossary terms (``(name, synonyms, abbreviations)``) and the tag, classification and owner names of
    these assets (found on a page by them), which say why each was found: two statements, none without ids."""
    terms: dict[int, list] = defaultdict(list)
    labels: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    if not asset_ids:
        return terms, labels
    for asset_id, *term in (GlossaryTermAsset.objects.filter(asset_id__in=asset_ids).order_by("term__name")
                            .values_list("asset_id", "term__name", "term__synonyms", "term__abbreviations")):
        terms[asset_id].append(tuple(term))
    counted = [AssetClassification.Status.SUGGESTED, AssetClassification.Status.CONFIRMED]
    # The three kinds of label in one statement (a UNION ALL), each in the order they were added.
    kinds = [queryset.annotate(kind=Value(kind, output_field=CharField()))
             .values_list("kind", "asset_id", label, "pk").order_by()
             for kind, queryset, label in (
                 ("tag", AssetTag.objects.filter(asset_id__in=asset_ids), "tag__name"),
                 ("classification", AssetClassification.objects.filter(asset_id__in=asset_ids, status__in=counted),
                  "classification__name"),
                 ("owner", AssetOwner.objects.filter(asset_id__in=asset_ids),
                  Coalesce("user__username", "group__name")))]
    for kind, asset_id, label, _pk in sorted(kinds[0].union(*kinds[1:], all=True), key=lambda row: row[3]):
        labels[asset_id][kind].append(label)
    return terms, labels


def _ids(name: str, values: list[str]) -> list[int]:
    if not all(value.isdecimal() for value in values):
        raise ValidationError({name: ["Give ids (whole numbers)."]})
    return [int(value) for value in values]


def _known(name: str, wanted: list, found) -> None:
    missing = [str(value) for value in wanted if value not in set(found)]
    if missing:
        raise ValidationError({name: [f"Unknown value: {', '.join(missing[:10])}."]})


def search_filters(*, user: User | None, values: dict[str, list[str]]) -> search.Filters:
    """The facet filters of a search (``{facet: [values]}``, as the facets name them), each value checked among
    what ``user`` sees: an unknown or invisible value is a ValidationError naming the facet."""
    unknown = set(values) - set(search.FACETS)
    if unknown:
        raise ValidationError({name: ["Unknown filter."] for name in sorted(unknown)})
    # A value no database text holds is no facet's value; PostgreSQL refused the look-up of one (a 500).
    unstorable = sorted(name for name, given in values.items() if any(UNSTORABLE_TEXT.search(v) for v in given))
    if unstorable:
        raise ValidationError({name: ["Unknown value."] for name in unstorable})
    chosen: dict[str, tuple] = {}
    choices = {"type": Asset.Type.values, "sensitivity": Asset.Sensitivity.values,
               "certification": [*AssetCertification.Status.values, search.NO_CERTIFICATION]}
    for name, allowed in choices.items():
        wanted = values.get(name, [])
        _known(name, wanted, allowed)
        chosen[name] = tuple(wanted)
    lookups = {"source": lambda ids: datasource_list(user=user).filter(pk__in=ids),
               "schema": lambda ids: asset_list(user=user).filter(pk__in=ids, type=Asset.Type.SCHEMA),
               "tag": lambda ids: tag_list(user=user).filter(pk__in=ids),
               "term": lambda ids: glossary_term_list(user=user).filter(pk__in=ids)}
    for name, lookup in lookups.items():
        ids = _ids(name, values.get(name, []))
        if ids:
            _known(name, ids, lookup(ids).values_list("pk", flat=True))
        chosen[name] = tuple(ids)
    wanted = values.get("classification", [])
    if wanted:
        _known("classification", wanted,
               restrict(Classification.objects.filter(name__in=wanted), user, "view").values_list("name", flat=True))
    chosen["classification"] = tuple(wanted)
    owners: dict[str, list[int]] = {"user": [], "group": []}
    for value in values.get("owner", []):
        kind, _, pk = value.partition(":")
        if kind not in owners or not pk.isdecimal():
            raise ValidationError({"owner": [f"{value}: give user:<id> or group:<id>."]})
        owners[kind].append(int(pk))
    _known("owner", [f"user:{pk}" for pk in owners["user"]],
           [f"user:{pk}" for pk in owner_user_choices(user=user).filter(pk__in=owners["user"])
            .values_list("pk", flat=True)])
    _known("owner", [f"group:{pk}" for pk in owners["group"]],
           [f"group:{pk}" for pk in owner_group_choices(user=user).filter(pk__in=owners["group"])
            .values_list("pk", flat=True)])
    return search.Filters(owner_users=tuple(owners["user"]), owner_groups=tuple(owners["group"]), **chosen)


def asset_search(*, user: User | None, text: str, filters: search.Filters | None = None) -> SearchResults:
    """The present assets ``user`` may see that ``text`` finds (catalog.search: names, qualified names,
    descriptions, glossary terms and synonyms, tags, classifications, owners; typos forgiven), narrowed by
    ``filters``, best first. An empty or too long ``text`` is a ValidationError on ``q``."""
    query = search.Query.parse(text)
    visible = _search_visibility(user)
    search.look_up(query, visible)
    return SearchResults(user=user, query=query, filters=filters or search.Filters(), visible=visible)


def _search_visibility(user: User | None) -> search.Visibility | None:
    """What ``user`` may see, as the search documents answer it: the data sources of the workspaces where they may
    view assets and the assets granted to them one by one — ``restrict()``'s rule for assets (their workspace is
    their source's), read from the same grants. None for a user who sees every asset (a superuser, a model-wide
    grant): their statements then read the search index alone."""
    scope = visible_scope(user, Asset)
    if scope is None:
        return None
    sources = DataSource.objects.filter(workspace_id__in=scope.workspace_ids).order_by("pk")
    return search.Visibility(source_ids=tuple(sources.values_list("pk", flat=True)) if scope.workspace_ids else (),
                             asset_ids=tuple(sorted(scope.object_ids)))


def active_classification_list(*, user: User | None) -> QuerySet[Classification]:
    """The classifications in use (not switched off) that ``user`` may see: the choices of a classification by hand
    or of a custom rule."""
    return restrict(Classification.objects.filter(is_active=True), user, "view")


def asset_classification_list(*, user: User | None, action: str = "view") -> QuerySet[AssetClassification]:
    return restrict(AssetClassification.objects.select_related("asset", "classification"), user, action)


# --- the steward's home (catalog.home) ----------------------------------------------------------------------------


def sensitive_column_counts(*, user: User | None) -> list[dict]:
    """The present columns with a sensitivity, counted by data source and sensitivity: ``data_source_id``,
    ``data_source__name``, ``sensitivity``, ``count`` — what the column list shows filtered by the three."""
    columns = Asset.objects.filter(type=Asset.Type.COLUMN, removed_at__isnull=True).exclude(sensitivity="")
    return list(restrict(columns, user, "view").order_by()
                .values("data_source_id", "data_source__name", "sensitivity").annotate(count=Count("pk")))


def classification_counts(*, user: User | None) -> list[dict]:
    """The suggested and confirmed classifications of assets, counted by classification and status:
    ``classification_id``, ``classification__name``, ``status``, ``count`` (rejected ones no longer count)."""
    applied = AssetClassification.objects.filter(
        status__in=[AssetClassification.Status.SUGGESTED, AssetClassification.Status.CONFIRMED])
    return list(restrict(applied, user, "view").order_by()
                .values("classification_id", "classification__name", "status").annotate(count=Count("pk")))


def review_queue_summary(*, user: User | None) -> tuple[int, AssetClassification | None]:
    """How many suggestions wait for a steward's decision, and the one waiting longest."""
    queue = restrict(AssetClassification.objects.filter(status=AssetClassification.Status.SUGGESTED), user, "view")
    # One pass over the visible queue for both figures; the oldest is then found by its time alone (a few rows),
    # not by sorting the queue again.
    summary = queue.aggregate(count=Count("pk"), since=Min("created_at"))
    if not summary["count"]:
        return 0, None
    oldest = queue.filter(created_at=summary["since"]).select_related("asset", "classification").order_by("pk")
    return summary["count"], oldest.first()


# --- curation and glossary ----------------------------------------------------------------------------------------


def tag_list(*, user: User | None, action: str = "view") -> QuerySet[Tag]:
    return restrict(Tag.objects.all(), user, action)


def glossary_term_list(*, user: User | None, action: str = "view") -> QuerySet[GlossaryTerm]:
    """Terms with what their rows show (parent, classification, related terms, stewards) read in a fixed number
    of queries, whatever the number of terms."""
    return restrict(GlossaryTerm.objects.select_related("parent", "classification")
                    .prefetch_related("related_terms", "stewards"), user, action)


def property_definition_list(*, user: User | None, action: str = "view") -> QuerySet[PropertyDefinition]:
    return restrict(PropertyDefinition.objects.all(), user, action)


def asset_property_value_list(*, user: User | None, asset: Asset) -> QuerySet[AssetPropertyValue]:
    """The custom property values of ``asset``, if ``user`` may see it, with their definitions and setters."""
    return (AssetPropertyValue.objects.filter(asset_id__in=asset_list(user=user).filter(pk=asset.pk).values("pk"))
            .select_related("definition", "set_by"))


def with_curation(assets: QuerySet[Asset]) -> QuerySet[Asset]:
    """``assets`` with their curation (owners, tags, terms, certification, properties) read in a fixed number of
    queries."""
    return assets.select_related("data_source", "certification__certified_by").prefetch_related(
        Prefetch("owners", queryset=AssetOwner.objects.select_related("user", "group")),
        "tags", "glossary_terms",
        Prefetch("property_values", queryset=AssetPropertyValue.objects.select_related("definition")))


def asset_curation_list(*, user: User | None, action: str = "view") -> QuerySet[Asset]:
    """Assets ``user`` may ``action``, with their curation (``with_curation``)."""
    return with_curation(asset_list(user=user, action=action))


def _owned_asset_ids(user) -> QuerySet:
    """The assets ``user`` owns, named or through a group, in the workspaces they are a member of. Groups are
    organization-wide: an owning group's members outside the asset's workspace (the auditors' group, whose members
    read every workspace) do not curate it, as a user outside it cannot be named owner
    (catalog.curation._check_owner)."""
    member = Membership.objects.filter(user_id=user.pk, workspace_id=OuterRef("asset__data_source__workspace_id"))
    return (AssetOwner.objects.filter(Q(user_id=user.pk) | Q(group__in=user.groups.values("pk")))
            .filter(Exists(member)).values("asset_id"))


def asset_owned_by(*, user: User | None, asset: Asset) -> bool:
    """Is ``user`` an owner of ``asset``, named or through one of their groups (the owners' part of the curation
    rule, catalog.curation.may_curate)?"""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return _owned_asset_ids(user).filter(asset_id=asset.pk).exists()


def asset_curatable_list(*, user: User | None) -> QuerySet[Asset]:
    """The assets ``user`` sees and may curate: those they may change, and those they own."""
    visible_assets = asset_curation_list(user=user)
    if user is None or not getattr(user, "is_authenticated", False):
        return visible_assets
    changeable = asset_list(user=user, action="change").values("pk")
    return visible_assets.filter(Q(pk__in=changeable) | Q(pk__in=_owned_asset_ids(user)))


def owner_user_choices(*, user: User | None) -> QuerySet[User]:
    """Whom ``user`` may name as an asset's owner: the active members of the workspaces ``user`` sees (the
    curation service then asks for a member of the asset's own workspace), so an id from elsewhere reads as no
    such user."""
    return User.objects.filter(is_active=True, memberships__workspace__in=workspace_list(user=user)).distinct()


def owner_group_choices(*, user: User | None) -> QuerySet[Group]:
    """Groups are organization-wide, like classifications: any active user may name one an owner."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Group.objects.none()
    return Group.objects.all()


# --- suggestions (catalog.suggestions) ------------------------------------------------------------------------------


def suggestion_list(*, user: User | None, action: str = "view") -> QuerySet[Suggestion]:
    """Suggestions for the assets ``user`` sees, with what their rows show (asset, term, source asset)."""
    return restrict(Suggestion.objects.select_related("asset", "term", "source_asset"), user, action)


def open_suggestion_count(*, user: User | None) -> int:
    """How many suggestions wait for a curator's decision among those ``user`` sees."""
    return restrict(Suggestion.objects.filter(status=Suggestion.Status.OPEN), user, "view").count()


def asset_curation_history(*, user: User | None, asset: Asset, limit: int) -> list[AuditEvent]:
    """The audit rows written on ``asset`` (its description, owners, tags, terms, certification), newest first, at
    most ``limit``, for a user who may see the asset: they describe the curation its page already shows, so they
    are the asset's history, not the audit trail at large (which stays the workspace admins' and auditors'). One
    query: the asset's visibility is a condition of the same statement."""
    content_type = ContentType.objects.get_for_model(Asset)
    return list(AuditEvent.objects.filter(Exists(asset_list(user=user).filter(pk=asset.pk)),
                                          content_type=content_type, object_id=str(asset.pk))
                .order_by("-created_at", "-id")[:limit])


def definition_lineage_get(*, user: User | None, asset: Asset) -> DefinitionLineage | None:
    """What lineage last read from ``asset``'s definition (a view or a routine), if the user may see it."""
    return restrict(DefinitionLineage.objects.filter(asset=asset), user, "view").first()


def assets_unindexed(*, limit: int) -> list[int]:
    """Up to ``limit`` present assets without a search document, by id: assets that predate the search index, or
    written by something that bypassed the services (an operator's SQL). Not a user's read: the system's, for
    ``catalog.search_upgrade``."""
    return list(Asset.objects.filter(removed_at__isnull=True, search_document__isnull=True).order_by("pk")
                .values_list("pk", flat=True)[:limit])
