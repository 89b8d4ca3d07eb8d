"""/api/v1/lineage/ (the graph), /lineage/impact/ (JSON and CSV) and /lineage/sql/: who may read and record, what
a path through a hidden node shows, and bad input answered with a problem naming what is wrong."""
from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.lineage import services
from catalog.models import AssetOwner, ExternalAsset, LineageEdge
from tests.catalog.factories import DataSourceFactory
from tests.catalog.lineage_factories import edge, external, table
from tests.support.permission_matrix import PermissionMatrix
from tests.support.permission_matrix import table as matrix

GRAPH, IMPACT, SQL = "api:lineage-list", "api:lineage-impact", "api:lineage-sql"


class TestLineageMatrix(PermissionMatrix):
    """``list`` and ``impact`` ask about workspace A's table, ``sql`` records against A's source; the ``_b``
    columns the same with B's. Reading needs view on lineage somewhere and the asset in scope (404 otherwise);
    recording needs add in the source's workspace (a source out of scope is a 400 like a missing one)."""

    basename = "lineage"
    expected = matrix(
        "list impact sql list_b impact_b sql_b",
        anonymous=           "401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403",
        analyst=             "200 200 403 404 404 403",
        steward=             "200 200 200 404 404 400",
        workspace_admin=     "200 200 200 404 404 400",
        auditor=             "200 200 403 200 200 403",
        other_workspace_user="404 404 400 200 200 200",
        staff_unverified=    "403 403 403 403 403 403",
        superuser=           "200 200 200 200 200 200",
    )

    def objects(self, world):
        tables = []
        for workspace in (world.workspace_a, world.workspace_b):
            source = DataSourceFactory(workspace=workspace)
            orders, report = table(source, "orders"), table(source, "report")
            edge(orders, report)
            tables.append(orders)
        return tuple(tables)

    def _request(self, client, world, column, obj_a, obj_b):
        action, target = self._route(column)
        asset = obj_b if target == "b" else obj_a
        if action == "sql":
            return client.post(reverse(SQL), {"data_source": asset.data_source_id, "dialect": "postgres",
                                              "sql": "INSERT INTO report SELECT * FROM orders"}, format="json")
        return client.get(reverse(GRAPH if action == "list" else IMPACT), {"asset": asset.pk})


@pytest.fixture
def flow(world):
    """raw (A) → staging (B) → report (A) → an external dashboard (A)."""
    source_a = DataSourceFactory(workspace=world.workspace_a, name="Warehouse A")
    source_b = DataSourceFactory(workspace=world.workspace_b, name="Staging B")
    raw, report = table(source_a, "raw", columns=("email",)), table(source_a, "report", columns=("email",))
    staging = table(source_b, "secret_staging", columns=("email",))
    edge(raw, staging, workspace=world.workspace_b)
    edge(staging, report, workspace=world.workspace_b)
    edge(raw.cols["email"], staging.cols["email"], direct=True, workspace=world.workspace_b)
    edge(staging.cols["email"], report.cols["email"], direct=True, workspace=world.workspace_b)
    edge(report, external(world.workspace_a, "dashboards/revenue"), origin="openlineage", key="job")
    report.sensitivity = "confidential"
    report.save(update_fields=["sensitivity"])
    AssetOwner.objects.create(asset=report, user=world.user("analyst"), owner_type="business")
    return {"raw": raw, "report": report, "staging": staging, "source_a": source_a}


def test_the_graph_names_what_the_caller_sees_and_counts_the_rest(world, flow):
    response = world.client("steward").get(reverse(GRAPH), {"asset": flow["raw"].pk, "direction": "downstream"})
    assert response.status_code == 200
    body = response.json()
    assert "staging" not in response.content.decode()
    assert body["hidden_nodes"] == 1
    by_key = {node["key"]: node for node in body["nodes"]}
    collapsed = [e for e in body["edges"] if e["through_hidden"]]
    assert [(by_key[e["source"]]["qualified_name"], by_key[e["target"]]["qualified_name"]) for e in collapsed] == [
        ("shop.public.raw", "shop.public.report")]
    dashboard = next(node for node in body["nodes"] if node["external"])
    assert dashboard["qualified_name"] == "s3://lake/dashboards/revenue" and dashboard["type"] == "dataset"
    superuser = world.client("superuser").get(reverse(GRAPH), {"asset": flow["raw"].pk, "columns": "true"}).json()
    assert superuser["hidden_nodes"] == 0
    assert {"shop.public.secret_staging", "shop.public.secret_staging.email"} <= {
        node["qualified_name"] for node in superuser["nodes"]}


