"""No admin page shows a workspace-scoped steward or workspace admin the name of anything in a workspace they are
not a member of: the home, and every page of every ModelAdmin on the site (derived from its registry) — the add
pages with ids of workspace B's rows in the query (Django's add pages take initial values from it), the
changelists, unfiltered and filtered by B's data source, and the change page of every row.

It found the manual classification page naming any id's column through its raw-id input (?asset=<id>):
tests/catalog/test_classification_admin.py has that case's own test."""
from __future__ import annotations

import contextlib

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from accounts.actors import SYSTEM
from catalog import asset_curation
from catalog.models import Asset
from tests.catalog.classification_factories import AssetClassificationFactory, ClassificationRuleFactory, builtin
from tests.catalog.curation_factories import GlossaryTermFactory, TagFactory
from tests.catalog.factories import (
    AssetChangeFactory,
    AssetFactory,
    DataSourceFactory,
    ScanFactory,
    ScanRuleSetFactory,
    ScanRunFactory,
)
from tests.support.factories import UserFactory, membership
from tests.support.personas import verified_client

pytestmark = pytest.mark.django_db

MARK = "Zq9Theirs"  # in every name of workspace B's rows; "Workspace B" is the workspace's own name


def _rows(workspace, label: str) -> dict:
    source = DataSourceFactory(workspace=workspace, name=f"{label} source")
    rule_set = ScanRuleSetFactory(workspace=workspace, name=f"{label} rules")
    scan = ScanFactory(data_source=source, rule_set=rule_set, name=f"{label} scan")
    column = AssetFactory(data_source=source, type=Asset.Type.COLUMN, name="c", qualified_name=f"{label}.column",
                          sensitivity=Asset.Sensitivity.CONFIDENTIAL)
    AssetClassificationFactory(asset=column, classification=builtin("PII.EMAIL"))
    # Curated: an owner, a tag and a term of its workspace (the asset page's curation section and its forms).
    # (Users are the organization's: a workspace admin's membership form lists them all, so no MARK in the name.)
    owner = membership(UserFactory(username=f"owner-{workspace.slug}"), workspace).user
    parent = GlossaryTermFactory(workspace=workspace, name=f"{label} parent term")
    asset_curation.asset_curation_set(asset=column, acting_user=SYSTEM, description=f"{label} description",
                                      owners=[{"owner_type": "business", "user": owner}],
                                      tags=[TagFactory(workspace=workspace, name=f"{label} tag")],
                                      terms=[GlossaryTermFactory(workspace=workspace, name=f"{label} term",
                                                                 parent=parent)])
    ClassificationRuleFactory(workspace=workspace, description=f"{label} rule")
    run = ScanRunFactory(scan=scan)
    AssetChangeFactory(run=run, asset=column)
    return {"asset": column.pk, "data_source": source.pk, "rule_set": rule_set.pk, "scan": scan.pk, "run": run.pk,
            "workspace": workspace.pk}


def _pages(theirs: dict) -> list[str]:
    query = "&".join(f"{name}={pk}" for name, pk in theirs.items())
    pages = [reverse("admin:index")]  # the steward's home: counts and charts by source and classification
    for model in admin.site._registry:
        opts = model._meta
        try:
            changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        except NoReverseMatch:
            continue
        pages += [changelist, f"{changelist}?data_source__id__exact={theirs['data_source']}",
                  f"{reverse(f'admin:{opts.app_label}_{opts.model_name}_add')}?{query}"]
        for pk in model._default_manager.values_list("pk", flat=True):
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk]))
            with contextlib.suppress(NoReverseMatch):  # an asset's curation page (catalog.admin_curation)
                pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_curation", args=[pk]))
    return [*pages, reverse("admin:catalog_glossaryterm_import")]


@pytest.mark.parametrize("persona", ["steward", "workspace_admin"])
def test_no_admin_page_names_a_row_of_another_workspace(world, persona, monkeypatch):
    monkeypatch.undo()  # admin pages, not API responses: the OpenAPI check has nothing to say about them
    user = world.user(persona)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = verified_client(user)
    _rows(world.workspace_a, "Ours")
    theirs = _rows(world.workspace_b, MARK)
    assert b"Ours source" in client.get(reverse("admin:index")).content  # the home draws the steward's own
    shown = []
    for page in _pages(theirs):
        response = client.get(page)
        assert response.status_code < 500, page
        if response.status_code == 200 and (MARK.encode() in response.content
                                            or world.workspace_b.name.encode() in response.content):
            shown.append(page)
    assert shown == []
