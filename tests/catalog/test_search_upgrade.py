"""Assets that predate the search index (catalog.search_upgrade): ``migrate`` indexes a small catalog's by itself
and says to run ``search_reindex`` past ``AUTO_INDEX_LIMIT``; the ``catalog.W001`` check warns while any present
asset has no search document. (Factories write assets straight to the database, without documents: as an
installation upgraded from before search has them.)"""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.checks import Tags, run_checks
from django.core.management import call_command
from django.utils import timezone

from catalog import search_upgrade
from catalog.models import Asset, AssetSearchDocument
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.catalog.search_support import found

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_assets(world):
    """Three present columns and a removed one of workspace A, none with a search document."""
    source = DataSourceFactory(workspace=world.workspace_a, name="legacy")
    present = [AssetFactory(data_source=source, type=Asset.Type.COLUMN, name=name,
                            qualified_name=f"legacy.public.customers.{name}")
               for name in ("customer_email", "customer_phone", "order_total")]
    AssetFactory(data_source=source, type=Asset.Type.COLUMN, name="gone_email", removed_at=timezone.now(),
                 qualified_name="legacy.public.customers.gone_email")
    assert not AssetSearchDocument.objects.exists()
    return present


def warnings() -> list[str]:
    return [message.id for message in run_checks(tags=[Tags.database], databases=["default"])
            if message.id.startswith("catalog.")]


def test_migrate_indexes_a_small_catalogs_existing_assets(world, old_assets):
    steward = world.user("steward")
    assert found(steward, "customer email") == []
    assert warnings() == ["catalog.W001"]
    out = StringIO()
    call_command("migrate", verbosity=1, stdout=out)
    assert "Indexed 3 existing assets for search." in out.getvalue()
    assert set(AssetSearchDocument.objects.values_list("asset_id", flat=True)) == {a.pk for a in old_assets}
    assert found(steward, "customer email")[0] == "legacy.public.customers.customer_email"
    assert found(steward, "custmer_emial") == ["legacy.public.customers.customer_email"]  # the vocabulary too
    assert warnings() == []
    out = StringIO()
    call_command("migrate", verbosity=1, stdout=out)  # nothing left to index: nothing said
    assert "Indexed" not in out.getvalue() and "search_reindex" not in out.getvalue()


def test_past_the_limit_migrate_indexes_nothing_and_says_to_reindex(world, old_assets, monkeypatch):
    monkeypatch.setattr(search_upgrade, "AUTO_INDEX_LIMIT", 2)
    out = StringIO()
    call_command("migrate", verbosity=1, stdout=out)
    assert ("More than 2 assets have no search document, so search does not find them yet: run "
            "`python manage.py search_reindex`") in out.getvalue()
    assert not AssetSearchDocument.objects.exists()
    [warning] = run_checks(tags=[Tags.database], databases=["default"], include_deployment_checks=False)
    assert (warning.id, warning.msg) == ("catalog.W001", "more than 2 assets have no search document: search "
                                                         "does not find them.")
    assert "search_reindex" in warning.hint
    call_command("search_reindex", stdout=StringIO())
    assert warnings() == []
    assert found(world.user("steward"), "order total") == ["legacy.public.customers.order_total"]


def test_the_check_reads_no_database_unless_asked_and_nothing_after_unapplying(world, old_assets):
    assert search_upgrade.check_search_index(databases=None) == []
    search_upgrade.post_migrate_index(None, using="default", stdout=StringIO(), plan=[(object(), True)])
    assert not AssetSearchDocument.objects.exists()