def test_impact_lists_what_depends_on_an_asset_with_sensitivity_and_owners(world, flow):
    response = world.client("steward").get(reverse(IMPACT), {"asset": flow["raw"].pk})
    body = response.json()
    assert [row["qualified_name"] for row in body["downstream"]] == [
        "shop.public.report", "shop.public.report.email", "s3://lake/dashboards/revenue"]
    report = body["downstream"][0]
    assert report["sensitivity"] == "confidential"
    assert report["owners"] == [{"name": "analyst", "kind": "user", "owner_type": "business"}]
    assert body["hidden_nodes"] == 2  # the staging table and its column


@pytest.mark.parametrize("ask", [{"format": "csv"}, {"HTTP_ACCEPT": "text/csv"}])
def test_impact_as_csv(world, flow, ask):
    params = {"asset": flow["raw"].pk, **({"format": "csv"} if "format" in ask else {})}
    headers = {key: value for key, value in ask.items() if key.startswith("HTTP_")}
    response = world.client("steward").get(reverse(IMPACT), params, **headers)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Racine-Hidden-Nodes"] == "2"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["qualified_name"] for row in rows][0] == "shop.public.report"
    assert rows[0]["owners"] == "analyst (business)" and rows[0]["sensitivity"] == "confidential"
    assert "staging" not in response.content.decode()


