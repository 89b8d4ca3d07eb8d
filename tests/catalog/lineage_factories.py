"""Lineage for tests: tables, external assets and edges written straight to the database (the services are
tested on their own in test_lineage_services)."""
from __future__ import annotations

from catalog.models import Asset, ExternalAsset, LineageEdge
from tests.catalog.classification_factories import asset_tree


def table(source, name: str, *, columns: tuple[str, ...] = (), schema: str = "public") -> Asset:
    """A table of ``source`` named like a scan names it, with its ``columns`` (``table.cols[name]``)."""
    _db, _schema, asset, cols = asset_tree(source, schema=schema, table=name, columns=dict.fromkeys(columns, "text"))
    asset.cols = cols
    return asset


def external(workspace, name: str, *, field: str = "", namespace: str = "s3://lake") -> ExternalAsset:
    dataset, _ = ExternalAsset.objects.get_or_create(workspace=workspace, namespace=namespace, name=name, field="",
                                                     defaults={"type": ExternalAsset.Type.DATASET})
    if not field:
        return dataset
    return ExternalAsset.objects.get_or_create(workspace=workspace, namespace=namespace, name=name, field=field,
                                               defaults={"type": ExternalAsset.Type.FIELD, "parent": dataset})[0]


def edge(source, target, *, origin: str = LineageEdge.Origin.SQL, key: str = "test", direct: bool = False,
         workspace=None) -> LineageEdge:
    """An edge between two assets or external assets (the level follows: columns and fields make a column edge)."""
    ends = {}
    for end, node in (("source", source), ("target", target)):
        ends[f"{end}_{'external' if isinstance(node, ExternalAsset) else 'asset'}"] = node
    column = any(getattr(node, "type", "") in (Asset.Type.COLUMN, ExternalAsset.Type.FIELD) for node in (source,
                                                                                                         target))
    if workspace is None:
        workspace = source.workspace if isinstance(source, ExternalAsset) else source.data_source.workspace
    return LineageEdge.objects.create(workspace=workspace, origin=origin, origin_key=key, direct=direct,
                                      level=LineageEdge.Level.COLUMN if column else LineageEdge.Level.TABLE, **ends)
