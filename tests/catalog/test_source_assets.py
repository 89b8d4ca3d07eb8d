"""A data source's own asset (catalog.source_assets; issue 13, item 1 "curation on every asset … source"): it follows
its source through the outbox (created, renamed, deleted with it) and through scans (the parent of the databases a
scan writes, never counted, compared or marked removed by one); stewards curate it through the same services, API
and admin as a table, every change audited; search, bulk curation, the inventory and the permission rule treat it
as any asset."""
from __future__ import annotations

import json
import sqlite3

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import asset_curation, curation
from catalog.models import Asset, AssetCertification, AssetSearchDocument
from catalog.selectors import asset_search
from catalog.services import asset_sensitivity_recompute
from catalog.source_assets import source_asset_ensure, source_qualified_name
from core.events import dispatch
from core.models import Event
from scanning.models import AssetChange, ScanRun
from scanning.services.detection import detection_plan
from sources import services as source_services
from tests.catalog import test_api_curation
from tests.catalog.classification_factories import AssetClassificationFactory, asset_tree, builtin
from tests.catalog.curation_factories import TagFactory
from tests.catalog.factories import DataSourceFactory
from tests.support.personas import staff_client
from tests.support.target_dbs import run_scan, schema_only_rule_set

pytestmark = pytest.mark.django_db


def _root(source) -> Asset | None:
    return Asset.objects.filter(data_source=source, type=Asset.Type.SOURCE).first()


def _shop(workspace, name="Shop"):
    """A source with a table of three columns, and its asset (the database adopted by it)."""
    source = DataSourceFactory(workspace=workspace, name=name)
    database, _, table, columns = asset_tree(source, columns={"email": "text", "city": "text", "id": "integer"})
    root = source_asset_ensure(data_source=source)
    database.refresh_from_db()
    return source, root, database, table, columns


# --- following the data source ----------------------------------------------------------------------------------

def test_the_asset_is_made_renamed_and_deleted_with_its_source_through_the_outbox(world):
    # The events are delivered by the dispatcher (core.events.dispatch: what the task sent on commit, or the
    # periodic sweep, runs), inside this test's one transaction.
    source = source_services.datasource_create(workspace=world.workspace_a, acting_user=world.user("steward"),
                                               name="HR warehouse", engine="postgresql", host="hr.example.test")
    assert _root(source) is None  # not before the event is delivered
    dispatch()
    root = _root(source)
    assert (root.name, root.qualified_name, root.parent_id) == ("HR warehouse", "HR warehouse/", None)
    assert AssetSearchDocument.objects.get(asset=root).name == "HR warehouse"

    source_services.datasource_update(data_source=source, acting_user=world.user("steward"), host="other.test")
    assert not Event.objects.filter(name="datasource.renamed").exists()  # only a new name is news to the catalog
    source_services.datasource_update(data_source=source, acting_user=world.user("steward"), name="People")
    dispatch()
    dispatch()  # delivered at least once: a second delivery changes nothing
    root.refresh_from_db()
    assert (root.name, root.qualified_name) == ("People", "People/")
    assert AssetSearchDocument.objects.get(asset=root).qualified_name == "People/"
    assert Asset.objects.filter(data_source=source, type=Asset.Type.SOURCE).count() == 1
    assert set(Event.objects.values_list("status", flat=True)) == {Event.Status.DELIVERED}

    source_services.datasource_delete(data_source=source, acting_user=world.user("workspace_admin"))
    assert not Asset.objects.filter(pk=root.pk).exists()


def test_ensuring_twice_leaves_one_asset_and_writes_nothing_the_second_time(world):
    source, root, database, _, _ = _shop(world.workspace_a)
    assert database.parent_id == root.pk
    with CaptureQueriesContext(connection) as queries:
        again = source_asset_ensure(data_source=source)
    assert again.pk == root.pk and Asset.objects.filter(type=Asset.Type.SOURCE, data_source=source).count() == 1
    statements = [query["sql"].lstrip().upper() for query in queries.captured_queries]
    assert not [sql for sql in statements if sql.startswith(("INSERT", "UPDATE", "DELETE"))], statements


def test_a_source_name_cannot_clash_with_a_database_called_like_it(world):
    """A PostgreSQL source is often named like its database: the root's qualified name is not a scanned name."""
    source = DataSourceFactory(workspace=world.workspace_a, name="shop", database="shop")
    database, _, _, _ = asset_tree(source)
    root = source_asset_ensure(data_source=source)
    assert database.qualified_name == "shop" and root.qualified_name == source_qualified_name("shop") == "shop/"


