"""Each data source's asset of type ``source``: the root of the source's asset tree, so that a steward curates,
tags, certifies and finds a data source as any asset (catalog.curation, catalog.search, the permission rule) — the
source itself, in sources, knows nothing of the catalog above it.

The asset follows its data source: created when the source is (the ``datasource.created`` event, catalog.subscribers),
renamed with it (``datasource.renamed``), deleted with it (the foreign key cascades, its curation with it). Scans
ensure it too before they write (catalog.bulk.AssetWriter), so a scanned source has its root even if its event is
still on its way; migration ``catalog.0014_source_assets`` made one for every source there was. Ensuring is
idempotent: an event delivered twice, or a scan and an event at once, leave one asset (a unique constraint says
so).

Its qualified name is the source's name and a slash (``HR warehouse/``): unique in its source like every qualified
name, and never one a scan writes — a scanned part is a bare lower-case identifier or a quoted one, and never ends
with a slash — so the root cannot take the place of a database called like its source. It reads like the prefix
that external tables of a source are shown under (``HR warehouse/payroll``, catalog.models.external_qualified_name).

Not audited: it says nothing a steward said. The source's own creation and renaming are in the trail (sources.services),
and what stewards say on the asset is audited by the curation services, as on any asset.
"""
from __future__ import annotations

from django.db import IntegrityError, transaction

from catalog import search
from catalog.models import Asset, AssetSearchDocument
from catalog.services import asset_sensitivity_recompute
from sources.models import DataSource

NAME_SEPARATOR = "/"


def source_qualified_name(name: str) -> str:
    """The qualified name of the source asset of a data source named ``name``."""
    return f"{name}{NAME_SEPARATOR}"


def _created(data_source: DataSource) -> tuple[Asset, bool]:
    values = {"name": data_source.name[:512], "qualified_name": source_qualified_name(data_source.name)}
    try:
        with transaction.atomic():  # a savepoint: a concurrent creation's row is read below, not an error
            return Asset.objects.get_or_create(data_source=data_source, type=Asset.Type.SOURCE, defaults=values)
    except IntegrityError:
        return Asset.objects.get(data_source=data_source, type=Asset.Type.SOURCE), False


@transaction.atomic
def source_asset_ensure(*, data_source: DataSource) -> Asset:
    """The source asset of ``data_source``: created if it has none, renamed if the source was, made the parent of
    the source's databases that have none (written by a scan before the asset existed). Its search document (also
    when it has none: migration ``catalog.0014`` made the asset without one) and sensitivity follow. A few
    statements, none of them a write when everything is in step."""
    asset, created = _created(data_source)
    touched = created
    if not created and (asset.name, asset.qualified_name) != (data_source.name[:512],
                                                              source_qualified_name(data_source.name)):
        asset.name, asset.qualified_name = data_source.name[:512], source_qualified_name(data_source.name)
        asset.save(update_fields=["name", "qualified_name"])
        touched = True
    orphans = Asset.objects.filter(data_source=data_source, type=Asset.Type.DATABASE, parent__isnull=True)
    adopted = orphans.exists() and orphans.update(parent=asset)  # read first: an unchanged rescan writes nothing
    if touched or not AssetSearchDocument.objects.filter(asset=asset).exists():
        search.documents_refresh(asset_ids=[asset.pk], new=created)
    if adopted:
        asset_sensitivity_recompute(asset_ids=[asset.pk])
    return asset

