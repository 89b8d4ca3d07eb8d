"""Drift and write discipline of scanning.sync, through the services on a real SQLite source file, and directly with
synthetic schema objects. The suite runs on SQLite (the ORM path) and on PostgreSQL (COPY and unnest updates), so
both write paths meet the same assertions."""
from __future__ import annotations

import sqlite3
import tracemalloc
from collections.abc import Iterator
from itertools import islice

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.actors import SYSTEM
from accounts.roles import Role
from catalog.models import Asset
from scanning import sync as sync_module
from scanning.models import AssetChange, ScanRun
from scanning.sync import CatalogSync, RunStopped, SeenIds
from sources import services
from sources.connectors import SchemaObject, qualified_name
from tests.catalog.factories import ScanRunFactory
from tests.support.factories import UserFactory, membership
from tests.support.personas import verified_client
from tests.support.target_dbs import run_scan, scan_workspace, schema_only_rule_set

pytestmark = pytest.mark.django_db

SHOP = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL, nickname TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers (id), total NUMERIC);
CREATE VIEW v_emails AS SELECT id, email FROM customers;
"""
# email retyped, nickname dropped, phone added; everything else as it was.
DRIFT = """
CREATE TABLE customers_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL, phone TEXT);
INSERT INTO customers_new (id, email) SELECT id, email FROM customers;
DROP VIEW v_emails;
DROP TABLE customers;
ALTER TABLE customers_new RENAME TO customers;
CREATE VIEW v_emails AS SELECT id, email FROM customers;
"""


@pytest.fixture
def shop(tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(SHOP)
    workspace = scan_workspace()
    source = services.datasource_create(workspace=workspace, acting_user=SYSTEM, name="shop", engine="sqlite",
                                        database=str(path))
    return path, source, schema_only_rule_set(workspace)


def alter(path, script):
    with sqlite3.connect(path) as conn:
        conn.executescript(script)


def snapshot(source) -> dict:
    return {row[0]: row for row in scanned(source).values_list(
        "qualified_name", "pk", "changed_at", "fingerprint", "removed_at", "data_type", "properties", "row_count")}


def scanned(source):
    """The source's scanned assets: all but its own asset, the root of its tree (catalog.source_assets)."""
    return Asset.objects.filter(data_source=source).exclude(type=Asset.Type.SOURCE)


def qn(*parts):
    return qualified_name(("shop", "main", *parts))


def test_first_scan_is_a_baseline_without_drift(shop):
    _, source, rule_set = shop
    run = run_scan(source, rule_set=rule_set)
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    assert run.added == scanned(source).count() == 2 + 3 + 3 + 3 + 2  # db, schema, ...
    assert not AssetChange.objects.exists()


def test_added_retyped_and_dropped_columns_are_exactly_the_drift(shop):
    path, source, rule_set = shop
    run_scan(source, rule_set=rule_set)
    before = snapshot(source)
    alter(path, DRIFT)
    run = run_scan(source, rule_set=rule_set)
    assert run.status == ScanRun.Status.SUCCEEDED, run.error

    changes = sorted((c.asset.qualified_name, c.kind, c.changes)
                     for c in AssetChange.objects.filter(run=run).select_related("asset"))
    assert changes == [
        (qn("customers", "email"), "changed", {"data_type": ["VARCHAR(200)", "TEXT"]}),
        (qn("customers", "nickname"), "removed", {}),
        (qn("customers", "phone"), "added", {}),
        (qn("v_emails", "email"), "changed", {"data_type": ["VARCHAR(200)", "TEXT"]}),  # the view follows
    ]
    assert (run.added, run.changed, run.removed, run.unchanged) == (1, 2, 1, len(before) - 3)
    after = snapshot(source)
    phone = Asset.objects.get(data_source=source, qualified_name=qn("customers", "phone"))
    assert phone.parent.qualified_name == qn("customers") and phone.type == "column" and phone.is_nullable
    assert after[qn("customers", "nickname")][4] == run_sync_time(run)  # removed_at, kept as a row
    assert after[qn("customers", "email")][5] == "TEXT"
    # Nothing else was written: same change time and fingerprint for every other asset.
    untouched = set(before) - {qn("customers", "email"), qn("customers", "nickname"), qn("v_emails", "email")}
    assert {name: after[name] for name in untouched} == {name: before[name] for name in untouched}


def run_sync_time(run):
    return AssetChange.objects.filter(run=run).values_list("created_at", flat=True).first()


