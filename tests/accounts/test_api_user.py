import pytest
from django.urls import reverse

from accounts.models import AuditEvent, User
from accounts.roles import Role
from tests.support.factories import membership
from tests.support.permission_matrix import PermissionMatrix, table

COLUMNS = ("list retrieve_a retrieve_b create update_a update_b partial_update_a partial_update_b "
           "destroy_a destroy_b reset_mfa_a reset_mfa_b")


class TestUserMatrix(PermissionMatrix):
    basename = "user"
    expected = table(
        COLUMNS,
        anonymous=           "401 401 401 401 401 401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403 403 403 403 403 403",
        analyst=             "403 403 403 403 403 403 403 403 403 403 403 403",
        steward=             "403 403 403 403 403 403 403 403 403 403 403 403",
        workspace_admin=     "200 200 404 403 403 403 403 403 403 403 403 403",
        auditor=             "200 200 200 403 403 403 403 403 403 403 403 403",
        other_workspace_user="403 403 403 403 403 403 403 403 403 403 403 403",
        staff_unverified=    "403 403 403 403 403 403 403 403 403 403 403 403",
        superuser=           "200 200 200 201 200 200 200 200 204 204 204 204",
    )
    visible = {"workspace_admin": "A", "auditor": "AB", "superuser": "AB"}

    def objects(self, world):
        # The analyst belongs to workspace A only, the other workspace's steward to B only.
        return world.user("analyst"), world.user("other_workspace_user")

    def payload(self, world, action):
        if action == "create":
            return {"username": "newcomer", "email": "newcomer@example.test"}
        if action == "reset_mfa":
            return {}
        return {"email": "changed@example.test", "first_name": "Changed", "last_name": "Name", "is_active": True}


def test_workspace_admin_lists_only_members_of_their_workspaces(world):
    response = world.client("workspace_admin").get(reverse("api:user-list"))
    usernames = {row["username"] for row in response.json()["results"]}
    assert usernames == {"analyst", "steward", "workspace_admin", "auditor"}


@pytest.mark.parametrize("query", ["?username=other_workspace_user", "?search=other", "?workspace={b}",
                                   "?email__icontains=other"])
def test_user_filters_never_reveal_other_workspace_members(world, query):
    response = world.client("workspace_admin").get(reverse("api:user-list") + query.format(b=world.workspace_b.pk))
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_workspace_filter_does_not_reveal_a_visible_members_other_workspaces(world):
    # Regression: the analyst (visible to A's admin) also belongs to B; filtering by B's id listed them.
    membership(world.user("analyst"), world.workspace_b, Role.ANALYST)
    client = world.client("workspace_admin")
    in_b = client.get(reverse("api:user-list"), {"workspace": world.workspace_b.pk}).json()["results"]
    in_a = client.get(reverse("api:user-list"), {"workspace": world.workspace_a.pk}).json()["results"]
    assert in_b == []
    assert "analyst" in {row["username"] for row in in_a}
    seen_by_auditor = world.client("auditor").get(reverse("api:user-list"), {"workspace": world.workspace_b.pk})
    assert {row["username"] for row in seen_by_auditor.json()["results"]} == {"analyst", "other_workspace_user"}


def test_superuser_update_is_audited_and_username_is_immutable(world):
    analyst = world.user("analyst")
    response = world.client("superuser").patch(reverse("api:user-detail", args=[analyst.pk]),
                                               {"username": "renamed", "first_name": "Ana"}, format="json")
    assert response.status_code == 200
    analyst.refresh_from_db()
    assert (analyst.username, analyst.first_name) == ("analyst", "Ana")
    assert AuditEvent.objects.get(event="user.changed").changes == {"first_name": ["", "Ana"]}


def test_deleted_user_keeps_their_audit_events(world):
    analyst = world.user("analyst")
    before = AuditEvent.objects.filter(object_id=str(analyst.pk)).count()
    response = world.client("superuser").delete(reverse("api:user-detail", args=[analyst.pk]))
    assert response.status_code == 204
    assert not User.objects.filter(pk=analyst.pk).exists()
    assert AuditEvent.objects.filter(event="user.deleted", object_repr="analyst").exists()
    assert AuditEvent.objects.count() >= before + 1


def test_superuser_cannot_deactivate_their_own_account(world):
    superuser = world.user("superuser")
    response = world.client("superuser").patch(reverse("api:user-detail", args=[superuser.pk]),
                                               {"is_active": False}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "is_active"
    superuser.refresh_from_db()
    assert superuser.is_active
