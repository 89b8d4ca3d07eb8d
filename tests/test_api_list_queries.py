"""No N+1 in list endpoints: a page of many rows costs the same queries as a page of few.

Every collection of the API router is covered — a viewset with a ``list`` action over a queryset — and a new one
fails ``test_every_list_endpoint_has_a_row_factory`` until it is given a row factory here. Each is read by a
superuser (no permission filter) and by a persona whose view is scoped by workspace grants, and the test checks
the rows it adds are listed, so a constant count is not the constant count of an empty page.
"""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.generics import GenericAPIView

from accounts.authentication import api_token_create
from config.api_router import router
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
from tests.support.factories import AuditEventFactory, UserFactory, WorkspaceFactory, membership


def _api_token(world, user):
    api_token_create(user=user, name="list", scope="read", acting_user=user,
                     expires_at=timezone.now() + timedelta(days=1))


def _workspace(world, user):
    workspace = WorkspaceFactory()
    if not user.is_superuser:
        membership(user, workspace)


# basename → a row in a workspace (tests/config/test_rows.py fills its lists with these too).
FACTORIES = {
    "datasource": lambda ws: DataSourceFactory(workspace=ws),
    "asset": lambda ws: AssetFactory(data_source=DataSourceFactory(workspace=ws)),
    "scanruleset": lambda ws: ScanRuleSetFactory(workspace=ws),
    "scan": lambda ws: ScanFactory(data_source=DataSourceFactory(workspace=ws)),
    "scanrun": lambda ws: ScanRunFactory(scan__data_source__workspace=ws),
    "assetchange": lambda ws: AssetChangeFactory(run__scan__data_source__workspace=ws),
    "assetclassification": lambda ws: AssetClassificationFactory(
        asset=AssetFactory(data_source=DataSourceFactory(workspace=ws))),
    "classificationrule": lambda ws: ClassificationRuleFactory(workspace=ws),
    "tag": lambda ws: TagFactory(workspace=ws),
    "glossaryterm": lambda ws: GlossaryTermFactory(workspace=ws),
    "suggestion": lambda ws: suggestion_in(ws),
    "propertydefinition": lambda ws: PropertyDefinitionFactory(workspace=ws),
}


def _in_workspace_a(basename):
    return lambda world, user: FACTORIES[basename](world.workspace_a)


# basename → (the persona whose view is scoped, a row that persona and a superuser can list: f(world, user)).
ROWS = {
    **{basename: ("steward", _in_workspace_a(basename)) for basename in FACTORIES},
    "user": ("workspace_admin", lambda world, user: membership(UserFactory(), world.workspace_a)),
    "workspace": ("steward", _workspace),
    "membership": ("workspace_admin", lambda world, user: membership(UserFactory(), world.workspace_a)),
    "auditevent": ("workspace_admin", lambda world, user: AuditEventFactory(workspace=world.workspace_a)),
    "apitoken": ("steward", _api_token),
    "classification": ("steward", lambda world, user: ClassificationFactory()),
}


def _list_basenames() -> list[str]:
    """The router's collections: viewsets that list a queryset (``/me/`` and ``/mfa/`` answer one object)."""
    return sorted(basename for _prefix, viewset, basename in router.registry
                  if hasattr(viewset, "list") and issubclass(viewset, GenericAPIView))


def _get(client, url) -> tuple[int, int]:
    """(queries, rows listed) of one request."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(queries), len(response.json()["results"])


def test_every_list_endpoint_has_a_row_factory():
    missing = sorted(set(_list_basenames()) - set(ROWS))
    assert not missing, f"list endpoints without a row factory in {__name__}.ROWS: {missing}"


@pytest.mark.parametrize("basename", _list_basenames())
def test_list_queries_do_not_grow_with_rows(world, basename):
    scoped, add_row = ROWS[basename]
    url = reverse(f"api:{basename}-list") + "?page_size=100"
    for persona in ("superuser", scoped):
        client, user = world.client(persona), world.user(persona)
        add_row(world, user)
        _get(client, url)  # warm per-process caches (content types, grants)
        few, listed = _get(client, url)
        for _ in range(8):
            add_row(world, user)
        many, listed_now = _get(client, url)
        assert listed_now == listed + 8, f"{persona} does not list the rows added: the check would be vacuous"
        assert many == few, f"{persona}: {few} queries for {listed} rows, {many} for {listed_now}"