def test_unchanged_rescan_writes_no_asset_and_no_drift(shop):
    _, source, rule_set = shop
    run_scan(source, rule_set=rule_set)
    before = snapshot(source)
    with CaptureQueriesContext(connection) as queries:
        run = run_scan(source, rule_set=rule_set)
    assert run.status == ScanRun.Status.SUCCEEDED
    assert (run.added, run.changed, run.removed, run.unchanged) == (0, 0, 0, len(before))
    assert snapshot(source) == before
    assert not AssetChange.objects.exists()
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "COPY"))]
    assert not [sql for sql in writes if "catalog_asset" in sql or "scanning_assetchange" in sql], writes


def test_dropped_column_that_comes_back_is_added_again(shop):
    path, source, rule_set = shop
    run_scan(source, rule_set=rule_set)
    alter(path, "ALTER TABLE customers DROP COLUMN nickname")
    dropped = run_scan(source, rule_set=rule_set)
    alter(path, "ALTER TABLE customers ADD COLUMN nickname TEXT")
    back = run_scan(source, rule_set=rule_set)
    nickname = Asset.objects.get(data_source=source, qualified_name=qn("customers", "nickname"))
    assert nickname.removed_at is None
    assert list(AssetChange.objects.filter(asset=nickname).order_by("id").values_list("run", "kind")) == [
        (dropped.pk, "removed"), (back.pk, "added")]
    assert Asset.objects.filter(data_source=source, qualified_name=qn("customers", "nickname")).count() == 1


def test_drift_is_served_by_the_run_changes_endpoint(shop):
    path, source, rule_set = shop
    run_scan(source, rule_set=rule_set)
    alter(path, DRIFT)
    run = run_scan(source, rule_set=rule_set)
    steward = UserFactory()
    membership(steward, source.workspace, Role.DATA_STEWARD)
    response = verified_client(steward).get(reverse("api:scanrun-changes", args=[run.pk]))
    assert response.status_code == 200
    assert sorted((row["qualified_name"], row["kind"], row["changes"]) for row in response.json()["results"]) == [
        (qn("customers", "email"), "changed", {"data_type": ["VARCHAR(200)", "TEXT"]}),
        (qn("customers", "nickname"), "removed", {}),
        (qn("customers", "phone"), "added", {}),
        (qn("v_emails", "email"), "changed", {"data_type": ["VARCHAR(200)", "TEXT"]}),  # the view follows
    ]


# -- CatalogSync with synthetic streams ----------------------------------------------------------------------------

def stream(columns=("id", "email"), *, table="people", data_type="text", estimate=None):
    objects = [SchemaObject(kind="database", path=("db",)), SchemaObject(kind="schema", path=("db", "s")),
               SchemaObject(kind="table", path=("db", "s", table), row_estimate=estimate,
                            properties={"primary_key": ["id"], "foreign_keys": []})]
    objects += [SchemaObject(kind="column", path=("db", "s", table, name), data_type=data_type, is_nullable=True,
                             ordinal=i + 1, properties={"primary_key": name == "id"})
                for i, name in enumerate(columns)]
    return objects


@pytest.fixture
def running():
    def make(source=None):
        kwargs = {"scan__data_source": source} if source is not None else {}
        return ScanRunFactory(status=ScanRun.Status.RUNNING, finished_at=None, **kwargs)
    return make


def apply_all(run, objects, batch=2):
    sync = CatalogSync(run)
    for start in range(0, len(objects), batch):
        sync.apply(objects[start:start + batch])
    sync.finish()
    return sync


def succeed(run):
    ScanRun.objects.filter(pk=run.pk).update(status=ScanRun.Status.SUCCEEDED)


def test_same_stream_applied_again_by_a_retried_run_writes_nothing_new(running):
    run = running()
    objects = stream(columns=("id", "email", "name"))
    interrupted = CatalogSync(run)
    interrupted.apply(objects[:4])  # the worker died after one batch; the run is claimed again
    retried = apply_all(run, objects)
    assert scanned(run.data_source).count() == len(objects)
    assert retried.counts == {"added": len(objects) - 4, "changed": 0, "removed": 0, "unchanged": 4}
    # Still the source's baseline (every asset was first seen by this run): the second half is not drift.
    assert not AssetChange.objects.exists()


def test_run_after_an_interrupted_first_scan_reports_what_it_adds(running):
    first = running()
    objects = stream(columns=("id", "email", "name"))
    CatalogSync(first).apply(objects[:4])  # killed after one batch, then failed by the reaper
    ScanRun.objects.filter(pk=first.pk).update(status=ScanRun.Status.FAILED)
    second = running(first.data_source)
    apply_all(second, objects)
    assert sorted(AssetChange.objects.filter(run=second).values_list("asset__qualified_name", "kind")) == [
        ("db.s.people.email", "added"), ("db.s.people.name", "added")]


def test_object_repeated_in_one_stream_is_applied_once(running):
    run = running()
    objects = stream()
    sync = apply_all(run, objects + objects[-1:])
    assert scanned(run.data_source).count() == len(objects)
    assert sync.counts["added"] == len(objects)


