"""/api/v1/detections/: re-run detection ("detect again") on columns, tables or a source, as a run."""
import pytest
from django.urls import reverse

from scanning.models import ScanRun
from scanning.services import runs
from tests.catalog.factories import ScanFactory, ScanRunFactory
from tests.catalog.test_api_assetclassification import _classified
from tests.support.permission_matrix import PermissionMatrix, table


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(runs, "_enqueue", lambda run_id, detection: calls.append((run_id, detection)))
    return calls


class TestDetectionMatrix(PermissionMatrix):
    basename = "detection"
    expected = table(
        "create",
        anonymous=           "401",
        outsider=            "403",
        analyst=             "403",
        steward=             "202",
        workspace_admin=     "202",
        auditor=             "403",
        other_workspace_user="404",
        staff_unverified=    "403",
        superuser=           "202",
    )

    @pytest.fixture(autouse=True)
    def _no_detection_work(self, enqueued):
        """A detection only queues work; the matrix checks who may ask."""

    def objects(self, world):
        self.a, self.b = _classified(world.workspace_a), _classified(world.workspace_b)
        return self.a.asset, self.b.asset

    def payload(self, world, action):
        return {"assets": [self.a.asset_id]}


def test_detect_queues_a_detection_run_after_commit(world, enqueued, django_capture_on_commit_callbacks):
    row = _classified(world.workspace_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("steward").post(reverse("api:detection-list"),
                                                {"assets": [row.asset.parent_id, row.asset_id]}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["trigger"], body["scan"], body["data_source"]) == (
        "queued", "detection", None, row.asset.data_source_id)
    assert body["targets"] == sorted([row.asset.parent_id, row.asset_id]) and body["progress_total"] == 1
    assert enqueued == [(body["id"], True)]
    shown = world.client("steward").get(reverse("api:scanrun-detail", args=[body["id"]]))
    assert shown.status_code == 200 and shown.json()["targets"] == body["targets"]


def test_detect_on_missing_or_invisible_asset_is_404(world, enqueued):
    theirs = _classified(world.workspace_b)
    mine = _classified(world.workspace_a)
    for assets in ([999999], [mine.asset_id, theirs.asset_id]):
        response = world.client("steward").post(reverse("api:detection-list"), {"assets": assets},
                                                format="json")
        assert response.status_code == 404
    assert enqueued == [] and not ScanRun.objects.exists()


def test_detect_while_the_source_has_a_run_is_409_naming_it(world, enqueued):
    row = _classified(world.workspace_a)
    active = ScanRunFactory(scan=ScanFactory(data_source=row.asset.data_source), status=ScanRun.Status.RUNNING,
                            finished_at=None)
    response = world.client("steward").post(reverse("api:detection-list"),
                                            {"assets": [row.asset_id]}, format="json")
    assert response.status_code == 409 and response.json()["run"] == active.pk
    assert response["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("payload", [{}, {"assets": []}, {"assets": ["x"]}, {"assets": [0]}, {"asset": 1}])
def test_detect_with_a_malformed_body_is_400(world, enqueued, payload):
    response = world.client("steward").post(reverse("api:detection-list"), payload, format="json")
    assert response.status_code == 400
    assert [error["field"].split(".")[0] for error in response.json()["errors"]] == ["assets"]


def test_detect_on_assets_of_two_sources_is_400(world, enqueued):
    first, second = _classified(world.workspace_a), _classified(world.workspace_a)
    response = world.client("steward").post(reverse("api:detection-list"),
                                            {"assets": [first.asset_id, second.asset_id]}, format="json")
    assert response.status_code == 400
    assert "one data source at a time" in response.json()["errors"][0]["detail"]
    assert enqueued == []
