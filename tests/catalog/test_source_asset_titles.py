"""A data source's own asset is shown by its source's name (issue 13, new-user pass): "HR warehouse", not its
qualified name "HR warehouse/", in search results (the admin's and the API's), the pages that list assets carrying
a term, the curation page's title and messages, the bulk form's examples and a database's "in" field. The qualified
name keeps its slash: it is the asset's key in its source (catalog.source_assets)."""
import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from accounts.actors import SYSTEM
from catalog import glossary
from catalog.models import Asset
from catalog.source_assets import source_asset_ensure
from tests.catalog.classification_factories import asset_tree
from tests.catalog.curation_factories import GlossaryTermFactory
from tests.catalog.factories import DataSourceFactory
from tests.catalog.search_support import index_everything
from tests.support.personas import staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def hr(world):
    source = DataSourceFactory(workspace=world.workspace_a, name="HR warehouse", database="hr")
    database, _, table, _ = asset_tree(source, table="employees", columns={"email": "text"})
    root = source_asset_ensure(data_source=source)
    database.refresh_from_db()
    index_everything()
    return root, database


def test_the_source_asset_keeps_its_key_and_is_titled_by_its_name(hr):
    root, database = hr
    assert root.qualified_name == "HR warehouse/"
    assert root.title == str(root) == "HR warehouse"
    assert database.title == str(database) == "hr"


def test_the_admin_search_shows_the_source_by_its_name(world, hr):
    response = staff_client(world).get(reverse("asset-search"), {"q": "warehouse"})
    assert response.status_code == 200
    table = response.content.decode().split('id="search-results"')[1].split("</table>")[0]
    assert re.search(r'<a href="[^"]+" title="HR warehouse">HR warehouse</a>', table)
    assert "HR warehouse/" not in table


def test_the_api_search_and_asset_give_a_title(world, hr):
    root, database = hr
    client = world.client("steward")
    results = client.get(reverse("api:search-list"), {"q": "warehouse"}).json()["results"]
    found = next(row for row in results if row["id"] == root.pk)
    assert (found["title"], found["qualified_name"]) == ("HR warehouse", "HR warehouse/")
    assert client.get(reverse("api:asset-detail", args=[root.pk])).json()["title"] == "HR warehouse"
    assert client.get(reverse("api:asset-detail", args=[database.pk])).json()["title"] == "hr"


def test_a_terms_page_lists_the_source_by_its_name(world, hr):
    root, _ = hr
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Personnel")
    glossary.glossary_term_link(term=term, asset=root, acting_user=SYSTEM)
    page = staff_client(world).get(reverse("admin:catalog_glossaryterm_change", args=[term.pk])).content.decode()
    linked = page.split('class="glossary-assets"')[1].split("</ul>")[0]
    assert ">HR warehouse</a>" in linked and "HR warehouse/" not in linked


def test_the_curation_page_titles_and_messages_name_the_source(world, hr):
    root, _ = hr
    client = staff_client(world)
    url = reverse("admin:catalog_sourceasset_curation", args=[root.pk])
    page = client.get(url)
    assert page.context["title"] == "Curation of HR warehouse"
    saved = client.post(url, {"description": "Our people.", "certification": "", "certification_note": "",
                              "certification_expires_at": ""}, format="multipart", follow=True)
    assert [str(message) for message in saved.context["messages"]] == ["The curation of HR warehouse was saved."]


def test_the_bulk_form_and_a_databases_page_name_the_source(world, hr):
    root, database = hr
    client = staff_client(world)
    form = client.post(reverse("admin:catalog_sourceasset_changelist"),
                       {"action": "curate_selected", ACTION_CHECKBOX_NAME: [root.pk]}, format="multipart")
    assert form.context["examples"] == ["HR warehouse"]
    page = client.get(reverse("admin:catalog_databaseasset_change", args=[database.pk])).content.decode()
    assert re.search(r'<a href="[^"]+">HR warehouse</a>', page)
    assert "HR warehouse/" not in page


def test_a_source_asset_is_the_only_type_titled_by_its_name():
    for kind in Asset.Type.values:
        asset = Asset(type=kind, name="n", qualified_name="q")
        assert asset.title == ("n" if kind == Asset.Type.SOURCE else "q")
