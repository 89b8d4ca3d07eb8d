"""Permissions declared ahead of their models are skipped quietly; a missing permission of an installed model is a
warning (issue 11, item 8: migrate said "8 role permissions not installed yet" every time)."""
import logging

import pytest
from django.core.management import call_command

from accounts import roles, services
from accounts.roles import Role
from tests.support.factories import UserFactory, WorkspaceFactory, membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def extra_declaration():
    """Declare grants for one test, then forget them."""
    added = []

    def declare(grants):
        roles.declare(grants)
        added.append(grants)

    yield declare
    for grants in added:
        roles._declarations.remove(grants)
    roles.role_grants.cache_clear()


def racine_records(caplog, level: int) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == "racine.accounts" and record.levelno >= level]


def test_planned_models_are_not_reported_on_migrate(caplog):
    assert any(not services._model_installed(name) for name in roles.permission_names(Role.AUDITOR)), \
        "the auditor role declares permissions of planned models (glossary, compliance…)"
    caplog.set_level(logging.DEBUG, logger="racine.accounts")
    call_command("migrate", verbosity=0)
    assert racine_records(caplog, logging.INFO) == []


def test_a_missing_permission_of_an_installed_model_is_a_warning(caplog, extra_declaration):
    # No "audit_asset" in Asset's Meta.permissions: a typo in a declaration, not a planned model.
    extra_declaration({Role.DATA_STEWARD: {"catalog.asset": {"audit"}}})
    caplog.set_level(logging.DEBUG, logger="racine.accounts")
    membership(UserFactory(), WorkspaceFactory(), Role.DATA_STEWARD)
    warnings = racine_records(caplog, logging.WARNING)
    assert len(warnings) == 1 and "catalog.audit_asset" in warnings[0] and "glossaryterm" not in warnings[0]
