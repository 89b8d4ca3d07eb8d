"""An asset's page in the back office: where it sits (source → database → schema → table → column, each a link)
and the sections below its fields — a table's columns, a schema's tables, a column's classifications with their
evidence and history, and what higher apps contribute (scanning's drift). A data source's own asset
(catalog.source_assets) has its sections on the data source's page (catalog.admin_sources), which is its page.

Imports point down, so this page cannot name what scanning records about an asset. Each app registers its
sections with :func:`section` in its own ``admin_assets`` module (an ``accounts.contributions.Registry``, as the
steward's home's panels). A section's builder receives the request and the asset; it reads through its app's
selectors and costs the same few queries whatever the asset holds (a table of 200 columns costs what a table of 2
does).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, IntegerField, Model, Prefetch, Value, When
from django.http import HttpRequest
from django.urls import reverse

from accounts.contributions import Registry, ShownPart
from accounts.models import AuditEvent
from accounts.selectors import visible
from catalog.admin_decisions import decision_context
from catalog.admin_readable import NOT_PROFILED, evidence_of, profile_summary
from catalog.lineage.selectors import evidences_seen_by
from catalog.models import Asset, AssetClassification
from catalog.selectors import asset_classification_list, asset_list, definition_lineage_get

CONTENTS_SHOWN = 100
HISTORY_SHOWN = 50
# The parameter of an asset's page that shows the removed columns of a table too.
SHOW_REMOVED = "removed"


SECTIONS = Registry("admin_assets", "asset page sections")
# Register the decorated ``build(request, asset) -> dict | None`` as a section of the asset pages (its HTML id is
# ``asset-<key>``).
section = SECTIONS.register


def sections_for(request: HttpRequest, asset: Asset) -> list[ShownPart]:
    return SECTIONS.shown(request, asset)


def asset_url(asset: Asset) -> str:
    """The page of ``asset``: each type has its own (the proxy models of catalog.models), a source's asset its data
    source's."""
    if asset.type == Asset.Type.SOURCE:
        return source_page_url(asset.data_source_id)
    return reverse(f"admin:catalog_{asset.type}asset_change", args=[asset.pk])


def source_page_url(data_source_id: int) -> str:
    return reverse("admin:sources_datasource_change", args=[data_source_id])


def change_urls(url_name: Callable[[Model], str]) -> Callable[[Model], str]:
    """The change page's URL of the many rows of one page, for the URL name ``url_name(row)`` gives: each name is
    reversed once, not once a row (200 reversals were a fifth of a table page's time)."""
    patterns: dict[str, str] = {}
    placeholder = str(2**62)  # an id no table reaches: only the id's place in the URL is wanted

    def url(row: Model) -> str:
        name = url_name(row)
        if name not in patterns:
            patterns[name] = reverse(name, args=[placeholder])
        return patterns[name].replace(placeholder, str(row.pk), 1)

    return url


def asset_urls() -> Callable[[Asset], str]:
    return change_urls(lambda asset: f"admin:catalog_{asset.type}asset_change")


