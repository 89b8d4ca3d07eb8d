"""POST /api/v1/assets/bulk/ says what it did (issue 13, new-user pass): per operation how many links were added,
removed or already as asked (certifications changed or ended, properties set or cleared), and which assets changed
(their ids, up to a bound), documented in OpenAPI; still all or nothing, with its cap."""
import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import asset_curation, curation
from catalog.models import Asset, AssetCertification, AssetOwner, AssetTag
from tests.catalog.curation_factories import GlossaryTermFactory, TagFactory
from tests.catalog.factories import AssetFactory, DataSourceFactory

URL = reverse("api:assetcuration-bulk")


@pytest.fixture
def columns(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    table = AssetFactory(data_source=source, type=Asset.Type.TABLE, name="customers")
    return [AssetFactory(data_source=source, parent=table, type=Asset.Type.COLUMN, name=name,
                         qualified_name=f"shop.customers.{name}") for name in ("email", "phone", "name", "city")]


def _post(world, body, persona="steward"):
    response = world.client(persona).post(URL, body, format="json")
    return response


def _ok(world, body, persona="steward") -> dict:
    response = _post(world, body, persona)
    assert response.status_code == 200, response.content
    return response.json()


def _ids(assets) -> list[int]:
    return sorted(asset.pk for asset in assets)


def test_adding_says_how_many_links_were_added_and_which_assets_changed_then_nothing_the_second_time(world,
                                                                                                       columns):
    gold, silver = (TagFactory(workspace=world.workspace_a, name=name) for name in ("gold", "silver"))
    curation.asset_tag_add(asset=columns[0], tag=gold, acting_user=SYSTEM)
    body = {"assets": _ids(columns), "tags": {"add": [gold.pk, silver.pk]}}
    first = _ok(world, body)
    assert first == {"assets": 4, "changed": 4, "changed_ids": _ids(columns), "changed_ids_complete": True,
                     "operations": {"tags": {"added": 7, "removed": 0, "unchanged": 1}}}
    again = _ok(world, body)
    assert again == {"assets": 4, "changed": 0, "changed_ids": [], "changed_ids_complete": True,
                     "operations": {"tags": {"added": 0, "removed": 0, "unchanged": 8}}}


def test_removing_counts_the_links_removed_and_those_that_were_not_there(world, columns):
    gold = TagFactory(workspace=world.workspace_a, name="gold")
    for column in columns[:3]:
        curation.asset_tag_add(asset=column, tag=gold, acting_user=SYSTEM)
    done = _ok(world, {"assets": _ids(columns), "tags": {"remove": [gold.pk]}})
    assert done["operations"] == {"tags": {"added": 0, "removed": 3, "unchanged": 1}}
    assert done["changed_ids"] == _ids(columns[:3])
    assert not AssetTag.objects.exists()


def test_set_counts_the_links_it_left_out_as_removed(world, columns):
    gold, silver = (TagFactory(workspace=world.workspace_a, name=name) for name in ("gold", "silver"))
    curation.asset_tag_add(asset=columns[0], tag=gold, acting_user=SYSTEM)
    curation.asset_tag_add(asset=columns[1], tag=silver, acting_user=SYSTEM)
    done = _ok(world, {"assets": _ids(columns[:2]), "tags": {"set": [gold.pk]}})
    assert done["operations"] == {"tags": {"added": 1, "removed": 1, "unchanged": 1}}
    assert done["changed_ids"] == [columns[1].pk]


def test_owners_terms_certification_and_properties_each_say_what_they_did(world, columns):
    analyst = world.user("analyst")
    group = Group.objects.create(name="finance")
    AssetOwner.objects.create(asset=columns[0], user=analyst, owner_type="business")
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Customer")
    curation.asset_certify(asset=columns[1], status="certified", acting_user=SYSTEM)
    done = _ok(world, {"assets": _ids(columns[:2]),
                       "owners": {"add": [{"user": analyst.pk, "owner_type": "business"},
                                          {"group": group.pk, "owner_type": "steward"}]},
                       "terms": {"add": [term.pk]}, "certification": "certified"})
    assert done["operations"] == {
        "owners": {"added": 3, "removed": 0, "unchanged": 1},
        "terms": {"added": 2, "removed": 0, "unchanged": 0},
        "certification": {"changed": 1, "unchanged": 1}}
    ended = _ok(world, {"assets": _ids(columns), "certification": None})
    assert ended["operations"] == {"certification": {"ended": 2, "unchanged": 2}}
    assert ended["changed_ids"] == _ids(columns[:2])
    assert not AssetCertification.objects.exists()


def test_the_ids_are_bounded_and_the_count_is_whole(world, columns, monkeypatch):
    monkeypatch.setattr(asset_curation, "CHANGED_IDS_SHOWN", 2)
    done = _ok(world, {"assets": _ids(columns), "certification": "deprecated"})
    assert done["changed"] == 4 and done["changed_ids"] == _ids(columns)[:2]
    assert done["changed_ids_complete"] is False


def test_the_ids_only_name_assets_the_caller_selected(world, columns):
    """A selection by filters: the answer names what it changed among them, nothing else."""
    theirs = AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_b), type=Asset.Type.COLUMN)
    done = _ok(world, {"filters": {"type": ["column"]}, "certification": "certified"})
    assert done["changed_ids"] == _ids(columns) and theirs.pk not in done["changed_ids"]