def test_queries_do_not_grow_with_the_graph(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    client = world.client("steward")

    def count(width: int) -> int:
        root = table(source, f"root_{width}")
        for i in range(width):
            leaf = table(source, f"leaf_{width}_{i}")
            edge(root, leaf)
            AssetOwner.objects.create(asset=leaf, user=world.user("analyst"), owner_type="technical")
        with CaptureQueriesContext(connection) as queries:
            for url in (GRAPH, IMPACT):
                assert client.get(reverse(url), {"asset": root.pk}).status_code == 200
        return len(queries)

    count(1)
    assert count(2) == count(30)


@pytest.mark.parametrize(("params", "field"), [
    ({}, "asset"), ({"asset": "x"}, "asset"), ({"asset": 1, "depth": 11}, "depth"),
    ({"asset": 1, "depth": 0}, "depth"), ({"asset": 1, "direction": "sideways"}, "direction"),
    ({"asset": 1, "colour": "blue"}, "colour"), ({"asset": 1, "format": "xml"}, "format"),
])
def test_bad_graph_parameters_are_a_400_naming_them(world, params, field):
    for url in (GRAPH, IMPACT):
        if url == IMPACT and field == "direction":
            continue
        response = world.client("steward").get(reverse(url), params)
        assert response.status_code == 400, (url, params, response.content[:200])
        assert field in [error["field"] for error in response.json()["errors"]]


def test_an_asset_outside_the_callers_scope_is_a_404(world, flow):
    for url in (GRAPH, IMPACT):
        assert world.client("steward").get(reverse(url), {"asset": flow["staging"].pk}).status_code == 404
        assert world.client("steward").get(reverse(url), {"asset": 10**9}).status_code == 404


# --- /lineage/sql/ ----------------------------------------------------------------------------------------------


def post_sql(world, source, sql, persona="steward", **extra):
    return world.client(persona).post(reverse(SQL), {"data_source": source.pk, "sql": sql, "dialect": "postgres",
                                                     "default_schema": "public", **extra}, format="json")


def test_sql_reports_each_statement_and_records_the_readable_ones(world, flow):
    sql = "INSERT INTO report (email) SELECT email FROM raw;\nUPDATE FROM WHERE;\nINSERT INTO lake SELECT * FROM raw;"
    response = post_sql(world, flow["source_a"], sql)
    assert response.status_code == 200, response.content
    body = response.json()
    first, broken, third = body["statements"]
    assert (first["index"], first["line"], first["kind"], first["targets"]) == (0, 1, "insert", ["public.report"])
    # Edges name what they were mapped to: the catalog's assets by qualified name and id.
    assert first["table_edges"] == [{"source": flow["raw"].qualified_name, "source_id": flow["raw"].pk,
                                     "source_external": False, "target": flow["report"].qualified_name,
                                     "target_id": flow["report"].pk, "target_external": False}]
    assert first["column_edges"] == 1 and first["error"] is None
    assert broken["line"] == broken["error_line"] == 2 and broken["error"]
    # A table no scan has seen: an external asset shown under the source's name, as the SQL wrote it.
    lake = ExternalAsset.objects.get(name="public.lake", field="")
    shown = f"{flow['source_a'].name}/public.lake"
    assert third["targets"] == ["public.lake"] and body["external_tables"] == [shown]
    assert (third["table_edges"][0]["target"], third["table_edges"][0]["target_id"],
            third["table_edges"][0]["target_external"]) == (shown, lake.pk, True)
    assert body["recorded"]["created"] >= 3 and not body["dry_run"]
    assert LineageEdge.objects.filter(origin="sql", source_asset=flow["raw"], target_asset=flow["report"]).exists()
    again = post_sql(world, flow["source_a"], sql).json()["recorded"]
    assert again["created"] == 0 and again["refreshed"] == body["recorded"]["created"]


def test_sql_dry_run_records_nothing(world, flow):
    before = LineageEdge.objects.count()
    body = post_sql(world, flow["source_a"], "INSERT INTO report SELECT * FROM raw", dry_run=True).json()
    assert body["dry_run"] and body["table_edges"] == 1 and body["recorded"]["created"] == 0
    unseen = post_sql(world, flow["source_a"], "INSERT INTO mailing SELECT * FROM raw", dry_run=True,
                      default_schema=None).json()["statements"][0]["table_edges"]
    assert (unseen[0]["target"], unseen[0]["target_id"]) == (f"{flow['source_a'].name}/mailing", None)
    assert LineageEdge.objects.count() == before


def test_sql_nested_past_the_parser_depth_is_a_statement_error_not_a_500(world, flow):
    nested = "INSERT INTO report SELECT * FROM " + "(SELECT * FROM " * 300 + "raw" + ") q" * 300
    response = post_sql(world, flow["source_a"], f"INSERT INTO report SELECT * FROM raw;\n{nested}")
    assert response.status_code == 200, response.content
    first, deep = response.json()["statements"]
    assert first["error"] is None and deep["error_line"] == 2 and "nested too deeply" in deep["error"]


def test_an_unknown_dialect_names_the_accepted_ones(world, flow):
    response = post_sql(world, flow["source_a"], "select 1", dialect="cobol")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "dialect" and "postgres" in error["detail"] and "snowflake" in error["detail"]
    assert post_sql(world, flow["source_a"], "select 1", dialect="PostgreSQL").status_code == 200


def test_sql_over_the_limit_is_a_413(world, flow, monkeypatch):
    monkeypatch.setattr(services, "MAX_SQL_CHARS", 100)
    response = post_sql(world, flow["source_a"], "select 1 " * 20)
    assert response.status_code == 413 and "at most 100" in response.json()["detail"]


@pytest.mark.parametrize("body", [{}, {"data_source": "x", "sql": "select 1", "dialect": "postgres"},
                                  {"data_source": 10**9, "sql": "select 1", "dialect": "postgres"},
                                  {"sql": "", "dialect": "postgres"}])
def test_malformed_sql_requests_are_a_400(world, flow, body):
    body = {"data_source": flow["source_a"].pk, **body} if "data_source" not in body and body else body
    assert world.client("steward").post(reverse(SQL), body, format="json").status_code == 400


def test_the_browsable_sql_page_says_how_to_record_lineage_not_what_the_graph_is(world, flow):
    response = world.client("steward").get(reverse(SQL), HTTP_ACCEPT="text/html")
    page = response.content.decode()
    assert "Record lineage from SQL that ran on a data source" in page
    assert "upstream and downstream, at table and column level" not in page
    # The page opens on how to use it and its limits, not on a 405, with a form of the fields to POST.
    assert response.status_code == 200 and "405" not in page and "not allowed" not in page
    assert "seconds_per_statement" in page and f"{services.MAX_SQL_STATEMENTS}" in page
    form = page[page.index('<form action="/api/v1/lineage/sql/" method="POST"'):]
    for field in ("data_source", "dialect", "sql", "dry_run"):  # the API reads JSON: its raw form, with an example
        assert f"&quot;{field}&quot;" in form


def test_only_the_browsable_api_gets_the_sql_page_other_clients_a_405(world, flow):
    assert world.client("steward").get(reverse(SQL), HTTP_ACCEPT="application/json").status_code == 405
    assert world.client("analyst").get(reverse(SQL), HTTP_ACCEPT="text/html").status_code == 200
    # No form for who may not record: the page only says what the endpoint takes.
    page = world.client("analyst").get(reverse(SQL), HTTP_ACCEPT="text/html").content.decode()
    assert '<form action="/api/v1/lineage/sql/" method="POST"' not in page
    options = world.client("steward").options(reverse(SQL)).json()
    assert set(options["actions"]["POST"]) >= {"data_source", "dialect", "sql", "dry_run"}


def test_sql_with_more_statements_than_the_cap_is_a_413_naming_it(world, flow, monkeypatch):
    monkeypatch.setattr(services, "MAX_SQL_STATEMENTS", 2)
    before = LineageEdge.objects.count()
    response = post_sql(world, flow["source_a"], "INSERT INTO report SELECT * FROM raw;\n" * 3)
    assert response.status_code == 413
    assert "holds 3 statements; at most 2 are read at once" in response.json()["detail"]
    assert LineageEdge.objects.count() == before


def test_a_statement_over_the_time_budget_is_reported_and_the_others_recorded(world, flow, monkeypatch):
    monkeypatch.setattr(services, "STATEMENT_SECONDS", 0.5)
    slow = "INSERT INTO report SELECT * FROM raw WHERE " + " OR ".join(f"(id = {i} AND n = {i})" for i in range(6000))
    response = post_sql(world, flow["source_a"], f"{slow};\nINSERT INTO report (email) SELECT email FROM raw;")
    assert response.status_code == 200, response.content
    took_long, read = response.json()["statements"]
    assert took_long["error_line"] == 1 and "took too long to read (over 0.5 s)" in took_long["error"]
    assert read["error"] is None and read["column_edges"] == 1


def test_impact_in_a_browser_is_the_browsable_page_saying_what_it_is(world, flow):
    # Regression: impact offered JSON and CSV only, so a browser got bare JSON without the API's page, its
    # description or the format menu that leads to the CSV.
    response = world.client("steward").get(reverse(IMPACT), {"asset": flow["raw"].pk}, HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Impact analysis: everything downstream of" in page and "shop.public.report.email" in page
    assert "format=csv" in page  # the GET button's menu
    assert "upstream and downstream, at table and column level" not in page
    plain = world.client("steward").get(reverse(IMPACT), {"asset": flow["raw"].pk})
    assert plain["Content-Type"] == "application/json"  # a client that asks for nothing still gets JSON


def test_the_browsable_sql_form_starts_with_a_dry_run_on_a_source_the_user_sees(world, flow):
    page = world.client("steward").get(reverse(SQL), HTTP_ACCEPT="text/html").content.decode()
    form = page.split('name="_content"')[1].split("</textarea>")[0]
    assert f"&quot;data_source&quot;: {flow['source_a'].pk}," in form
    assert "&quot;dry_run&quot;: true" in form and "&quot;dialect&quot;: &quot;postgres&quot;" in form
    assert "CREATE TABLE " in form and "_copy AS SELECT * FROM " in form
