"""The permission matrices' shared world (tests.support.permission_matrix.SharedWorld): built once per class, yet
every test starts from it untouched, whatever the test before it wrote to the database, to the copies it was
given, to its clients' sessions or to its own instance.

The tests of this class run in their order on one process (pytest-xdist's ``--dist loadscope`` keeps a class
together); the second fails, rather than passing without proving anything, if the first did not run before it.
"""
from django.urls import reverse

from accounts.models import User, Workspace
from tests.support.factories import UserFactory
from tests.support.permission_matrix import SharedWorld


class TestEveryTestStartsFromTheSameWorld(SharedWorld):
    builds = 0
    writer_ran = False

    def objects(self, world):
        type(self).builds += 1
        self.label = "as built"
        return world.workspace_a, world.workspace_b

    def test_1_a_test_that_changes_everything(self, cell):
        world, workspace_a, workspace_b = cell
        Workspace.objects.filter(pk=workspace_a.pk).update(name="renamed by the first test")
        workspace_b.delete()
        UserFactory(username="left_behind")
        world.users["analyst"].username = "renamed in memory"
        steward = world.client("steward")
        assert steward.get(reverse("api:workspace-list")).status_code == 200
        steward.logout()
        assert steward.get(reverse("api:workspace-list")).status_code == 401
        self.label = "changed by the first test"
        type(self).writer_ran = True

    def test_2_the_next_test_sees_none_of_it(self, cell):
        world, workspace_a, workspace_b = cell
        assert type(self).writer_ran, "the first test did not run before this one in this process"
        assert type(self).builds == 1
        assert Workspace.objects.get(pk=workspace_a.pk).name == "Workspace A"
        assert workspace_b.pk is not None and Workspace.objects.filter(pk=workspace_b.pk).exists()
        assert not User.objects.filter(username="left_behind").exists()
        assert world.users["analyst"].username == "analyst"
        assert world.client("steward").get(reverse("api:workspace-list")).status_code == 200
        assert self.label == "as built"
