import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from scanning.models import AssetChange, ScanRun
from tests.catalog.factories import AssetChangeFactory, ScanRunFactory
from tests.support.permission_matrix import PermissionMatrix, table

COLUMNS = "list retrieve_a retrieve_b cancel_a cancel_b changes_a changes_b"


class TestScanRunMatrix(PermissionMatrix):
    basename = "scanrun"
    # Cancelling is checked on the run's scan in the service (run_scan): visible-but-not-allowed is 403.
    expected = table(
        COLUMNS,
        anonymous=           "401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403",
        analyst=             "200 200 404 403 404 200 404",
        steward=             "200 200 404 200 404 200 404",
        workspace_admin=     "200 200 404 200 404 200 404",
        auditor=             "200 200 200 403 403 200 200",
        other_workspace_user="200 404 200 404 200 404 200",
        staff_unverified=    "403 403 403 403 403 403 403",
        superuser=           "200 200 200 200 200 200 200",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB",
               "other_workspace_user": "B", "superuser": "AB"}

    def objects(self, world):
        return (ScanRunFactory(scan__data_source__workspace=world.workspace_a, status=ScanRun.Status.QUEUED),
                ScanRunFactory(scan__data_source__workspace=world.workspace_b, status=ScanRun.Status.QUEUED))


def _url(run=None, action=None):
    if run is None:
        return reverse("api:scanrun-list")
    return reverse(f"api:scanrun-{action or 'detail'}", args=[run.pk])


def test_cancel_of_queued_run_cancels_it_at_once(world):
    run = ScanRunFactory(scan__data_source__workspace=world.workspace_a, status=ScanRun.Status.QUEUED)
    response = world.client("steward").post(_url(run, "cancel"))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled" and response.json()["finished_at"]
    assert AuditEvent.objects.filter(event="scan_run.cancelled", object_id=str(run.pk)).exists()


def test_cancel_of_running_run_asks_it_to_stop(world):
    run = ScanRunFactory(scan__data_source__workspace=world.workspace_a, status=ScanRun.Status.RUNNING)
    response = world.client("steward").post(_url(run, "cancel"))
    assert response.status_code == 200
    assert response.json()["status"] == "running" and response.json()["cancel_requested"] is True


@pytest.mark.parametrize("status", [ScanRun.Status.SUCCEEDED, ScanRun.Status.FAILED, ScanRun.Status.CANCELLED])
def test_cancel_of_finished_run_is_409(world, status):
    run = ScanRunFactory(scan__data_source__workspace=world.workspace_a, status=status)
    response = world.client("steward").post(_url(run, "cancel"))
    assert response.status_code == 409
    assert response.json()["code"] == "run_not_cancellable"
    run.refresh_from_db()
    assert run.status == status


def test_run_shows_progress_counters_and_duration(world):
    run = ScanRunFactory(scan__data_source__workspace=world.workspace_a, status=ScanRun.Status.RUNNING,
                         phase="schema", progress_done=250, progress_total=1000, added=3, changed=2, unchanged=245,
                         requested_by=world.user("steward"))
    body = world.client("analyst").get(_url(run)).json()
    assert body["progress_percent"] == 25.0 and body["phase"] == "schema"
    assert (body["added"], body["changed"], body["removed"], body["unchanged"]) == (3, 2, 0, 245)
    assert body["requested_by"] == "steward" and body["duration_s"] >= 0 and body["error"] == ""


def test_scheduled_run_has_no_requester(world):
    run = ScanRunFactory(scan__data_source__workspace=world.workspace_a, status=ScanRun.Status.QUEUED,
                         trigger=ScanRun.Trigger.SCHEDULE, requested_by=None)
    assert world.client("analyst").get(_url(run)).json()["requested_by"] is None


def test_first_run_has_no_percent(world):
    run = ScanRunFactory(scan__data_source__workspace=world.workspace_a, status=ScanRun.Status.RUNNING,
                         progress_done=10, progress_total=None)
    assert world.client("analyst").get(_url(run)).json()["progress_percent"] is None


def test_changes_lists_the_run_drift_paginated_and_filtered(world):
    run = ScanRunFactory(scan__data_source__workspace=world.workspace_a)
    added = [AssetChangeFactory(run=run) for _ in range(3)]
    changed = AssetChangeFactory(run=run, kind=AssetChange.Kind.CHANGED, changes={"data_type": ["int", "bigint"]})
    AssetChangeFactory(run=ScanRunFactory(scan__data_source__workspace=world.workspace_a))  # another run's
    client = world.client("analyst")
    body = client.get(_url(run, "changes") + "?page_size=2").json()
    assert body["count"] == 4 and len(body["results"]) == 2 and body["next"]
    assert [row["id"] for row in body["results"]] == [added[0].pk, added[1].pk]
    body = client.get(_url(run, "changes") + "?kind=changed").json()
    assert [row["id"] for row in body["results"]] == [changed.pk]
    assert body["results"][0]["changes"] == {"data_type": ["int", "bigint"]}
    assert body["results"][0]["qualified_name"] == changed.asset.qualified_name
    assert client.get(_url(run, "changes") + f"?asset={added[2].asset_id}").json()["count"] == 1


def test_changes_with_invalid_filter_is_400(world):
    run = ScanRunFactory(scan__data_source__workspace=world.workspace_a)
    assert world.client("analyst").get(_url(run, "changes") + "?kind=exploded").status_code == 400


@pytest.mark.parametrize("query", ["?data_source={source}", "?scan={scan}", "?status=queued"])
def test_filters_never_reveal_other_workspace(world, query):
    theirs = ScanRunFactory(scan__data_source__workspace=world.workspace_b, status=ScanRun.Status.QUEUED)
    mine = ScanRunFactory(scan__data_source__workspace=world.workspace_a, status=ScanRun.Status.QUEUED)
    response = world.client("steward").get(_url() + query.format(source=theirs.data_source_id, scan=theirs.scan_id))
    ids = {row["id"] for row in response.json()["results"]}
    assert theirs.pk not in ids
    if query == "?status=queued":
        assert ids == {mine.pk}


def test_status_filter_selects_runs(world):
    failed = ScanRunFactory(scan__data_source__workspace=world.workspace_a, status=ScanRun.Status.FAILED,
                            error="Connection refused")
    ScanRunFactory(scan__data_source__workspace=world.workspace_a)
    body = world.client("analyst").get(_url() + "?status=failed").json()
    assert [row["id"] for row in body["results"]] == [failed.pk]
    assert body["results"][0]["error"] == "Connection refused"
