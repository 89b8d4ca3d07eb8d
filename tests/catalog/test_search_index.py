"""The search documents a scan's writer builds from what it holds (catalog.search.documents_add) are the documents a
refresh reads from the catalog (catalog.search.documents_refresh), field for field, whatever the depth of the
tree and wherever the parents come from; its vocabulary sends each word once and forgets a rolled-back batch's —
on SQLite and, with DATABASE_URL, on PostgreSQL."""
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import search
from catalog.bulk import AssetWriter, NewAsset
from catalog.models import Asset, AssetSearchDocument, SearchWord
from sources.connectors import SchemaObject, qualified_name
from tests.catalog.factories import DataSourceFactory
from tests.catalog.search_support import matches

pytestmark = pytest.mark.django_db


def insert(writer: AssetWriter, objects: list[SchemaObject], pks: dict[str, int]) -> list[int]:
    return writer.insert([NewAsset(obj.qualified_name, qualified_name(obj.parent_path) if obj.parent_path else None,
                                   obj) for obj in objects], pks)


def documents(source_id: int) -> dict[int, tuple]:
    """Every document of the source, with its searched text as the database holds it."""
    rows = {row[0]: row for row in AssetSearchDocument.objects.filter(data_source_id=source_id).values_list(
        "asset_id", "data_source_id", "curated", "schema_id", "name", "qualified_name", "name_words")}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT asset_id, document::text FROM catalog_assetsearchdocument WHERE data_source_id = %s",
                           [source_id])
        else:
            cursor.execute(f"SELECT f.rowid, f.name || '|' || f.terms || '|' || f.labels || '|' || f.descriptions "
                           f"FROM {search.FTS_TABLE} f JOIN catalog_assetsearchdocument d ON d.asset_id = f.rowid "
                           "WHERE d.data_source_id = %s", [source_id])
        texts = dict(cursor.fetchall())
    return {pk: (*row, texts.get(pk)) for pk, row in rows.items()}


def test_a_scans_documents_are_what_a_refresh_reads_from_the_catalog():
    source = DataSourceFactory(database="erp")
    objects = [
        SchemaObject("database", ("erp",)),
        SchemaObject("schema", ("erp", "Sales")),
        SchemaObject("table", ("erp", "Sales", "customerOrders"), description="Orders, as the shop took them"),
        SchemaObject("column", ("erp", "Sales", "customerOrders", "HTTPServer_ID"), description="L'été — 100%"),
        SchemaObject("column", ("erp", "Sales", "customerOrders", "vatNumber"), description="x" * 700),
        SchemaObject("view", ("erp", "Sales", "open orders")),
        SchemaObject("column", ("erp", "Sales", "open orders", "total")),
        SchemaObject("table", ("erp", "flat_table")),  # no schema level: its documents name no schema
        SchemaObject("column", ("erp", "flat_table", "id")),
    ]
    pks: dict[str, int] = {}
    insert(AssetWriter(data_source_id=source.pk, now=timezone.now()), objects, pks)
    # A later run's writer adds a column to a table it did not insert: the table's schema is read, not known.
    later = SchemaObject("column", ("erp", "Sales", "customerOrders", "shippedAt"), description="When it left")
    pks_later = {objects[2].qualified_name: pks[objects[2].qualified_name]}
    insert(AssetWriter(data_source_id=source.pk, now=timezone.now()), [later], pks_later)

    written = documents(source.pk)
    assert len(written) == Asset.objects.filter(data_source=source).count() == len(objects) + 2  # and the source
    assert written[pks_later[later.qualified_name]][3] == pks[objects[1].qualified_name]
    assert written[pks[objects[-1].qualified_name]][3] is None
    search.documents_refresh(asset_ids=list(written))  # the same assets, read back from the catalog
    assert documents(source.pk) == written


def test_a_scan_sends_each_vocabulary_word_once_and_forgets_a_rolled_back_batch(django_capture_on_commit_callbacks):
    source = DataSourceFactory(database="crm")
    writer = AssetWriter(data_source_id=source.pk, now=timezone.now())
    pks: dict[str, int] = {}
    with django_capture_on_commit_callbacks(execute=True):  # each batch commits
        insert(writer, [SchemaObject("database", ("crm",)), SchemaObject("schema", ("crm", "main")),
                        SchemaObject("table", ("crm", "main", "contacts"))], pks)
    assert {"contacts", "main"} <= writer.vocabulary.added
    assert SearchWord.objects.filter(word="contacts").exists()
    column = SchemaObject("column", ("crm", "main", "contacts", "loyaltyTier"))

    class Stop(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Stop), transaction.atomic():
        insert(writer, [column], pks)
        raise Stop
    assert "loyalty" not in writer.vocabulary.added  # rolled back: not in the vocabulary either, so sent again
    assert not SearchWord.objects.filter(word="loyalty").exists()
    with django_capture_on_commit_callbacks(execute=True), CaptureQueriesContext(connection) as queries:
        insert(writer, [column], pks)
    assert SearchWord.objects.filter(word="loyalty").exists() and "loyalty" in writer.vocabulary.added
    sent = [query["sql"] for query in queries.captured_queries if "searchword" in query["sql"]]
    # Only the batch's words the earlier batches did not send: loyalty and tier, not main and contacts.
    assert len(sent) == 1
    assert sent[0].startswith("2 times") if connection.vendor == "sqlite" else \
        "loyalty" in sent[0] and "contacts" not in sent[0]


def test_a_search_right_after_a_scan_batch_finds_its_new_assets(world):
    source = DataSourceFactory(workspace=world.workspace_a, database="shop")
    objects = [SchemaObject("database", ("shop",)), SchemaObject("schema", ("shop", "public")),
               SchemaObject("table", ("shop", "public", "parcels")),
               SchemaObject("column", ("shop", "public", "parcels", "trackingCode"), description="Carrier's id")]
    insert(AssetWriter(data_source_id=source.pk, now=timezone.now()), objects, {})
    superuser = world.user("superuser")
    assert matches(superuser, "tracking_code") == [("trackingCode", "exact")]
    assert matches(superuser, "trackin") == [("trackingCode", "prefix")]
    assert matches(superuser, "carrier") == [("trackingCode", "description")]
    assert matches(superuser, "parcels")[0] == ("parcels", "exact")
