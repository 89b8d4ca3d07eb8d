"""visible_sql(), the SQL form of restrict() for raw and recursive queries: for every persona of the permission
matrices' world, every governed model (proxies included) and every action it has a permission for, the statement
run as raw SQL selects exactly the rows the ORM form gives. The world holds rows of every governed model in
workspaces A and B, organization-wide classifications, and direct grants (one live, one expired) to the outsider.
Run on SQLite by default and on PostgreSQL with DATABASE_URL set."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.models import ObjectGrant, User
from accounts.permissions import restrict, visible_sql
from catalog.models import Asset, Classification
from catalog.source_assets import source_asset_ensure
from sources.models import DataSource
from tests.catalog.classification_factories import (
    AssetClassificationFactory,
    ClassificationFactory,
    ClassificationRuleFactory,
    asset_tree,
)
from tests.catalog.factories import AssetChangeFactory, DataSourceFactory, ScanRuleSetFactory
from tests.support.factories import AuditEventFactory
from tests.support.personas import PERSONAS

pytestmark = pytest.mark.django_db


def governed_models() -> list:
    return [model for model in apps.get_models() if hasattr(model, "workspace_path")]


def actions_of(model) -> list[str]:
    """The actions with a permission on ``model`` (restrict() checks the concrete model's)."""
    concrete = model._meta.concrete_model
    suffix = f"_{concrete._meta.model_name}"
    codenames = Permission.objects.filter(content_type=ContentType.objects.get_for_model(concrete),
                                          codename__endswith=suffix).values_list("codename", flat=True)
    return sorted(codename.removesuffix(suffix) for codename in codenames)


def fresh(user):
    return None if user is None else User.objects.get(pk=user.pk)


def raw_pks(user, model, action) -> set:
    sql, params = visible_sql(user, model, action)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH visible (pk) AS ({sql}) SELECT pk FROM visible", params)
        return {row[0] for row in cursor.fetchall()}


def orm_pks(user, model, action) -> set:
    return set(restrict(model._default_manager.all(), user, action).values_list("pk", flat=True))


@pytest.fixture
def populated(world):
    """Rows of every governed model in A and B, and the outsider's direct grants: a live one on B's source and on
    one organization-wide classification, an expired one on an asset of B (its guardian row still in place)."""
    superuser = world.user("superuser")
    rows = {}
    for label, workspace in (("a", world.workspace_a), ("b", world.workspace_b)):
        source = DataSourceFactory(workspace=workspace)
        _, _, table, columns = asset_tree(source, columns={"email": "text"})
        source_asset_ensure(data_source=source)  # the source's own asset, the root of its tree
        change = AssetChangeFactory(run__scan__data_source=source, asset=table)
        AssetClassificationFactory(asset=columns["email"])
        ScanRuleSetFactory(workspace=workspace)
        ClassificationRuleFactory(workspace=workspace)
        AuditEventFactory(workspace=workspace)
        rows[label] = {"source": source, "table": table, "change": change}
    ClassificationFactory.create_batch(2)
    AuditEventFactory(workspace=None)
    outsider = world.user("outsider")
    soon = timezone.now() + timedelta(days=1)
    services.object_grant_create(user=outsider, obj=rows["b"]["source"], action="view", expires_at=soon,
                                 acting_user=superuser)
    services.object_grant_create(user=outsider, obj=Classification.objects.order_by("pk").first(), action="view",
                                 expires_at=soon, acting_user=superuser)
    expired = services.object_grant_create(user=outsider, obj=rows["b"]["table"], action="view", expires_at=soon,
                                           acting_user=superuser)
    ObjectGrant.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    return rows


def test_sql_form_agrees_with_the_orm_for_every_persona_model_and_action(world, populated):
    models = governed_models()
    assert len(models) >= 18, [model._meta.label for model in models]  # 12 governed models and 6 asset proxies
    users = {persona: fresh(world.user(persona)) for persona in PERSONAS}
    users["anonymous (AnonymousUser)"] = AnonymousUser()
    disagreements, compared, scoped = [], 0, 0
    for model in models:
        everything = set(model._default_manager.values_list("pk", flat=True))
        for action in actions_of(model):
            for persona, user in users.items():
                expected, got = orm_pks(user, model, action), raw_pks(user, model, action)
                compared += 1
                scoped += bool(expected) and expected != everything
                if got != expected:
                    disagreements.append(f"{persona} {action} {model._meta.label}: SQL {sorted(got)}, "
                                         f"ORM {sorted(expected)}")
    assert not disagreements, "\n".join(disagreements)
    # The comparison is not vacuous: many cells are scoped (some rows, not all), across the whole world.
    assert compared > 500 and scoped > 50, (compared, scoped)


def test_sql_form_scopes_each_kind_of_grant(world, populated):
    a_source, b_source = populated["a"]["source"], populated["b"]["source"]
    every_source = {a_source.pk, b_source.pk}
    assert raw_pks(fresh(world.user("superuser")), DataSource, "delete") == every_source
    assert raw_pks(fresh(world.user("auditor")), DataSource, "view") == every_source  # model-wide, by group
    assert raw_pks(fresh(world.user("steward")), DataSource, "view") == {a_source.pk}  # workspace grant
    assert raw_pks(fresh(world.user("analyst")), DataSource, "delete") == set()
    outsider = fresh(world.user("outsider"))
    assert raw_pks(outsider, DataSource, "view") == {b_source.pk}  # object grant
    assert raw_pks(outsider, Asset, "view") == set()  # its grant expired, though its guardian row is still there
    first_classification = Classification.objects.order_by("pk").first().pk
    assert raw_pks(outsider, Classification, "view") == {first_classification}
    # Organization-wide reference data: a member of one workspace reads all of it.
    assert raw_pks(fresh(world.user("analyst")), Classification, "view") == set(
        Classification.objects.values_list("pk", flat=True))
    assert raw_pks(None, DataSource, "view") == raw_pks(fresh(world.user("steward")), DataSource, "") == set()


def test_values_are_bound_parameters(world, populated):
    steward = fresh(world.user("steward"))
    sql, params = visible_sql(steward, Asset, "view")
    assert world.workspace_a.pk in params
    assert sql.count("%s") == len(params)
    sql, params = visible_sql(fresh(world.user("outsider")), DataSource, "view")
    assert params == (populated["b"]["source"].pk,) and sql.count("%s") == 1


def test_a_recursive_walk_sees_only_visible_assets(world, populated):
    """The use it is for: a recursive walk (here down the asset tree of each source) that stops at what the user
    may not see."""
    sql, params = visible_sql(fresh(world.user("steward")), Asset, "view")
    table = Asset._meta.db_table
    walk = (f"WITH RECURSIVE visible_assets (id) AS ({sql}), "
            f"tree (id) AS (SELECT a.id FROM {table} a JOIN visible_assets v ON v.id = a.id WHERE a.parent_id IS NULL"
            f" UNION ALL SELECT a.id FROM {table} a JOIN tree ON a.parent_id = tree.id"
            f" JOIN visible_assets v ON v.id = a.id) SELECT id FROM tree")
    with connection.cursor() as cursor:
        cursor.execute(walk, params)
        walked = {row[0] for row in cursor.fetchall()}
    a_assets = set(Asset.objects.filter(data_source=populated["a"]["source"]).values_list("pk", flat=True))
    assert walked == a_assets and len(a_assets) == 5  # source, database, schema, table, column: none of B's


def test_the_search_documents_apply_the_same_visibility_as_the_orm_for_every_persona(world, populated):
    """The search's form of the rule (catalog.selectors, from visible_scope): each document carries its asset's
    data source, and a scoped user sees their workspaces' sources and the assets granted to them one by one —
    a live asset grant and an expired one included."""
    from catalog import search
    from catalog.selectors import _search_visibility

    superuser = world.user("superuser")
    granted = Asset.objects.filter(data_source=populated["b"]["source"], type="column").first()
    services.object_grant_create(user=world.user("analyst"), obj=granted, action="view",
                                 expires_at=timezone.now() + timedelta(days=1), acting_user=superuser)
    search.documents_rebuild()
    users = {persona: fresh(world.user(persona)) for persona in PERSONAS}
    users["anonymous (AnonymousUser)"] = AnonymousUser()
    scoped = 0
    for persona, user in users.items():
        expected = orm_pks(user, Asset, "view")
        visibility = _search_visibility(user)
        if visibility is None:
            assert expected == set(Asset.objects.values_list("pk", flat=True)), persona
            continue
        sql, params = visibility.sql()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT m.asset_id FROM catalog_assetsearchdocument m WHERE {sql}", params)
            got = {row[0] for row in cursor.fetchall()}
        assert got == expected, persona
        scoped += bool(expected)
    assert granted.pk in orm_pks(users["analyst"], Asset, "view")
    assert scoped >= 3


def test_visible_scope_refuses_a_model_whose_rule_is_not_workspace_or_row():
    from accounts.permissions import visible_scope

    with pytest.raises(ValueError):
        visible_scope(None, Classification)