def test_parent_links_follow_the_tree_across_batches(running):
    run = running()
    apply_all(run, stream(columns=("id", "a", "b", "c")), batch=1)
    assets = {a.qualified_name: a for a in scanned(run.data_source).select_related("parent")}
    assert {name: (a.parent.qualified_name if a.parent else None) for name, a in assets.items()} == {
        "db": f"{run.data_source.name}/",  # the source's own asset (catalog.source_assets)
        "db.s": "db", "db.s.people": "db.s", "db.s.people.id": "db.s.people",
        "db.s.people.a": "db.s.people", "db.s.people.b": "db.s.people", "db.s.people.c": "db.s.people"}


def test_hostile_names_get_the_canonical_qualified_name(running):
    run = running()
    odd = ("Order Items", 'x"; DROP TABLE t; --', "a.b", "", "tab\tbed", "non\u00a0breaking", "顧客")
    objects = [SchemaObject(kind="database", path=("db",)), SchemaObject(kind="schema", path=("db", "s"))]
    objects += [SchemaObject(kind="table", path=("db", "s", name)) for name in odd]
    objects += [SchemaObject(kind="column", path=("db", "s", name, name)) for name in odd]
    apply_all(run, objects, batch=3)
    assert sorted(scanned(run.data_source).values_list("qualified_name", flat=True)) == \
        sorted(qualified_name(obj.path) for obj in objects)


def test_changed_type_records_the_field_diff_and_moves_changed_at(running):
    first = running()
    apply_all(first, stream())
    succeed(first)
    before = Asset.objects.get(data_source=first.data_source, qualified_name="db.s.people.email")
    second = running(first.data_source)
    sync = apply_all(second, stream(data_type="varchar(10)"))
    after = Asset.objects.get(pk=before.pk)
    assert after.data_type == "varchar(10)" and after.changed_at > before.changed_at
    assert list(AssetChange.objects.filter(run=second).values_list("asset__qualified_name", "kind", "changes")) == [
        ("db.s.people.id", "changed", {"data_type": ["text", "varchar(10)"]}),
        ("db.s.people.email", "changed", {"data_type": ["text", "varchar(10)"]})]
    assert sync.counts == {"added": 0, "changed": 2, "removed": 0, "unchanged": 3}
    assert sync.tables_to_sample == {before.parent_id}


def test_fingerprint_that_moved_without_a_field_change_is_refreshed_quietly(running):
    first = running()
    apply_all(first, stream())
    succeed(first)
    scanned(first.data_source).update(fingerprint="0" * 64)
    stamps = dict(scanned(first.data_source).values_list("pk", "changed_at"))
    second = running(first.data_source)
    sync = apply_all(second, stream())
    assert not AssetChange.objects.filter(run=second).exists()
    assert sync.counts["unchanged"] == len(stream())
    assert dict(scanned(first.data_source).values_list("pk", "changed_at")) == stamps
    assert set(scanned(first.data_source).values_list("fingerprint", flat=True)) == \
        {obj.fingerprint() for obj in stream()}


def test_row_estimate_that_moved_a_lot_is_refreshed_without_drift(running):
    first = running()
    apply_all(first, stream(estimate=100))
    succeed(first)
    second = running(first.data_source)
    apply_all(second, stream(estimate=105))  # 5%: not worth a write
    succeed(second)
    table = Asset.objects.get(data_source=first.data_source, qualified_name="db.s.people")
    assert table.row_count == 100
    third = running(first.data_source)
    apply_all(third, stream(estimate=500))
    table.refresh_from_db()
    assert table.row_count == 500
    assert not AssetChange.objects.filter(run__in=[second, third]).exists()


def test_cancelled_run_rolls_back_its_current_batch(running):
    run = running()
    objects = stream(columns=("id", "a", "b", "c"))
    sync = CatalogSync(run)
    sync.apply(objects[:3])
    ScanRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    with pytest.raises(RunStopped):
        sync.apply(objects[3:])
    assert sorted(scanned(run.data_source).values_list("qualified_name", flat=True)) == \
        ["db", "db.s", "db.s.people"]
    run.refresh_from_db()
    assert (run.added, run.objects_seen) == (3, 3)  # the counters of the committed batch only


def test_object_repeated_in_a_later_batch_is_applied_once(running):
    run = running()
    objects = stream(columns=("id", "a", "b", "c"))
    sync = apply_all(run, [*objects, objects[3], objects[2]], batch=3)  # the table and a column, batches later
    assert scanned(run.data_source).count() == len(objects)
    assert sync.counts == {"added": len(objects), "changed": 0, "removed": 0, "unchanged": 0}


