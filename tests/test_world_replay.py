"""The ``world`` fixture's rows, inserted again (tests.support.replay), are the rows the services write."""
from django.db import transaction
from guardian.models import UserObjectPermission

from accounts.models import AuditEvent, Membership, User, Workspace
from accounts.permissions import workspace_allows
from accounts.roles import Role
from tests.support.factories import UserFactory
from tests.support.personas import PERSONAS, build_world, recorded_world
from tests.support.replay import Recorder

TABLES = (Workspace, User, Membership, UserObjectPermission, AuditEvent, User.groups.through)


def _contents():
    return {model: sorted(model._base_manager.values_list(), key=str) for model in TABLES}


def _in_rolled_back_savepoint(build):
    with transaction.atomic():
        world = build()
        contents = _contents()
        permissions = {persona: sorted(world.users[persona].get_all_permissions())
                       for persona in PERSONAS if persona != "anonymous"}
        steward_may_change = workspace_allows(world.users["steward"], "catalog.change_asset", world.workspace_a)
        transaction.set_rollback(True)
    return world, contents, permissions, steward_may_change


def test_a_replayed_world_is_the_built_one_row_for_row(db):
    recorder = Recorder(build=recorded_world.build, keys=recorded_world.keys, load=recorded_world.load)
    built = _in_rolled_back_savepoint(recorder)
    replayed = _in_rolled_back_savepoint(recorder)
    assert (recorder.built, recorder.replayed) == (1, 1)
    assert replayed[1] == built[1]
    assert replayed[1][Membership], "the world has memberships and grants"
    assert replayed[2] == built[2] and replayed[3] is built[3] is True
    world = replayed[0]
    assert world.memberships["steward"].role == Role.DATA_STEWARD
    assert world.memberships["steward"].user_id == world.users["steward"].pk
    assert world.users["superuser"].is_superuser and world.workspace_b.name == "Workspace B"


def test_a_world_asked_for_after_other_rows_is_built_through_the_services(db):
    recorder = Recorder(build=build_world, keys=recorded_world.keys, load=recorded_world.load)
    _in_rolled_back_savepoint(recorder)
    with transaction.atomic():
        UserFactory(username="analyst")  # the world's get_or_create would find this one
        world = recorder()
        assert recorder.built == 2 and recorder.replayed == 0
        assert User.objects.filter(username="analyst").count() == 1
        assert world.users["analyst"].memberships.get().role == Role.ANALYST
        transaction.set_rollback(True)


def test_a_build_that_changes_rows_it_found_is_never_replayed(db):
    existing = UserFactory(username="someone")

    def build():
        User.objects.filter(pk=existing.pk).update(first_name="changed")
        return build_world()

    recorder = Recorder(build=build, keys=recorded_world.keys, load=recorded_world.load)
    for _ in range(2):
        _in_rolled_back_savepoint(recorder)
    assert (recorder.built, recorder.replayed) == (2, 0)
