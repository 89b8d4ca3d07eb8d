"""Migration catalog.0014_source_assets on a database populated before it: every data source gets its own asset,
the parent of its databases, as sensitive as the most sensitive of them, holding the description and owners the
source held (as technical owners) before sources.0004 drops them; reversed, the sources get them back."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalog.models import Asset, AssetOwner, AssetSearchDocument
from catalog.source_assets import source_asset_ensure
from sources.models import DataSource

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("catalog", "0013_search_ranked_from_documents"), ("sources", "0003_datasource_openlineage_namespaces")]


def _migrate(targets=None):
    executor = MigrationExecutor(connection)
    return executor.migrate(targets or executor.loader.graph.leaf_nodes())


def _populate(apps) -> dict:
    """Two sources as they were: one described and owned, with two databases of different sensitivities (one
    removed, which does not count); one bare, never scanned."""
    User = apps.get_model("accounts", "User")
    owner, other = User.objects.create(username="owner"), User.objects.create(username="other")
    organization = apps.get_model("accounts", "Organization").objects.create(name="Org")
    workspace = apps.get_model("accounts", "Workspace").objects.create(organization=organization, name="HR",
                                                                       slug="hr")
    DataSource = apps.get_model("sources", "DataSource")
    hr = DataSource.objects.create(workspace=workspace, name="hr", engine="sqlite", database="/srv/hr.db",
                                   description="The **HR** replica.")
    hr.owners.set([owner, other])
    bare = DataSource.objects.create(workspace=workspace, name="Bare", engine="sqlite", database="/srv/bare.db")
    Asset = apps.get_model("catalog", "Asset")
    hr_db = Asset.objects.create(data_source=hr, type="database", qualified_name="hr", name="hr",
                                 sensitivity="internal")
    gone = Asset.objects.create(data_source=hr, type="database", qualified_name="old", name="old",
                                sensitivity="restricted", removed_at="2026-01-01T00:00:00Z")
    schema = Asset.objects.create(data_source=hr, type="schema", qualified_name="hr.main", name="main",
                                  parent=hr_db, sensitivity="internal")
    return {"hr": hr.pk, "bare": bare.pk, "databases": {hr_db.pk, gone.pk}, "schema": (schema.pk, hr_db.pk),
            "owners": {owner.pk, other.pk}}


def test_a_populated_catalog_gets_a_source_asset_per_source_and_back():
    rows = _populate(_migrate(BEFORE).apps)
    try:
        _migrate()

        hr, bare = DataSource.objects.get(pk=rows["hr"]), DataSource.objects.get(pk=rows["bare"])
        root = Asset.objects.get(data_source=hr, type=Asset.Type.SOURCE)
        assert (root.name, root.qualified_name, root.parent_id) == ("hr", "hr/", None)
        assert root.description == "The **HR** replica."
        assert root.sensitivity == "internal"  # the removed database's "restricted" does not count
        assert set(Asset.objects.filter(pk__in=rows["databases"]).values_list("parent_id", flat=True)) == {root.pk}
        schema, database = rows["schema"]
        assert Asset.objects.get(pk=schema).parent_id == database  # below the databases nothing moved
        owners = AssetOwner.objects.filter(asset=root)
        assert {owner.user_id for owner in owners} == rows["owners"]
        assert {owner.owner_type for owner in owners} == {AssetOwner.OwnerType.TECHNICAL}
        bare_root = Asset.objects.get(data_source=bare, type=Asset.Type.SOURCE)
        assert (bare_root.description, bare_root.owners.count(), bare_root.sensitivity) == ("", 0, "")
        # The search document comes with the next ensure (a scan, a rename, the source's page).
        assert not AssetSearchDocument.objects.filter(asset=root).exists()
        source_asset_ensure(data_source=hr)
        assert AssetSearchDocument.objects.get(asset=root).qualified_name == "hr/"

        old = _migrate(BEFORE).apps
        OldSource, OldAsset = old.get_model("sources", "DataSource"), old.get_model("catalog", "Asset")
        restored = OldSource.objects.get(pk=rows["hr"])
        assert restored.description == "The **HR** replica."
        assert set(restored.owners.values_list("pk", flat=True)) == rows["owners"]
        assert not OldAsset.objects.filter(type="source").exists()
        assert set(OldAsset.objects.filter(pk__in=rows["databases"]).values_list("parent_id", flat=True)) == {None}
    finally:
        _migrate()
