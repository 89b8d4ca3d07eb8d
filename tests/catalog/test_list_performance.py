"""Catalog lists stay cheap as the catalog grows (issue 9, item 10): an index serves their order, the assets list
pages by cursor without COUNT or OFFSET, the type filter adds no DISTINCT, the admin's catalog changelists cost a
constant handful of queries, and a request reads the user's grants once."""
from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.permissions import restrict
from catalog.models import Asset, AssetClassification, ColumnAsset
from config.pagination import EstimatedCountPaginator, KeysetPagination
from tests.catalog.classification_factories import AssetClassificationFactory, asset_tree, builtin
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.support.personas import staff_client
from tests.support.services import running_in_ci

LIST = reverse("api:asset-list")


def _columns(workspace, count: int, *, table: str = "customers"):
    _, _, _, columns = asset_tree(DataSourceFactory(workspace=workspace), table=table,
                                  columns={f"c{i:03d}": "text" for i in range(count)})
    return list(columns.values())


def _queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return [query["sql"] for query in queries.captured_queries]


def _grant_statements(sqls) -> int:
    return sum("guardian_userobjectpermission" in sql for sql in sqls)


def _all_pages(client, url) -> list[dict]:
    rows = []
    while url:
        body = client.get(url).json()
        assert set(body) == {"next", "results"}
        rows += body["results"]
        url = body["next"]
    return rows


# --- the assets list: keyset pagination ---------------------------------------------------------------------


def test_asset_pages_follow_the_index_order_without_gaps_or_repeats(world):
    for workspace in (world.workspace_a, world.workspace_a, world.workspace_b):
        _columns(workspace, 6)
    visible = list(restrict(Asset.objects.all(), world.user("analyst")).order_by("data_source_id", "qualified_name")
                   .values_list("pk", flat=True))
    rows = _all_pages(world.client("analyst"), f"{LIST}?page_size=4")
    assert [row["id"] for row in rows] == visible
    assert len(visible) == 2 * (1 + 1 + 1 + 6)  # database, schema, table and six columns per source of A


@pytest.mark.parametrize("ordering", ["-row_count", "row_count", "name", "-changed_at", "type"])
def test_asset_pages_under_any_allowed_ordering_cover_every_row_once(world, ordering):
    """Non-unique and nullable sort keys: the primary key completes the order, NULLs sort as the largest."""
    columns = _columns(world.workspace_a, 7) + _columns(world.workspace_a, 5, table="orders")
    for i, column in enumerate(columns):
        column.row_count = None if i % 3 == 0 else i % 4
        column.save(update_fields=["row_count"])
    expected = sorted(restrict(Asset.objects.all(), world.user("analyst")).values_list("pk", flat=True))
    rows = _all_pages(world.client("analyst"), f"{LIST}?page_size=3&ordering={ordering}")
    assert sorted(row["id"] for row in rows) == expected
    assert len(rows) == len(expected)
    field = ordering.lstrip("-")
    if field == "row_count":  # NULLs last ascending, first descending
        nulls = [row[field] is None for row in rows]
        assert nulls == sorted(nulls, reverse=ordering.startswith("-"))


@pytest.mark.parametrize("cursor", ["not-base64!", "eyJ4IjogMX0=", "W10="])
def test_a_bad_cursor_is_a_404_problem(world, cursor):
    response = world.client("analyst").get(f"{LIST}?cursor={cursor}")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_cursor_is_refused_under_another_ordering(world):
    _columns(world.workspace_a, 4)
    client = world.client("analyst")
    next_url = client.get(f"{LIST}?page_size=2").json()["next"]
    assert client.get(next_url).status_code == 200
    assert client.get(next_url + "&ordering=name").status_code == 404


def test_asset_list_runs_no_count_and_costs_the_same_on_a_deep_page(world):
    _columns(world.workspace_a, 30)
    client = world.client("analyst")
    _queries(client, f"{LIST}?page_size=5")  # warm per-process caches
    first = _queries(client, f"{LIST}?page_size=5")
    deep = client.get(f"{LIST}?page_size=5").json()["next"]
    for _ in range(4):
        deep = client.get(deep).json()["next"]
    later = _queries(client, deep)
    assert len(later) == len(first)
    assert not any("COUNT(" in sql.upper() or " OFFSET " in sql.upper() for sql in first + later)


def test_type_filter_adds_no_distinct(world):
    _columns(world.workspace_a, 3)
    sqls = _queries(world.client("analyst"), f"{LIST}?type=table&type=column")
    listing = [sql for sql in sqls if 'FROM "catalog_asset"' in sql]
    assert listing and not any("DISTINCT" in sql.upper() for sql in listing)
    body = world.client("analyst").get(f"{LIST}?type=table&type=column").json()
    assert {row["type"] for row in body["results"]} == {"table", "column"}


