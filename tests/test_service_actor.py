"""Guard: no service is callable without an actor.

Every public function of every services module either takes ``acting_user`` with no default (a user, or
``accounts.actors.SYSTEM`` for tasks and commands) or is listed below as taking none, with why. ``authorize``
refuses ``None``, so passing it (the old spelling of "the system") fails loudly instead of skipping the check.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pickle
import pkgutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts import services as account_services
from accounts.actors import SYSTEM, require_actor, user_or_none
from accounts.models import AuditEvent, Membership, ObjectGrant
from accounts.permissions import authorize
from accounts.roles import Role
from catalog import services as catalog_services
from scanning import services as scanning_services
from scanning.models import ScanRuleSet
from sources import services as source_services
from sources.models import DataSource
from tests.support.factories import UserFactory, WorkspaceFactory, membership

ROOT = Path(__file__).resolve().parents[1]

# Services modules that are not named services: token life cycle, the outbox's dead-letter retry.
EXTRA_SERVICE_MODULES = ("accounts.authentication", "core.events", "catalog.curation", "catalog.glossary",
                         "catalog.asset_curation", "catalog.suggestions", "catalog.lineage.services",
                         "catalog.propagation", "catalog.properties",
                         "catalog.lineage.definitions", "catalog.lineage.openlineage", "catalog.source_assets")
EXTRA_SERVICES = {"accounts.authentication": {"api_token_create", "api_token_revoke"},
                  "core.events": {"dead_letters_retry"}}  # the others: every public function

# Public functions of services modules that take no actor.
SYSTEM_ONLY = {
    # Bootstrap, migrations and their post_migrate handlers.
    "accounts.services": {"organization_ensure", "workspace_ensure", "superuser_ensure", "auditors_group",
                          "roles_sync", "roles_sync_after_migrate",
                          # Periodic tasks.
                          "object_grants_expire", "audit_events_prune"},
    "sources.services": {"datasource_secrets_rotate"},  # `manage.py rotate_secrets`
    # What a scan writes, on behalf of the run that a user (or the schedule) was authorised to request.
    "catalog.services": {"asset_classifications_record_scan", "asset_sensitivity_recompute"},
    "catalog.curation": {"asset_certifications_expire"},  # the periodic expiry
    # A source's own asset follows the source: its events' subscriber, the scan writer, the source's page.
    "catalog.source_assets": {"source_asset_ensure"},
    "scanning.services.classifications": {"classifications_sync_builtin", "classifications_sync_after_migrate"},
    "scanning.services.detection": {"detect_table", "after_schema", "detection_run", "detection_on_demand"},
    "scanning.services.runs": {"scan_run_execute", "scan_runs_reap"},
    # rule_set_default: part of scan_create and scan_default, which authorise; scan_schedule_drop: a signal.
    "scanning.services.scans": {"rule_set_default", "scan_schedule_drop", "refresh_catalog_statistics"},
}
NO_WRITE = {  # reads, checks and pure helpers
    "sources.services": {"own_database_identities", "host_policy", "connection_settings", "validate_settings",
                         "secret_target_changes", "datasource_secrets_unreadable", "connection_failure_message",
                         "run_failure_message", "connection_test_slot_seconds", "connection_test_slot",
                         "failure_answer_floor_s", "connection_info_dict"},
    "catalog.services": {"classification_evidence_fingerprint"},
    "catalog.lineage.services": {"sql_dialect", "sql_origin_key", "tables_matching", "columns_matching"},
    "catalog.lineage.openlineage": {"job_key", "event_text"},
    "catalog.lineage.definitions": {"definition_dialect"},
    "catalog.curation": {"may_curate", "owner_key", "links_diff", "links_done", "check_same_workspace", "distinct"},
    "catalog.source_assets": {"source_qualified_name"},
    "catalog.glossary": {"check_hierarchy", "checked_words", "parse_csv", "parse_json", "read_csv", "read_json",
                         "glossary_rows", "glossary_export"},
    "catalog.suggestions": {"term_fingerprint", "description_fingerprint", "asset_lookalikes"},
    "catalog.properties": {"property_definition_check", "property_value_clean", "value_from_query_text", "carrying",
                           "any_of"},
    "scanning.services.classifications": {"classification_rule_preview", "custom_rules_for"},
    "scanning.services.detection": {"detection_context", "tables_to_sample", "detection_plan", "may_classify_all"},
    "scanning.services.runs": {"active_run", "may_cancel"},
    "scanning.services.scans": {"rule_set_filters", "validate_rule_set", "parse_cron", "validate_scan"},
}


def _services_modules():
    for app in apps.get_app_configs():
        if not Path(app.path).is_relative_to(ROOT):
            continue
        try:
            module = importlib.import_module(f"{app.name}.services")
        except ModuleNotFoundError:
            continue
        yield module
        for info in pkgutil.iter_modules(getattr(module, "__path__", ())):
            yield importlib.import_module(f"{module.__name__}.{info.name}")


def _public_functions(module):
    """The public functions the module defines (read from its source, so that a test's monkeypatch of one, or
    a function imported from elsewhere, changes nothing)."""
    tree = ast.parse(Path(inspect.getfile(module)).read_text())
    return {node.name: getattr(module, node.name) for node in tree.body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}


def _services():
    found = {module.__name__: _public_functions(module) for module in _services_modules()}
    for name in EXTRA_SERVICE_MODULES:
        functions = _public_functions(importlib.import_module(name))
        found[name] = {key: functions[key] for key in EXTRA_SERVICES.get(name, functions)}
    return found


def test_the_guard_sees_every_services_module():
    modules = set(_services())
    assert {"accounts.services", "sources.services", "catalog.services", "scanning.services.scans",
            "scanning.services.runs", "scanning.services.detection",
            "scanning.services.classifications"} <= modules


def test_every_service_requires_an_actor_or_is_listed_as_taking_none():
    without_actor, defaulted = [], []
    for module, functions in _services().items():
        exempt = SYSTEM_ONLY.get(module, set()) | NO_WRITE.get(module, set())
        for name, function in functions.items():
            parameter = inspect.signature(function).parameters.get("acting_user")
            if parameter is None:
                if name not in exempt:
                    without_actor.append(f"{module}.{name}")
            elif parameter.default is not inspect.Parameter.empty:
                defaulted.append(f"{module}.{name}")
    assert not defaulted, f"acting_user must have no default (pass SYSTEM explicitly): {defaulted}"
    assert not without_actor, (
        f"services without an acting_user parameter: {without_actor}. Take acting_user (required), or, for a "
        "function no user calls (a task's, a migration's) or one that writes nothing, list it in this test")


def test_the_lists_of_services_taking_no_actor_name_only_existing_functions():
    services = _services()
    for listing in (SYSTEM_ONLY, NO_WRITE):
        for module, names in listing.items():
            stale = names - set(services.get(module, {}))
            assert not stale, f"{module}: no longer exist, drop them from the list: {sorted(stale)}"


def test_authorize_refuses_none_and_lets_the_system_through():
    with pytest.raises(TypeError, match="SYSTEM"):
        authorize(None, lambda: True)
    authorize(SYSTEM, lambda: pytest.fail("the system's rights are not checked"))


@pytest.mark.django_db
def test_authorize_checks_a_user():
    user = UserFactory()
    authorize(user, lambda: True)
    with pytest.raises(PermissionDenied):
        authorize(user, lambda: False)


def test_the_system_actor_is_one_instance_and_stores_as_null():
    assert pickle.loads(pickle.dumps(SYSTEM)) is SYSTEM
    assert user_or_none(SYSTEM) is None
    with pytest.raises(TypeError):
        require_actor(None)
    with pytest.raises(TypeError):
        user_or_none(None)


# --- representative services: omitting the actor, or passing None, fails before anything is written -----------


@pytest.fixture
def workspace(db):
    return WorkspaceFactory()


def _calls(workspace):
    user = UserFactory(username="newcomer")
    return {
        "membership_create": lambda **actor: account_services.membership_create(
            user=user, workspace=workspace, role=Role.ANALYST, **actor),
        "datasource_create": lambda **actor: source_services.datasource_create(
            workspace=workspace, name="shop", engine="postgresql", host="db.example.test", database="shop",
            **actor),
        "rule_set_create": lambda **actor: scanning_services.rule_set_create(workspace=workspace, name="pii",
                                                                             **actor),
        "classification_create": lambda **actor: catalog_services.classification_create(name="HR.ID", **actor),
        "object_grant_create": lambda **actor: account_services.object_grant_create(
            user=user, obj=workspace, action="view", expires_at=timezone.now() + timedelta(days=1), **actor),
    }


WRITTEN = {"membership_create": Membership, "datasource_create": DataSource, "rule_set_create": ScanRuleSet,
           "object_grant_create": ObjectGrant}


@pytest.mark.django_db
@pytest.mark.parametrize("service", ["membership_create", "datasource_create", "rule_set_create",
                                     "classification_create"])
def test_a_service_called_without_an_actor_raises(workspace, service):
    call = _calls(workspace)[service]
    trail = AuditEvent.objects.count()
    with pytest.raises(TypeError, match="acting_user"):
        call()
    with pytest.raises(TypeError, match="SYSTEM"):
        call(acting_user=None)
    assert AuditEvent.objects.count() == trail
    if service in WRITTEN:
        assert not WRITTEN[service].objects.exists()


@pytest.mark.django_db
def test_a_service_without_an_authorisation_step_still_refuses_none(workspace):
    """The classification decisions authorise by restrict(); None is refused all the same."""
    with pytest.raises(TypeError, match="SYSTEM"):
        _calls(workspace)["object_grant_create"](acting_user=None)
    with pytest.raises(TypeError, match="SYSTEM"):
        catalog_services.asset_classifications_decide(asset_classifications=[], decision="confirmed",
                                                      acting_user=None)


@pytest.mark.django_db
def test_the_system_acts_unchecked_and_is_recorded_as_before(workspace):
    """Stored as None was: no actor row, the label "system", no created_by."""
    source = _calls(workspace)["datasource_create"](acting_user=SYSTEM)
    assert source.created_by is None
    event = AuditEvent.objects.get(event="datasource.created")
    assert (event.actor, event.actor_label) == (None, "system")


@pytest.mark.django_db
def test_a_user_without_the_right_is_refused(workspace):
    outsider = UserFactory(username="outsider")
    with pytest.raises(PermissionDenied):
        _calls(workspace)["datasource_create"](acting_user=outsider)
    analyst = UserFactory(username="analyst")
    membership(analyst, workspace, Role.ANALYST)
    with pytest.raises(PermissionDenied):
        _calls(workspace)["rule_set_create"](acting_user=analyst)


@pytest.mark.django_db
def test_only_a_superuser_hands_out_or_ends_an_object_grant(workspace):
    """Regression (session 18's attack): object_grant_create checked no permission, so a future caller passing
    request.user would have let anyone grant themselves anything."""
    staff = UserFactory(is_staff=True)
    with pytest.raises(PermissionDenied):
        _calls(workspace)["object_grant_create"](acting_user=staff)
    assert not ObjectGrant.objects.exists()
    grant = _calls(workspace)["object_grant_create"](acting_user=UserFactory(is_superuser=True))
    with pytest.raises(PermissionDenied):
        account_services.object_grant_revoke(grant=grant, acting_user=staff)
    grant.refresh_from_db()
    assert grant.revoked_at is None
    assert account_services.object_grant_revoke(grant=grant, acting_user=SYSTEM).revoked_at is not None
