"""Every list of the API router refuses what it does not read (config.filters): a query parameter none of its
backends, its paginator or the format override reads, and an ordering field it does not offer, each a 400 problem
naming the parameter. What it does read still answers 200."""
from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.generics import GenericAPIView

from config.api_router import router
from config.filters import known_parameters

# Lists of querysets: /me/ and /mfa/ are plain ViewSets whose "list" answers one object about the caller.
GENERIC = [(viewset, basename) for _prefix, viewset, basename in router.registry
           if issubclass(viewset, GenericAPIView)]
LISTS = [(basename, "list") for viewset, basename in GENERIC if hasattr(viewset, "list")] + [
    (basename, extra.url_name) for viewset, basename in GENERIC
    for extra in viewset.get_extra_actions() if not extra.detail and "get" in extra.mapping]
ORDERED = [basename for _prefix, viewset, basename in router.registry
           if hasattr(viewset, "list") and getattr(viewset, "ordering_fields", None)]


def _problem_fields(response) -> list[str]:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


def test_the_router_has_lists_to_check():
    assert ("asset", "list") in LISTS and ("asset", "export") in LISTS and len(LISTS) >= 10


@pytest.mark.parametrize(("basename", "route"), LISTS, ids=[f"{b}-{r}" for b, r in LISTS])
def test_an_unknown_parameter_is_a_400_naming_it(world, basename, route):
    url = reverse(f"api:{basename}-{route}")
    response = world.client("superuser").get(url, {"no_such_filter": "x", "pagesize": "5", "format": "json"})
    assert _problem_fields(response) == ["no_such_filter", "pagesize"]


@pytest.mark.parametrize("basename", ORDERED)
def test_an_ordering_field_not_offered_is_a_400_naming_ordering(world, basename):
    response = world.client("superuser").get(reverse(f"api:{basename}-list"), {"ordering": "-no_such_field"})
    assert _problem_fields(response) == ["ordering"]


@pytest.mark.parametrize("basename", ORDERED)
def test_what_a_list_reads_is_accepted(world, basename):
    viewset = {name: cls for _prefix, cls, name in router.registry}[basename]
    params = {"format": "json", "page_size": "1", "ordering": f"-{viewset.ordering_fields[0]}"}
    if getattr(viewset, "search_fields", None):
        params["search"] = "x"
    response = world.client("superuser").get(reverse(f"api:{basename}-list"), params)
    assert response.status_code == 200, response.content[:300]


def test_search_is_unknown_where_a_list_does_not_search(world):
    from scanning.api.views import ScanRunViewSet

    assert not getattr(ScanRunViewSet, "search_fields", None)
    assert _problem_fields(world.client("superuser").get(reverse("api:scanrun-list"), {"search": "x"})) == [
        "search"]


@pytest.fixture(scope="module")
def schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize(("basename", "route"), LISTS, ids=[f"{b}-{r}" for b, r in LISTS])
def test_a_list_reads_what_its_schema_documents(schema, basename, route):
    """Plus ``format`` (the export documents it too: it chooses CSV or JSON there)."""
    viewset = {name: cls for _prefix, cls, name in router.registry}[basename]
    operation = schema["paths"][reverse(f"api:{basename}-{route}")]["get"]
    view = viewset(action=route.replace("-", "_"), detail=False, format_kwarg=None)
    view.request = None
    if route != "list":
        for name, value in getattr(viewset, route.replace("-", "_")).kwargs.items():
            setattr(view, name, value)
    documented = {parameter["name"] for parameter in operation.get("parameters", [])
                  if parameter["in"] == "query"}
    assert known_parameters(view, viewset.queryset.none()) == documented | {"format"}
