"""The lineage walk (catalog.lineage.selectors): one recursive statement on SQLite and PostgreSQL, per role, with
hidden nodes counted and never named, the depth cap, column level, external assets, cycles, and a query count that
does not grow with the graph."""
from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from catalog.lineage.selectors import lineage_graph, lineage_impact
from catalog.models import AssetOwner, ExternalAsset
from tests.catalog.factories import DataSourceFactory
from tests.catalog.lineage_factories import edge, external, table

pytestmark = pytest.mark.django_db


def fresh(world, persona):
    return User.objects.get(pk=world.user(persona).pk)


@pytest.fixture
def flow(world):
    """raw (A) → staging (B) → report (A), raw → clean (A), and report → an external dashboard of A."""
    source_a = DataSourceFactory(workspace=world.workspace_a, name="Warehouse A")
    source_b = DataSourceFactory(workspace=world.workspace_b, name="Secret staging B")
    raw, clean, report = table(source_a, "raw"), table(source_a, "clean"), table(source_a, "report")
    staging = table(source_b, "secret_staging")
    dashboard = external(world.workspace_a, "dashboards/revenue")
    edge(raw, staging, workspace=world.workspace_b)
    edge(staging, report, workspace=world.workspace_b)
    edge(raw, clean, origin="view", key="view-clean")
    edge(report, dashboard, origin="openlineage", key="job")
    return {"raw": raw, "clean": clean, "report": report, "staging": staging, "dashboard": dashboard}


def names(graph) -> set[str]:
    return {node["qualified_name"] for node in graph.nodes.values()}


def edges(graph) -> set[tuple[str, str, bool]]:
    by_key = {node["key"]: node["qualified_name"].rsplit(".", 1)[-1] for node in graph.nodes.values()}
    return {(by_key[e["source"]], by_key[e["target"]], e["through_hidden"]) for e in graph.edges}


def test_a_superuser_sees_the_whole_path(world, flow):
    graph = lineage_graph(user=fresh(world, "superuser"), asset=flow["raw"], direction="downstream")
    assert edges(graph) == {("raw", "secret_staging", False), ("secret_staging", "report", False),
                            ("raw", "clean", False), ("report", "s3://lake/dashboards/revenue", False)}
    assert graph.hidden_count == 0
    origins = {e["origin"] for e in graph.edges}
    assert origins == {"sql", "view", "openlineage"}


def test_a_path_through_a_hidden_node_shows_what_lies_beyond_without_naming_the_hop(world, flow):
    steward = fresh(world, "steward")
    graph = lineage_graph(user=steward, asset=flow["raw"], direction="downstream")
    assert graph.hidden_count == 1
    assert edges(graph) == {("raw", "report", True), ("raw", "clean", False),
                            ("report", "s3://lake/dashboards/revenue", False)}
    collapsed = next(e for e in graph.edges if e["through_hidden"])
    assert collapsed["origin"] is None and collapsed["id"] is None
    text = json.dumps([graph.nodes[key] for key in graph.nodes] + graph.edges)
    assert "staging" not in text and "Secret" not in text
    assert f"asset:{flow['staging'].pk}" not in text
    assert graph.nodes[("asset", flow["report"].pk)]["depth"] == 2  # reached, the hidden hop counted


def test_each_role_sees_its_own_workspace_only(world, flow):
    for persona in ("analyst", "workspace_admin"):
        graph = lineage_graph(user=fresh(world, persona), asset=flow["raw"], direction="downstream")
        assert graph.hidden_count == 1 and "shop.public.secret_staging" not in names(graph), persona
    auditor = lineage_graph(user=fresh(world, "auditor"), asset=flow["raw"], direction="downstream")
    assert auditor.hidden_count == 0 and "shop.public.secret_staging" in names(auditor)
    # B's steward starts from B's table: everything around it is A's, counted, not named; no edge is shown.
    other = lineage_graph(user=fresh(world, "other_workspace_user"), asset=flow["staging"], direction="both")
    assert names(other) == {"shop.public.secret_staging"}
    assert other.hidden_count == 3 and other.edges == []  # raw upstream; report and its dashboard downstream


def test_an_outsider_sees_nothing_but_a_count(world, flow):
    graph = lineage_graph(user=fresh(world, "outsider"), asset=flow["raw"], direction="both")
    assert graph.nodes == {} and graph.edges == [] and graph.hidden_count == 5


def test_upstream_follows_edges_backwards(world, flow):
    graph = lineage_graph(user=fresh(world, "superuser"), asset=flow["report"],
                          direction="upstream")
    assert names(graph) == {"shop.public.report", "shop.public.secret_staging", "shop.public.raw"}
    graph = lineage_graph(user=fresh(world, "steward"), asset=flow["report"], direction="upstream")
    assert edges(graph) == {("raw", "report", True)} and graph.hidden_count == 1


