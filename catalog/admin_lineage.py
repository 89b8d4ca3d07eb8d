"""The Lineage section of a table's, view's or column's page: a picture of what flows into the asset and out of it,
drawn in the browser (``racine/lineage.js``, with Cytoscape.js and its dagre layout served by Racine), and the same
edges as a table for a reader without JavaScript.

The picture is the graph ``catalog.lineage.selectors.lineage_graph`` answers the API, so it shows what the reader
may see and no more: hidden nodes are counted, a path through them is one dashed edge. The page carries the first
graph (two hops each way); clicking a node asks ``<asset page>/lineage/`` for that node's neighbours and merges
them in, and "Show columns" asks for the column-level graph, columns drawn inside their tables. Each answer costs
the same few queries whatever the graph holds: the walk (one statement), and one for the short names of the
nodes and of the tables their columns sit in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from django.http import HttpRequest, JsonResponse
from django.urls import path

from accounts.permissions import has_any_grant
from catalog.admin_assets import change_urls, section
from catalog.lineage import selectors
from catalog.models import Asset, ExternalAsset, LineageEdge
from catalog.selectors import asset_list
from config.serializers import is_id_text

# Two hops each way: a table's feeds and their feeds, its consumers and theirs — about the most a first picture
# can show readably; the reader expands from there.
PICTURE_DEPTH = 2
EDGES_LISTED = 200  # the table shown without JavaScript
SENSITIVE = {Asset.Sensitivity.CONFIDENTIAL, Asset.Sensitivity.RESTRICTED}
DRAWN_TYPES = (Asset.Type.TABLE, Asset.Type.VIEW, Asset.Type.COLUMN)
ORIGINS = dict(LineageEdge.Origin.choices)


class BadQuery(ValueError):
    pass


@dataclass(frozen=True)
class Picture:
    """What the picture draws: ``nodes`` and ``edges`` as lineage.js reads them, and the hidden nodes' count."""

    nodes: list[dict]
    edges: list[dict]
    hidden: int
    columns: bool

    def as_json(self) -> dict:
        return {"nodes": self.nodes, "edges": self.edges, "hidden": self.hidden, "columns": self.columns}


def lineage_picture(request: HttpRequest, asset: Asset, *, depth: int = PICTURE_DEPTH,
                    columns: bool = False) -> Picture:
    """The lineage around ``asset`` both ways as the picture draws it: each node with its short name, what it is
    in, whether it is sensitive and its page; each column in its table and each external field in its dataset
    (the table or dataset added when the walk did not reach it itself, so a column never floats alone)."""
    graph = selectors.lineage_graph(user=request.user, asset=asset, direction="both", depth=depth, columns=columns)
    reached = [node for node in graph.nodes.values() if not node["external"]]
    tables = {node["parent_id"] for node in reached if node["type"] == Asset.Type.COLUMN}
    # One query for the names of the nodes and of their columns' tables (the walk gives qualified names only).
    named = {row.pk: row for row in asset_list(user=request.user).select_related(None)
             .only("name", "type", "qualified_name", "sensitivity", "parent_id", "data_source_id")
             .filter(pk__in={node["id"] for node in reached} | tables)}
    page_url, lineage_url = change_urls(_url_name("change")), change_urls(_url_name("lineage"))

    def asset_node(row: Asset, node: dict | None) -> dict:
        parent = f"asset:{row.parent_id}" if row.type == Asset.Type.COLUMN and row.parent_id in named else None
        return {"key": f"asset:{row.pk}", "label": row.name, "qualified_name": row.qualified_name,
                "type": row.type, "external": False, "sensitivity": row.sensitivity,
                "sensitive": row.sensitivity in SENSITIVE, "url": page_url(row), "lineage_url": lineage_url(row),
                "parent": parent, "start": row.pk == asset.pk, "reached": node is not None,
                "source": node["data_source"] if node else ""}

    def external_node(key: str, qualified_name: str, kind: str, source: str | None, *, reached: bool) -> dict:
        return {"key": key, "label": _external_label(qualified_name), "qualified_name": qualified_name,
                "type": kind, "external": True, "sensitivity": "", "sensitive": False, "url": "", "lineage_url": "",
                "parent": None, "start": False, "reached": reached, "source": source}

    nodes, datasets = {}, {}
    for node in graph.nodes.values():
        if node["external"]:
            nodes[node["key"]] = external_node(node["key"], node["qualified_name"], node["type"], node["data_source"],
                                               reached=True)
            if node["type"] == ExternalAsset.Type.FIELD and node["parent_id"] is not None:
                # A field sits in its dataset's box, as a column in its table's: the dataset added if not reached.
                dataset = f"external:{node['parent_id']}"
                nodes[node["key"]]["parent"] = dataset
                datasets.setdefault(dataset, (node["qualified_name"].rsplit(".", 1)[0], node["data_source"]))
        elif node["id"] in named:
            nodes[node["key"]] = asset_node(named[node["id"]], node)
    for table_id in tables:
        if f"asset:{table_id}" not in nodes and table_id in named:
            nodes[f"asset:{table_id}"] = asset_node(named[table_id], None)
    for key, (qualified_name, source) in datasets.items():
        if key not in nodes:
            nodes[key] = external_node(key, qualified_name, ExternalAsset.Type.DATASET, source, reached=False)
    edges = [{"key": f"{edge['source']}>{edge['target']}", "source": edge["source"], "target": edge["target"],
              "level": edge["level"] or "", "origin": ORIGINS.get(edge["origin"], ""),
              "through_hidden": edge["through_hidden"]}
             for edge in graph.edges if edge["source"] in nodes and edge["target"] in nodes]
    return Picture(list(nodes.values()), edges, graph.hidden_count, columns or asset.type == Asset.Type.COLUMN)


