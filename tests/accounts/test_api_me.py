from django.urls import reverse

from tests.support.permission_matrix import PermissionMatrix, table


class TestMeMatrix(PermissionMatrix):
    basename = "me"
    expected = table(
        "list",
        anonymous="401", outsider="200", analyst="200", steward="200", workspace_admin="200", auditor="200",
        other_workspace_user="200", staff_unverified="403", superuser="200",
    )


def test_me_returns_the_calling_user(world):
    response = world.client("analyst").get(reverse("api:me-list"))
    assert response.json()["username"] == "analyst"