def test_the_source_is_as_sensitive_as_its_most_sensitive_database(world):
    source, root, _, _, columns = _shop(world.workspace_a)
    AssetClassificationFactory(asset=columns["email"], classification=builtin("PII.EMAIL"), status="confirmed")
    asset_sensitivity_recompute(asset_ids=[columns["email"].pk])
    root.refresh_from_db()
    assert root.sensitivity == builtin("PII.EMAIL").sensitivity != ""


# --- scans --------------------------------------------------------------------------------------------------------

@pytest.fixture
def scanned_sqlite(tmp_path, settings, world):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    path = tmp_path / "hr.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT);")
    # Registered by factory: no datasource.created event, so the scan is the first to need the source's asset.
    source = DataSourceFactory(workspace=world.workspace_a, name="HR", engine="sqlite", database=str(path),
                               host="", port=None, username="", encrypted_secret="")
    return source, path, schema_only_rule_set(world.workspace_a)


def test_a_scan_puts_its_databases_under_the_source_and_never_removes_the_source(scanned_sqlite):
    source, path, rule_set = scanned_sqlite
    first = run_scan(source, rule_set=rule_set)
    assert first.status == ScanRun.Status.SUCCEEDED, first.error
    root = _root(source)
    databases = Asset.objects.filter(data_source=source, type=Asset.Type.DATABASE)
    assert databases.exists() and set(databases.values_list("parent_id", flat=True)) == {root.pk}
    assert not AssetChange.objects.filter(run=first).exists()  # still a baseline: the root is not a scanned asset
    assert first.added == Asset.objects.filter(data_source=source).exclude(type=Asset.Type.SOURCE).count()

    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE people")
        conn.execute("CREATE TABLE teams (id INTEGER PRIMARY KEY)")
    rescan = run_scan(source, rule_set=rule_set)
    assert rescan.status == ScanRun.Status.SUCCEEDED, rescan.error
    root.refresh_from_db()
    assert root.removed_at is None
    assert not AssetChange.objects.filter(asset=root).exists()
    assert AssetChange.objects.filter(run=rescan, kind=AssetChange.Kind.REMOVED).exists()


def test_detection_on_demand_of_a_source_reads_its_tables(world):
    _, root, _, table, _ = _shop(world.workspace_a)
    assert [(planned.pk, columns) for planned, columns in detection_plan([root])] == [(table.pk, None)]


# --- curation, as on any asset ----------------------------------------------------------------------------------

def test_a_steward_curates_a_source_through_the_asset_services_audited(world):
    source, root, _, _, _ = _shop(world.workspace_a)
    steward, gold = world.user("steward"), TagFactory(workspace=world.workspace_a, name="gold")
    asset_curation.asset_curation_set(
        asset=root, acting_user=steward, description="The **HR** replica.",
        owners=[{"owner_type": "technical", "user": world.user("analyst")}], tags=[gold],
        certification={"status": "certified", "note": "Reviewed.", "expires_at": None})
    events = set(AuditEvent.objects.filter(object_id=str(root.pk)).values_list("event", flat=True))
    assert {"asset.changed", "asset.owner_added", "asset.tag_added", "asset.certified"} <= events
    assert AssetCertification.objects.get(asset=root).certified_by == steward
    with pytest.raises(PermissionDenied):
        curation.asset_tag_remove(asset=root, tag=gold, acting_user=world.user("auditor"))
    # Owning the source's asset lets its owner curate it (the curation rule), and only it.
    assert curation.may_curate(world.user("analyst"), root)


def test_search_finds_a_source_by_its_tag_and_its_description(world):
    source, root, _, _, _ = _shop(world.workspace_a, name="Payroll warehouse")
    curation.asset_tag_add(asset=root, tag=TagFactory(workspace=world.workspace_a, name="goldsource"),
                           acting_user=SYSTEM)
    curation.asset_describe(asset=root, description="Salaries of every employee", acting_user=SYSTEM)
    steward = world.user("steward")
    by_tag = asset_search(user=steward, text="goldsource")
    assert [asset.pk for asset in by_tag[:10]] == [root.pk]
    assert {"value": "source", "count": 1} in [
        {"value": row["value"], "count": row["count"]} for row in by_tag.facets()["type"]]
    assert root.pk in [asset.pk for asset in asset_search(user=steward, text="salaries")[:10]]
    assert not list(asset_search(user=world.user("other_workspace_user"), text="goldsource")[:10])


