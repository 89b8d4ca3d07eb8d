"""A role's grants and single-object grants live in the same guardian tables, told apart by content type.

A role is stored as guardian rows on the Workspace carrying permissions of other models (``catalog.change_asset``
with the workspace's content type); a single-object grant as a row on the object itself. django-guardian's own
unique key is (user or group, permission, object_pk), without the content type, so the two collided whenever an
asset's id was a workspace's id: an object grant after the role raised IntegrityError, and a role after the object
grant silently lost that permission (the insert ignores conflicts). accounts migration 0006 makes the key include
the content type, on both tables; these tests hold it on SQLite and PostgreSQL.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django.utils import timezone
from guardian.core import ObjectPermissionChecker
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

from accounts import services
from accounts.actors import SYSTEM
from accounts.models import Membership, ObjectGrant, User, Workspace
from accounts.permissions import has_perm, restrict, workspace_allows
from accounts.roles import Role
from catalog.models import Asset
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.support.factories import UserFactory, WorkspaceFactory, membership
from tests.support.personas import verified_client

CHANGE_ASSET = "catalog.change_asset"


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.fixture
def colliding(db):
    """A workspace, and in another workspace an asset whose id is that workspace's id."""
    workspace = WorkspaceFactory(name="Sales")
    elsewhere = DataSourceFactory(workspace=WorkspaceFactory(name="Finance"))
    asset = AssetFactory(id=workspace.pk, data_source=elsewhere)
    # Explicit ids: PostgreSQL's sequence does not see the one above.
    neighbour = AssetFactory(id=workspace.pk + 1, data_source__workspace=workspace)  # the role's, not the grant's
    return workspace, asset, neighbour


def _grant(user: User, asset: Asset) -> ObjectGrant:
    return services.object_grant_create(user=user, obj=asset, action="change", acting_user=SYSTEM,
                                        expires_at=timezone.now() + timedelta(days=7), reason="approved request")


def _holds_both(user: User, workspace: Workspace, asset: Asset, neighbour: Asset) -> None:
    user = fresh(user)
    assert workspace_allows(user, CHANGE_ASSET, workspace)  # the role
    assert has_perm(user, "change", neighbour)  # the role, on a row of its workspace
    assert has_perm(user, "change", asset)  # the single-object grant, outside the role's workspace
    assert set(restrict(Asset.objects.all(), user, "change")) == {asset, neighbour}


# --- users, through the services ------------------------------------------------------------------------------


def test_object_grant_after_a_role_in_the_workspace_of_the_same_id(colliding):
    workspace, asset, neighbour = colliding
    user = UserFactory(username="steward")
    membership(user, workspace, Role.DATA_STEWARD)
    _grant(user, asset)
    _holds_both(user, workspace, asset, neighbour)


def test_role_after_an_object_grant_on_the_asset_of_the_same_id(colliding):
    workspace, asset, neighbour = colliding
    user = UserFactory(username="steward")
    _grant(user, asset)
    membership(user, workspace, Role.DATA_STEWARD)
    _holds_both(user, workspace, asset, neighbour)


def test_role_change_after_an_object_grant_keeps_both(colliding):
    workspace, asset, neighbour = colliding
    user = UserFactory(username="analyst")
    member = membership(user, workspace, Role.ANALYST)  # analysts only view assets
    _grant(user, asset)
    services.membership_change_role(membership=member, role=Role.DATA_OWNER, acting_user=SYSTEM)
    _holds_both(user, workspace, asset, neighbour)


def test_ending_one_leaves_the_other(colliding):
    workspace, asset, neighbour = colliding
    user = UserFactory(username="steward")
    member = membership(user, workspace, Role.DATA_STEWARD)
    grant = _grant(user, asset)

    services.object_grant_revoke(grant=grant, acting_user=SYSTEM)
    user = fresh(user)
    assert workspace_allows(user, CHANGE_ASSET, workspace) and has_perm(user, "change", neighbour)
    assert not has_perm(user, "change", asset)

    _grant(user, asset)
    services.membership_delete(membership=member, acting_user=SYSTEM)
    user = fresh(user)
    assert not workspace_allows(user, CHANGE_ASSET, workspace) and not has_perm(user, "change", neighbour)
    assert has_perm(user, "change", asset)


def test_the_same_grant_twice_and_a_grant_the_role_already_gives_are_no_conflict(colliding):
    """What still shares the whole key (user, permission, content type, object) is the same grant: writing it again
    is not an error, and the role's row is kept when the object grant on the workspace ends."""
    workspace, asset, neighbour = colliding
    user = UserFactory(username="steward")
    membership(user, workspace, Role.DATA_STEWARD)
    _grant(user, asset)
    _grant(user, asset)
    on_workspace = services.object_grant_create(user=user, obj=workspace, action="view", acting_user=SYSTEM,
                                                expires_at=timezone.now() + timedelta(days=1))
    services.object_grant_revoke(grant=on_workspace, acting_user=SYSTEM)
    _holds_both(user, workspace, asset, neighbour)
    assert has_perm(fresh(user), "view", workspace)


