"""Data sources moved from catalog to the sources app. On a database populated before the move, every row that
refers to a source — through its table (assets, scans) or through its content type (Permission rows and with them
role grants, single-object grants, the auditors' model-level grant, audit events) — still resolves afterwards."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import AuditEvent, ObjectGrant, User
from accounts.permissions import clear_cache, has_perm, restrict
from catalog.models import Asset
from scanning.models import Scan
from sources.models import DataSource

pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    return executor.migrate(targets or executor.loader.graph.leaf_nodes())


def _populate_before_the_move(apps) -> dict:
    """What a database held before: built with the models as they were (``catalog.DataSource``)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    UserObjectPermission = apps.get_model("guardian", "UserObjectPermission")
    users = {name: apps.get_model("accounts", "User").objects.create(username=name) for name in
             ("analyst", "holder", "auditor")}
    organization = apps.get_model("accounts", "Organization").objects.create(name="Org")
    workspace = apps.get_model("accounts", "Workspace").objects.create(organization=organization, name="Shop",
                                                                       slug="shop")
    apps.get_model("accounts", "Membership").objects.create(user=users["analyst"], workspace=workspace,
                                                            role="analyst")
    source = apps.get_model("catalog", "DataSource").objects.create(workspace=workspace, name="shop",
                                                                    engine="sqlite", database="/srv/shop.db")
    source_type = ContentType.objects.get(app_label="catalog", model="datasource")
    view, test_connection = (Permission.objects.get(content_type=source_type, codename=codename)
                             for codename in ("view_datasource", "test_connection_datasource"))
    # The analyst's role: a permission on source rows, held on the workspace.
    UserObjectPermission.objects.create(
        user=users["analyst"], permission=view,
        content_type=ContentType.objects.get(app_label="accounts", model="workspace"), object_pk=str(workspace.pk))
    # An approved access request: a grant on this one source, with its record.
    UserObjectPermission.objects.create(user=users["holder"], permission=test_connection, content_type=source_type,
                                        object_pk=str(source.pk))
    grant = apps.get_model("accounts", "ObjectGrant").objects.create(
        user=users["holder"], content_type=source_type, object_id=str(source.pk), permission=test_connection,
        expires_at=timezone.now() + timedelta(days=7))
    auditors, _ = Group.objects.get_or_create(name="Auditors")
    auditors.permissions.add(view)
    users["auditor"].groups.add(auditors)
    event = apps.get_model("accounts", "AuditEvent").objects.create(
        event="datasource.created", content_type=source_type, object_id=str(source.pk), object_repr=source.name,
        workspace=workspace)
    rule_set = apps.get_model("scanning", "ScanRuleSet").objects.create(workspace=workspace, name="Default")
    scan = apps.get_model("scanning", "Scan").objects.create(data_source=source, rule_set=rule_set, name="shop")
    asset = apps.get_model("catalog", "Asset").objects.create(data_source=source, type="database",
                                                              qualified_name="shop", name="shop")
    return {"source": source.pk, "content_type": source_type.pk, "grant": grant.pk, "event": event.pk,
            "scan": scan.pk, "asset": asset.pk, "permissions": {view.pk, test_connection.pk}}


def test_a_populated_database_keeps_every_reference_to_its_sources():
    before = _migrate([("sources", None)]).apps
    assert before.get_model("catalog", "DataSource")._meta.db_table == "catalog_datasource"
    rows = _populate_before_the_move(before)

    _migrate(None)
    ContentType.objects.clear_cache()

    source = DataSource.objects.get(pk=rows["source"])
    source_type = ContentType.objects.get_for_model(DataSource)
    assert source_type.pk == rows["content_type"]  # the same row, relabelled: nothing pointing at it moved
    assert not ContentType.objects.filter(app_label="catalog", model="datasource").exists()
    assert rows["permissions"] <= set(source_type.permission_set.values_list("pk", flat=True))
    assert Asset.objects.get(pk=rows["asset"]).data_source == source
    assert Scan.objects.get(pk=rows["scan"]).data_source == source

    analyst, holder, auditor = (User.objects.get(username=name) for name in ("analyst", "holder", "auditor"))
    for user in (analyst, holder, auditor):
        clear_cache(user)
    assert list(restrict(DataSource.objects.all(), analyst, "view")) == [source]
    assert has_perm(holder, "test_connection", source)
    assert not has_perm(analyst, "test_connection", source)
    assert auditor.has_perm("sources.view_datasource")
    grant = ObjectGrant.objects.get(pk=rows["grant"])
    assert (grant.content_type, grant.permission.codename) == (source_type, "test_connection_datasource")
    event = AuditEvent.objects.get(pk=rows["event"])
    assert event.content_type.get_object_for_this_type(pk=event.object_id) == source
