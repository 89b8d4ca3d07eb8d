import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from scanning.models import ScanRuleSet
from tests.catalog.factories import ScanFactory, ScanRuleSetFactory
from tests.support.permission_matrix import PermissionMatrix, table

COLUMNS = ("list retrieve_a retrieve_b create update_a update_b partial_update_a partial_update_b destroy_a "
           "destroy_b")


class TestScanRuleSetMatrix(PermissionMatrix):
    basename = "scanruleset"
    expected = table(
        COLUMNS,
        anonymous=           "401 401 401 401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403 403 403 403",
        analyst=             "200 200 404 403 403 403 403 403 403 403",
        steward=             "200 200 404 201 200 404 200 404 204 404",
        workspace_admin=     "200 200 404 201 200 404 200 404 204 404",
        auditor=             "200 200 200 403 403 403 403 403 403 403",
        other_workspace_user="200 404 200 400 404 200 404 200 404 204",
        staff_unverified=    "403 403 403 403 403 403 403 403 403 403",
        superuser=           "200 200 200 201 200 200 200 200 204 204",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB",
               "other_workspace_user": "B", "superuser": "AB"}

    def objects(self, world):
        return ScanRuleSetFactory(workspace=world.workspace_a), ScanRuleSetFactory(workspace=world.workspace_b)

    def payload(self, world, action):
        return {"workspace": world.workspace_a.pk, "name": "Sales only", "include_schemas": ["sales_*"],
                "exclude_tables": ["re:tmp_.*"], "sample_size": 50, "detection_enabled": True}


def _url(rule_set=None):
    return reverse("api:scanruleset-detail", args=[rule_set.pk]) if rule_set else reverse("api:scanruleset-list")


def test_create_is_audited_with_its_patterns(world):
    response = world.client("steward").post(_url(), {
        "workspace": world.workspace_a.pk, "name": "PII", "include_columns": ["*email*"],
        "classifications": ["PII.EMAIL"]}, format="json")
    assert response.status_code == 201, response.content
    rule_set = ScanRuleSet.objects.get(pk=response.json()["id"])
    assert rule_set.include_columns == ["*email*"]
    event = AuditEvent.objects.get(event="scan_rule_set.created")
    assert event.changes["include_columns"] == [None, ["*email*"]]


@pytest.mark.parametrize(("payload", "field"), [
    ({"sample_size": 0}, "sample_size"),
    ({"sample_size": 1_000_000}, "sample_size"),
    ({"include_tables": [""]}, "include_tables.0"),
    ({"exclude_schemas": "public"}, "exclude_schemas"),
    ({"include_tables": ["re:("]}, None),
])
def test_invalid_rule_set_is_400_with_field_errors(world, payload, field):
    response = world.client("steward").post(
        _url(), {"workspace": world.workspace_a.pk, "name": "Bad", **payload}, format="json")
    assert response.status_code == 400, response.content
    fields = {error["field"] for error in response.json()["errors"]}
    assert field is None or field in fields
    assert not ScanRuleSet.objects.filter(name="Bad").exists()


def test_delete_of_rule_set_used_by_a_scan_is_400(world):
    scan = ScanFactory(data_source__workspace=world.workspace_a)
    response = world.client("steward").delete(_url(scan.rule_set))
    assert response.status_code == 400
    assert ScanRuleSet.objects.filter(pk=scan.rule_set_id).exists()


def test_workspace_cannot_be_moved_by_update(world):
    rule_set = ScanRuleSetFactory(workspace=world.workspace_a)
    response = world.client("superuser").patch(_url(rule_set), {"workspace": world.workspace_b.pk}, format="json")
    assert response.status_code == 200
    rule_set.refresh_from_db()
    assert rule_set.workspace == world.workspace_a


@pytest.mark.parametrize("query", ["?workspace={b}", "?name=Theirs", "?search=Theirs"])
def test_filters_never_reveal_other_workspace(world, query):
    theirs = ScanRuleSetFactory(workspace=world.workspace_b, name="Theirs")
    response = world.client("steward").get(_url() + query.format(b=world.workspace_b.pk))
    assert response.status_code == 200
    assert theirs.pk not in {row["id"] for row in response.json()["results"]}
