"""The back office: stewards confirm or reject classifications in bulk through admin actions (services, audit),
and preview a custom rule on pasted values that are never stored."""
from django.urls import reverse

from accounts.models import AuditEvent
from catalog.models import AssetClassification
from scanning.models import ClassificationRule
from tests.catalog.classification_factories import (
    AssetClassificationFactory,
    ClassificationRuleFactory,
    asset_tree,
    builtin,
)
from tests.catalog.factories import DataSourceFactory
from tests.support.personas import verified_client


def _staff(world, persona):
    user = world.user(persona)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user, verified_client(user)


def _rows(workspace, n=2):
    _, _, _, cols = asset_tree(DataSourceFactory(workspace=workspace), columns={f"c{i}": "text" for i in range(n)})
    return [AssetClassificationFactory(asset=col, classification=builtin("PII.EMAIL")) for col in cols.values()]


def test_steward_confirms_selected_in_bulk_from_the_changelist(world):
    _, client = _staff(world, "steward")
    rows = _rows(world.workspace_a)
    response = client.post(reverse("admin:catalog_assetclassification_changelist"),
                           {"action": "confirm_selected", "index": 0, "_selected_action": [r.pk for r in rows]},
                           format="multipart", follow=True)
    assert response.status_code == 200
    assert set(AssetClassification.objects.values_list("status", flat=True)) == {"confirmed"}
    assert AuditEvent.objects.filter(event="asset_classification.confirmed").count() == 2


def test_analyst_has_no_decision_actions(world):
    _, client = _staff(world, "analyst")
    rows = _rows(world.workspace_a, 1)
    page = client.get(reverse("admin:catalog_assetclassification_changelist"))
    assert page.status_code == 200 and b"confirm_selected" not in page.content
    client.post(reverse("admin:catalog_assetclassification_changelist"),
                {"action": "reject_selected", "index": 0, "_selected_action": [rows[0].pk]}, format="multipart")
    rows[0].refresh_from_db()
    assert rows[0].status == "suggested"


def test_changelist_hides_other_workspaces(world):
    _, client = _staff(world, "steward")
    mine = _rows(world.workspace_a, 1)[0]
    theirs = _rows(world.workspace_b, 1)[0]
    page = client.get(reverse("admin:catalog_assetclassification_changelist"))
    assert reverse("admin:catalog_assetclassification_change", args=[mine.pk]).encode() in page.content
    assert reverse("admin:catalog_assetclassification_change", args=[theirs.pk]).encode() not in page.content
    detail = client.get(reverse("admin:catalog_assetclassification_change", args=[theirs.pk]))
    assert detail.status_code in (302, 404)


def test_rule_preview_page_shows_results_by_line_and_stores_nothing(world):
    _user, client = _staff(world, "steward")  # the steward role reads its workspace's rules
    rule = ClassificationRuleFactory(workspace=world.workspace_a, column_name_regex="", value_regex=r"E\d{6}",
                                     min_match_share=0.5)
    url = reverse("admin:scanning_classificationrule_preview", args=[rule.pk])
    events = AuditEvent.objects.count()
    response = client.post(url, {"values": "E123456\nE654321\nnope"}, format="multipart")
    assert response.status_code == 200
    assert b"would classify a column" in response.content and b"no match" in response.content
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.count() == events and ClassificationRule.objects.count() == 1
    other = ClassificationRuleFactory(workspace=world.workspace_b)
    assert client.get(reverse("admin:scanning_classificationrule_preview", args=[other.pk])).status_code == 404


def test_the_manual_classification_form_names_no_asset_of_another_workspace(world):
    """The asset's raw-id input named any id's asset (Django looks it up in the whole table): the add page with
    ``?asset=<id>`` showed the qualified name of another workspace's column, and the form refused it with a
    message of its own (an oracle of which ids exist). Now it names only assets in scope, and refuses one out of
    scope exactly like one that does not exist."""
    _, client = _staff(world, "steward")
    *_, ours = asset_tree(DataSourceFactory(workspace=world.workspace_a), columns={"email": "text"})
    *_, theirs = asset_tree(DataSourceFactory(workspace=world.workspace_b), table="payroll",
                            columns={"national_insurance_no": "text"})
    url = reverse("admin:catalog_assetclassification_add")
    assert ours["email"].qualified_name.encode() in client.get(f"{url}?asset={ours['email'].pk}").content
    page = client.get(f"{url}?asset={theirs['national_insurance_no'].pk}")
    assert page.status_code == 200 and b"national_insurance_no" not in page.content

    def refusal(asset_id):
        response = client.post(url, {"asset": asset_id, "classification": builtin("PII.EMAIL").pk})
        assert response.status_code == 200 and b"national_insurance_no" not in response.content
        return response.context["adminform"].form.errors["asset"]

    assert refusal(theirs["national_insurance_no"].pk) == refusal(10**9)
    assert not AssetClassification.objects.exists()
