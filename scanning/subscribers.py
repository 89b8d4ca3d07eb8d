"""Scanning's subscribers to domain events (core.events).

The catalog cannot read which columns a run added (its drift is scanning's ``AssetChange``), so scanning hands
them to the catalog's suggestions: a scan's new or changed columns are offered what their curated look-alikes of
the same source say (catalog.suggestions), in a fixed number of queries whatever the number of columns. The
classifications a run's detection suggested travel along lineage to the columns that copy them
(catalog.propagation): the catalog records no event per suggestion, the run's end says they changed.

A scan that succeeded has its source's view and routine definitions read as lineage (catalog.lineage.definitions):
after the run, not in it, so scans stay as fast as they were and a definition the parser cannot read never fails
one; on every scan, changes or not, since unchanged definitions have their edges marked seen.
"""
from __future__ import annotations

from accounts.actors import SYSTEM
from catalog.lineage.definitions import definitions_lineage_record
from catalog.models import Asset
from catalog.propagation import asset_classifications_propagate
from catalog.suggestions import suggestions_make_for_lookalikes
from core.events import subscribe
from core.models import Event
from scanning.models import AssetChange
from sources.models import DataSource


@subscribe("asset.changed")
def suggest_for_new_columns(event: Event) -> None:
    """The columns the run added, and those it changed (a new data type may make a look-alike), as a subquery."""
    drift = AssetChange.objects.filter(run_id=event.payload["run"], kind__in=[AssetChange.Kind.ADDED,
                                                                              AssetChange.Kind.CHANGED])
    columns = Asset.objects.filter(pk__in=drift.values("asset_id"), type=Asset.Type.COLUMN)
    suggestions_make_for_lookalikes(columns=columns, acting_user=SYSTEM)


@subscribe("scan.finished")
@subscribe("detection.finished")
def propagate_detections(event: Event) -> None:
    """A detection pass added, refreshed or dropped scan suggestions on the source's columns: the columns that copy
    them, anywhere in the workspace, are suggested what they now carry (catalog.propagation)."""
    source = DataSource.objects.select_related("workspace").filter(pk=event.payload["data_source"]).first()
    if source is not None:
        asset_classifications_propagate(workspace=source.workspace, data_source=source, acting_user=SYSTEM)


@subscribe("scan.finished")
def read_definition_lineage(event: Event) -> None:
    """The source's new and changed definitions read, the unchanged ones' edges refreshed, the gone ones' dropped;
    idempotent (what was read is keyed by each definition's hash), so a redelivery reads nothing again."""
    source = DataSource.objects.filter(pk=event.payload["data_source"]).select_related("workspace").first()
    if source is not None:  # deleted since: its assets and their lineage went with it
        definitions_lineage_record(data_source=source, acting_user=SYSTEM)
