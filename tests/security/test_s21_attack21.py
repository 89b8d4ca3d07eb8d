"""Session 21's attack pass on curation, glossary, search and lineage (docs/security.md): each test failed before its
fix."""
from __future__ import annotations

import json
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import glossary
from catalog.models import Asset, GlossaryTerm, LineageEdge
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.catalog.lineage_factories import table
from tests.catalog.test_api_openlineage import event_dict
from tests.catalog.test_review_queue import staff

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


# --- glossary import: a file's cost grows with its size, not with its size squared or its depth -------------------


def _chain(count: int, prefix: str = "T") -> str:
    """A glossary file of ``count`` terms, each the parent of the one before it."""
    return "name,parent\n" + "\n".join(f"{prefix}{n},{prefix}{n + 1}" if n + 1 < count else f"{prefix}{n},"
                                       for n in range(count))


def test_a_glossary_thousands_of_terms_deep_imports_in_a_fixed_number_of_statements(world):
    """New terms were inserted one level at a time by a recursive depth: 1,500 terms one below the other were a
    RecursionError (a 500 in the admin's import), and each level one more INSERT."""
    steward = world.user("steward")
    glossary.glossary_import(workspace=world.workspace_a, data=_chain(3, "W"), fmt="csv", acting_user=steward)
    flat = "name,parent\nS0,\n" + "\n".join(f"S{n},S0" for n in range(1, 1_500))  # two levels
    with CaptureQueriesContext(connection) as shallow:
        glossary.glossary_import(workspace=world.workspace_a, data=flat, fmt="csv", acting_user=steward)
    with CaptureQueriesContext(connection) as deep:
        plan = glossary.glossary_import(workspace=world.workspace_a, data=_chain(1_500), fmt="csv",
                                        acting_user=steward)
    assert plan.count("create") == 1_500
    assert len(deep) == len(shallow)
    assert GlossaryTerm.objects.get(workspace=world.workspace_a, name="T0").parent.name == "T1"
    assert GlossaryTerm.objects.get(workspace=world.workspace_a, name="T1499").parent is None


def test_the_cycle_check_of_an_import_walks_each_term_once():
    """Every row walked up to the top of the hierarchy: a 118 kB file of 10,000 terms one below the other held a
    worker for over a minute (dry run included). Cycles, and terms below one, are still refused."""
    wanted = [{"row": n + 1, "name": f"T{n}", "parent": f"T{n + 1}" if n + 1 < 10_000 else ""} for n in range(10_000)]
    started = time.monotonic()
    errors = []
    glossary._check_import_cycles(wanted, {}, errors)
    assert errors == [] and time.monotonic() - started < 1
    wanted[-1]["parent"] = "T9990"  # T9990 … T9999 make a cycle; every term below it is refused too
    glossary._check_import_cycles(wanted, {}, errors)
    assert len(errors) == 10_000 and errors[0] == {"row": 1, "column": "parent",
                                                   "message": "T1 is below T0: a term cannot be above itself."}


def test_related_terms_are_made_symmetric_in_linear_time(world):
    """Each relation re-sorted the other term's list: 700 rows each relating the 699 others took half a minute."""
    names = [f"R{n}" for n in range(700)]
    rows = [{"name": name, "related_terms": [other for other in names if other != name]} for name in names]
    started = time.monotonic()
    wanted, *_ = glossary._resolve(rows, world.workspace_a)
    assert time.monotonic() - started < 5
    assert all(len(item["related_terms"]) == 699 for item in wanted)


def test_a_file_past_the_row_cap_is_refused_as_it_is_read():
    """250,000 one-word rows fit in the 2.5 MB an upload may hold: each was checked before the cap was."""
    for fmt, data in (("csv", "name\n" + "\n".join(f"t{n}" for n in range(250_000))),
                      ("json", json.dumps([{"name": f"t{n}"} for n in range(250_000)]))):
        started = time.monotonic()
        with pytest.raises(glossary.ImportRejected) as rejected:
            glossary.PARSERS[fmt](data)
        assert "At most 10,000 terms" in rejected.value.errors[0]["message"]
        assert time.monotonic() - started < 2


# --- OpenLineage: an event's inputs times its outputs is bounded -------------------------------------------------


def test_an_openlineage_batch_making_too_many_table_edges_is_a_400_and_records_nothing(world):
    """Every input to every output: a 21 kB event of 300 and 300 datasets made 90,000 edges in the request (a minute
    and a half), and the 2.5 MB body could hold a thousand times that."""
    wide = event_dict(inputs=[f"staging.in_{n}" for n in range(101)], outputs=[f"mart.out_{n}" for n in range(100)])
    response = world.client("steward").post(OPENLINEAGE, wide, format="json")
    assert response.status_code == 400, response.content[:300]
    assert "10,100" in response.json()["errors"][0]["detail"]
    assert not LineageEdge.objects.exists()
    # A batch counts as a whole; events that record nothing (START) count for nothing.
    half = event_dict(inputs=[f"staging.in_{n}" for n in range(60)], outputs=[f"mart.out_{n}" for n in range(100)])
    assert world.client("steward").post(OPENLINEAGE, [half, half], format="json").status_code == 400
    start = {**wide, "eventType": "START"}
    assert world.client("steward").post(OPENLINEAGE, [half, start], format="json").status_code == 200
    assert LineageEdge.objects.filter(level=LineageEdge.Level.TABLE).count() == 6_000


# --- the admin: a NUL in a list's filter is a 400 ------------------------------------------------------------------


@pytest.mark.parametrize(("list_name", "parameter"), [
    ("glossaryterm", "status"), ("suggestion", "kind"), ("suggestion", "rule"), ("propertydefinition", "type"),
    ("tableasset", "sensitivity"), ("columnasset", "type")])
def test_a_nul_in_an_admin_list_filter_is_a_400(world, list_name, parameter):
    """Django's field filters sent the value to PostgreSQL as it came; a NUL made the page a 500."""
    client = staff(world, "steward")
    client.raise_request_exception = False
    response = client.get(reverse(f"admin:catalog_{list_name}_changelist"), {parameter: "x\x00"})
    assert response.status_code == 400
    assert client.get(reverse(f"admin:catalog_{list_name}_changelist")).status_code == 200


@pytest.mark.parametrize("parameter", ["data_source__id__exact", "parent__id__exact", "id__in"])
def test_an_id_past_any_database_integer_in_an_admin_list_filter_is_a_400(world, parameter):
    """Django's own lookups (``?data_source__id__exact=``) sent a 20-digit id to PostgreSQL, which refused it
    mid-page (a 500); a list's own filters read ids through accounts.admin.is_id_text already."""
    client = staff(world, "steward")
    client.raise_request_exception = False
    for value in ("9" * 20, "1,9" + "9" * 20, "²"):
        assert client.get(reverse("admin:catalog_tableasset_changelist"), {parameter: value}).status_code == 400
    assert client.get(reverse("admin:catalog_tableasset_changelist"), {parameter: "1"}).status_code == 200
