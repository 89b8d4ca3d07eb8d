"""The data migration that respells stored qualified names after names with reserved words, upper case and
backslashes became quoted: a catalog scanned before it keeps its assets (and their classifications) on the next
rescan."""
from __future__ import annotations

import importlib
import sqlite3

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from accounts.actors import SYSTEM
from catalog.models import Asset, AssetClassification
from scanning.models import AssetChange, ScanRun
from sources import services
from tests.catalog.classification_factories import AssetClassificationFactory
from tests.support.target_dbs import run_scan, scan_workspace, schema_only_rule_set

pytestmark = pytest.mark.django_db

AWKWARD = """
CREATE TABLE "Users" ("ID" INTEGER PRIMARY KEY, "Email" TEXT, "select" TEXT, "back\\slash" TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, "a.b" TEXT, "we""ird" TEXT, "prénom" TEXT);
"""


def _migration():
    """The migration module, found by name (its number may change when branches are merged)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    (app_label, name), = [key for key in loader.disk_migrations
                          if key[0] == "scanning" and key[1].endswith("_quote_qualified_names")]
    return importlib.import_module(f"scanning.migrations.{name}")


@pytest.fixture
def scanned(tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    path = tmp_path / "awkward.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(AWKWARD)
    workspace = scan_workspace()
    source = services.datasource_create(workspace=workspace, acting_user=SYSTEM, name="awkward", engine="sqlite",
                                        database=str(path))
    rule_set = schema_only_rule_set(workspace)
    assert run_scan(source, rule_set=rule_set).status == ScanRun.Status.SUCCEEDED
    return source, rule_set


def _names(source) -> dict[str, int]:
    # The scanned assets: the source's own asset (catalog.0014) came after this migration and is not a path.
    return dict(Asset.objects.filter(data_source=source).exclude(type="source").values_list("qualified_name", "pk"))


def test_scan_quotes_reserved_upper_case_and_backslash_parts(scanned):
    source, _ = scanned

    assert set(_names(source)) >= {'awkward.main."Users"."ID"', 'awkward.main."Users"."select"',
                                   'awkward.main."Users"."back\\slash"', 'awkward.main.orders."a.b"',
                                   'awkward.main.orders."we""ird"', 'awkward.main.orders."prénom"',
                                   "awkward.main.orders.id"}


def test_migration_respells_an_old_catalog_so_a_rescan_keeps_every_asset(scanned):
    source, rule_set = scanned
    migration = _migration()
    editor = connection.schema_editor(atomic=False)  # what RunPython hands the functions; only its connection is used
    current = _names(source)
    migration.unquote_names(apps, editor)  # the catalog as the earlier rule wrote it
    legacy = _names(source)
    assert 'awkward.main.Users.ID' in legacy and "awkward.main.Users.back\\slash" in legacy
    assert sorted(legacy.values()) == sorted(current.values())
    email = Asset.objects.get(data_source=source, qualified_name="awkward.main.Users.Email")
    classified = AssetClassificationFactory(asset=email)

    migration.quote_names(apps, editor)

    assert _names(source) == current
    rescan = run_scan(source, rule_set=rule_set)
    assert rescan.status == ScanRun.Status.SUCCEEDED, rescan.error
    assert not AssetChange.objects.filter(run=rescan).exists()
    assert _names(source) == current and not Asset.objects.filter(removed_at__isnull=False).exists()
    assert AssetClassification.objects.get(pk=classified.pk).asset.qualified_name == 'awkward.main."Users"."Email"'
