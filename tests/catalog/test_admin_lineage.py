"""The Lineage section of an asset's page and the answers its picture fetches (``<asset page>/lineage/``): who may
read them, hidden assets counted and never named, columns inside their tables, sensitive and external nodes told
apart, and a number of queries that does not grow with the graph."""
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Asset
from tests.catalog.factories import DataSourceFactory
from tests.catalog.lineage_factories import edge, external, table
from tests.support.personas import staff_client, verified_client


def _lineage_url(asset, **query):
    url = reverse(f"admin:catalog_{asset.type}asset_lineage", args=[asset.pk])
    return url + ("?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else "")


@pytest.fixture
def flow(world):
    """raw (A) → secret_staging (B) → report (A, confidential) → an external dashboard (A), at column level too."""
    source_a = DataSourceFactory(workspace=world.workspace_a, name="Warehouse A")
    source_b = DataSourceFactory(workspace=world.workspace_b, name="Staging B")
    raw, report = table(source_a, "raw", columns=("email",)), table(source_a, "report", columns=("email",))
    staging = table(source_b, "secret_staging", columns=("email",))
    edge(raw, staging, workspace=world.workspace_b)
    edge(staging, report, workspace=world.workspace_b)
    edge(raw.cols["email"], staging.cols["email"], direct=True, workspace=world.workspace_b)
    edge(staging.cols["email"], report.cols["email"], direct=True, workspace=world.workspace_b)
    edge(report, external(world.workspace_a, "dashboards/revenue"), origin="openlineage", key="job")
    Asset.objects.filter(pk=report.pk).update(sensitivity="confidential")
    return {"raw": raw, "report": report, "staging": staging}


# Who reads the lineage of A's table ``raw`` (and how many assets are hidden from them).
READERS = {"superuser": (200, 0), "steward": (200, 1), "analyst": (200, 1), "auditor": (200, 0),
           "outsider": (404, None), "other_workspace_user": (404, None)}


@pytest.mark.parametrize("persona", sorted(READERS))
def test_the_picture_answers_each_role_what_it_may_see(world, flow, persona):
    status, hidden = READERS[persona]
    response = staff_client(world, persona).get(_lineage_url(flow["raw"], depth=3))
    assert response.status_code == status
    if status != 200:
        assert "raw" not in response.content.decode()
        return
    body = response.json()
    assert body["hidden"] == hidden
    names = {node["qualified_name"] for node in body["nodes"]}
    assert {"shop.public.raw", "shop.public.report", "s3://lake/dashboards/revenue"} <= names
    if hidden:
        # Never named: not its name, not its id, not its page.
        assert "secret_staging" not in response.content.decode()
        assert f"asset:{flow['staging'].pk}" not in response.content.decode()
        [collapsed] = [e for e in body["edges"] if e["through_hidden"]]
        assert (collapsed["source"], collapsed["target"]) == (f"asset:{flow['raw'].pk}", f"asset:{flow['report'].pk}")
    else:
        assert "shop.public.secret_staging" in names


def test_the_unverified_staff_gets_no_answer(world, flow):
    client = verified_client(world.user("staff_unverified"), verified=False)
    assert client.get(_lineage_url(flow["raw"])).status_code == 302  # to the sign-in with a second factor


def test_nodes_say_what_they_are_and_where_their_page_is(world, flow):
    body = staff_client(world, "steward").get(_lineage_url(flow["raw"], depth=3)).json()
    by_name = {node["qualified_name"]: node for node in body["nodes"]}
    raw, report = by_name["shop.public.raw"], by_name["shop.public.report"]
    dashboard = by_name["s3://lake/dashboards/revenue"]
    assert raw["start"] and raw["label"] == "raw" and not raw["sensitive"]
    assert raw["url"] == reverse("admin:catalog_tableasset_change", args=[flow["raw"].pk])
    assert report["sensitive"] and report["sensitivity"] == "confidential"
    assert report["lineage_url"] == _lineage_url(flow["report"])
    assert dashboard["external"] and dashboard["url"] == "" and dashboard["label"] == "dashboards/revenue"


def test_columns_sit_in_their_tables(world, flow):
    body = staff_client(world, "steward").get(_lineage_url(flow["raw"], depth=3, columns=1)).json()
    by_key = {node["key"]: node for node in body["nodes"]}
    raw_email, report_email = f"asset:{flow['raw'].cols['email'].pk}", f"asset:{flow['report'].cols['email'].pk}"
    assert by_key[raw_email]["parent"] == f"asset:{flow['raw'].pk}"
    assert by_key[report_email]["parent"] == f"asset:{flow['report'].pk}"
    assert {(e["source"], e["target"], e["level"], e["through_hidden"]) for e in body["edges"]} >= {
        (raw_email, report_email, "", True)}
    assert body["columns"] is True


def test_a_column_walked_from_its_own_page_brings_its_table_along(world, flow):
    """The report's table has no table-level edge to the raw email column's table at depth 1 from the column:
    the table is added (not reached) to hold it."""
    column = flow["report"].cols["email"]
    body = staff_client(world, "superuser").get(_lineage_url(column, depth=1)).json()
    by_key = {node["key"]: node for node in body["nodes"]}
    staging = by_key[f"asset:{flow['staging'].pk}"]
    assert staging["reached"] is False and by_key[f"asset:{flow['staging'].cols['email'].pk}"]["reached"] is True


@pytest.mark.parametrize("query", [{"depth": 0}, {"depth": 11}, {"depth": "two"}, {"columns": "yes"}])
def test_bad_queries_are_400_naming_the_parameter(world, flow, query):
    response = staff_client(world, "steward").get(_lineage_url(flow["raw"], **query))
    assert response.status_code == 400
    assert next(iter(query)) in response.json()["detail"]


def test_an_asset_out_of_sight_is_404_like_a_missing_one(world, flow):
    client = staff_client(world, "steward")
    assert client.get(_lineage_url(flow["staging"])).status_code == 404
    assert client.get(reverse("admin:catalog_tableasset_lineage", args=[10**9])).status_code == 404


def _chain(source, name, length):
    tables = [table(source, f"{name}_{index}", columns=("id",)) for index in range(length)]
    for upstream, downstream in zip(tables, tables[1:], strict=False):
        edge(upstream, downstream)
        edge(upstream.cols["id"], downstream.cols["id"])
    return tables


def test_queries_do_not_grow_with_the_graph(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    small, big = _chain(source, "small", 3), _chain(source, "big", 30)
    client = staff_client(world, "steward")
    counts = []
    for tables in (small, big):
        with CaptureQueriesContext(connection) as queries:
            body = client.get(_lineage_url(tables[len(tables) // 2], depth=10, columns=1)).json()
        counts.append(len(queries))
        assert len(body["nodes"]) == min(len(tables), 21) * 2
    assert counts[0] == counts[1], counts


def _page(client, asset):
    response = client.get(reverse(f"admin:catalog_{asset.type}asset_change", args=[asset.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _carried(page: str) -> dict:
    """The graph the page carries for its picture."""
    opening = '<script id="lineage-data" type="application/json">'
    start = page.index(opening) + len(opening)
    return json.loads(page[start:page.index("</script>", start)])


def test_the_section_carries_the_first_picture_and_a_table_for_readers_without_javascript(world, flow):
    page = _page(staff_client(world, "steward"), flow["raw"])
    assert 'id="asset-lineage"' in page and "secret_staging" not in page
    assert "1 asset on these paths is not yours to see" in page
    picture = _carried(page)
    assert {node["label"] for node in picture["nodes"]} == {"raw", "report"}  # the dashboard is 3 hops away
    # The table's rows link each end to its page, and say a sensitive one is.
    assert f'<a href="{reverse("admin:catalog_tableasset_change", args=[flow["report"].pk])}">' in page
    assert "⚠ confidential" in page and "through assets you may not see" in page
    assert "racine/vendor/cytoscape-3.34.4/cytoscape.min.js" in page


def test_an_asset_without_lineage_says_so_and_a_schema_shows_no_section(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    lonely = table(source, "lonely")
    client = staff_client(world, "analyst")
    assert "No lineage yet" in _page(client, lonely)
    assert 'id="asset-lineage"' not in _page(client, lonely.parent)


def test_a_table_whose_flows_are_known_only_between_columns_starts_at_column_level(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    orders, report = table(source, "orders", columns=("amount",)), table(source, "report", columns=("amount",))
    edge(orders.cols["amount"], report.cols["amount"])
    page = _page(staff_client(world, "analyst"), orders)
    assert "No lineage yet" not in page
    picture = _carried(page)
    assert picture["columns"] is True and [edge["level"] for edge in picture["edges"]] == ["column"]
