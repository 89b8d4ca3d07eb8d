"""No N+1 in the admin: every changelist of the admin site costs the same queries for many rows as for few.

Every ModelAdmin registered on the site is covered (ours and those of django-otp and django-celery-beat), and a
new registration fails ``test_every_admin_changelist_has_a_row_factory`` until it is given a row factory here.
Each page is read by a superuser (no permission filter) and by a staff data steward of workspace A (scoped by
workspace grants) wherever the steward may open it; the rows added must be listed, so a constant count is not the
constant count of an empty page.
"""
from datetime import timedelta
from itertools import count

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.authentication import api_token_create
from accounts.models import ObjectGrant
from catalog.models import Asset, GlossaryTerm
from core.models import Event
from sources.models import DataSource
from tests.catalog.classification_factories import (
    AssetClassificationFactory,
    ClassificationFactory,
    ClassificationRuleFactory,
)
from tests.catalog.curation_factories import GlossaryTermFactory, TagFactory
from tests.catalog.factories import (
    AssetChangeFactory,
    AssetFactory,
    DataSourceFactory,
    ScanFactory,
    ScanRuleSetFactory,
    ScanRunFactory,
)
from tests.catalog.property_factories import PropertyDefinitionFactory
from tests.catalog.suggestion_factories import suggestion_in
from tests.support.factories import (
    AuditEventFactory,
    OrganizationFactory,
    UserFactory,
    WorkspaceFactory,
    membership,
)

PERSONAS = ("superuser", "steward")
_serial = count(1)


def _workspace(world, user):
    workspace = WorkspaceFactory()
    if not user.is_superuser:
        membership(user, workspace)


def _object_grant(world, user):
    source = DataSourceFactory(workspace=world.workspace_a)
    ObjectGrant.objects.create(
        user=UserFactory(), content_type=ContentType.objects.get_for_model(DataSource), object_id=str(source.pk),
        permission=Permission.objects.get(codename="view_datasource"), granted_by=user,
        expires_at=timezone.now() + timedelta(days=1))


def _api_token(world, user):
    owner = UserFactory()
    api_token_create(user=owner, name="admin list", scope="read", acting_user=owner,
                     expires_at=timezone.now() + timedelta(days=1))


def _asset(asset_type):
    return lambda world, user: AssetFactory(type=asset_type,
                                            data_source=DataSourceFactory(workspace=world.workspace_a))


def _glossary_term(world, user):
    """A narrower term with related terms, stewards and linked assets: what its row and filters read (one row a
    call: the parent is made once)."""
    parent = (GlossaryTerm.objects.filter(workspace=world.workspace_a, parent=None).first()
              or GlossaryTermFactory(workspace=world.workspace_a))
    term = GlossaryTermFactory(workspace=world.workspace_a, parent=parent, synonyms=["client"])
    term.related_terms.add(parent)
    term.stewards.add(membership(UserFactory(), world.workspace_a).user)
    term.assets.add(AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_a)))


def _source_with_a_run(world, user):
    ScanRunFactory(scan__data_source__workspace=world.workspace_a)


