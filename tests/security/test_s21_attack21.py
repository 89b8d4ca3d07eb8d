"""Session 21's attack pass on curation, glossary, search and lineage (docs/security.md): each test failed before its
fix."""
from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.models import Asset, LineageEdge
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.catalog.lineage_factories import table
from tests.catalog.test_api_openlineage import event_dict

pytestmark = pytest.mark.django_db

SEARCH = reverse("api:search-list")
OPENLINEAGE = reverse("api:openlineage-list")


def _curation(asset: Asset) -> str:
    return reverse("api:assetcuration-curation", args=[asset.pk])


# --- malformed input is a 400 naming the field, never a 500 -------------------------------------------------------


def test_a_patched_owner_without_its_type_is_a_400(world):
    """PATCH validates partially, and DRF hands that to nested serializers: ``{"owners": [{"user": 1}]}`` reached
    the service without an owner type (KeyError, 500)."""
    asset = AssetFactory(data_source__workspace=world.workspace_a, type=Asset.Type.TABLE)
    client = world.client("steward")
    for owner in ({}, {"user": world.user("steward").pk}, {"x": 1}):
        response = client.patch(_curation(asset), {"owners": [owner]}, format="json")
        assert response.status_code == 400, response.content[:300]
        assert response.json()["errors"][0]["field"] == "owners.0.owner_type"
    assert not asset.owners.exists()


def test_a_search_facet_value_with_a_nul_is_a_400(world):
    """The classification facet's value went to PostgreSQL as it came: a NUL made the look-up fail (500)."""
    for facet in ("classification", "type", "owner", "certification"):
        response = world.client("steward").get(SEARCH, {"q": "email", facet: "PII\x00"})
        assert response.status_code == 400, (facet, response.content[:300])
        assert response.json()["errors"][0]["field"] == facet


@pytest.mark.parametrize("where", ["inputs", "outputs", "transformations"])
def test_a_null_dataset_or_transformation_in_an_openlineage_event_is_a_400(world, where):
    """``inputs``, ``outputs`` and ``transformations`` may be null as a whole; ``many=True, allow_null=True`` let
    each of their items be null too, and the mapping failed on ``[null]`` (500)."""
    source = DataSourceFactory(workspace=world.workspace_a)
    for name in ("orders", "report"):
        table(source, name)
    event = event_dict()
    if where == "transformations":
        field = {"namespace": event["inputs"][0]["namespace"], "name": "shop.public.orders", "field": "id",
                 "transformations": [None]}
        event["outputs"][0]["facets"] = {"columnLineage": {"fields": {"id": {"inputFields": [field]}}}}
    else:
        event[where] = [None]
    response = world.client("steward").post(OPENLINEAGE, event, format="json")
    assert response.status_code == 400, response.content[:300]
    assert not LineageEdge.objects.exists()
    event[where if where != "transformations" else "inputs"] = None
    if where == "transformations":
        event["outputs"][0]["facets"]["columnLineage"]["fields"]["id"]["inputFields"][0]["transformations"] = None
    assert world.client("steward").post(OPENLINEAGE, event, format="json").status_code == 200