def test_bulk_curation_selects_sources_by_type(world):
    roots = [_shop(world.workspace_a, name=name)[1] for name in ("One", "Two")]
    response = world.client("steward").post(
        reverse("api:assetcuration-bulk"), {"filters": {"type": "source"}, "certification": "certified"},
        format="json")
    assert response.status_code == 200, response.content
    assert response.json()["assets"] == 2 and response.json()["changed_ids"] == sorted(root.pk for root in roots)
    assert set(AssetCertification.objects.values_list("asset_id", flat=True)) == {root.pk for root in roots}
    assert AuditEvent.objects.filter(event="asset.certified", object_id__in=[str(r.pk) for r in roots]).count() == 2


def test_the_inventory_lists_the_owners_of_the_source_asset(world):
    source, root, _, _, columns = _shop(world.workspace_a)
    AssetClassificationFactory(asset=columns["email"], classification=builtin("PII.EMAIL"), status="confirmed")
    Asset.objects.filter(pk=columns["email"].pk).update(sensitivity="confidential")
    curation.asset_owner_add(asset=root, user=world.user("analyst"), owner_type="technical", acting_user=SYSTEM)
    group = world.user("steward").groups.create(name="HR team")
    curation.asset_owner_add(asset=root, group=group, owner_type="business", acting_user=SYSTEM)
    response = world.client("steward").get(reverse("api:asset-export") + "?format=json")
    assert response.status_code == 200
    rows = [row for row in json.loads(b"".join(response.streaming_content)) if row["id"] == columns["email"].pk]
    assert rows and rows[0]["owners"] == ["HR team (group)", "analyst"]


# --- the back office ----------------------------------------------------------------------------------------------

def test_the_data_source_page_shows_the_sources_curation_and_history(world):
    source, root, database, _, _ = _shop(world.workspace_a)
    curation.asset_certify(asset=root, status="certified", acting_user=world.user("steward"))
    url = reverse("admin:sources_datasource_change", args=[source.pk])
    html = staff_client(world, "steward").get(url).content.decode()
    assert 'id="asset-curation"' in html and 'id="edit-curation"' in html
    assert reverse("admin:catalog_sourceasset_curation", args=[root.pk]) in html
    assert 'id="asset-curation-history"' in html and "certified" in html
    assert 'id="asset-contents"' in html and database.name in html  # its databases
    analyst_html = staff_client(world, "analyst").get(url).content.decode()
    assert 'id="asset-curation"' in analyst_html and 'id="edit-curation"' not in analyst_html


def test_the_source_page_makes_a_missing_asset(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    html = staff_client(world).get(reverse("admin:sources_datasource_change", args=[source.pk])).content.decode()
    assert _root(source) is not None and 'id="asset-curation"' in html


def test_editing_a_sources_curation_returns_to_the_data_source_page(world):
    source, root, _, _, _ = _shop(world.workspace_a)
    client = staff_client(world, "steward")
    url = reverse("admin:catalog_sourceasset_curation", args=[root.pk])
    page = client.get(url)
    assert page.status_code == 200
    crumbs = page.content.decode().split('class="breadcrumbs asset-crumbs"')[1].split("</div>")[0]
    assert crumbs.count('data-crumb="source"') == 1  # the source once, not again as its own asset
    response = client.post(url, {"description": "Curated here.", "certification": "deprecated",
                                 "certification_note": "", "certification_expires_at": ""}, format="multipart")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:sources_datasource_change", args=[source.pk]) + "#asset-curation"
    root.refresh_from_db()
    assert root.description == "Curated here." and root.certification.status == "deprecated"
    assert staff_client(world, "analyst").get(url).status_code == 403


def test_a_source_assets_page_is_its_data_sources_and_the_list_curates_and_exports(world):
    source, root, _, _, columns = _shop(world.workspace_a)
    Asset.objects.filter(pk=columns["email"].pk).update(sensitivity="confidential")
    client = staff_client(world, "steward")
    page = client.get(reverse("admin:catalog_sourceasset_change", args=[root.pk]))
    assert page.status_code == 302
    assert page["Location"] == reverse("admin:sources_datasource_change", args=[source.pk])
    listing = reverse("admin:catalog_sourceasset_changelist")
    assert client.get(listing).status_code == 200
    export = client.post(listing, {"action": "export_inventory_csv", "index": 0, ACTION_CHECKBOX_NAME: [root.pk]},
                         format="multipart")
    assert export.status_code == 200
    body = b"".join(export.streaming_content).decode()
    assert columns["email"].qualified_name in body  # four levels under the source


class TestSourceAssetCurationMatrix(test_api_curation.TestAssetCurationMatrix):
    """The curation endpoints on sources' own assets answer every persona as on a table's."""

    def objects(self, world):
        roots = tuple(source_asset_ensure(data_source=DataSourceFactory(workspace=workspace))
                      for workspace in (world.workspace_a, world.workspace_b))
        self.asset_a = roots[0].pk
        return roots

