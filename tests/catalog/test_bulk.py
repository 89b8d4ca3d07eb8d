"""catalog.bulk.AssetWriter: the asset table's bulk reads and writes that scans use (COPY and unnest on
PostgreSQL, the ORM's bulk operations elsewhere), checked on whichever database the suite runs on."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.bulk import AssetWriter, NewAsset, scanned_values
from catalog.models import Asset
from sources.connectors import SchemaObject, qualified_name
from tests.catalog.factories import DataSourceFactory

pytestmark = pytest.mark.django_db

SHOP = [SchemaObject("database", ("shop",)), SchemaObject("schema", ("shop", "main")),
        SchemaObject("table", ("shop", "main", "orders"), row_estimate=10),
        *(SchemaObject("column", ("shop", "main", "orders", name), data_type="integer", ordinal=at)
          for at, name in enumerate(("id", "total", "customer_id"), start=1))]


def _new(objects):
    return [NewAsset(obj.qualified_name, qualified_name(obj.parent_path) if obj.parent_path else None, obj)
            for obj in objects]


def test_a_tree_is_inserted_in_a_few_statements_with_parents_linked():
    source = DataSourceFactory()
    writer = AssetWriter(data_source_id=source.pk, now=timezone.now())
    pks = {}
    with CaptureQueriesContext(connection) as queries:
        new_pks = writer.insert(_new(SHOP), pks)
    # The sequence and one COPY on PostgreSQL, one INSERT per tree level (four) on the ORM path; then the search
    # documents' refresh (catalog.search: one statement on PostgreSQL, three on SQLite); and the source's own
    # asset, the root the databases hang from, ensured once per call (catalog.source_assets: read, create with its
    # document, so a second refresh). SQLite's count is PostgreSQL's plus 2 inserts and 2 × 2 refresh statements.
    assert len(queries) <= (16 if connection.vendor == "postgresql" else 22)
    columns = Asset.objects.filter(data_source=source, type="column")
    assert {column.parent_id for column in columns} == {pks["shop.main.orders"]}
    assert sorted(new_pks) == sorted(Asset.objects.filter(data_source=source).exclude(type="source")
                                     .values_list("pk", flat=True))  # the source's own asset is not the tree's
    known = writer.read(["shop.main.orders"], tables=["shop.main.orders"])
    assert set(known) == {"shop.main.orders", *(f"shop.main.orders.{name}" for name in ("id", "total", "customer_id"))}
    assert known["shop.main.orders"].row_count == 10 and not known["shop.main.orders"].removed


def test_changes_fields_and_removals_are_written_in_bulk():
    source = DataSourceFactory()
    writer = AssetWriter(data_source_id=source.pk, now=timezone.now())
    pks = {}
    writer.insert(_new(SHOP), pks)
    total = pks["shop.main.orders.total"]
    changed = SchemaObject("column", ("shop", "main", "orders", "total"), data_type="numeric(10,2)", ordinal=2)
    writer.mark_removed([total])
    assert total not in set(writer.live_pks(page=2))
    writer.write_changed([(total, scanned_values(changed), changed)])
    writer.write_fields(["row_count"], [(pks["shop.main.orders"], 5000)])

    row = Asset.objects.get(pk=total)
    assert (row.data_type, row.removed_at, row.fingerprint) == ("numeric(10,2)", None, changed.fingerprint())
    assert Asset.objects.get(pk=pks["shop.main.orders"]).row_count == 5000
    assert writer.census(since=timezone.now()) == (len(SHOP), len(SHOP))
