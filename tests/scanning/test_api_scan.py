import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from scanning.models import Scan
from tests.catalog.factories import DataSourceFactory, ScanFactory, ScanRuleSetFactory, ScanRunFactory
from tests.support.permission_matrix import PermissionMatrix, table

COLUMNS = ("list retrieve_a retrieve_b create update_a update_b partial_update_a partial_update_b destroy_a "
           "destroy_b run_a run_b")


class TestScanMatrix(PermissionMatrix):
    basename = "scan"
    expected = table(
        COLUMNS,
        anonymous=           "401 401 401 401 401 401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403 403 403 403 403 403",
        analyst=             "200 200 404 403 403 403 403 403 403 403 403 403",
        steward=             "200 200 404 201 200 404 200 404 204 404 202 404",
        workspace_admin=     "200 200 404 201 200 404 200 404 204 404 202 404",
        auditor=             "200 200 200 403 403 403 403 403 403 403 403 403",
        other_workspace_user="200 404 200 400 404 200 404 200 404 204 404 202",
        staff_unverified=    "403 403 403 403 403 403 403 403 403 403 403 403",
        superuser=           "200 200 200 201 200 200 200 200 204 204 202 202",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB",
               "other_workspace_user": "B", "superuser": "AB"}

    def objects(self, world):
        self.scan_a = ScanFactory(data_source__workspace=world.workspace_a)
        return self.scan_a, ScanFactory(data_source__workspace=world.workspace_b)

    def payload(self, world, action):
        if action == "run":
            return {}
        return {"data_source": self.scan_a.data_source_id, "name": "Nightly", "schedule": "0 2 * * *",
                "enabled": True}


def _url(scan=None, action=None):
    if scan is None:
        return reverse("api:scan-list")
    return reverse(f"api:scan-{action or 'detail'}", args=[scan.pk])


def test_create_with_schedule_creates_beat_entry_and_default_rule_set(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    response = world.client("steward").post(
        _url(), {"data_source": source.pk, "name": "Nightly", "schedule": "30 2 * * 1-5"}, format="json")
    assert response.status_code == 201, response.content
    scan = Scan.objects.get(pk=response.json()["id"])
    assert scan.rule_set.name == "Default" and scan.rule_set.workspace == world.workspace_a
    task = scan.periodic_task
    assert task.enabled and task.crontab.minute == "30" and task.crontab.day_of_week == "1-5"


@pytest.mark.parametrize("schedule", ["every night", "0 2 * *", "61 2 * * *", "0 25 * * *"])
def test_invalid_cron_is_400_on_schedule(world, schedule):
    source = DataSourceFactory(workspace=world.workspace_a)
    response = world.client("steward").post(
        _url(), {"data_source": source.pk, "name": "Bad", "schedule": schedule}, format="json")
    assert response.status_code == 400, response.content
    assert "schedule" in {error["field"] for error in response.json()["errors"]}
    assert not Scan.objects.filter(name="Bad").exists()


def test_disabling_scan_disables_its_beat_entry_in_place(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    created = world.client("steward").post(
        _url(), {"data_source": source.pk, "name": "Nightly", "schedule": "0 2 * * *"}, format="json").json()
    scan = Scan.objects.get(pk=created["id"])
    task_pk = scan.periodic_task_id
    response = world.client("steward").patch(_url(scan), {"enabled": False}, format="json")
    assert response.status_code == 200
    task = PeriodicTask.objects.get(pk=task_pk)
    assert task.enabled is False
    response = world.client("steward").patch(_url(scan), {"schedule": ""}, format="json")
    assert response.status_code == 200 and response.json()["schedule"] == ""
    assert PeriodicTask.objects.get(pk=task_pk).enabled is False


def test_rule_set_of_other_workspace_is_400(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    theirs = ScanRuleSetFactory(workspace=world.workspace_b)
    for persona in ("steward", "superuser"):  # not visible / visible but in the wrong workspace
        response = world.client(persona).post(
            _url(), {"data_source": source.pk, "rule_set": theirs.pk, "name": f"X {persona}"}, format="json")
        assert response.status_code == 400, response.content
        assert "rule_set" in {error["field"] for error in response.json()["errors"]}


def test_run_queues_api_run_and_conflict_names_active_run(world):
    scan = ScanFactory(data_source__workspace=world.workspace_a)
    response = world.client("steward").post(_url(scan, "run"))
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["trigger"], body["scan"]) == ("queued", "api", scan.pk)
    other_scan = ScanFactory(data_source=scan.data_source)
    conflict = world.client("steward").post(_url(other_scan, "run"))
    assert conflict.status_code == 409
    problem = conflict.json()
    assert problem["run"] == body["id"] and problem["status"] == 409 and problem["code"] == "scan_already_running"


def test_last_run_is_shown(world):
    run = ScanRunFactory(scan__data_source__workspace=world.workspace_a)
    body = world.client("analyst").get(_url(run.scan)).json()
    assert body["last_run"] == run.pk
    listed = world.client("analyst").get(_url()).json()["results"]
    assert listed[0]["last_run"] == run.pk


def test_delete_removes_beat_entry(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    created = world.client("steward").post(
        _url(), {"data_source": source.pk, "name": "Nightly", "schedule": "0 2 * * *"}, format="json").json()
    assert world.client("steward").delete(reverse("api:scan-detail", args=[created["id"]])).status_code == 204
    assert not PeriodicTask.objects.filter(name__startswith="racine: scan").exists()


@pytest.mark.parametrize("query", ["?data_source={source}", "?name=Theirs", "?rule_set={rule_set}"])
def test_filters_never_reveal_other_workspace(world, query):
    theirs = ScanFactory(data_source__workspace=world.workspace_b, name="Theirs")
    query = query.format(source=theirs.data_source_id, rule_set=theirs.rule_set_id)
    response = world.client("steward").get(_url() + query)
    assert response.status_code == 200
    assert theirs.pk not in {row["id"] for row in response.json()["results"]}
