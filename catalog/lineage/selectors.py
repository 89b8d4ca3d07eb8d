"""Reads of lineage: the graph around an asset and what depends on it, walked by one recursive SQL statement and
shown only as far as the reader may see.

The walk follows every edge (``WITH RECURSIVE``, on PostgreSQL and SQLite), so what lies beyond a node the reader
may not see is still found: a steward changing a table learns that a dashboard they can see depends on it, even
through another team's staging table. What the reader may not see is never named: each node is marked visible by
``visible_sql`` (assets by their data source's workspace, external assets by theirs) in the same statement, whose
result carries no name, type or source for a hidden node — only a key the server uses to count hidden nodes and to
join the visible nodes on either side of them. The answer gives the hidden nodes' count, and for each path that
passes through hidden nodes one edge between the visible nodes at its ends, marked ``through_hidden`` (no origin,
no hop named). An edge is shown when both its ends are (catalog.models.LineageEdge).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Prefetch

from accounts.models import User
from accounts.permissions import restrict, visible_sql
from catalog.models import Asset, AssetOwner, ExternalAsset, LineageEdge, external_qualified_name
from catalog.selectors import asset_list
from sources.models import DataSource

MAX_DEPTH = 10
DEFAULT_DEPTH = 3
DIRECTIONS = ("upstream", "downstream", "both")

NodeKey = tuple[str, int]  # ("asset", id) or ("external", id)


@dataclass
class LineageGraph:
    start: NodeKey
    nodes: dict[NodeKey, dict] = field(default_factory=dict)  # visible nodes only
    edges: list[dict] = field(default_factory=list)
    hidden_count: int = 0


def node_key(key: NodeKey) -> str:
    return f"{key[0]}:{key[1]}"


def lineage_graph(*, user: User | None, asset: Asset, direction: str = "both", depth: int = DEFAULT_DEPTH,
                  columns: bool = False) -> LineageGraph:
    """The lineage around ``asset`` (which the caller has checked ``user`` may view) up to ``depth`` hops
    ``upstream``, ``downstream`` or ``both``; at table level, or with ``columns`` at column level too (a table's
    walk then starts from its columns as well; a column's is always at column level)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
    if not 0 < depth <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}")
    columns = columns or asset.type == Asset.Type.COLUMN
    rows = _walk(user, asset, direction, depth, columns)
    return _graph(("asset", asset.pk), rows)


def lineage_impact(*, user: User | None, asset: Asset, depth: int = MAX_DEPTH) -> tuple[LineageGraph, list[dict]]:
    """Everything downstream of ``asset`` (at column level too), and one row per visible node reached (the start
    left out), nearest first: its sensitivity and, for an asset, its owners the reader may see."""
    graph = lineage_graph(user=user, asset=asset, direction="downstream", depth=depth, columns=True)
    reached = [node for key, node in graph.nodes.items() if key != graph.start and not _is_start_column(node, asset)]
    reached.sort(key=lambda node: (node["depth"], node["qualified_name"]))
    # Owners are shown with the asset they own, as on its curation page: to whoever sees the asset.
    asset_ids = [node["id"] for node in reached if not node["external"]]
    owned = asset_list(user=user).filter(pk__in=asset_ids).prefetch_related(
        Prefetch("owners", queryset=AssetOwner.objects.select_related("user", "group").order_by("owner_type", "pk")))
    owners = {asset.pk: [{"name": owner.user.get_username() if owner.user_id else owner.group.name,
                          "kind": "user" if owner.user_id else "group", "owner_type": owner.owner_type}
                         for owner in asset.owners.all()] for asset in owned}
    return graph, [{**node, "owners": owners.get(node["id"], []) if not node["external"] else []}
                   for node in reached]


def _is_start_column(node: dict, asset: Asset) -> bool:
    return not node["external"] and node["parent_id"] == asset.pk and node["type"] == Asset.Type.COLUMN \
        and node["depth"] == 0


# --- the statement ------------------------------------------------------------------------------------------------

# Columns of every row the statement returns: an edge ('e') or a node ('n').
_ROW = ("kind", "edge_id", "source_asset", "source_external", "target_asset", "target_external", "origin", "direct",
        "level", "node_asset", "node_external", "depth", "visible", "type", "qualified_name", "data_source_id",
        "data_source_name", "sensitivity", "parent_id", "namespace", "name", "field")