def asset_list_url(asset_type: str, **filters) -> str:
    url = reverse(f"admin:catalog_{asset_type}asset_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


# --- where the asset sits -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Crumb:
    label: str
    url: str
    kind: str  # "source", "database", …: says what the name is to a screen reader and to tests


def breadcrumbs(request: HttpRequest, asset: Asset) -> list[Crumb]:
    """Source, then each ancestor from the database down, then the asset itself: one query for the ancestors
    (a column has four, the source's asset the last), which also serves the page's own "parent" field. The
    source's asset is the source's crumb, not one of its own."""
    ancestors = []
    if asset.parent_id is not None:
        parent = (asset_list(user=request.user).select_related("parent__parent__parent")
                  .filter(pk=asset.parent_id).first())
        if parent is not None:
            asset.parent = parent  # the page's "parent" field reads it from here
            asset.data_source = parent.data_source  # and the source came with it
        while parent is not None:  # each level came with the query above
            ancestors.insert(0, parent)
            parent = parent.parent if parent.parent_id is not None else None
    source = asset.data_source
    crumbs = [Crumb(source.name, source_page_url(source.pk), "source")]
    crumbs += [Crumb(item.name, asset_url(item), item.type) for item in (*ancestors, asset)
               if item.type != Asset.Type.SOURCE]
    return crumbs


# --- the catalog's own sections ------------------------------------------------------------------------------------

_STATUS_ORDER = Case(*(When(status=status, then=Value(rank)) for rank, status in enumerate(
    (AssetClassification.Status.CONFIRMED, AssetClassification.Status.SUGGESTED,
     AssetClassification.Status.REJECTED))), output_field=IntegerField())


def _classifications(user, **filters):
    """The classifications of some assets that ``user`` may see, confirmed first, then by confidence."""
    return (asset_classification_list(user=user).filter(**filters)
            .select_related("classification", "decided_by")
            .order_by(_STATUS_ORDER, "-confidence", "classification__name"))


@dataclass(frozen=True)
class ColumnRow:
    column: Asset
    url: str
    nullable: str
    classifications: list[AssetClassification]
    profile: str


_NULLABLE = {None: "—", True: "yes", False: "no"}
# What a table's list of columns shows of each (the rest of a column is on its own page).
_COLUMN_FIELDS = ("type", "name", "data_type", "is_nullable", "ordinal", "sensitivity", "profile", "removed_at")


@section(key="columns", title="Columns", template="admin/catalog/asset/columns.html", order=10)
def columns_section(request, asset):
    """A table's or view's columns in their order, with what the scans found in each: two queries whatever the
    number of columns. Removed columns are left out unless asked for (``?removed=yes``)."""
    if asset.type not in (Asset.Type.TABLE, Asset.Type.VIEW):
        return None
    user = request.user
    found = _classifications(user).select_related(None).select_related("classification").only(
        "asset_id", "status", "confidence", "classification__name")
    columns = list(asset_list(user=user).select_related(None).only(*_COLUMN_FIELDS)
                   .filter(parent=asset, type=Asset.Type.COLUMN).order_by("ordinal", "name")
                   .prefetch_related(Prefetch("classifications", queryset=found, to_attr="shown_classifications")))
    show_removed = request.GET.get(SHOW_REMOVED) == "yes"
    removed = sum(column.removed_at is not None for column in columns)
    url = asset_urls()
    rows = [ColumnRow(column, url(column), _NULLABLE[column.is_nullable], column.shown_classifications,
                      profile_summary(column.profile))
            for column in columns if show_removed or column.removed_at is None]
    return {"rows": rows, "removed": removed, "show_removed": show_removed, "not_profiled":
            NOT_PROFILED if rows and not any(row.profile for row in rows) else "",
            "toggle_url": f"?{SHOW_REMOVED}=yes" if not show_removed else "?",
            "list_url": asset_list_url(Asset.Type.COLUMN, parent__id__exact=asset.pk)}


_CONTENTS = {Asset.Type.SOURCE: (Asset.Type.DATABASE,), Asset.Type.DATABASE: (Asset.Type.SCHEMA,),
             Asset.Type.SCHEMA: (Asset.Type.TABLE, Asset.Type.VIEW, Asset.Type.ROUTINE)}


@section(key="contents", title="Contents", template="admin/catalog/asset/contents.html", order=10)
def contents_section(request, asset):
    """A source's databases, a database's schemas, a schema's tables, views and routines: the first
    ``CONTENTS_SHOWN`` present ones, and links to the lists of all of them."""
    kinds = _CONTENTS.get(asset.type)
    if kinds is None:
        return None
    children = list(asset_list(user=request.user, present_only=True).filter(parent=asset, type__in=kinds)
                    .order_by("qualified_name")[:CONTENTS_SHOWN + 1])
    url = asset_urls()
    return {"rows": [(child, url(child)) for child in children[:CONTENTS_SHOWN]],
            "more": len(children) > CONTENTS_SHOWN,
            "lists": [(Asset.Type(kind).label, asset_list_url(kind, parent__id__exact=asset.pk, removed="all"))
                      for kind in kinds]}


@section(key="definition-lineage", title="Lineage from the definition",
         template="admin/catalog/asset/definition_lineage.html", order=15)
def definition_lineage_section(request, asset):
    """What lineage read from a view's or routine's definition after the last scan that changed it
    (catalog.lineage.definitions): how many edges, the tables no scan has seen, or why nothing could be read.
    One query."""
    if asset.type not in (Asset.Type.VIEW, Asset.Type.ROUTINE):
        return None
    return {"reading": definition_lineage_get(user=request.user, asset=asset)}


@dataclass(frozen=True)
class HistoryEntry:
    at: object  # datetime
    who: str
    what: str
    note: str


@dataclass(frozen=True)
class ClassificationView:
    """One classification of the asset as its page shows it (``admin/catalog/includes/classification_rows.html``)."""

    row: AssetClassification
    evidence: object  # catalog.admin_readable.Evidence
    history: list[HistoryEntry]
    may_decide: bool


_AUDIT_WORDS = {"asset_classification.created": "classified by hand",
                "asset_classification.confirmed": "confirmed", "asset_classification.rejected": "rejected"}


def _history(request, rows: list[AssetClassification]) -> dict[int, list[HistoryEntry]]:
    """Each classification's decisions from the audit trail, newest first (one query), for a user who may read
    the trail; otherwise what the row itself records (when it was found, the last decision)."""
    by_row: dict[int, list[HistoryEntry]] = {row.pk: [] for row in rows}
    content_type = ContentType.objects.get_for_model(AssetClassification)
    events = visible(AuditEvent.objects.filter(content_type=content_type,
                                               object_id__in=[str(row.pk) for row in rows]),
                     user=request.user).order_by("-created_at", "-id")[:HISTORY_SHOWN]
    for event in events:
        status = (event.changes or {}).get("status") or [None, None]
        what = _AUDIT_WORDS.get(event.event) or event.event.rsplit(".", 1)[-1].replace("_", " ")
        if status[0]:
            what = f"{what} (was {status[0]})"
        by_row[int(event.object_id)].append(HistoryEntry(event.created_at, event.actor_label or "system", what,
                                                         str((event.extra or {}).get("note") or "")))
    for row in rows:
        if by_row[row.pk]:
            continue
        # No trail to read: the row's own record of its last decision, and when it was found.
        if row.decided_at is not None:
            who = row.decided_by.get_username() if row.decided_by is not None else "system"
            by_row[row.pk].append(HistoryEntry(row.decided_at, who, row.get_status_display().lower(),
                                               row.decision_note))
        if row.source != AssetClassification.Source.MANUAL:
            by_row[row.pk].append(HistoryEntry(row.created_at, row.get_source_display().lower(), "suggested", ""))
    return by_row


def classification_views(request, rows: list[AssetClassification]) -> list[ClassificationView]:
    history = _history(request, rows)
    # One query for all the rows (has_perm would read each row's workspace in turn).
    decidable = set(asset_classification_list(user=request.user, action="confirm")
                    .filter(pk__in=[row.pk for row in rows]).values_list("pk", flat=True)) if rows else set()
    seen = evidences_seen_by([row.evidence for row in rows], user=request.user)
    return [ClassificationView(row, evidence_of(evidence), history[row.pk], row.pk in decidable)
            for row, evidence in zip(rows, seen, strict=True)]


@section(key="classifications", title="Classifications", template="admin/catalog/asset/classifications.html",
         order=20)
def classifications_section(request, asset):
    """What the data in the asset is, why the scan thinks so, and who decided what. Shown on every column; on a
    table, schema or database only when something was classified on it itself."""
    rows = list(_classifications(request.user, asset=asset))
    if not rows and asset.type != Asset.Type.COLUMN:
        return None
    # The review queue's decision buttons on each row the user may decide (catalog.admin_review).
    return {"classifications": classification_views(request, rows), **decision_context(request)}
