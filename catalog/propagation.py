"""Classifications carried along lineage: a column whose values are another's, copied without transformation (a
``direct`` column edge: a copy, a rename, a column passed through a join or a union, over several hops), is
suggested the classifications of the column it copies.

The rules, in one place:

- **Origins.** A classification carries when it is confirmed (by a steward, or made by hand), or when a scan
  suggests it and the steward has not decided yet (not from the column's name alone: an empty ``ssn`` column says
  nothing of what a copy holds). The suggestion then says the input is itself only suggested, at a lower
  confidence, so a steward reviewing a view sees why it is there and can decide both. A lineage suggestion is never
  an origin: only what a steward or a scan said about a column travels, not what travelling said; once confirmed it
  is an origin like any confirmed classification.
- **The walk.** Direct column edges of the origin's workspace, downstream, at most ``MAX_HOPS`` hops, through
  external fields (a staging table no scan has seen passes values on) but never onto assets of another workspace,
  nor through a removed column. A column where a steward rejected the classification stops it: what a steward
  says a copy is not, its own copies are not either (through that copy).
- **What is written.** An ``AssetClassification`` with status suggested, source ``lineage``, the confidence of the
  origin lowered per hop (``HOP_FACTOR``; a confirmed origin counts as certain, an unconfirmed one at
  ``UNCONFIRMED_FACTOR`` of its confidence), and as evidence the origin and the path, hop by hop, with the origins of
  the edges (view definition, submitted SQL, …) — rendered in words by catalog.admin_readable. When several origins
  reach a column, the surest (then the nearest) is cited.
- **Who reads it.** The evidence names every column on the path, and a reader may see only some of them (a
  steward granted one schema): ``catalog.lineage.selectors.evidences_seen_by`` gives each reader the evidence with
  the columns they may not see collapsed into a count, as the lineage graph does; the admin pages and the API
  show nothing else.
- **What is never touched.** A column's confirmed or rejected decision, and a scan's own suggestion of the same
  classification on it (one row per column and classification; the scan's evidence stands).
- **Withdrawal.** A lineage suggestion still open whose origin no longer carries — the origin rejected, its scan
  suggestion dropped by a rescan, the edge gone or no longer direct, a column on the way rejected — is deleted
  (the review queue holds what a steward still has to decide, not what nothing supports any more); one cited by a
  second origin is kept, citing that one.

``asset_classifications_propagate`` recomputes the lineage suggestions of a region — every column downstream of the
seeds, the seeds included — from all their origins, and makes them exactly that: idempotent (an event delivered
twice changes nothing the second time), and set-based (one recursive statement walks the region down and back up to
the origins, then a fixed number of statements, whatever the number of columns). Its callers are the subscribers of
``classification.confirmed`` / ``classification.rejected`` and ``lineage.changed`` (catalog.subscribers) and of
``scan.finished`` / ``detection.finished`` (scanning.subscribers), as the system.

Sensitivity follows the one rule of ``catalog.services.asset_sensitivity_recompute``: a suggested or confirmed
classification counts, a rejected one does not. Lineage raises a view's sensitivity by the suggestions it makes.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q

from accounts import audit
from accounts.actors import SystemActor
from accounts.models import User, Workspace
from accounts.permissions import authorize, workspace_allows
from catalog.models import Asset, AssetClassification, Classification, ExternalAsset, LineageEdge
from catalog.services import asset_sensitivity_recompute
from sources.models import DataSource

MAX_HOPS = 10  # as the lineage graph's deepest walk (catalog.lineage.selectors.MAX_DEPTH)
HOP_FACTOR = 0.95
UNCONFIRMED_FACTOR = 0.8
Status, Source = AssetClassification.Status, AssetClassification.Source


@dataclass(frozen=True)
class _Origin:
    """One way a target may inherit a classification: from the classification row ``row`` on the asset at the
    start of ``path`` (node keys ``a<asset id>`` / ``x<external id>``, origin first, the target last)."""

    target: int
    row: int
    classification_id: int
    status: str
    source: str
    confidence: float
    path: tuple[str, ...]

    @property
    def derived_confidence(self) -> float:
        base = 1.0 if self.status == Status.CONFIRMED else self.confidence * UNCONFIRMED_FACTOR
        return round(base * HOP_FACTOR ** (len(self.path) - 1), 4)

    def rank(self) -> tuple:
        return -self.derived_confidence, len(self.path), self.row


@dataclass
class PropagationResult:
    """How many columns the region held, and what changed in it (``withdrawn``: the deleted rows' ids)."""

    region: int = 0
    suggested: int = 0
    updated: int = 0
    withdrawn: list[int] = field(default_factory=list)


@transaction.atomic
def asset_classifications_propagate(*, workspace: Workspace, assets: Iterable[int] = (),
                                    externals: Iterable[int] = (), data_source: DataSource | None = None,
                                    acting_user: User | SystemActor) -> PropagationResult:
    """Make the lineage suggestions of the columns downstream of the seeds — ``assets`` (column ids),
    ``externals`` (external field ids) and, with ``data_source``, every column of it that a direct edge leaves —
    exactly what their origins carry (see the module). Seeds outside ``workspace`` are ignored. Audited as
    ``asset_classification.propagated`` when something changed."""
    authorize(acting_user, lambda: workspace_allows(acting_user, "catalog.classify_asset", workspace))
    targets, origins = _walk(workspace.pk, sorted(set(assets)), sorted(set(externals)), data_source)
    result = PropagationResult(region=len(targets))
    if not targets:
        return result
    origins = _carrying(origins)
    best: dict[tuple[int, int], _Origin] = {}
    for origin in origins:
        key = (origin.target, origin.classification_id)
        if key not in best or origin.rank() < best[key].rank():
            best[key] = origin
    wanted = {key: (origin.derived_confidence, evidence) for key, origin, evidence in
              _with_evidence(workspace.pk, best)}
    existing = {(row.asset_id, row.classification_id): row for row in
                AssetClassification.objects.select_for_update(of=("self",)).filter(asset_id__in=targets)}
    create, update = [], []
    for (asset_id, classification_id), (confidence, evidence) in wanted.items():
        row = existing.get((asset_id, classification_id))
        if row is None:
            create.append(AssetClassification(asset_id=asset_id, classification_id=classification_id,
                                              status=Status.SUGGESTED, source=Source.LINEAGE,
                                              confidence=confidence, evidence=evidence))
        elif _is_open_lineage(row) and (row.confidence, row.evidence) != (confidence, evidence):
            row.confidence, row.evidence = confidence, evidence
            update.append(row)
    withdraw = [row for key, row in existing.items() if _is_open_lineage(row) and key not in wanted]
    # ignore_conflicts: a scan writing the same column's suggestion meanwhile keeps its row.
    AssetClassification.objects.bulk_create(create, batch_size=500, ignore_conflicts=True)
    AssetClassification.objects.bulk_update(update, ["confidence", "evidence", "updated_at"], batch_size=500)
    if withdraw:
        AssetClassification.objects.filter(pk__in=[row.pk for row in withdraw]).delete()
    result.suggested, result.updated, result.withdrawn = len(create), len(update), [row.pk for row in withdraw]
    if create or update or withdraw:
        asset_sensitivity_recompute(asset_ids={row.asset_id for row in (*create, *update, *withdraw)})
        audit.record(event="asset_classification.propagated", actor=acting_user, workspace=workspace,
                     extra={"columns": result.region, "suggested": len(create), "updated": len(update),
                            "withdrawn": len(withdraw),
                            "withdrawn_ids": result.withdrawn[:100],
                            "withdrawn_from": sorted({row.asset_id for row in withdraw})[:100]})
    return result


def _is_open_lineage(row: AssetClassification) -> bool:
    return row.status == Status.SUGGESTED and row.source == Source.LINEAGE


# --- the walk ------------------------------------------------------------------------------------------------------


def _walk(workspace_id: int, assets: list[int], externals: list[int],
          data_source: DataSource | None) -> tuple[set[int], list[_Origin]]:
    """One statement: the region (the columns downstream of the seeds through direct edges, seeds included), and
    for each of its columns every path back up to a column carrying a classification that may travel."""
    edge, asset_table = LineageEdge._meta.db_table, Asset._meta.db_table
    source_table, external_table = DataSource._meta.db_table, ExternalAsset._meta.db_table
    rows_table, classification_table = AssetClassification._meta.db_table, Classification._meta.db_table
    seeds, params = [], []
    if assets:
        seeds.append(f"SELECT a.id, CAST(NULL AS BIGINT) FROM {asset_table} a JOIN {source_table} s"
                     f" ON s.id = a.data_source_id WHERE s.workspace_id = %s AND a.id IN ({_marks(assets)})")
        params += [workspace_id, *assets]
    if externals:
        seeds.append(f"SELECT CAST(NULL AS BIGINT), x.id FROM {external_table} x WHERE x.workspace_id = %s"
                     f" AND x.id IN ({_marks(externals)})")
        params += [workspace_id, *externals]
    if data_source is not None:
        seeds.append(f"SELECT e.source_asset_id, CAST(NULL AS BIGINT) FROM {edge} e JOIN {asset_table} a"
                     f" ON a.id = e.source_asset_id WHERE a.data_source_id = %s AND e.workspace_id = %s"
                     f" AND e.level = %s AND e.direct")
        params += [data_source.pk, workspace_id, LineageEdge.Level.COLUMN]
    if not seeds:
        return set(), []

    def followed(far: str) -> str:
        """An edge the walk follows: the workspace's, column level, direct; its far end an external field or a
        present column of the workspace (lineage never writes into another workspace)."""
        params.extend([MAX_HOPS, workspace_id, LineageEdge.Level.COLUMN, workspace_id])
        return (f" LEFT JOIN {asset_table} fa ON fa.id = e.{far}_asset_id"
                f" LEFT JOIN {source_table} fs ON fs.id = fa.data_source_id"
                f" WHERE w.depth < %s AND e.workspace_id = %s AND e.level = %s AND e.direct"
                f" AND (e.{far}_asset_id IS NULL OR (fs.workspace_id = %s AND fa.removed_at IS NULL))")

    far_key = ("CASE WHEN e.source_asset_id IS NOT NULL THEN 'a' || CAST(e.source_asset_id AS TEXT)"
               " ELSE 'x' || CAST(e.source_external_id AS TEXT) END")
    region = (f"region (node_asset, node_external, depth) AS ("
              f" SELECT s.node_asset, s.node_external, 0 FROM seeds s"
              f" UNION SELECT e.target_asset_id, e.target_external_id, w.depth + 1 FROM region w"
              f" JOIN {edge} e ON (e.source_asset_id = w.node_asset OR e.source_external_id = w.node_external)"
              f"{followed('target')})")
    targets = "targets (asset_id) AS (SELECT DISTINCT node_asset FROM region WHERE node_asset IS NOT NULL)"
    # Paths are written origin first, as node keys separated by spaces; a node already on the path ends it.
    up = (f"up (target, node_asset, node_external, depth, path) AS ("
          f" SELECT asset_id, asset_id, CAST(NULL AS BIGINT), 0, 'a' || CAST(asset_id AS TEXT) FROM targets"
          f" UNION SELECT w.target, e.source_asset_id, e.source_external_id, w.depth + 1,"
          f" {far_key} || ' ' || w.path FROM up w"
          f" JOIN {edge} e ON (e.target_asset_id = w.node_asset OR e.target_external_id = w.node_external)"
          f"{followed('source')} AND (' ' || w.path || ' ') NOT LIKE ('%% ' || {far_key} || ' %%'))")
    statement = (
        f"WITH RECURSIVE seeds (node_asset, node_external) AS ({' UNION '.join(seeds)}), {region}, {targets}, {up} "
        f"SELECT asset_id, NULL, NULL, NULL, NULL, NULL, NULL FROM targets UNION ALL "
        f"SELECT w.target, w.path, r.id, r.classification_id, r.status, r.source, r.confidence FROM up w"
        f" JOIN {rows_table} r ON r.asset_id = w.node_asset"
        f" JOIN {classification_table} c ON c.id = r.classification_id"
        f" WHERE w.depth > 0 AND c.is_active AND (r.status = %s OR (r.status = %s AND r.source = %s))")
    params += [Status.CONFIRMED, Status.SUGGESTED, Source.SCAN]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    targets_found = {row[0] for row in rows if row[1] is None}
    origins = [_Origin(target=target, row=row_id, classification_id=classification_id, status=status,
                       source=source, confidence=confidence, path=tuple(path.split(" ")))
               for target, path, row_id, classification_id, status, source, confidence in rows if path is not None]
    return targets_found, origins


def _marks(values: list) -> str:
    return ", ".join(["%s"] * len(values))


def _assets_on(path: tuple[str, ...]) -> list[int]:
    return [int(key[1:]) for key in path if key.startswith("a")]


def _carrying(origins: list[_Origin]) -> list[_Origin]:
    """The origins whose classification may travel: not a scan's guess from the column's name alone, and not
    through a column where a steward rejected it. Two queries."""
    if not origins:
        return []
    name_only = set(AssetClassification.objects.filter(
        pk__in={origin.row for origin in origins if origin.status == Status.SUGGESTED}, evidence__name_only=True)
        .values_list("pk", flat=True))
    between = {asset_id for origin in origins for asset_id in _assets_on(origin.path[1:-1])}
    rejected = set(AssetClassification.objects.filter(
        asset_id__in=between, status=Status.REJECTED,
        classification_id__in={origin.classification_id for origin in origins})
        .values_list("asset_id", "classification_id")) if between else set()
    return [origin for origin in origins if origin.row not in name_only
            and not any((asset_id, origin.classification_id) in rejected
                        for asset_id in _assets_on(origin.path[1:-1]))]


# --- the evidence --------------------------------------------------------------------------------------------------


def _with_evidence(workspace_id: int, best: dict[tuple[int, int], _Origin]):
    """``(key, origin, evidence)`` for each chosen origin: the origin row and the path in names, each hop with the
    origins of its edges. Three queries for all of them: names of assets, of external fields, the hops' edges."""
    keys = {key for origin in best.values() for key in origin.path}
    asset_ids = {int(key[1:]) for key in keys if key.startswith("a")}
    external_ids = {int(key[1:]) for key in keys if key.startswith("x")}
    names = {f"a{pk}": name for pk, name in Asset.objects.filter(pk__in=asset_ids)
             .values_list("pk", "qualified_name")}
    names.update({f"x{external.pk}": external.qualified_name for external in ExternalAsset.objects.filter(
        pk__in=external_ids).select_related("data_source").only("namespace", "name", "field", "data_source__name")})
    via: dict[tuple[str, str], set[str]] = defaultdict(set)
    hops = (LineageEdge.objects.filter(workspace_id=workspace_id, level=LineageEdge.Level.COLUMN, direct=True)
            .filter(Q(source_asset_id__in=asset_ids) | Q(source_external_id__in=external_ids))
            .filter(Q(target_asset_id__in=asset_ids) | Q(target_external_id__in=external_ids))
            .values_list("source_asset_id", "source_external_id", "target_asset_id", "target_external_id", "origin"))
    for source_asset, source_external, target_asset, target_external, origin in hops:
        source = f"a{source_asset}" if source_asset else f"x{source_external}"
        target = f"a{target_asset}" if target_asset else f"x{target_external}"
        via[source, target].add(origin)
    for key, origin in best.items():
        path = [{"node": "asset" if node.startswith("a") else "external", "id": int(node[1:]),
                 "name": names.get(node, ""), **({"via": sorted(via[previous, node])} if previous else {})}
                for previous, node in zip((None, *origin.path[:-1]), origin.path, strict=True)]
        evidence = {"lineage": {
            "origin": {"asset_classification": origin.row, "asset": int(origin.path[0][1:]),
                       "name": names.get(origin.path[0], ""), "status": origin.status, "source": origin.source,
                       "confidence": origin.confidence},
            "path": path}}
        yield key, origin, evidence