def test_a_refusal_still_changes_nothing_and_answers_no_summary(world, columns):
    theirs = AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_b))
    tag = TagFactory(workspace=world.workspace_a)
    response = _post(world, {"assets": [*_ids(columns), theirs.pk], "tags": {"add": [tag.pk]}}, "superuser")
    assert response.status_code == 400 and "changed_ids" not in response.json()
    assert not AssetTag.objects.exists() and not AuditEvent.objects.filter(event="asset.bulk_curated").exists()


def test_past_the_cap_is_still_a_400(world, columns, monkeypatch):
    monkeypatch.setattr(asset_curation, "MAX_BULK_ASSETS", 3)
    response = _post(world, {"filters": {"type": ["column"]}, "certification": "certified"})
    assert response.status_code == 400
    assert "this selection has 4" in str(response.json())
    assert not AssetCertification.objects.exists()


@pytest.mark.parametrize(("persona", "status"), [
    ("anonymous", 401), ("outsider", 403), ("analyst", 403), ("auditor", 403), ("steward", 200),
    ("workspace_admin", 200), ("other_workspace_user", 400), ("staff_unverified", 403), ("superuser", 200)])
def test_who_gets_the_summary(world, columns, persona, status):
    """The permission matrix of the endpoint, with its answer: only who may curate the assets reads what was
    done; another workspace's member is told the ids are none they can see (a 400, as for missing ids)."""
    response = world.client(persona).post(URL, {"assets": [columns[0].pk], "certification": "certified"},
                                          format="json")
    assert response.status_code == status, response.content
    if status == 200:
        assert response.json()["changed_ids"] == [columns[0].pk]
        assert response.json()["operations"] == {"certification": {"changed": 1, "unchanged": 0}}
    else:
        assert "changed_ids" not in response.json()


def test_openapi_documents_the_answer():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    answer = schema["paths"]["/api/v1/assets/bulk/"]["post"]["responses"]["200"]["content"]["application/json"]
    components = schema["components"]["schemas"]
    result = components[answer["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert set(result["properties"]) == {"assets", "changed", "changed_ids", "changed_ids_complete", "operations"}
    operations = components[result["properties"]["operations"]["allOf"][0]["$ref"].rsplit("/", 1)[-1]] \
        if "allOf" in result["properties"]["operations"] else \
        components[result["properties"]["operations"]["$ref"].rsplit("/", 1)[-1]]
    assert set(operations["properties"]) == {"owners", "tags", "terms", "certification", "properties"}
    links = components[operations["properties"]["tags"]["$ref"].rsplit("/", 1)[-1]]
    assert set(links["properties"]) == {"added", "removed", "unchanged"}
    assert set(links["required"]) == {"added", "removed", "unchanged"}
