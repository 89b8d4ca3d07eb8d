"""Reads of the catalog, always scoped to what ``user`` may see (see accounts.selectors)."""
from __future__ import annotations

from django.contrib.auth.models import Group
from django.db.models import Case, Count, IntegerField, Min, Prefetch, Q, QuerySet, Value, When

from accounts.models import User
from accounts.permissions import restrict
from accounts.selectors import workspace_list
from catalog.models import (
    Asset,
    AssetClassification,
    AssetOwner,
    Classification,
    DefinitionLineage,
    GlossaryTerm,
    Suggestion,
    Tag,
)


def asset_list(*, user: User | None, action: str = "view", present_only: bool = False) -> QuerySet[Asset]:
    """Assets ``user`` may ``action``; with ``present_only``, only those still in their source (not removed)."""
    queryset = Asset.objects.select_related("data_source")
    if present_only:
        queryset = queryset.filter(removed_at__isnull=True)
    return restrict(queryset, user, action)


def asset_search(*, user: User | None, text: str) -> QuerySet[Asset]:
    """The present assets ``user`` may see whose name or qualified name contains ``text`` (any case): the
    assets named ``text`` first, then those whose name starts with it, then the rest, each by qualified name. The
    admin's header search reads it; full-text search will take its place here."""
    matches = asset_list(user=user, present_only=True).filter(
        Q(name__icontains=text) | Q(qualified_name__icontains=text))
    rank = Case(When(name__iexact=text, then=Value(0)), When(name__istartswith=text, then=Value(1)),
                default=Value(2), output_field=IntegerField())
    return matches.annotate(rank=rank).order_by("rank", "qualified_name", "pk")


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


def with_curation(assets: QuerySet[Asset]) -> QuerySet[Asset]:
    """``assets`` with their curation (owners, tags, terms, certification) read in a fixed number of queries."""
    return assets.select_related("data_source", "certification__certified_by").prefetch_related(
        Prefetch("owners", queryset=AssetOwner.objects.select_related("user", "group")),
        "tags", "glossary_terms")


def asset_curation_list(*, user: User | None, action: str = "view") -> QuerySet[Asset]:
    """Assets ``user`` may ``action``, with their curation (``with_curation``)."""
    return with_curation(asset_list(user=user, action=action))


def _owned_asset_ids(user) -> QuerySet:
    return (AssetOwner.objects.filter(Q(user_id=user.pk) | Q(group__in=user.groups.values("pk")))
            .values("asset_id"))


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


def definition_lineage_get(*, user: User | None, asset: Asset) -> DefinitionLineage | None:
    """What lineage last read from ``asset``'s definition (a view or a routine), if the user may see it."""
    return restrict(DefinitionLineage.objects.filter(asset=asset), user, "view").first()