def _walk(user, asset: Asset, direction: str, depth: int, columns: bool) -> list[dict]:
    edge, asset_table = LineageEdge._meta.db_table, Asset._meta.db_table
    external_table, source_table = ExternalAsset._meta.db_table, DataSource._meta.db_table
    levels = "" if columns else f"AND e.level = '{LineageEdge.Level.TABLE}'"
    params: list = []
    starts = "SELECT CAST(%s AS BIGINT) AS asset_id"
    params.append(asset.pk)
    if columns and asset.type in (Asset.Type.TABLE, Asset.Type.VIEW):
        starts += f" UNION ALL SELECT id FROM {asset_table} WHERE parent_id = %s AND type = '{Asset.Type.COLUMN}'"
        params.append(asset.pk)
    ctes = [f"starts (asset_id) AS ({starts})"]
    walks = []
    # Each walk is (node_asset, node_external, depth): a node is an asset or an external asset, one of the two
    # NULL, so each step joins edges on either end (an OR that both engines serve from the two indexes).
    for name, near, far in (("down", "source", "target"), ("up", "target", "source")):
        if direction not in (f"{name}stream", "both"):
            continue
        walks.append(name)
        ctes.append(
            f"{name} (node_asset, node_external, depth) AS ("
            f" SELECT asset_id, CAST(NULL AS BIGINT), 0 FROM starts"
            f" UNION SELECT e.{far}_asset_id, e.{far}_external_id, w.depth + 1 FROM {name} w"
            f" JOIN {edge} e ON (e.{near}_asset_id = w.node_asset OR e.{near}_external_id = w.node_external)"
            f" WHERE w.depth < %s {levels})")
        params.append(depth)
    reached = " UNION ALL ".join(f"SELECT node_asset, node_external, depth FROM {name}" for name in walks)
    ctes.append(f"reached (node_asset, node_external, depth) AS (SELECT node_asset, node_external, MIN(depth)"
                f" FROM ({reached}) r GROUP BY node_asset, node_external)")
    # The edges walked: from a node reached before the last hop, in the walk's direction.
    edge_selects = []
    for name, near in (("down", "source"), ("up", "target")):
        if name in walks:
            edge_selects.append(
                f"SELECT e.id FROM {name} w JOIN {edge} e ON (e.{near}_asset_id = w.node_asset"
                f" OR e.{near}_external_id = w.node_external) WHERE w.depth < %s {levels}")
            params.append(depth)
    ctes.append(f"walked (id) AS ({' UNION '.join(edge_selects)})")
    visible_assets, asset_params = visible_sql(user, Asset, "view")
    visible_externals, external_params = visible_sql(user, ExternalAsset, "view")
    # An external asset of the reader's workspace may have been matched to another workspace's data source (its
    # namespace answers to it): the source is named only to whoever may see it.
    visible_sources, source_params = visible_sql(user, DataSource, "view")
    # First in the statement, as their parameters come first.
    ctes[:0] = [f"visible_assets (id) AS ({visible_assets})", f"visible_externals (id) AS ({visible_externals})",
                f"visible_sources (id) AS ({visible_sources})"]
    params[:0] = [*asset_params, *external_params, *source_params]
    shown = "(va.id IS NOT NULL OR vx.id IS NOT NULL)"

    def when_shown(column: str) -> str:  # a hidden node's name, type or source never leaves the database
        return f"CASE WHEN {shown} THEN {column} END"

    statement = (
        f"WITH RECURSIVE {', '.join(ctes)} "
        f"SELECT 'e', e.id, e.source_asset_id, e.source_external_id, e.target_asset_id, e.target_external_id,"
        f" e.origin, e.direct, e.level, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
        f" NULL FROM walked JOIN {edge} e ON e.id = walked.id "
        f"UNION ALL "
        f"SELECT 'n', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, r.node_asset, r.node_external, r.depth,"
        f" CASE WHEN {shown} THEN 1 ELSE 0 END, {when_shown('COALESCE(a.type, x.type)')},"
        f" {when_shown('a.qualified_name')}, {when_shown('COALESCE(a.data_source_id, x.data_source_id)')},"
        f" {when_shown('s.name')}, {when_shown('a.sensitivity')}, {when_shown('COALESCE(a.parent_id, x.parent_id)')},"
        f" {when_shown('x.namespace')}, {when_shown('x.name')}, {when_shown('x.field')}"
        f" FROM reached r"
        f" LEFT JOIN visible_assets va ON va.id = r.node_asset"
        f" LEFT JOIN visible_externals vx ON vx.id = r.node_external"
        f" LEFT JOIN {asset_table} a ON a.id = va.id"
        f" LEFT JOIN {external_table} x ON x.id = vx.id"
        f" LEFT JOIN visible_sources vs ON vs.id = COALESCE(a.data_source_id, x.data_source_id)"
        f" LEFT JOIN {source_table} s ON s.id = vs.id")
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return [dict(zip(_ROW, row, strict=True)) for row in cursor.fetchall()]


# --- from rows to the graph the reader may see ------------------------------------------------------------------