def test_removed_objects_are_found_across_pages(running, monkeypatch):
    monkeypatch.setattr(sync_module, "REMOVAL_PAGE", 2)
    first = running()
    apply_all(first, stream(columns=("id", "a", "b", "c", "d", "e")))
    succeed(first)
    second = running(first.data_source)
    sync = apply_all(second, [obj for obj in stream(columns=("id", "a", "b", "c", "d", "e")) if obj.name not in "abde"])
    assert sync.counts == {"added": 0, "changed": 0, "removed": 4, "unchanged": 5}
    assert sorted(AssetChange.objects.filter(run=second).values_list("asset__qualified_name", "kind")) == [
        (f"db.s.people.{name}", "removed") for name in "abde"]
    assert set(Asset.objects.filter(data_source=first.data_source, removed_at__isnull=False)
               .values_list("name", flat=True)) == set("abde")


def test_rescan_in_another_order_finds_every_known_asset(running):
    first = running()
    objects = [obj for t in range(3) for obj in stream(columns=("id", "a", "b"), table=f"t{t}")[2 if t else 0:]]
    apply_all(first, objects, batch=4)
    succeed(first)
    tables = [obj for obj in objects if obj.kind == "table"][::-1]
    columns = sorted((obj for obj in objects if obj.kind == "column"), key=lambda obj: (obj.name, obj.path))
    reordered = [*objects[:2], *tables, *(obj for obj in columns if obj.path != ("db", "s", "t1", "a"))]
    second = running(first.data_source)
    sync = apply_all(second, reordered, batch=4)
    assert sync.counts == {"added": 0, "changed": 0, "removed": 1, "unchanged": len(objects) - 1}
    assert list(AssetChange.objects.filter(run=second).values_list("asset__qualified_name", "kind")) == [
        ("db.s.t1.a", "removed")]


def test_column_whose_parent_link_is_missing_is_found_by_name(running):
    first = running()
    apply_all(first, stream())
    succeed(first)
    Asset.objects.filter(data_source=first.data_source, qualified_name="db.s.people.email").update(parent=None)
    second = running(first.data_source)
    sync = apply_all(second, stream())
    assert sync.counts == {"added": 0, "changed": 0, "removed": 0, "unchanged": len(stream())}


def test_seen_ids_remember_any_key_once():
    seen = SeenIds()
    assert [seen.add(pk) for pk in (1000, 1003, 1000, 17, 5000, 17)] == [True, True, False, True, True, False]
    assert {pk for pk in range(0, 6000) if pk in seen} == {17, 1000, 1003, 5000}


# -- memory: a rescan's working set does not grow with the source ---------------------------------------------------

def wide_stream(tables: int, columns: int = 3) -> Iterator[SchemaObject]:
    """A source of ``tables`` tables of ``columns`` columns, made as it is read (the stream holds nothing)."""
    yield SchemaObject(kind="database", path=("db",))
    yield SchemaObject(kind="schema", path=("db", "s"))
    for t in range(tables):
        yield SchemaObject(kind="table", path=("db", "s", f"table_{t:05d}"), properties={"primary_key": ["c00"]})
    for t in range(tables):
        for c in range(columns):
            yield SchemaObject(kind="column", path=("db", "s", f"table_{t:05d}", f"c{c:02d}"), data_type="text",
                               is_nullable=True, ordinal=c + 1, properties={"primary_key": c == 0})


def read_in_batches(sync: CatalogSync, objects: Iterator[SchemaObject], size: int = 200) -> None:
    while batch := list(islice(objects, size)):
        sync.apply(batch)
    sync.finish()


def rescan_peak_bytes(running, tables: int) -> int:
    """Peak of the memory allocated while a source of ``tables`` tables is rescanned, its first table dropped."""
    first = running()
    read_in_batches(CatalogSync(first), wide_stream(tables))
    succeed(first)
    rescan = running(first.data_source)
    objects = (obj for obj in wide_stream(tables) if "table_00000" not in obj.path)
    tracemalloc.start()
    try:
        sync = CatalogSync(rescan)
        read_in_batches(sync, objects)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sync.counts["removed"] == 4 and sync.counts["unchanged"] == (tables - 1) * 4 + 2
    return peak


def test_rescan_memory_does_not_grow_with_the_source(running):
    small = rescan_peak_bytes(running, tables=400)  # 1,602 objects
    large = rescan_peak_bytes(running, tables=1600)  # 6,402 objects
    # Holding every known asset in memory costs about 0.6 KB per object: 2.9 MB more for the larger source. The
    # bound is absolute: a ratio of two peaks of ~0.4 MB flaked on a few KB of allocator noise under parallel runs.
    assert large - small < 1_000_000, (small, large)
