"""GET /api/v1/search/: who may search (the permission matrix), that neither results nor facet counts show an
asset outside the caller's scope (per role), its 400s, its pages, and its constant number of queries."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.actors import SYSTEM
from catalog import curation
from catalog.models import Asset
from tests.catalog.classification_factories import asset_tree
from tests.catalog.curation_factories import TagFactory
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.catalog.search_support import index_everything
from tests.support.permission_matrix import PermissionMatrix, table

URL = reverse("api:search-list")


class TestSearchMatrix(PermissionMatrix):
    basename = "search"
    expected = table(
        "list",
        anonymous=           "401",
        outsider=            "403",
        analyst=             "200",
        steward=             "200",
        workspace_admin=     "200",
        auditor=             "200",
        other_workspace_user="200",
        staff_unverified=    "403",
        superuser=           "200",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB",
               "other_workspace_user": "B", "superuser": "AB"}

    def objects(self, world):
        assets = tuple(AssetFactory(data_source__workspace=workspace, type=Asset.Type.COLUMN, name="loyalty_points",
                                    qualified_name=f"shop.public.members.loyalty_points_{label}")
                       for workspace, label in ((world.workspace_a, "a"), (world.workspace_b, "b")))
        index_everything()
        return assets

    def _request(self, client, world, column, obj_a, obj_b):
        return client.get(URL, {"q": "loyalty points"})


@pytest.fixture
def catalog(world):
    """The same table in workspaces A and B, each column tagged and owned in its own workspace."""
    made = {}
    for label, workspace, owner in (("a", world.workspace_a, "steward"), ("b", world.workspace_b,
                                                                          "other_workspace_user")):
        source = DataSourceFactory(workspace=workspace, name=f"Source {label}", database=f"db_{label}")
        _, _, _, columns = asset_tree(source, table="patients", columns={"patient_email": "text", "ward": "text"})
        tag = TagFactory(workspace=workspace, name=f"clinical-{label}")
        curation.asset_tag_add(asset=columns["patient_email"], tag=tag, acting_user=SYSTEM)
        curation.asset_owner_add(asset=columns["patient_email"], user=world.user(owner), owner_type="steward",
                                 acting_user=SYSTEM)
        made[label] = {"source": source, "tag": tag, **columns}
    index_everything()
    return made


SCOPE = {"superuser": "ab", "auditor": "ab", "steward": "a", "analyst": "a", "workspace_admin": "a",
         "other_workspace_user": "b"}


@pytest.mark.parametrize("persona", sorted(SCOPE))
def test_results_and_facet_counts_hold_only_the_callers_scope(persona, world, catalog):
    response = world.client(persona).get(URL, {"q": "patient"})
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    scope = SCOPE[persona]
    expected_sources = {str(catalog[label]["source"].pk) for label in scope}
    assert {row["data_source"] for row in body["results"]} == {int(pk) for pk in expected_sources}
    assert body["count"] == 3 * len(scope)  # the table and its two columns, of each source in scope
    assert body["count_is_exact"] is True
    assert list(body)[:2] == ["count", "count_is_exact"]
    facets = body["facets"]
    assert {item["value"] for item in facets["source"]} == expected_sources
    assert {item["value"] for item in facets["tag"]} == {str(catalog[label]["tag"].pk) for label in scope}
    assert sum(item["count"] for item in facets["type"]) == body["count"]
    assert {item["label"] for item in facets["owner"]} == {{"a": "steward", "b": "other_workspace_user"}[label]
                                                           for label in scope}


def test_an_outsider_is_refused_and_nothing_is_counted_for_them(world, catalog):
    assert world.client("outsider").get(URL, {"q": "patient"}).status_code == 403


@pytest.mark.parametrize(("params", "field"), [
    ({}, "q"), ({"q": ""}, "q"), ({"q": "x" * 201}, "q"), ({"q": "patient", "type": "columns"}, "type"),
    ({"q": "patient", "tag": "abc"}, "tag"), ({"q": "patient", "colour": "red"}, "colour"),
    ({"q": "patient", "page_size": "0"}, "page_size"),
])
def test_bad_parameters_are_a_400_naming_them(params, field, world, catalog):
    response = world.client("steward").get(URL, params)
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/problem+json")
    assert field in str(response.json()["errors"])


def test_a_tag_of_another_workspace_is_an_unknown_value(world, catalog):
    response = world.client("steward").get(URL, {"q": "patient", "tag": catalog["b"]["tag"].pk})
    assert response.status_code == 400
    assert "Unknown value" in str(response.json()["errors"])


def test_filters_narrow_and_facets_follow(world, catalog):
    client = world.client("superuser")
    body = client.get(URL, {"q": "patient", "tag": [catalog["a"]["tag"].pk, catalog["b"]["tag"].pk],
                            "type": "column"}).json()
    assert sorted(row["qualified_name"] for row in body["results"]) == ["db_a.public.patients.patient_email",
                                                                       "db_b.public.patients.patient_email"]
    assert body["facets"]["type"] == [{"value": "column", "label": "Column", "count": 2, "count_is_exact": True}]
    assert body["results"][0]["match"] == "prefix"


def test_results_page_like_the_other_lists(world, catalog):
    client = world.client("superuser")
    first = client.get(URL, {"q": "patient", "page_size": 3}).json()
    second = client.get(first["next"]).json()
    assert first["count"] == second["count"] == 6
    assert len(first["results"]) == 3 and second["previous"]
    ids = [row["id"] for row in first["results"]] + [row["id"] for row in second["results"]]
    assert len(set(ids)) == 6


@pytest.mark.parametrize("persona", ["superuser", "steward"])
def test_queries_do_not_grow_with_the_results(persona, world):
    client = world.client(persona)

    def queries() -> int:
        client.get(URL, {"q": "visit"})  # warm per-process caches
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL, {"q": "visit", "page_size": 100})
        assert response.status_code == 200
        return len(captured), response.json()["count"]

    source = DataSourceFactory(workspace=world.workspace_a, database="clinic")
    asset_tree(source, table="visits", columns={"visit_date": "date"})
    index_everything()
    few, count = queries()
    asset_tree(source, table="visits", columns={f"visit_{n}": "text" for n in range(20)})
    index_everything()
    many, more = queries()
    assert more > count + 10
    assert many == few
