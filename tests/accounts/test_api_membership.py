import pytest
from django.urls import reverse
from guardian.models import UserObjectPermission

from accounts.models import AuditEvent, Membership
from accounts.permissions import has_any_grant
from accounts.roles import Role
from tests.support.factories import UserFactory
from tests.support.permission_matrix import PermissionMatrix, table

COLUMNS = ("list retrieve_a retrieve_b create update_a update_b partial_update_a partial_update_b "
           "destroy_a destroy_b")


class TestMembershipMatrix(PermissionMatrix):
    basename = "membership"
    expected = table(
        COLUMNS,
        anonymous=           "401 401 401 401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403 403 403 403",
        analyst=             "200 200 404 403 403 403 403 403 403 403",
        steward=             "200 200 404 403 403 403 403 403 403 403",
        workspace_admin=     "200 200 404 201 200 404 200 404 204 404",
        auditor=             "200 200 200 403 403 403 403 403 403 403",
        other_workspace_user="200 404 200 403 403 403 403 403 403 403",
        staff_unverified=    "403 403 403 403 403 403 403 403 403 403",
        superuser=           "200 200 200 201 200 200 200 200 204 204",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB",
               "other_workspace_user": "B", "superuser": "AB"}

    def objects(self, world):
        return world.memberships["analyst"], world.memberships["other_workspace_user"]

    def payload(self, world, action):
        if action == "create":
            return {"user": UserFactory(username="newcomer").pk, "workspace": world.workspace_a.pk,
                    "role": Role.ANALYST}
        return {"role": Role.DATA_OWNER}


def _memberships_url(pk=None):
    return reverse("api:membership-detail", args=[pk]) if pk else reverse("api:membership-list")


def test_workspace_admin_cannot_add_members_to_other_workspace(world):
    newcomer = UserFactory(username="newcomer")
    response = world.client("workspace_admin").post(
        _memberships_url(), {"user": newcomer.pk, "workspace": world.workspace_b.pk, "role": "analyst"},
        format="json")
    # Refused exactly like a workspace that does not exist: B's existence is not revealed.
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "workspace"
    assert not Membership.objects.filter(user=newcomer).exists()


def test_workspace_admin_cannot_grant_auditor_role(world):
    newcomer = UserFactory(username="newcomer")
    response = world.client("workspace_admin").post(
        _memberships_url(), {"user": newcomer.pk, "workspace": world.workspace_a.pk, "role": "auditor"},
        format="json")
    assert response.status_code == 403
    assert not newcomer.groups.exists()


def test_membership_created_grants_role_permissions_on_workspace(world):
    newcomer = UserFactory(username="newcomer")
    response = world.client("workspace_admin").post(
        _memberships_url(), {"user": newcomer.pk, "workspace": world.workspace_a.pk, "role": "workspace_admin"},
        format="json")
    assert response.status_code == 201
    codenames = set(UserObjectPermission.objects.filter(user=newcomer, object_pk=str(world.workspace_a.pk))
                    .values_list("permission__codename", flat=True))
    assert {"view_workspace", "change_workspace", "add_membership", "view_auditevent"} <= codenames
    event = AuditEvent.objects.get(event="membership.created", object_id=str(response.json()["id"]))
    assert event.actor_label == "workspace_admin"
    assert event.workspace_id == world.workspace_a.pk
    assert event.changes == {"user": [None, "newcomer"], "role": [None, "workspace_admin"]}


def test_role_change_replaces_grants_and_is_audited(world):
    membership = world.memberships["steward"]
    response = world.client("workspace_admin").patch(_memberships_url(membership.pk), {"role": "analyst"},
                                                     format="json")
    assert response.status_code == 200
    steward = type(world.user("steward")).objects.get(pk=world.user("steward").pk)
    assert not has_any_grant(steward, Membership, "add")
    codenames = set(UserObjectPermission.objects.filter(user=steward).values_list("permission__codename",
                                                                                  flat=True))
    assert "view_workspace" in codenames and "change_workspace" not in codenames
    event = AuditEvent.objects.get(event="membership.changed")
    assert event.changes == {"role": ["data_steward", "analyst"]}


def test_membership_delete_revokes_all_workspace_grants(world):
    membership = world.memberships["analyst"]
    response = world.client("workspace_admin").delete(_memberships_url(membership.pk))
    assert response.status_code == 204
    assert not UserObjectPermission.objects.filter(user=world.user("analyst")).exists()
    assert AuditEvent.objects.filter(event="membership.deleted", object_id=str(membership.pk)).exists()
    assert world.client("analyst").get(reverse("api:workspace-list")).status_code == 403


def test_duplicate_membership_is_a_validation_error(world):
    response = world.client("workspace_admin").post(
        _memberships_url(), {"user": world.user("analyst").pk, "workspace": world.workspace_a.pk,
                             "role": "analyst"}, format="json")
    assert response.status_code == 400


@pytest.mark.parametrize("query", ["?workspace={b}", "?user={other}", "?search=other_workspace_user",
                                   "?role=data_steward"])
def test_membership_filters_never_reveal_other_workspace(world, query):
    url = _memberships_url() + query.format(b=world.workspace_b.pk, other=world.user("other_workspace_user").pk)
    response = world.client("workspace_admin").get(url)
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert world.memberships["other_workspace_user"].pk not in ids