# --- users, through the API and the admin ---------------------------------------------------------------------


def test_membership_api_after_an_object_grant(colliding):
    workspace, asset, neighbour = colliding
    user = UserFactory(username="newcomer")
    _grant(user, asset)
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = verified_client(superuser)
    response = client.post(reverse("api:membership-list"),
                           {"user": user.pk, "workspace": workspace.pk, "role": Role.ANALYST}, format="json")
    assert response.status_code == 201, response.content
    response = client.patch(reverse("api:membership-detail", args=[response.json()["id"]]),
                            {"role": Role.DATA_STEWARD}, format="json")
    assert response.status_code == 200, response.content
    _holds_both(user, workspace, asset, neighbour)


def test_membership_admin_after_an_object_grant(colliding):
    workspace, asset, neighbour = colliding
    user = UserFactory(username="newcomer")
    _grant(user, asset)
    client = verified_client(UserFactory(username="root", is_superuser=True, is_staff=True))
    response = client.post(reverse("admin:accounts_membership_add"),
                           {"user": user.pk, "workspace": workspace.pk, "role": Role.DATA_STEWARD},
                           format="multipart")
    assert response.status_code == 302, response.content[:500]
    assert Membership.objects.filter(user=user, workspace=workspace, role=Role.DATA_STEWARD).exists()
    _holds_both(user, workspace, asset, neighbour)


def test_adding_a_member_twice_is_a_400_not_a_500(world):
    """The unique constraint decides (no check before the insert for a concurrent add to slip past): a second
    membership of the same user in the same workspace is refused as bad input, and the first is untouched."""
    analyst = world.user("analyst")
    response = world.client("superuser").post(
        reverse("api:membership-list"), {"user": analyst.pk, "workspace": world.workspace_a.pk,
                                         "role": Role.DATA_OWNER}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "user"
    assert "already a member" in response.json()["errors"][0]["detail"]
    assert Membership.objects.get(user=analyst, workspace=world.workspace_a).role == Role.ANALYST
    assert not workspace_allows(fresh(analyst), CHANGE_ASSET, world.workspace_a)


# --- groups ---------------------------------------------------------------------------------------------------


def _group_role_row(group: Group, workspace: Workspace) -> None:
    """A group's role grant as the read path reads it (accounts.permissions): the permission held on the
    workspace. Written as roles are, with bulk_create: guardian's save() refuses another model's permission."""
    permission = services._permissions_for([CHANGE_ASSET])[0][0]
    GroupObjectPermission.objects.bulk_create([GroupObjectPermission(
        group=group, permission=permission, object_pk=str(workspace.pk),
        content_type=ContentType.objects.get_for_model(Workspace))])


@pytest.mark.parametrize("role_first", [True, False], ids=["role-then-object", "object-then-role"])
def test_group_rows_on_the_workspace_and_on_the_asset_of_the_same_id(colliding, role_first):
    workspace, asset, neighbour = colliding
    group = Group.objects.create(name="sales stewards")
    user = UserFactory(username="grouped")
    user.groups.add(group)
    if role_first:
        _group_role_row(group, workspace)
        assign_perm(CHANGE_ASSET, group, asset)
    else:
        assign_perm(CHANGE_ASSET, group, asset)
        _group_role_row(group, workspace)
    assert GroupObjectPermission.objects.filter(group=group, object_pk=str(asset.pk)).count() == 2
    assert workspace_allows(fresh(user), CHANGE_ASSET, workspace)
    assert has_perm(fresh(user), "change", neighbour)
    assert ObjectPermissionChecker(group).has_perm("change_asset", asset)


# --- the constraint itself ------------------------------------------------------------------------------------


def _unique_column_sets(table: str) -> set[frozenset]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {frozenset(info["columns"]) for info in constraints.values()
            if info["unique"] and not info["primary_key"] and len(info["columns"]) > 1}


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "holder"), [(UserObjectPermission, "user_id"),
                                                (GroupObjectPermission, "group_id")])
def test_the_unique_key_includes_the_content_type(model, holder):
    assert _unique_column_sets(model._meta.db_table) == {
        frozenset({holder, "permission_id", "content_type_id", "object_pk"})}


def test_the_whole_key_is_still_unique(colliding):
    _, asset, _ = colliding
    user = UserFactory(username="twice")
    permission = services._permissions_for([CHANGE_ASSET])[0][0]
    row = {"user": user, "permission": permission, "object_pk": str(asset.pk),
           "content_type": ContentType.objects.get_for_model(Asset)}
    UserObjectPermission.objects.bulk_create([UserObjectPermission(**row)])
    with pytest.raises(IntegrityError), transaction.atomic():
        UserObjectPermission.objects.bulk_create([UserObjectPermission(**row)])


