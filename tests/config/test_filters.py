"""The filter backend (config.filters) builds a FilterSet only for a request that names one of its filters."""
from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.api.filters import AssetFilterSet
from catalog.models import Asset
from config.filters import names_a_filter
from scanning.api.filters import ScanRunFilterSet
from tests.catalog.factories import AssetFactory, DataSourceFactory


@pytest.fixture
def built_filtersets(monkeypatch):
    built = []
    original = AssetFilterSet.__init__

    def counting(self, *args, **kwargs):
        built.append(kwargs.get("data"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(AssetFilterSet, "__init__", counting)
    return built


def test_a_plain_list_and_a_detail_build_no_filterset(world, built_filtersets):
    asset = AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_a))
    client = world.client("analyst")
    assert client.get(reverse("api:asset-list") + "?page_size=5&ordering=name&search=x").status_code == 200
    assert client.get(reverse("api:asset-detail", args=[asset.pk])).status_code == 200
    assert built_filtersets == []


def test_a_named_filter_still_filters_and_still_refuses_bad_values(world, built_filtersets):
    source = DataSourceFactory(workspace=world.workspace_a)
    table = AssetFactory(data_source=source, type=Asset.Type.TABLE)
    AssetFactory(data_source=source, type=Asset.Type.COLUMN, parent=table)
    client = world.client("analyst")

    tables = client.get(reverse("api:asset-list") + "?type=table").json()["results"]
    refused = client.get(reverse("api:asset-list") + "?removed=maybe")

    assert [row["id"] for row in tables] == [table.pk]
    assert refused.status_code == 400
    assert len(built_filtersets) == 2


def test_parameters_made_from_a_filter_name_count_as_naming_it():
    assert names_a_filter({"queued_at_after": "2026-01-01T00:00:00Z"}, ScanRunFilterSet)
    assert names_a_filter({"status": "done"}, ScanRunFilterSet)
    assert not names_a_filter({"page_size": "5", "cursor": "x", "ordering": "-queued_at"}, ScanRunFilterSet)


def _routed_filtersets():
    from config.api_router import router

    return sorted({viewset.filterset_class for _, viewset, _ in router.registry
                   if getattr(viewset, "filterset_class", None)}, key=lambda filterset: filterset.__name__)


@pytest.mark.parametrize("filterset", _routed_filtersets(), ids=lambda filterset: filterset.__name__)
def test_every_list_filters_through_the_shared_filterset(filterset):
    # Its number filters are bounded to a database integer: a plain django-filter set let ?asset=10**30 reach
    # SQLite, which raised OverflowError counting the page (a 500 on /asset-classifications/ and others).
    from config.filters import FilterSet

    assert issubclass(filterset, FilterSet)


@pytest.mark.parametrize("query", ["api:assetclassification-list?asset=", "api:scanrun-list?data_source=",
                                   "api:membership-list?workspace="])
def test_an_id_filter_of_an_older_list_past_a_database_integer_is_a_400(world, query):
    name, parameter = query.split("?")
    response = world.client("steward").get(f"{reverse(name)}?{parameter}{10**30}")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["errors"][0]["field"] == parameter.rstrip("=")
