"""How OpenLineage events map to the catalog (catalog.lineage.openlineage): sources sharing a server told apart by
the dataset's database, what makes a column edge direct, fields the catalog does not hold, and a fixed number of
statements whatever the number of datasets."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.lineage.openlineage import lineage_openlineage_record
from catalog.models import LineageEdge
from tests.catalog.factories import DataSourceFactory
from tests.catalog.lineage_factories import table
from tests.catalog.test_api_openlineage import NAMESPACE, event_dict

pytestmark = pytest.mark.django_db


def with_column_lineage(event: dict, fields: dict) -> dict:
    event["outputs"][0]["facets"] = {"columnLineage": {"fields": fields}}
    return event


def input_field(field: str, *transformations, name="shop.public.orders") -> dict:
    return {"namespace": NAMESPACE, "name": name, "field": field, "transformations": list(transformations)}


def test_sources_on_one_server_are_told_apart_by_the_database(world):
    shop = DataSourceFactory(workspace=world.workspace_a, database="shop")
    crm = DataSourceFactory(workspace=world.workspace_a, database="crm")
    shop_orders, crm_orders = table(shop, "orders"), table(crm, "orders")
    report = table(shop, "report")
    lineage_openlineage_record(events=[event_dict(inputs=("crm.public.orders",))],
                               acting_user=world.user("steward"))
    edge = LineageEdge.objects.get()
    assert (edge.source_asset_id, edge.target_asset_id) == (crm_orders.pk, report.pk) != (shop_orders.pk, report.pk)


def test_direct_means_an_identity_copy(world):
    source = DataSourceFactory(workspace=world.workspace_a, database="shop")
    orders = table(source, "orders", columns=("a", "b", "c", "d", "e"))
    report = table(source, "report", columns=("a", "b", "c", "d", "e", "f"))
    event = with_column_lineage(event_dict(), {
        "a": {"inputFields": [input_field("a", {"type": "DIRECT", "subtype": "IDENTITY"})]},
        "b": {"inputFields": [input_field("b", {"type": "DIRECT", "subtype": "IDENTITY", "masking": True})]},
        "c": {"inputFields": [input_field("c", {"type": "DIRECT"})]},
        "d": {"inputFields": [input_field("d")], "transformationType": "IDENTITY"},  # facets before 1-1-0
        "e": {"inputFields": [input_field("e")], "transformationType": "MASKED"},
        "f": {"inputFields": [input_field("a", {"type": "INDIRECT", "subtype": "FILTER"}),
                              input_field("missing", {"type": "DIRECT", "subtype": "IDENTITY"})]},
    })
    lineage_openlineage_record(events=[event], acting_user=world.user("steward"))
    column_edges = {(e.source_asset.name, e.target_asset.name, e.direct)
                    for e in LineageEdge.objects.filter(level="column").select_related("source_asset",
                                                                                         "target_asset")}
    # f: a filter is no flow, and a field the catalog does not hold is left out rather than invented.
    assert column_edges == {("a", "a", True), ("b", "b", False), ("c", "c", False), ("d", "d", True),
                            ("e", "e", False)}
    assert LineageEdge.objects.filter(level="table").get().source_asset_id == orders.pk != report.pk


def test_the_statements_do_not_grow_with_the_datasets(world):
    source = DataSourceFactory(workspace=world.workspace_a, database="shop")
    names = [f"t{index}" for index in range(40)]
    for name in names:
        table(source, name, columns=("id",))
    steward = world.user("steward")

    def statements(count: int, job: str) -> int:
        inputs = tuple(f"shop.public.{name}" for name in names[:count])
        event = with_column_lineage(event_dict(inputs=inputs, outputs=("shop.public.t39",), job=job), {
            "id": {"inputFields": [input_field("id", {"type": "DIRECT", "subtype": "IDENTITY"}, name=name)
                                   for name in inputs]}})
        with CaptureQueriesContext(connection) as queries:
            lineage_openlineage_record(events=[event], acting_user=steward)
        return len(queries)

    statements(1, "warm-up")  # the first call fills per-process caches (content types)
    assert statements(3, "small") == statements(30, "large")
