"""Deleting a data source in the admin: what the service authorises, with its runs, assets and classifications."""
import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from catalog.models import Asset, AssetClassification
from scanning.models import ScanRun
from sources.models import DataSource
from tests.catalog.classification_factories import ClassificationFactory
from tests.catalog.factories import AssetFactory, DataSourceFactory, ScanRunFactory
from tests.scanning.test_admin import staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanned_source(world):
    source = DataSourceFactory(workspace=world.workspace_a, name="Alpha shop")
    ScanRunFactory(scan__data_source=source)
    column = AssetFactory(data_source=source, type=Asset.Type.COLUMN)
    AssetClassification.objects.create(asset=column, classification=ClassificationFactory(name="TEST.EMAIL"))
    return source


@pytest.mark.parametrize("persona", ["superuser", "workspace_admin"])
def test_a_scanned_source_is_deleted_with_its_runs_and_classifications(world, scanned_source, persona):
    # Regression: the admin refused ("your account doesn't have permission to delete … asset classification, scan
    # run") for everyone, superusers included, because those have no delete of their own in the admin.
    client = staff(world, persona)
    url = reverse("admin:sources_datasource_delete", args=[scanned_source.pk])
    assert "Cannot delete" not in client.get(url).content.decode()
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not DataSource.objects.filter(pk=scanned_source.pk).exists()
    assert not ScanRun.objects.filter(data_source=scanned_source.pk).exists()
    assert not AssetClassification.objects.filter(asset__data_source=scanned_source.pk).exists()
    assert AuditEvent.objects.filter(event="datasource.deleted", object_id=str(scanned_source.pk)).exists()


@pytest.mark.parametrize("persona", ["steward", "analyst", "other_workspace_user"])
def test_who_may_not_delete_the_source_still_cannot(world, scanned_source, persona):
    client = staff(world, persona)
    url = reverse("admin:sources_datasource_delete", args=[scanned_source.pk])
    client.post(url, {"post": "yes"})
    assert DataSource.objects.filter(pk=scanned_source.pk).exists()