def test_browsable_api_links_the_next_page(world):
    _columns(world.workspace_a, 4)
    client = world.client("analyst")
    next_url = client.get(f"{LIST}?page_size=2").json()["next"]
    page = client.get(f"{LIST}?page_size=2", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert next_url.replace("&", "&amp;") in page.content.decode()
    # A "Next" button, not only the link inside the JSON body
    assert f'<a href="{next_url.replace("&", "&amp;")}" rel="next"' in page.content.decode()


def test_asset_list_schema_documents_the_cursor_page(world):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/assets/"]["get"]
    assert {"cursor", "page_size"} <= {parameter["name"] for parameter in operation["parameters"]}
    assert "page" not in {parameter["name"] for parameter in operation["parameters"]}
    page = schema["components"]["schemas"][operation["responses"]["200"]["content"]["application/json"]["schema"]
                                           ["$ref"].rsplit("/", 1)[-1]]
    assert set(page["properties"]) == {"next", "results"}


# --- grants: once per request -------------------------------------------------------------------------------


def test_an_api_request_reads_the_grants_once(world):
    """The list checks view_asset; the serializer and the throttles ask nothing else — and the data source list
    then asks another permission: still one statement per request."""
    _columns(world.workspace_a, 2)
    client = world.client("steward")
    for url in (LIST, reverse("api:datasource-list"), reverse("api:assetclassification-list")):
        assert _grant_statements(_queries(client, url)) == 1


def test_an_admin_page_reads_the_grants_once_and_asks_modelbackend_nothing(world):
    client = staff_client(world, "steward")
    _columns(world.workspace_a, 3)
    sqls = _queries(client, reverse("admin:catalog_columnasset_changelist"))
    assert _grant_statements(sqls) == 1
    assert not any('"auth_permission"."codename"' in sql for sql in sqls)  # ModelBackend's two look-ups


# --- the admin's catalog changelists ------------------------------------------------------------------------


@pytest.mark.parametrize("changelist", ["admin:catalog_columnasset_changelist",
                                        "admin:catalog_assetclassification_changelist"])
def test_admin_catalog_changelists_cost_a_constant_handful_of_queries(world, changelist):
    client = staff_client(world, "steward")
    email = builtin("PII.EMAIL")
    for column in _columns(world.workspace_a, 3):
        AssetClassificationFactory(asset=column, classification=email)
    url = reverse(changelist)
    _queries(client, url)
    few = len(_queries(client, url))
    for column in _columns(world.workspace_a, 40, table="orders"):
        AssetClassificationFactory(asset=column, classification=email)
    assert len(_queries(client, url)) == few
    assert few <= 9  # session, user, device, grants, filter choices, count (or estimate), page


def test_estimated_count_paginator_counts_exactly_below_the_threshold(world):
    columns = _columns(world.workspace_a, 5)
    queryset = restrict(ColumnAsset.objects.all(), world.user("steward"))
    assert EstimatedCountPaginator(queryset, 2).count == len(columns)


# --- PostgreSQL: the planner's side -------------------------------------------------------------------------


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        message = "the planner's choices are PostgreSQL's: run with DATABASE_URL set to PostgreSQL"
        if running_in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def _plan(queryset) -> str:
    """The plan of ``queryset`` with sorting and sequential scans priced out: a Sort left in it means no index
    can give the order."""
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_incremental_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("persona", ["analyst", "auditor"])
def test_default_list_orders_are_served_by_an_index(postgresql, world, persona):
    for column in _columns(world.workspace_a, 3):
        AssetClassificationFactory(asset=column, classification=builtin("PII.EMAIL"))
    user = world.user(persona)
    for queryset in (Asset.objects.select_related("data_source"), ColumnAsset.objects.select_related("data_source"),
                     AssetClassification.objects.select_related("asset", "classification")):
        plan = _plan(restrict(queryset, user)[:50])
        assert "Sort" not in plan, plan


def test_a_cursor_page_starts_in_the_index(postgresql, world):
    """The next page's condition is a row comparison the index answers, not a filter over the pages before."""
    _columns(world.workspace_a, 3)
    queryset = restrict(Asset.objects.select_related("data_source"), world.user("analyst"))
    keys = KeysetPagination.sort_keys(queryset)
    page = queryset.order_by(*[key.order_by() for key in keys]).filter(KeysetPagination.after(keys, [1, "a"]))
    plan = _plan(page[:51])
    assert "Sort" not in plan and "Index Cond: (ROW(data_source_id, (qualified_name)::text) > ROW(" in plan, plan


def test_estimated_count_paginator_takes_the_planner_estimate_for_large_lists(postgresql, world, monkeypatch):
    monkeypatch.setattr("config.pagination.EXACT_COUNT_BELOW", 0)
    _columns(world.workspace_a, 3)
    queryset = restrict(ColumnAsset.objects.all(), world.user("steward"))
    with CaptureQueriesContext(connection) as queries:
        count = EstimatedCountPaginator(queryset, 2).count
    assert count >= 1
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["EXPLAIN"]


@pytest.mark.parametrize(("added", "analyzed"), [(10_000, True), (9_999, False)])
def test_a_large_scan_refreshes_the_planner_statistics(postgresql, db, added, analyzed):
    from scanning.services.scans import refresh_catalog_statistics

    AssetFactory()
    with CaptureQueriesContext(connection) as queries:
        refresh_catalog_statistics(added=added)
    assert any(query["sql"].startswith("ANALYZE") for query in queries.captured_queries) == analyzed
