"""/api/v1/asset-classifications/: suggestions from scans and the stewards' decisions — confirm, reject, in
bulk (all or none), classify by hand."""
from django.urls import reverse

from accounts.models import AuditEvent
from catalog.models import Asset, AssetClassification
from tests.catalog.classification_factories import AssetClassificationFactory, asset_tree, builtin
from tests.catalog.factories import DataSourceFactory
from tests.support.permission_matrix import PermissionMatrix, table

COLUMNS = "list retrieve_a retrieve_b create confirm_a confirm_b reject_a reject_b bulk"


def _classified(workspace, status=AssetClassification.Status.SUGGESTED, name="PII.EMAIL"):
    _, _, _, cols = asset_tree(DataSourceFactory(workspace=workspace), columns={"email": "text", "phone": "text"})
    return AssetClassificationFactory(asset=cols["email"], classification=builtin(name), status=status)


class TestAssetClassificationMatrix(PermissionMatrix):
    basename = "assetclassification"
    expected = table(
        COLUMNS,
        anonymous=           "401 401 401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403 403 403",
        analyst=             "200 200 404 403 403 403 403 403 403",
        steward=             "200 200 404 201 200 404 200 404 200",
        workspace_admin=     "200 200 404 201 200 404 200 404 200",
        auditor=             "200 200 200 403 403 403 403 403 403",
        other_workspace_user="200 404 200 400 404 200 404 200 404",
        staff_unverified=    "403 403 403 403 403 403 403 403 403",
        superuser=           "200 200 200 201 200 200 200 200 200",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB",
               "other_workspace_user": "B", "superuser": "AB"}

    def objects(self, world):
        self.a, self.b = _classified(world.workspace_a), _classified(world.workspace_b)
        return self.a, self.b

    def payload(self, world, action):
        if action == "create":
            phone = Asset.objects.get(parent=self.a.asset.parent, name="phone")
            return {"asset": phone.pk, "classification": builtin("PII.PHONE").pk, "note": "by hand"}
        if action == "bulk":
            return {"ids": [self.a.pk], "decision": "confirmed"}
        return {"note": "checked with the owner"}


def test_confirm_records_decision_fingerprint_and_audit(world):
    row = _classified(world.workspace_a)
    response = world.client("steward").post(reverse("api:assetclassification-confirm", args=[row.pk]),
                                            {"note": "known customer emails"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "confirmed" and body["decided_by"] == world.user("steward").pk
    row.refresh_from_db()
    assert len(row.evidence_fingerprint) == 64 and row.decision_note == "known customer emails"
    event = AuditEvent.objects.get(event="asset_classification.confirmed", object_id=str(row.pk))
    assert event.changes == {"status": ["suggested", "confirmed"]} and event.workspace == world.workspace_a
    # A second confirm is a no-op: no second audit row.
    world.client("steward").post(reverse("api:assetclassification-confirm", args=[row.pk]), {}, format="json")
    assert AuditEvent.objects.filter(event="asset_classification.confirmed").count() == 1


def test_bulk_reject_decides_each_with_its_own_audit_row_and_updates_sensitivity(world):
    rows = [_classified(world.workspace_a, name=name) for name in ("PII.EMAIL", "FINANCIAL.IBAN")]
    table_asset = rows[1].asset.parent
    from catalog.services import asset_sensitivity_recompute
    asset_sensitivity_recompute(asset_ids=[row.asset_id for row in rows])
    table_asset.refresh_from_db()
    assert table_asset.sensitivity == "restricted"
    response = world.client("steward").post(reverse("api:assetclassification-bulk"),
                                            {"ids": [r.pk for r in rows], "decision": "rejected"}, format="json")
    assert response.status_code == 200, response.content
    assert [r["status"] for r in response.json()["classifications"]] == ["rejected", "rejected"]
    assert AuditEvent.objects.filter(event="asset_classification.rejected").count() == 2
    table_asset.refresh_from_db()
    assert table_asset.sensitivity == ""


def test_bulk_with_one_invisible_row_changes_nothing(world):
    mine, theirs = _classified(world.workspace_a), _classified(world.workspace_b)
    response = world.client("steward").post(reverse("api:assetclassification-bulk"),
                                            {"ids": [mine.pk, theirs.pk], "decision": "confirmed"}, format="json")
    assert response.status_code == 404
    mine.refresh_from_db()
    assert mine.status == "suggested"


def test_bulk_with_unknown_decision_is_400(world):
    row = _classified(world.workspace_a)
    response = world.client("steward").post(reverse("api:assetclassification-bulk"),
                                            {"ids": [row.pk], "decision": "maybe"}, format="json")
    assert response.status_code == 400


def test_bulk_with_an_id_no_database_integer_holds_is_400(world):
    # SQLite raised OverflowError on the pk__in lookup: a 500.
    response = world.client("steward").post(reverse("api:assetclassification-bulk"),
                                            {"ids": [10**30], "decision": "confirmed"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"].startswith("ids")


def test_manual_classification_is_confirmed_and_duplicate_is_409(world):
    row = _classified(world.workspace_a)
    url = reverse("api:assetclassification-list")
    client = world.client("steward")
    phone = Asset.objects.get(parent=row.asset.parent, name="phone")
    response = client.post(url, {"asset": phone.pk, "classification": builtin("PII.PHONE").pk}, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["status"], response.json()["source"]) == ("confirmed", "manual")
    again = client.post(url, {"asset": row.asset_id, "classification": row.classification_id}, format="json")
    assert again.status_code == 409 and again.json()["existing"] == row.pk


def test_filters_by_status_and_table_stay_in_scope(world):
    mine = _classified(world.workspace_a)
    theirs = _classified(world.workspace_b)
    client = world.client("steward")
    for query in (f"?table={theirs.asset.parent_id}", f"?asset={theirs.asset_id}", "?status=suggested"):
        ids = {r["id"] for r in client.get(reverse("api:assetclassification-list") + query).json()["results"]}
        assert theirs.pk not in ids
    ids = {r["id"] for r in client.get(
        reverse("api:assetclassification-list") + f"?table={mine.asset.parent_id}").json()["results"]}
    assert ids == {mine.pk}