def test_depth_caps_the_walk_and_cycles_end(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    chain = [table(source, f"t{i}") for i in range(13)]
    for upstream, downstream in zip(chain, chain[1:], strict=False):
        edge(upstream, downstream)
    edge(chain[-1], chain[0])  # a cycle
    superuser = fresh(world, "superuser")
    graph = lineage_graph(user=superuser, asset=chain[0], direction="downstream", depth=3)
    assert names(graph) == {f"shop.public.t{i}" for i in range(4)}
    assert max(node["depth"] for node in graph.nodes.values()) == 3
    graph = lineage_graph(user=superuser, asset=chain[0], direction="both", depth=10)
    assert len(graph.nodes) == 13  # ten hops down, the cycle's three hops up
    with pytest.raises(ValueError, match="depth"):
        lineage_graph(user=superuser, asset=chain[0], depth=11)


def test_column_level_on_demand(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    customers = table(source, "customers", columns=("email", "name"))
    mailing = table(source, "mailing", columns=("address",))
    lake = external(world.workspace_a, "exports/mailing", field="address")
    edge(customers, mailing)
    edge(customers.cols["email"], mailing.cols["address"], direct=True)
    edge(mailing.cols["address"], lake, direct=True)
    superuser = fresh(world, "superuser")
    tables_only = lineage_graph(user=superuser, asset=customers, direction="downstream")
    assert names(tables_only) == {"shop.public.customers", "shop.public.mailing"}
    with_columns = lineage_graph(user=superuser, asset=customers, direction="downstream", columns=True)
    assert {"shop.public.customers.email", "shop.public.mailing.address",
            "s3://lake/exports/mailing.address"} <= names(with_columns)
    assert all(e["direct"] for e in with_columns.edges if e["level"] == "column")
    from_column = lineage_graph(user=superuser, asset=customers.cols["email"], direction="downstream")
    assert names(from_column) == {"shop.public.customers.email", "shop.public.mailing.address",
                                  "s3://lake/exports/mailing.address"}
    node = with_columns.nodes[("external", lake.pk)]
    assert node["external"] and node["type"] == "field"


def test_a_table_no_scan_has_seen_is_shown_under_its_source_s_name(world):
    source = DataSourceFactory(workspace=world.workspace_a, name="Shop DB")
    customers = table(source, "customers")
    unseen = external(world.workspace_a, "customer_mailing", namespace=f"datasource/{source.pk}")
    ExternalAsset.objects.filter(pk=unseen.pk).update(data_source=source)
    edge(customers, unseen)
    graph = lineage_graph(user=fresh(world, "superuser"), asset=customers, direction="downstream")
    assert names(graph) == {"shop.public.customers", "Shop DB/customer_mailing"}
    assert ExternalAsset.objects.select_related("data_source").get(pk=unseen.pk).qualified_name == \
        "Shop DB/customer_mailing"


def test_queries_do_not_grow_with_the_graph(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    steward = fresh(world, "steward")

    def fan_out(width: int) -> int:
        root = table(source, f"root_{width}")
        for i in range(width):
            middle = table(source, f"m_{width}_{i}")
            edge(root, middle)
            edge(middle, table(source, f"leaf_{width}_{i}"))
        lineage_graph(user=steward, asset=root)  # the grants, read once per request
        with CaptureQueriesContext(connection) as queries:
            graph = lineage_graph(user=steward, asset=root, direction="downstream")
        assert len(graph.nodes) == 1 + 2 * width
        return len(queries)

    assert fan_out(2) == fan_out(40) == 1


def test_impact_lists_everything_downstream_with_sensitivity_and_owners(world, flow):
    steward = fresh(world, "steward")
    flow["report"].sensitivity = "restricted"
    flow["report"].save(update_fields=["sensitivity"])
    AssetOwner.objects.create(asset=flow["report"], user=world.user("analyst"), owner_type="business")
    AssetOwner.objects.create(asset=flow["staging"], user=world.user("other_workspace_user"), owner_type="technical")
    graph, rows = lineage_impact(user=steward, asset=flow["raw"])
    assert [row["qualified_name"] for row in rows] == ["shop.public.clean", "shop.public.report",
                                                      "s3://lake/dashboards/revenue"]
    report = rows[1]
    assert report["sensitivity"] == "restricted"
    assert report["owners"] == [{"name": "analyst", "kind": "user", "owner_type": "business"}]
    assert graph.hidden_count == 1
    assert "other_workspace_user" not in json.dumps(rows)
