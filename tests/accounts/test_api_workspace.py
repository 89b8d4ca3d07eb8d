import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Workspace
from tests.support.permission_matrix import PermissionMatrix, table

COLUMNS = ("list retrieve_a retrieve_b create update_a update_b partial_update_a partial_update_b "
           "destroy_a destroy_b")


class TestWorkspaceMatrix(PermissionMatrix):
    basename = "workspace"
    expected = table(
        COLUMNS,
        anonymous=           "401 401 401 401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403 403 403 403",
        analyst=             "200 200 404 403 403 403 403 403 403 403",
        steward=             "200 200 404 403 403 403 403 403 403 403",
        workspace_admin=     "200 200 404 403 200 404 200 404 403 403",
        auditor=             "200 200 200 403 403 403 403 403 403 403",
        other_workspace_user="200 404 200 403 403 403 403 403 403 403",
        staff_unverified=    "403 403 403 403 403 403 403 403 403 403",
        superuser=           "200 200 200 201 200 200 200 200 204 204",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB",
               "other_workspace_user": "B", "superuser": "AB"}

    def objects(self, world):
        return world.workspace_a, world.workspace_b

    def payload(self, world, action):
        return {"name": "Renamed workspace", "slug": "renamed", "description": "changed"}


def test_workspace_admin_update_writes_audit_diff(world):
    response = world.client("workspace_admin").patch(
        reverse("api:workspace-detail", args=[world.workspace_a.pk]), {"description": "Sales data"}, format="json")
    assert response.status_code == 200
    event = AuditEvent.objects.get(event="workspace.changed")
    assert event.changes == {"description": ["", "Sales data"]}
    assert event.actor == world.user("workspace_admin")
    assert event.workspace_id == world.workspace_a.pk


def test_workspace_create_by_superuser_is_audited(world):
    response = world.client("superuser").post(reverse("api:workspace-list"), {"name": "Finance"}, format="json")
    assert response.status_code == 201, response.content
    created = Workspace.objects.get(name="Finance")
    assert created.slug == "finance"
    event = AuditEvent.objects.get(event="workspace.created", object_id=str(created.pk))
    assert event.actor_label == "superuser" and event.request_id


def test_workspace_delete_removes_grants_held_on_it(world):
    from guardian.models import UserObjectPermission

    workspace_pk = str(world.workspace_a.pk)
    assert UserObjectPermission.objects.filter(object_pk=workspace_pk).exists()
    response = world.client("superuser").delete(reverse("api:workspace-detail", args=[world.workspace_a.pk]))
    assert response.status_code == 204
    assert not UserObjectPermission.objects.filter(object_pk=workspace_pk,
                                                   content_type__model="workspace").exists()
    assert AuditEvent.objects.filter(event="workspace.deleted", object_id=workspace_pk).exists()


@pytest.mark.parametrize("query", ["?name=Workspace B", "?slug=workspace-b", "?search=Workspace B",
                                   "?name__icontains=b"])
def test_workspace_filters_never_reveal_other_workspace(world, query):
    response = world.client("steward").get(reverse("api:workspace-list") + query)
    assert response.status_code == 200
    assert world.workspace_b.pk not in {row["id"] for row in response.json()["results"]}
