"""/api/v1/classifications/: organization-wide reference data. Members read; stewards add their own and may
change a built-in's sensitivity or switch it off, never its name; only superusers delete (unused, custom ones)."""
import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from catalog.models import Classification
from tests.catalog.classification_factories import AssetClassificationFactory, ClassificationFactory, builtin
from tests.support.permission_matrix import PermissionMatrix, table

COLUMNS = ("list retrieve_a retrieve_b create update_a update_b partial_update_a partial_update_b "
           "destroy_a destroy_b")


class TestClassificationMatrix(PermissionMatrix):
    basename = "classification"
    expected = table(
        COLUMNS,
        anonymous=           "401 401 401 401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403 403 403 403",
        analyst=             "200 200 200 403 403 403 403 403 403 403",
        steward=             "200 200 200 201 200 200 200 200 403 403",
        workspace_admin=     "200 200 200 201 200 200 200 200 403 403",
        auditor=             "200 200 200 403 403 403 403 403 403 403",
        other_workspace_user="200 200 200 201 200 200 200 200 403 403",
        staff_unverified=    "403 403 403 403 403 403 403 403 403 403",
        superuser=           "200 200 200 201 200 200 200 200 204 204",
    )
    # Reference data: whoever reads classifications in any workspace reads all of them.
    visible = {"analyst": "AB", "steward": "AB", "workspace_admin": "AB", "auditor": "AB",
               "other_workspace_user": "AB", "superuser": "AB"}

    def objects(self, world):
        return ClassificationFactory(name="CUSTOM.A"), ClassificationFactory(name="CUSTOM.B")

    def payload(self, world, action):
        if action == "create":
            return {"name": "HR.EMPLOYEE_NUMBER", "category": "HR", "sensitivity": "confidential"}
        return {"name": f"CUSTOM.{action.upper()}", "category": "CUSTOM", "sensitivity": "restricted",
                "description": "changed"}


def test_builtins_are_listed_for_members(world):
    response = world.client("analyst").get(reverse("api:classification-list") + "?is_builtin=true&page_size=500")
    assert response.status_code == 200
    names = {row["name"] for row in response.json()["results"]}
    assert {"PII.EMAIL", "FINANCIAL.PAYMENT_CARD", "NATIONAL_ID.FR_NIR"} <= names and len(names) >= 30


def test_builtin_name_cannot_be_changed_but_sensitivity_can(world):
    email = builtin("PII.EMAIL")
    client = world.client("steward")
    url = reverse("api:classification-detail", args=[email.pk])
    response = client.patch(url, {"name": "PII.MAIL"}, format="json")
    assert response.status_code == 400 and "name" in str(response.json())
    response = client.patch(url, {"sensitivity": "restricted"}, format="json")
    assert response.status_code == 200 and response.json()["sensitivity"] == "restricted"
    event = AuditEvent.objects.get(event="classification.changed", object_id=str(email.pk))
    assert event.changes == {"sensitivity": ["confidential", "restricted"]}


def test_builtin_or_used_classification_cannot_be_deleted(world):
    client = world.client("superuser")
    assert client.delete(reverse("api:classification-detail", args=[builtin("PII.EMAIL").pk])).status_code == 400
    used = ClassificationFactory(name="CUSTOM.USED")
    AssetClassificationFactory(classification=used)
    assert client.delete(reverse("api:classification-detail", args=[used.pk])).status_code == 400
    assert Classification.objects.filter(pk=used.pk).exists()


@pytest.mark.parametrize("payload", [{"name": "PII.EMAIL", "category": "PII", "sensitivity": "public"},
                                     {"name": "X.Y", "category": "X", "sensitivity": "secret"}])
def test_invalid_classification_is_400(world, payload):
    response = world.client("steward").post(reverse("api:classification-list"), payload, format="json")
    assert response.status_code == 400
