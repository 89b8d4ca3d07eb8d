"""``POST /data-sources/{id}/scan/``: scanning's action on a data source (queue a run of its default scan)."""
import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from accounts.actors import SYSTEM
from scanning import services
from scanning.models import Scan, ScanRun
from tests.catalog.factories import DataSourceFactory, ScanFactory, ScanRunFactory
from tests.sources.test_api_datasource import make_shop, sqlite_source
from tests.support.permission_matrix import PermissionMatrix, table


class TestDataSourceScanMatrix(PermissionMatrix):
    basename = "datasource-scan"
    expected = table(
        "scan_a scan_b",
        anonymous=           "401 401",
        outsider=            "403 403",
        analyst=             "403 404",
        steward=             "202 404",
        workspace_admin=     "202 404",
        auditor=             "403 403",
        other_workspace_user="404 202",
        staff_unverified=    "403 403",
        superuser=           "202 202",
    )

    def objects(self, world):
        return (sqlite_source(world.workspace_a, "var/sources/absent-a.sqlite3"),
                sqlite_source(world.workspace_b, "var/sources/absent-b.sqlite3"))


@pytest.fixture
def sources_dir(tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    return tmp_path


def _url(source, action=None):
    if action == "scan":
        return reverse("api:datasource-scan-run", args=[source.pk])
    return reverse("api:datasource-detail", args=[source.pk])


def test_scan_now_queues_api_run_and_second_request_is_409_naming_it(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    client = world.client("steward")
    response = client.post(_url(source, "scan"))
    assert response.status_code == 202, response.content
    run = response.json()
    assert run["status"] == "queued" and run["trigger"] == "api" and run["requested_by"] == "steward"
    assert Scan.objects.get(data_source=source).name == "Manual"
    again = client.post(_url(source, "scan"))
    assert again.status_code == 409
    assert again["Content-Type"].startswith("application/problem+json")
    assert again.json()["run"] == run["id"]
    assert ScanRun.objects.filter(data_source=source).count() == 1


def test_scan_now_by_analyst_is_403_and_creates_no_scan(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    assert world.client("analyst").post(_url(source, "scan")).status_code == 403
    assert not Scan.objects.filter(data_source=source).exists()


def test_scan_now_uses_existing_scan(world):
    scan = ScanFactory(data_source__workspace=world.workspace_a)
    response = world.client("steward").post(_url(scan.data_source, "scan"))
    assert response.status_code == 202
    assert response.json()["scan"] == scan.pk


def test_scan_now_in_embedded_mode_scans_the_source(world, sources_dir, django_capture_on_commit_callbacks):
    source = sqlite_source(world.workspace_a, make_shop(sources_dir / "shop.sqlite3"))
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("steward").post(_url(source, "scan"))
    assert response.status_code == 202
    run = ScanRun.objects.get(pk=response.json()["id"])
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    assert source.assets.filter(qualified_name__endswith="customers.email").exists()


def test_delete_removes_beat_entries_of_its_scans(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    services.scan_create(data_source=source, acting_user=SYSTEM, name="Nightly", schedule="0 2 * * *")
    assert PeriodicTask.objects.filter(name__startswith="racine: scan").count() == 1
    assert world.client("workspace_admin").delete(_url(source)).status_code == 204
    assert not PeriodicTask.objects.filter(name__startswith="racine: scan").exists()


def test_active_run_of_another_source_does_not_block_scan_now(world):
    ScanRunFactory(scan__data_source__workspace=world.workspace_b, status=ScanRun.Status.RUNNING)
    source = DataSourceFactory(workspace=world.workspace_a)
    response = world.client("steward").post(_url(source, "scan"))
    assert response.status_code == 202