# An external dataset's label: its name without its namespace's scheme and host (``s3://lake/``). A table that SQL
# or a definition names but no scan has seen comes as ``<source name>/<name>`` (catalog.models.
# external_qualified_name) and keeps its source's name, which tells it apart; only a reader who may not see that
# source gets the namespace key ``datasource/<id>/`` instead, which tells them nothing and is dropped.
_NAMESPACE_PREFIX = re.compile(r"^(?:[\w+.-]+://[^/]*/|datasource/\d+/)")


def _external_label(qualified_name: str) -> str:
    return _NAMESPACE_PREFIX.sub("", qualified_name) or qualified_name


def _url_name(view: str):
    return lambda asset: f"admin:catalog_{asset.type}asset_{view}"


def may_read_lineage(request: HttpRequest) -> bool:
    return has_any_grant(request.user, LineageEdge, "view")


@section(key="lineage", title="Lineage", template="admin/catalog/asset/lineage.html", order=25)
def lineage_section(request, asset):
    """Tables, views and columns: where their data comes from and where it goes. Databases and schemas have no
    lineage of their own (edges join tables and columns), so their pages show none."""
    if asset.type not in DRAWN_TYPES or not may_read_lineage(request):
        return None
    picture = lineage_picture(request, asset, columns=asset.type == Asset.Type.COLUMN)
    if not picture.edges and not picture.columns:
        # Some flows are known only between columns (an OpenLineage run with column lineage and no table-level
        # one): then the picture starts at column level, rather than saying there is none.
        picture = lineage_picture(request, asset, columns=True)
    by_key = {node["key"]: node for node in picture.nodes}
    rows = [(by_key[edge["source"]], by_key[edge["target"]], edge) for edge in picture.edges[:EDGES_LISTED]]
    return {"picture": picture.as_json(), "rows": rows, "more": len(picture.edges) > EDGES_LISTED,
            "hidden": picture.hidden, "empty": not picture.edges and not picture.hidden,
            "lineage_url": change_urls(_url_name("lineage"))(asset), "column_page": asset.type == Asset.Type.COLUMN,
            "depth": PICTURE_DEPTH}


def _query(request: HttpRequest) -> tuple[int, bool]:
    depth, columns = request.GET.get("depth", str(PICTURE_DEPTH)), request.GET.get("columns", "0")
    if not is_id_text(depth) or not 0 < int(depth) <= selectors.MAX_DEPTH:
        raise BadQuery(f"depth: a whole number from 1 to {selectors.MAX_DEPTH}.")
    if columns not in ("0", "1"):
        raise BadQuery("columns: 0 or 1.")
    return int(depth), columns == "1"


def lineage_json_view(request: HttpRequest, object_id: str) -> JsonResponse:
    """``<asset page>/lineage/?depth=&columns=``: the picture's graph around the asset, for expanding a node or
    showing columns. 404 for an asset the reader may not see, 403 for a reader of no lineage at all."""
    asset = asset_list(user=request.user).filter(pk=object_id).first() if is_id_text(object_id) else None
    if asset is None:
        return JsonResponse({"detail": "No such asset, or not one you may see."}, status=404)
    if not may_read_lineage(request):
        return JsonResponse({"detail": "You may not read lineage."}, status=403)
    try:
        depth, columns = _query(request)
    except BadQuery as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    return JsonResponse(lineage_picture(request, asset, depth=depth, columns=columns).as_json())


class LineageAdminMixin:
    """The asset pages' lineage answers (``<id>/lineage/``), for the picture's clicks and its column toggle."""

    def get_urls(self):
        opts = self.model._meta
        return [path("<path:object_id>/lineage/", self.admin_site.admin_view(lineage_json_view),
                     name=f"{opts.app_label}_{opts.model_name}_lineage"), *super().get_urls()]

