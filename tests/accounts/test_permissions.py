"""restrict() and friends: deny by default, workspace scope, direct grants with expiry, constant cost."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.models import GroupObjectPermission
from guardian.shortcuts import assign_perm

from accounts import permissions, services
from accounts.actors import SYSTEM
from accounts.models import AuditEvent, Membership, ObjectGrant, User, Workspace
from accounts.permissions import has_any_grant, has_perm, perm_name, restrict, workspace_allows
from accounts.roles import Role, permission_names, role_grants
from tests.support.factories import UserFactory, WorkspaceFactory, membership
from tests.support.personas import verified_client

pytestmark = pytest.mark.django_db


def fresh(user):
    return User.objects.get(pk=user.pk)


def test_perm_name_is_app_action_model():
    assert perm_name(AuditEvent, "view") == "accounts.view_auditevent"
    assert perm_name(Workspace(), "change") == "accounts.change_workspace"


def test_anonymous_and_inactive_users_get_nothing(world):
    assert not restrict(Workspace.objects.all(), AnonymousUser(), "view").exists()
    assert not restrict(Workspace.objects.all(), None, "view").exists()
    steward = world.user("steward")
    steward.is_active = False
    steward.save(update_fields=["is_active"])
    assert not restrict(Workspace.objects.all(), fresh(steward), "view").exists()
    assert not has_any_grant(fresh(steward), Workspace, "view")


def test_superuser_and_auditor_see_every_workspace(world):
    both = {world.workspace_a, world.workspace_b}
    assert set(restrict(Workspace.objects.all(), world.user("superuser"), "view")) == both
    assert set(restrict(Workspace.objects.all(), world.user("auditor"), "view")) == both
    assert not restrict(Workspace.objects.all(), world.user("auditor"), "change").exists()


def test_model_level_user_permission_means_every_row(world):
    from django.contrib.auth.models import Permission

    outsider = world.user("outsider")
    outsider.user_permissions.add(Permission.objects.get(codename="view_membership"))
    assert restrict(Membership.objects.all(), fresh(outsider)).count() == Membership.objects.count()
    assert not restrict(Workspace.objects.all(), fresh(outsider)).exists()


def test_member_sees_only_their_workspaces_rows(world):
    steward = world.user("steward")
    assert list(restrict(Workspace.objects.all(), steward)) == [world.workspace_a]
    visible = set(restrict(Membership.objects.all(), steward).values_list("workspace", flat=True))
    assert visible == {world.workspace_a.pk}


def test_multi_valued_path_does_not_duplicate_rows(world):
    admin = world.user("workspace_admin")
    membership(world.user("analyst"), world.workspace_b, Role.ANALYST)
    membership(admin, world.workspace_b, Role.WORKSPACE_ADMIN)
    usernames = list(restrict(User.objects.all(), fresh(admin)).values_list("username", flat=True))
    assert len(usernames) == len(set(usernames))
    assert "other_workspace_user" in usernames


def test_has_perm_and_workspace_allows(world):
    admin = world.user("workspace_admin")
    assert has_perm(admin, "change", world.workspace_a)
    assert not has_perm(admin, "change", world.workspace_b)
    assert not has_perm(world.user("analyst"), "change", world.workspace_a)
    assert workspace_allows(admin, "accounts.add_membership", world.workspace_a)
    assert not workspace_allows(admin, "accounts.add_membership", world.workspace_b)
    assert workspace_allows(world.user("superuser"), "sources.add_datasource", world.workspace_b)
    assert not workspace_allows(AnonymousUser(), "accounts.view_workspace", world.workspace_a)


def test_group_held_workspace_grant_counts():
    user = UserFactory(username="grouped")
    workspace = WorkspaceFactory()
    group = Group.objects.create(name="sales team")
    user.groups.add(group)
    permission = services._permissions_for(["accounts.view_workspace"])[0][0]
    GroupObjectPermission.objects.create(group=group, permission=permission, object_pk=str(workspace.pk),
                                         content_type=ContentType.objects.get_for_model(Workspace))
    assert list(restrict(Workspace.objects.all(), fresh(user))) == [workspace]


def test_governed_model_without_workspace_path_is_a_configuration_error():
    from django.core.exceptions import ImproperlyConfigured

    from accounts.models import ObjectGrant as Ungoverned

    with pytest.raises(ImproperlyConfigured):
        restrict(Ungoverned.objects.all(), UserFactory(username="someone"), "view")


# --- direct object grants -------------------------------------------------------------------------------------


def test_object_grant_gives_access_to_that_object_only(world):
    outsider = world.user("outsider")
    services.object_grant_create(user=outsider, obj=world.workspace_b, action="view",
                                 expires_at=timezone.now() + timedelta(days=1), acting_user=world.user("superuser"),
                                 reason="access request #1")
    outsider = fresh(outsider)
    assert list(restrict(Workspace.objects.all(), outsider)) == [world.workspace_b]
    assert has_any_grant(outsider, Workspace, "view")
    event = AuditEvent.objects.get(event="grant.created")
    assert (event.actor_label, event.workspace_id) == ("superuser", world.workspace_b.pk)
    assert event.changes == {"permission": [None, "accounts.view_workspace"], "user": [None, "outsider"]}


def test_expired_grant_stops_counting_before_the_expiry_task_runs(world):
    outsider = world.user("outsider")
    grant = services.object_grant_create(user=outsider, obj=world.workspace_b, action="view",
                                         expires_at=timezone.now() + timedelta(hours=1), acting_user=SYSTEM)
    ObjectGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not restrict(Workspace.objects.all(), fresh(outsider)).exists()


def test_expiry_task_revokes_and_audits_only_expired_grants(world):
    from accounts.tasks import object_grants_expire_task

    outsider = world.user("outsider")
    expiring = services.object_grant_create(user=outsider, obj=world.workspace_b, action="view",
                                            expires_at=timezone.now() + timedelta(hours=1), acting_user=SYSTEM)
    lasting = services.object_grant_create(user=outsider, obj=world.workspace_a, action="view",
                                           expires_at=timezone.now() + timedelta(days=9), acting_user=SYSTEM)
    ObjectGrant.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert object_grants_expire_task.delay().get() == 1
    assert object_grants_expire_task.delay().get() == 0  # idempotent
    from guardian.models import UserObjectPermission

    remaining = set(UserObjectPermission.objects.filter(user=outsider).values_list("object_pk", flat=True))
    assert remaining == {str(world.workspace_a.pk)}
    assert ObjectGrant.objects.get(pk=lasting.pk).revoked_at is None
    assert AuditEvent.objects.get(event="grant.expired").extra["grant_id"] == expiring.pk


def test_revoking_a_grant_keeps_permissions_the_role_gives(world):
    analyst = world.user("analyst")
    grant = services.object_grant_create(user=analyst, obj=world.workspace_a, action="view",
                                         expires_at=timezone.now() + timedelta(hours=1), acting_user=SYSTEM)
    services.object_grant_revoke(grant=grant, acting_user=SYSTEM)
    assert list(restrict(Workspace.objects.all(), fresh(analyst))) == [world.workspace_a]


def test_grant_with_past_expiry_is_refused(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.object_grant_create(user=world.user("outsider"), obj=world.workspace_a, action="view",
                                     expires_at=timezone.now() - timedelta(seconds=1), acting_user=SYSTEM)


def test_plain_guardian_object_permission_counts_as_direct_grant(world):
    outsider = world.user("outsider")
    assign_perm("accounts.view_workspace", outsider, world.workspace_a)
    assert list(restrict(Workspace.objects.all(), fresh(outsider))) == [world.workspace_a]


# --- roles ---------------------------------------------------------------------------------------------------


def test_roles_table_names_known_actions_only():
    for role, table in role_grants().items():
        for label, actions in table.items():
            assert label.count(".") == 1 and label == label.lower(), label
            assert actions, f"{role} {label}"
    assert all(name.endswith("_auditevent") is False or name.startswith("accounts.view")
               for role in role_grants() for name in permission_names(role))
    assert {action for actions in role_grants()[Role.AUDITOR].values() for action in actions} == {"view"}
    assert "sources.view_secret_datasource" not in permission_names(Role.ANALYST)


def test_roles_sync_reapplies_missing_grants_and_auditors_group(world):
    from guardian.models import UserObjectPermission

    UserObjectPermission.objects.filter(user=world.user("steward")).delete()
    world.user("auditor").groups.clear()
    assert services.roles_sync() == len(world.memberships)
    assert restrict(Workspace.objects.all(), fresh(world.user("steward"))).exists()
    assert set(restrict(Workspace.objects.all(), fresh(world.user("auditor")))) == {world.workspace_a,
                                                                               world.workspace_b}


def test_roles_sync_runs_after_migrate_for_the_last_app(world):
    from django.apps import apps
    from guardian.models import UserObjectPermission

    UserObjectPermission.objects.filter(user=world.user("steward")).delete()
    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    services.roles_sync_after_migrate(sender=apps.get_app_config("accounts"))
    assert not restrict(Workspace.objects.all(), fresh(world.user("steward"))).exists()
    services.roles_sync_after_migrate(sender=last)
    assert restrict(Workspace.objects.all(), fresh(world.user("steward"))).exists()


def test_auditor_group_is_left_when_last_auditor_membership_goes(world):
    auditor = world.user("auditor")
    services.membership_delete(membership=world.memberships["auditor"], acting_user=SYSTEM)
    assert not fresh(auditor).groups.exists()
    assert not restrict(Workspace.objects.all(), fresh(auditor)).exists()


# --- cost ----------------------------------------------------------------------------------------------------


def _list_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_restricted_list_costs_the_same_queries_for_20_and_200_rows(world):
    """The scope is one cached grant look-up plus a filter: no guardian query per row."""
    client = verified_client(world.user("workspace_admin"))
    url = reverse("api:auditevent-list") + "?page_size=500&event=bulk"
    _list_queries(client, url)  # warm process-wide caches (content types) so both measured requests are alike
    AuditEvent.objects.bulk_create([AuditEvent(event="bulk", workspace=world.workspace_a) for _ in range(20)]
                                   + [AuditEvent(event="bulk", workspace=world.workspace_b) for _ in range(20)])
    few = _list_queries(client, url)
    AuditEvent.objects.bulk_create([AuditEvent(event="bulk", workspace=world.workspace_a) for _ in range(180)]
                                   + [AuditEvent(event="bulk", workspace=world.workspace_b) for _ in range(180)])
    many = _list_queries(client, url)
    assert few == many
    response = client.get(url)
    assert response.json()["count"] == 200
    assert {row["workspace"] for row in response.json()["results"]} == {world.workspace_a.pk}


def test_restrict_is_one_query_per_user_and_permission(world):
    steward = fresh(world.user("steward"))
    with CaptureQueriesContext(connection) as first:
        list(restrict(Membership.objects.all(), steward))
    with CaptureQueriesContext(connection) as second:
        list(restrict(Membership.objects.all(), steward))
        assert has_any_grant(steward, Membership, "view")
    assert len(second) == 1  # the list itself; the grants are cached on the user
    assert len(first) == 2   # one statement for every kind of grant, then the list
    permissions.clear_cache(steward)
    with CaptureQueriesContext(connection) as third:
        list(restrict(Membership.objects.all(), steward))
    assert len(third) == len(first)


def test_list_sql_has_no_guardian_join(world):
    sql = str(restrict(Membership.objects.all(), fresh(world.user("steward"))).query).lower()
    assert "guardian" not in sql


def test_grant_role_command_creates_then_changes_membership(world, capsys):
    from django.core.management import call_command

    outsider = world.user("outsider")
    call_command("grant_role", "outsider", "workspace-b", "analyst")
    assert list(restrict(Workspace.objects.all(), fresh(outsider))) == [world.workspace_b]
    call_command("grant_role", "outsider", "workspace-b", "workspace_admin")
    assert Membership.objects.get(user=outsider).role == "workspace_admin"
    assert AuditEvent.objects.filter(event="membership.changed", actor_label="system").exists()
    call_command("grant_role", "--sync")
    assert "Roles re-applied to" in capsys.readouterr().out


def test_grant_role_command_says_when_the_user_cannot_open_the_admin(world, capsys):
    from django.core.management import call_command

    call_command("grant_role", "outsider", "workspace-b", "data_steward")
    assert "outsider is not staff" in capsys.readouterr().out
    outsider = world.user("outsider")
    outsider.is_staff = True
    outsider.save(update_fields=["is_staff"])
    call_command("grant_role", "outsider", "workspace-b", "analyst")
    assert "not staff" not in capsys.readouterr().out
