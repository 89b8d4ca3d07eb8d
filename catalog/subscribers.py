"""The catalog's subscribers to domain events (core.events): each data source's own asset (catalog.source_assets),
suggestions from the data (catalog.suggestions) and classifications carried along lineage (catalog.propagation).

Each is called at least once per event, after the commit of the change it reports, as the system; the services
they call are idempotent (an asset gets each suggestion once), so a redelivery adds nothing. The row the event
names is read again: what happened since (a decision undone, a description rewritten) is what counts.
"""
from __future__ import annotations

from accounts.actors import SYSTEM
from accounts.models import Workspace
from catalog import propagation, suggestions
from catalog.models import Asset, AssetClassification
from catalog.source_assets import source_asset_ensure
from core.events import subscribe
from core.models import Event
from sources.models import DataSource
from sources.services import CREATED_EVENT, RENAMED_EVENT


@subscribe(CREATED_EVENT)
@subscribe(RENAMED_EVENT)
def keep_source_asset(event: Event) -> None:
    """A new data source gets its asset, a renamed one's asset its new name (idempotent: the source as it is now
    is what counts). A source deleted since has taken its asset with it."""
    source = DataSource.objects.filter(pk=event.payload["data_source"]).first()
    if source is not None:
        source_asset_ensure(data_source=source)


@subscribe("classification.confirmed")
def suggest_implied_terms(event: Event) -> None:
    """A column confirmed as a classification is offered the terms that imply it."""
    row = (AssetClassification.objects.select_related("asset__data_source", "classification")
           .filter(pk=event.payload["asset_classification"]).first())
    if row is not None:
        suggestions.suggestions_make_for_classification(asset_classification=row, acting_user=SYSTEM)


@subscribe("classifications.confirmed")
def suggest_implied_terms_in_bulk(event: Event) -> None:
    """Columns confirmed together (bulk curation): the same, rows already served by a linked term set aside at
    once."""
    rows = (AssetClassification.objects.select_related("asset__data_source__workspace", "classification")
            .filter(pk__in=event.payload["asset_classifications"]))
    suggestions.suggestions_make_for_classifications(asset_classifications=list(rows), acting_user=SYSTEM)


def _after_curation(event: Event) -> None:
    asset = Asset.objects.select_related("data_source").filter(pk=event.payload["asset"]).first()
    if asset is not None:
        suggestions.suggestions_after_curation(asset=asset, acting_user=SYSTEM)


@subscribe("asset.described")
def suggest_description_to_lookalikes(event: Event) -> None:
    """A column described by a steward offers its description to its look-alikes (and its own open description
    suggestions are withdrawn)."""
    _after_curation(event)


@subscribe("asset.term_linked")
def suggest_term_to_lookalikes(event: Event) -> None:
    """A term linked to a column is offered to its look-alikes (and the same open suggestion on it withdrawn)."""
    _after_curation(event)


@subscribe("assets.terms_linked")
def suggest_terms_to_lookalikes_in_bulk(event: Event) -> None:
    """Terms linked to many assets by bulk curation, one event naming them all: the same as ``asset.term_linked``
    for each, in a fixed number of queries."""
    assets = list(Asset.objects.select_related("data_source__workspace").filter(pk__in=event.payload["assets"]))
    if assets:
        suggestions.suggestions_after_curation_many(assets=assets, acting_user=SYSTEM)


def _propagate(workspace_id: int | None, *, assets=(), externals=()) -> None:
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is not None:
        propagation.asset_classifications_propagate(workspace=workspace, assets=assets, externals=externals,
                                                    acting_user=SYSTEM)


@subscribe("classification.confirmed")
@subscribe("classification.rejected")
def propagate_decision(event: Event) -> None:
    """A decision on a column's classification is carried to (or withdrawn from) the columns that copy it."""
    _propagate(event.workspace_id, assets=[event.payload["asset"]])


@subscribe("classifications.confirmed")
def propagate_decisions_in_bulk(event: Event) -> None:
    """Columns confirmed together: carried to the columns that copy them in one walk."""
    _propagate(event.payload["workspace"], assets=event.payload["assets"])


@subscribe("lineage.changed")
def propagate_along_new_lineage(event: Event) -> None:
    """Copies that appeared or disappeared: the columns they feed are suggested (or no longer) what they copy."""
    targets = event.payload.get("direct_targets") or {}
    if targets.get("assets") or targets.get("externals"):
        _propagate(event.payload["workspace"], assets=targets.get("assets", ()), externals=targets.get("externals", ()))