def test_guardian_has_no_migration_after_the_one_0006_follows():
    """accounts 0006 changed guardian's tables behind guardian's migration state. A newer guardian migration that
    alters these keys would look for the old constraint: read it before upgrading, then move this line."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    assert loader.graph.leaf_nodes("guardian") == [
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more")]


# --- the migration, on a populated database -------------------------------------------------------------------

AFTER = ("accounts", "0006_guardian_keys_include_content_type")
# The accounts migration it follows, read from the graph: renumbering it (a merge) changes AFTER only.
BEFORE = next(parent for parent in MigrationLoader(None, ignore_no_migrations=True).graph.node_map[AFTER].parents
              if parent.key[0] == "accounts").key


def _migrate(targets=None):
    executor = MigrationExecutor(connection)
    return executor.migrate(targets or executor.loader.graph.leaf_nodes())


@pytest.fixture
def before_0006(transactional_db):
    """The database at accounts 0005 for the test, and at the latest migrations again after it, failed or not."""
    yield _migrate([BEFORE]).apps
    _migrate()


def _populate(apps) -> dict:
    """Grants as a database held them before 0006, written with the models as they were: a user's role on a
    workspace, their grant on an asset of another id, a group's role."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    organization = apps.get_model("accounts", "Organization").objects.create(name="Org")
    workspace = apps.get_model("accounts", "Workspace").objects.create(organization=organization, name="Sales",
                                                                       slug="sales")
    user = apps.get_model("accounts", "User").objects.create(username="steward")
    group = apps.get_model("auth", "Group").objects.create(name="sales stewards")
    change = apps.get_model("auth", "Permission").objects.get(content_type__app_label="catalog",
                                                              codename="change_asset")
    workspace_type = ContentType.objects.get(app_label="accounts", model="workspace")
    asset_type = ContentType.objects.get(app_label="catalog", model="asset")
    UOP, GOP = (apps.get_model("guardian", name) for name in ("UserObjectPermission", "GroupObjectPermission"))
    UOP.objects.create(user=user, permission=change, content_type=workspace_type, object_pk=str(workspace.pk))
    UOP.objects.create(user=user, permission=change, content_type=asset_type, object_pk=str(workspace.pk + 1))
    GOP.objects.create(group=group, permission=change, content_type=workspace_type, object_pk=str(workspace.pk))
    return {"user": user.pk, "group": group.pk, "permission": change.pk, "workspace": workspace.pk,
            "asset_type": asset_type.pk, "rows": _rows()}


def _rows() -> set:
    return {(model.__name__, *row) for model in (UserObjectPermission, GroupObjectPermission)
            for row in model.objects.values_list("pk", "permission_id", "content_type_id", "object_pk")}


def _collide(populated: dict) -> None:
    """Grants on an asset whose id is the workspace's, to the user and to the group (bulk_create: guardian's save()
    looks the asset up, and this database has none)."""
    common = {"permission_id": populated["permission"], "content_type_id": populated["asset_type"],
              "object_pk": str(populated["workspace"])}
    UserObjectPermission.objects.bulk_create([UserObjectPermission(user_id=populated["user"], **common)])
    GroupObjectPermission.objects.bulk_create([GroupObjectPermission(group_id=populated["group"], **common)])


def _uncollide(populated: dict) -> None:
    for model in (UserObjectPermission, GroupObjectPermission):
        model.objects.filter(content_type_id=populated["asset_type"], object_pk=str(populated["workspace"])).delete()


def test_a_populated_database_keeps_its_grants_and_takes_the_colliding_ones(before_0006):
    populated = _populate(before_0006)
    with pytest.raises(IntegrityError), transaction.atomic():
        _collide(populated)  # the bug, before the migration

    _migrate([AFTER])
    assert _rows() == populated["rows"]
    _collide(populated)
    user = User.objects.get(pk=populated["user"])
    assert workspace_allows(user, CHANGE_ASSET, Workspace.objects.get(pk=populated["workspace"]))


def test_going_back_restores_guardian_key_and_refuses_while_rows_would_collide(before_0006):
    populated = _populate(before_0006)
    _migrate([AFTER])
    _collide(populated)
    with pytest.raises(RuntimeError, match="differ only by content type"):
        _migrate([BEFORE])
    assert _unique_column_sets(UserObjectPermission._meta.db_table) == {
        frozenset({"user_id", "permission_id", "content_type_id", "object_pk"})}

    _uncollide(populated)
    _migrate([BEFORE])
    assert _rows() == populated["rows"]
    assert _unique_column_sets(UserObjectPermission._meta.db_table) == {
        frozenset({"user_id", "permission_id", "object_pk"})}
    assert _unique_column_sets(GroupObjectPermission._meta.db_table) == {
        frozenset({"group_id", "permission_id", "object_pk"})}