def _graph(start: NodeKey, rows: list[dict]) -> LineageGraph:
    graph = LineageGraph(start=start)
    hidden: set[NodeKey] = set()
    for row in rows:
        if row["kind"] != "n":
            continue
        key = ("asset", row["node_asset"]) if row["node_asset"] is not None else ("external", row["node_external"])
        if not row["visible"]:
            hidden.add(key)
            continue
        graph.nodes[key] = _node(key, row)
    graph.hidden_count = len(hidden)
    out: dict[NodeKey, list[NodeKey]] = defaultdict(list)
    for row in rows:
        if row["kind"] != "e":
            continue
        source = ("asset", row["source_asset"]) if row["source_asset"] else ("external", row["source_external"])
        target = ("asset", row["target_asset"]) if row["target_asset"] else ("external", row["target_external"])
        if source in graph.nodes and target in graph.nodes:
            graph.edges.append({"id": row["edge_id"], "source": node_key(source), "target": node_key(target),
                                "origin": row["origin"], "direct": bool(row["direct"]), "level": row["level"],
                                "through_hidden": False})
        elif (source in graph.nodes or source in hidden) and (target in graph.nodes or target in hidden):
            out[source].append(target)
    graph.edges.extend(_through_hidden(graph.nodes, hidden, out))
    graph.edges.sort(key=lambda edge: (edge["source"], edge["target"], edge["id"] or 0))
    return graph


def _through_hidden(visible: dict, hidden: set[NodeKey], out: dict[NodeKey, list[NodeKey]]) -> list[dict]:
    """One edge from each visible node to each visible node it reaches through hidden nodes only."""
    collapsed = []
    for origin in visible:
        seen: set[NodeKey] = set()
        pending = [node for node in out.get(origin, ()) if node in hidden]
        reached: set[NodeKey] = set()
        while pending:
            node = pending.pop()
            if node in seen:
                continue
            seen.add(node)
            for nxt in out.get(node, ()):
                if nxt in hidden:
                    pending.append(nxt)
                elif nxt in visible:
                    reached.add(nxt)
        for target in sorted(reached):
            collapsed.append({"id": None, "source": node_key(origin), "target": node_key(target), "origin": None,
                              "direct": False, "level": None, "through_hidden": True})
    return collapsed


def _node(key: NodeKey, row: dict) -> dict:
    external = key[0] == "external"
    if external:
        qualified_name = external_qualified_name(row["namespace"], row["name"], row["field"], row["data_source_id"],
                                                 row["data_source_name"])
    else:
        qualified_name = row["qualified_name"]
    return {"key": node_key(key), "id": key[1], "external": external, "type": row["type"],
            "qualified_name": qualified_name, "data_source_id": row["data_source_id"],
            "data_source": row["data_source_name"], "sensitivity": row["sensitivity"] or "",
            "parent_id": row["parent_id"], "depth": row["depth"]}


def visible_lineage_nodes(*, user: User | None, asset_ids: set[int],
                          external_ids: set[int]) -> tuple[set[int], set[int]]:
    """Of the given assets and external assets, the ids ``user`` may see: two queries at most."""
    assets = set(asset_list(user=user).filter(pk__in=asset_ids).values_list("pk", flat=True)) if asset_ids else set()
    externals = set(restrict(ExternalAsset.objects.filter(pk__in=external_ids), user, "view")
                    .values_list("pk", flat=True)) if external_ids else set()
    return assets, externals


# --- what a reader sees of a classification's lineage evidence (catalog.propagation) ---------------------------------


def evidences_seen_by(evidences: list, *, user) -> list:
    """Each evidence as ``user`` may read it: in a lineage evidence, the origin and the hops on assets or external
    assets the user may not see lose their names and ids; consecutive hidden hops become one
    ``{"node": "hidden", "count": n}``. Other evidence is returned as it is. Two queries for all of them."""
    lineages = [evidence["lineage"] for evidence in evidences
                if isinstance(evidence, Mapping) and isinstance(evidence.get("lineage"), Mapping)]
    if not lineages:
        return list(evidences)
    wanted: dict[str, set[int]] = {"asset": set(), "external": set()}
    for lineage in lineages:
        for hop in _hops(lineage):
            if hop.get("node") in wanted and isinstance(hop.get("id"), int):
                wanted[hop["node"]].add(hop["id"])
        origin = lineage.get("origin")
        if isinstance(origin, Mapping) and isinstance(origin.get("asset"), int):
            wanted["asset"].add(origin["asset"])
    assets, externals = visible_lineage_nodes(user=user, asset_ids=wanted["asset"], external_ids=wanted["external"])
    seen = {"asset": assets, "external": externals}
    return [{**evidence, "lineage": _lineage_seen(evidence["lineage"], seen)}
            if isinstance(evidence, Mapping) and isinstance(evidence.get("lineage"), Mapping) else evidence
            for evidence in evidences]


def _hops(lineage: Mapping) -> list[Mapping]:
    return [hop for hop in lineage.get("path") or [] if isinstance(hop, Mapping)]


def _lineage_seen(lineage: Mapping, seen: dict[str, set[int]]) -> dict:
    path: list[dict] = []
    for hop in _hops(lineage):
        if hop.get("id") in seen.get(hop.get("node"), ()):
            path.append(dict(hop))
        elif path and path[-1].get("node") == "hidden":
            path[-1]["count"] += 1
        else:
            path.append({"node": "hidden", "count": 1})
    origin = dict(lineage.get("origin") or {})
    if origin.get("asset") not in seen["asset"]:
        origin = {key: origin[key] for key in ("status", "source", "confidence") if key in origin}
        origin["hidden"] = True
    return {**lineage, "origin": origin, "path": path}
