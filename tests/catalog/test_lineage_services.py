"""Recording lineage (catalog.lineage.services): origins never overwrite one another, a key's edges are replaced
together, the same SQL twice adds nothing, names map to the catalog's assets (unknown ones to external assets),
and the rights to record."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.actors import SYSTEM
from accounts.models import AuditEvent, User
from catalog.lineage import services
from catalog.lineage.services import ExternalName, Flow, Replacement
from catalog.models import ExternalAsset, LineageEdge, LineageRecord
from core.models import Event
from tests.catalog.factories import DataSourceFactory
from tests.catalog.lineage_factories import table

pytestmark = pytest.mark.django_db
TABLE = LineageEdge.Level.TABLE


@pytest.fixture
def source(world):
    return DataSourceFactory(workspace=world.workspace_a, database="shop")


@pytest.fixture
def shop(source):
    return {"customers": table(source, "customers", columns=("id", "email", "name")),
            "orders": table(source, "orders", columns=("id", "customer_id", "total")),
            "report": table(source, "customer_orders", columns=("email", "total"))}


def steward(world) -> User:
    return User.objects.get(pk=world.user("steward").pk)


def flows_of(workspace, origin, key) -> set[tuple]:
    return set(LineageEdge.objects.filter(workspace=workspace, origin=origin, origin_key=key)
               .values_list("source_asset_id", "source_external_id", "target_asset_id", "target_external_id"))


def replace(world, key, flows, origin="view", text="select 1"):
    return services.lineage_edges_replace(workspace=world.workspace_a, origin=origin, origin_key=key, flows=flows,
                                          text=text, acting_user=SYSTEM)


def test_a_view_s_edges_are_replaced_when_its_definition_changes(world, shop):
    customers, orders, report = shop["customers"].pk, shop["orders"].pk, shop["report"].pk
    first = replace(world, "view/1", [Flow(customers, report, TABLE), Flow(orders, report, TABLE)], text="v1")
    assert first.created == 2
    second = replace(world, "view/1", [Flow(customers, report, TABLE)], text="v2")
    assert (second.created, second.refreshed, second.removed) == (0, 1, 1)
    assert flows_of(world.workspace_a, "view", "view/1") == {(customers, None, report, None)}
    # The first definition's text is no longer any edge's record: gone with its edges.
    assert list(LineageRecord.objects.filter(origin_key="view/1").values_list("text", flat=True)) == ["v2"]


def test_one_origin_never_overwrites_or_deletes_another_s_edges(world, shop):
    customers, report = shop["customers"].pk, shop["report"].pk
    services.lineage_edges_merge(workspace=world.workspace_a, origin="sql", origin_key="batch", text="insert …",
                                 flows=[Flow(customers, report, TABLE)], acting_user=SYSTEM)
    replace(world, "view/1", [Flow(customers, report, TABLE)])
    replace(world, "view/1", [])  # the view no longer reads customers
    replace(world, "view/2", [Flow(shop["orders"].pk, report, TABLE)])
    assert flows_of(world.workspace_a, "sql", "batch") == {(customers, None, report, None)}
    assert flows_of(world.workspace_a, "view", "view/1") == set()
    assert LineageEdge.objects.count() == 2


def test_merging_the_same_flows_again_refreshes_them_and_audits_nothing(world, shop):
    flows = [Flow(shop["customers"].pk, shop["report"].pk, TABLE),
             Flow(shop["customers"].cols["email"].pk, shop["report"].cols["email"].pk, "column", direct=True)]
    kwargs = {"workspace": world.workspace_a, "origin": "sql", "origin_key": "k", "flows": flows, "text": "x",
              "acting_user": SYSTEM}
    services.lineage_edges_merge(**kwargs)
    seen = dict(LineageEdge.objects.values_list("pk", "last_seen_at"))
    audited = AuditEvent.objects.filter(event="lineage.recorded").count()
    again = services.lineage_edges_merge(**kwargs)
    assert (again.created, again.refreshed) == (0, 2)
    assert all(LineageEdge.objects.get(pk=pk).last_seen_at > at for pk, at in seen.items())
    assert AuditEvent.objects.filter(event="lineage.recorded").count() == audited == 1
    assert LineageEdge.objects.get(level="column").direct


def test_external_ends_are_created_once_per_workspace(world, shop):
    lake = ExternalName("s3://lake", "exports/customers")
    field = ExternalName("s3://lake", "exports/customers", "email")
    flows = [Flow(shop["customers"].pk, lake, TABLE),
             Flow(shop["customers"].cols["email"].pk, field, "column", direct=True)]
    first = services.lineage_edges_merge(workspace=world.workspace_a, origin="openlineage", origin_key="job",
                                         flows=flows, acting_user=SYSTEM)
    second = services.lineage_edges_merge(workspace=world.workspace_a, origin="openlineage", origin_key="job2",
                                          flows=flows, acting_user=SYSTEM)
    assert (first.external_created, second.external_created) == (2, 0)
    dataset = ExternalAsset.objects.get(field="")
    assert ExternalAsset.objects.get(field="email").parent == dataset
    assert dataset.qualified_name == "s3://lake/exports/customers"


def test_merging_costs_the_same_statements_for_many_flows(world, source):
    def statements(width: int) -> int:
        tables = [table(source, f"w{width}_{i}") for i in range(width)]
        flows = [Flow(tables[i].pk, tables[i + 1].pk, TABLE) for i in range(width - 1)]
        flows += [Flow(tables[0].pk, ExternalName("ns", f"w{width}_ext_{i}", "c"), "column") for i in range(width)]
        with CaptureQueriesContext(connection) as queries:
            services.lineage_edges_merge(workspace=world.workspace_a, origin="sql", origin_key=f"w{width}",
                                         flows=flows, text=f"w{width}", acting_user=SYSTEM)
        return len(queries)

    statements(2)  # content types, cached per process
    # 5 flows against 50 (in one batch: SQLite's bound-parameter limit cuts a bulk insert every 76 edges).
    assert statements(3) == statements(25)


def test_replacing_many_groups_at_once_is_each_group_replaced_audited_and_announced(world, shop):
    customers, orders, report = shop["customers"], shop["orders"], shop["report"]
    copy = Flow(customers.cols["email"].pk, report.cols["email"].pk, "column", direct=True)
    replace(world, "1", [Flow(customers.pk, report.pk, TABLE), copy], text="v1")
    replace(world, "2", [Flow(orders.pk, report.pk, TABLE)], origin="procedure", text="p1")
    services.lineage_edges_merge(workspace=world.workspace_a, origin="sql", origin_key="1", text="insert …",
                                 flows=[Flow(orders.pk, report.pk, TABLE)], acting_user=SYSTEM)
    events, audited = Event.objects.count(), AuditEvent.objects.filter(event="lineage.replaced").count()
    lake = ExternalName("datasource/1", "lake.orders", "total")
    results = services.lineage_edges_replace_many(workspace=world.workspace_a, acting_user=SYSTEM, replacements=[
        Replacement("view", "1", [Flow(customers.pk, report.pk, TABLE)], "v2"),  # the copy is gone
        Replacement("procedure", "2", [Flow(orders.pk, report.pk, TABLE)], "p1"),  # the same: nothing changes
        Replacement("view", "3", [Flow(lake, report.cols["total"].pk, "column", direct=True)], "v3"),  # new
    ])
    assert [(r.created, r.refreshed, r.removed, r.external_created) for r in results] == [
        (0, 1, 1, 0), (0, 1, 0, 0), (1, 0, 0, 2)]
    assert flows_of(world.workspace_a, "view", "1") == {(customers.pk, None, report.pk, None)}
    assert flows_of(world.workspace_a, "sql", "1") == {(orders.pk, None, report.pk, None)}  # another origin's
    assert set(LineageRecord.objects.filter(origin="view").values_list("origin_key", "text")) == {("1", "v2"),
                                                                                                  ("3", "v3")}
    assert LineageEdge.objects.get(origin="view", origin_key="1").record.text == "v2"
    assert LineageEdge.objects.get(origin="procedure").record.text == "p1"
    replaced = AuditEvent.objects.filter(event="lineage.replaced").order_by("pk")[audited:]
    # One row per group that changed, on its record (the key itself is redacted in the trail, as for one group).
    assert [(e.extra["origin"], LineageRecord.objects.get(pk=e.object_id).text, e.extra["created"],
             e.extra["removed"]) for e in replaced] == [("view", "v2", 0, 1), ("view", "v3", 1, 0)]
    # One event for the origin's groups that changed: the copy gone from view 1, the copy new in view 3.
    [announced] = [e.payload for e in Event.objects.filter(name="lineage.changed").order_by("pk")[events:]]
    assert (announced["origin"], announced["origin_keys"], announced["created"], announced["removed"]) == (
        "view", ["1", "3"], 1, 1)
    assert announced["direct_targets"] == {"assets": sorted([report.cols["email"].pk, report.cols["total"].pk]),
                                           "externals": []}


def test_replacing_many_groups_costs_the_same_statements_for_3_or_60_groups(world, source):
    def statements(count: int) -> int:
        tables = [table(source, f"g{count}_{i}", columns=("a",)) for i in range(count + 1)]
        replacements = [Replacement("view", f"g{count}/{i}", [
            Flow(tables[i].pk, tables[i + 1].pk, TABLE),
            Flow(tables[i].cols["a"].pk, tables[i + 1].cols["a"].pk, "column", direct=True),
            Flow(ExternalName("ns", f"g{count}_ext_{i}", "c"), tables[i + 1].cols["a"].pk, "column")], f"t{i}")
            for i in range(count)]
        services.lineage_edges_replace_many(workspace=world.workspace_a, replacements=replacements,
                                            acting_user=SYSTEM)
        for replacement in replacements:  # read again: one flow kept, one changed to a transformation, one gone
            replacement.flows[1] = Flow(replacement.flows[1].source, replacement.flows[1].target, "column")
            replacement.flows.pop()
        with CaptureQueriesContext(connection) as queries:
            services.lineage_edges_replace_many(workspace=world.workspace_a, replacements=[
                Replacement(r.origin, r.origin_key, r.flows, r.text + " again") for r in replacements],
                acting_user=SYSTEM)
        assert LineageEdge.objects.filter(origin_key__startswith=f"g{count}/").count() == 2 * count
        return len(queries)

    statements(2)  # content types, cached per process
    assert statements(3) == statements(20)


def test_replacing_many_refuses_a_group_given_twice(world, shop):
    with pytest.raises(ValueError, match="once"):
        services.lineage_edges_replace_many(workspace=world.workspace_a, acting_user=SYSTEM, replacements=[
            Replacement("view", "1", []), Replacement("view", "1", [])])


def test_recording_needs_the_right_in_the_workspace(world, shop):
    flows = [Flow(shop["customers"].pk, shop["report"].pk, TABLE)]
    for persona in ("analyst", "auditor", "other_workspace_user", "outsider"):
        with pytest.raises(PermissionDenied):
            services.lineage_edges_merge(workspace=world.workspace_a, origin="sql", origin_key="k", flows=flows,
                                         acting_user=User.objects.get(pk=world.user(persona).pk))
    services.lineage_edges_merge(workspace=world.workspace_a, origin="sql", origin_key="k", flows=flows,
                                 acting_user=steward(world))
    assert LineageEdge.objects.count() == 1


# --- submitted SQL -------------------------------------------------------------------------------------------


SCRIPT = """
CREATE TEMPORARY TABLE recent AS SELECT id, customer_id, total FROM orders WHERE total > 0;
INSERT INTO customer_orders (email, total)
SELECT c.email, r.total FROM customers c JOIN recent r ON r.customer_id = c.id;
INSERT INTO audit_copy SELECT * FROM customers;
SELEC broken FROM;
"""


def record_sql(world, source, sql=SCRIPT, **kwargs):
    return services.lineage_sql_record(data_source=source, sql=sql, dialect="postgres", default_schema="public",
                                       acting_user=steward(world), **kwargs)


def test_sql_maps_names_to_the_source_s_assets_and_keeps_unknown_tables_as_external(world, source, shop):
    recording = record_sql(world, source)
    edges = {(e.source_asset_id, e.target_asset_id, e.source_external_id is not None,
              e.target_external_id is not None) for e in LineageEdge.objects.filter(level="table")}
    customers, orders, report = shop["customers"].pk, shop["orders"].pk, shop["report"].pk
    assert (orders, report, False, False) in edges  # through the temporary table, collapsed end to end
    assert (customers, report, False, False) in edges
    assert (customers, None, False, True) in edges  # audit_copy: no scan has seen it
    assert recording.external_tables == [f"{source.name}/public.audit_copy"]
    external = ExternalAsset.objects.get(field="")
    assert (external.namespace, external.name, external.data_source) == (f"datasource/{source.pk}",
                                                                        "public.audit_copy", source)
    email = LineageEdge.objects.get(source_asset=shop["customers"].cols["email"],
                                    target_asset=shop["report"].cols["email"])
    assert email.direct and email.origin == "sql" and email.record.text == SCRIPT
    # SELECT * resolved through the catalog's columns: audit_copy gets customers' three.
    assert set(ExternalAsset.objects.exclude(field="").values_list("field", flat=True)) == {"id", "email", "name"}


def test_each_statement_is_reported_and_a_broken_one_does_not_stop_the_others(world, source, shop):
    recording = record_sql(world, source)
    by_index = {outcome.index: outcome for outcome in recording.statements}
    assert [outcome.line for outcome in recording.statements] == [2, 3, 5, 6]
    insert = by_index[1]
    assert insert.targets == ["public.customer_orders"] and insert.error is None
    assert {(edge["source"], edge["source_id"]) for edge in insert.table_edges} == {
        (shop["customers"].qualified_name, shop["customers"].pk), (shop["orders"].qualified_name, shop["orders"].pk)}
    assert insert.column_edges >= 2
    broken = by_index[3]
    assert broken.error_line == 6 and broken.error
    assert LineageEdge.objects.filter(target_asset=shop["report"]).exists()


def test_the_same_sql_twice_creates_nothing_new(world, source, shop):
    first = record_sql(world, source)
    count, externals = LineageEdge.objects.count(), ExternalAsset.objects.count()
    second = record_sql(world, source)
    assert first.result.created == count and second.result.created == 0
    assert second.result.refreshed == count
    assert (LineageEdge.objects.count(), ExternalAsset.objects.count()) == (count, externals)
    assert LineageRecord.objects.count() == 1


def test_a_dry_run_writes_nothing(world, source, shop):
    recording = record_sql(world, source, dry_run=True)
    assert recording.dry_run and recording.table_edges >= 3
    assert not LineageEdge.objects.exists() and not ExternalAsset.objects.exists()


def test_names_match_whatever_their_case_but_not_when_ambiguous(world, source):
    upper = table(source, "Clients", columns=("Email",))
    table(source, "events", schema="public")
    table(source, "events", schema="archive")
    sql = "INSERT INTO events SELECT email FROM clients; INSERT INTO public.events SELECT email FROM clients;"
    services.lineage_sql_record(data_source=source, sql=sql, dialect="mysql", acting_user=SYSTEM)
    edges = list(LineageEdge.objects.filter(level="table").values_list("source_asset_id", "target_asset_id",
                                                                        "target_external_id"))
    unqualified = [e for e in edges if e[2] is not None]
    qualified = [e for e in edges if e[2] is None]
    assert len(unqualified) == 1 and unqualified[0][0] == upper.pk  # 'events' is in two schemas: external
    assert len(qualified) == 1 and qualified[0][0] == upper.pk


def test_bad_input_is_refused_naming_what_is_wrong(world, source):
    with pytest.raises(ValidationError) as unknown:
        services.lineage_sql_record(data_source=source, sql="select 1", dialect="cobol", acting_user=SYSTEM)
    assert "postgres" in str(unknown.value) and "snowflake" in str(unknown.value)
    with pytest.raises(ValidationError, match="at most"):
        services.lineage_sql_record(data_source=source, sql="x" * (services.MAX_SQL_CHARS + 1), dialect="postgres",
                                    acting_user=SYSTEM)
    with pytest.raises(PermissionDenied):
        services.lineage_sql_record(data_source=source, sql="select 1", dialect="postgres",
                                    acting_user=User.objects.get(pk=world.user("analyst").pk))