# model label → a row the superuser (and the steward, where the steward may open the page) can list: f(world, user)
ROWS = {
    "otp_totp.TOTPDevice": lambda world, user: TOTPDevice.objects.create(user=UserFactory(), name="phone"),
    "otp_static.StaticDevice": lambda world, user: StaticDevice.objects.create(user=UserFactory(), name="codes"),
    "django_celery_beat.PeriodicTask": lambda world, user: PeriodicTask.objects.create(
        name=f"task {next(_serial)}", task="racine.test",
        interval=IntervalSchedule.objects.create(every=next(_serial), period=IntervalSchedule.SECONDS)),
    "django_celery_beat.ClockedSchedule": lambda world, user: ClockedSchedule.objects.create(
        clocked_time=timezone.now()),
    "django_celery_beat.CrontabSchedule": lambda world, user: CrontabSchedule.objects.create(
        minute=str(next(_serial) % 60)),
    "django_celery_beat.SolarSchedule": lambda world, user: SolarSchedule.objects.create(
        event="sunrise", latitude=next(_serial) % 90, longitude=0),
    "django_celery_beat.IntervalSchedule": lambda world, user: IntervalSchedule.objects.create(
        every=next(_serial), period=IntervalSchedule.SECONDS),
    "accounts.User": lambda world, user: membership(UserFactory(), world.workspace_a),
    "auth.Group": lambda world, user: Group.objects.create(name=f"group {next(_serial)}"),
    "accounts.Organization": lambda world, user: OrganizationFactory(name=f"Organization {next(_serial)}"),
    "accounts.Workspace": _workspace,
    "accounts.Membership": lambda world, user: membership(UserFactory(), world.workspace_a),
    "accounts.ObjectGrant": _object_grant,
    "accounts.AuditEvent": lambda world, user: AuditEventFactory(workspace=world.workspace_a),
    "accounts.ApiToken": _api_token,
    "core.Event": lambda world, user: Event.objects.create(
        name="scan.finished", aggregate_type="scanning.scanrun", aggregate_id=str(next(_serial)),
        workspace=world.workspace_a),
    "sources.DataSource": _source_with_a_run,
    "catalog.SourceAsset": _asset(Asset.Type.SOURCE),
    "catalog.DatabaseAsset": _asset(Asset.Type.DATABASE),
    "catalog.SchemaAsset": _asset(Asset.Type.SCHEMA),
    "catalog.TableAsset": _asset(Asset.Type.TABLE),
    "catalog.ViewAsset": _asset(Asset.Type.VIEW),
    "catalog.RoutineAsset": _asset(Asset.Type.ROUTINE),
    "catalog.ColumnAsset": _asset(Asset.Type.COLUMN),
    "catalog.Classification": lambda world, user: ClassificationFactory(),
    "catalog.AssetClassification": lambda world, user: AssetClassificationFactory(
        asset=AssetFactory(type=Asset.Type.COLUMN, data_source=DataSourceFactory(workspace=world.workspace_a))),
    "catalog.Suggestion": lambda world, user: suggestion_in(world.workspace_a),
    "catalog.Tag": lambda world, user: TagFactory(workspace=world.workspace_a),
    "catalog.GlossaryTerm": _glossary_term,
    "catalog.PropertyDefinition": lambda world, user: PropertyDefinitionFactory(workspace=world.workspace_a),
    "scanning.ScanRuleSet": lambda world, user: ScanRuleSetFactory(workspace=world.workspace_a),
    "scanning.Scan": lambda world, user: ScanFactory(data_source=DataSourceFactory(workspace=world.workspace_a)),
    "scanning.ScanRun": lambda world, user: ScanRunFactory(scan__data_source__workspace=world.workspace_a),
    "scanning.AssetChange": lambda world, user: AssetChangeFactory(
        run__scan__data_source__workspace=world.workspace_a),
    "scanning.ClassificationRule": lambda world, user: ClassificationRuleFactory(workspace=world.workspace_a),
}


def _registered() -> list[str]:
    """Every admin with a list page (an admin without pages, such as the asset typeahead's, has no list to count)."""
    return sorted(model._meta.label for model, model_admin in admin.site._registry.items() if model_admin.get_urls())


def _get(client, url) -> tuple[int | None, int, int]:
    """(status, queries, rows on the page) of one changelist request."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    if response.status_code != 200:
        return response.status_code, len(queries), 0
    return 200, len(queries), len(response.context_data["cl"].result_list)


def test_every_admin_changelist_has_a_row_factory():
    missing = sorted(set(_registered()) - set(ROWS))
    assert not missing, f"admin pages without a row factory in {__name__}.ROWS: {missing}"


@pytest.mark.parametrize("label", _registered())
def test_admin_changelist_queries_do_not_grow_with_rows(world, label):
    model = next(model for model in admin.site._registry if model._meta.label == label)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    for persona in PERSONAS:
        client, user = world.client(persona), world.user(persona)
        ROWS[label](world, user)
        status, _, _ = _get(client, url)  # warm per-process caches (content types, grants)
        if status == 403 and persona != "superuser":
            continue  # not the steward's page
        assert status == 200, f"{persona}: {status}"
        _, few, listed = _get(client, url)
        for _ in range(8):
            ROWS[label](world, user)
        _, many, listed_now = _get(client, url)
        assert listed_now == listed + 8, f"{persona} does not list the rows added: the check would be vacuous"
        assert many == few, f"{persona}: {few} queries for {listed} rows, {many} for {listed_now}"
