"""manage.py bootstrap: the first administrator is the default workspace's admin, so a newcomer can own assets and
steward glossary terms at once (new-user pass 22: the first glossary import named the administrator as a steward
and was refused, the administrator being a member of no workspace)."""
import io

import pytest
from django.core.management import call_command

from accounts import services
from accounts.actors import SYSTEM
from accounts.models import Membership, User
from accounts.roles import Role
from catalog import glossary
from catalog.models import GlossaryTerm

pytestmark = pytest.mark.django_db


def _bootstrap(monkeypatch, username="admin") -> str:
    monkeypatch.setenv("RACINE_ADMIN_USERNAME", username)
    monkeypatch.delenv("RACINE_ADMIN_PASSWORD", raising=False)
    out = io.StringIO()
    call_command("bootstrap", "--no-input", "--skip-migrate", stdout=out)
    return out.getvalue()


def test_the_first_administrator_is_the_default_workspaces_admin_and_may_steward_its_terms(monkeypatch):
    said = _bootstrap(monkeypatch)
    membership = Membership.objects.get(user__username="admin")
    assert membership.workspace.name == services.DEFAULT_WORKSPACE_NAME and membership.role == Role.WORKSPACE_ADMIN
    assert f"workspace admin of {services.DEFAULT_WORKSPACE_NAME}" in said
    csv = "name,definition,stewards\nCustomer,Someone who buys.,admin\n"
    plan = glossary.glossary_import(workspace=membership.workspace, data=csv, fmt="csv", acting_user=SYSTEM)
    assert plan.count("create") == 1
    assert list(GlossaryTerm.objects.get(name="Customer").stewards.values_list("username", flat=True)) == \
        ["admin"]


def test_running_it_again_leaves_the_administrator_and_their_roles_as_they_are(monkeypatch):
    _bootstrap(monkeypatch)
    Membership.objects.filter(user__username="admin").update(role=Role.DATA_STEWARD)  # changed since
    said = _bootstrap(monkeypatch)
    assert "exists" in said
    assert list(Membership.objects.filter(user__username="admin").values_list("role", flat=True)) == \
        [Role.DATA_STEWARD]
    assert User.objects.filter(username="admin").count() == 1
