"""/api/v1/property-definitions/ under the permission matrix (members read their workspace's, stewards write,
auditors read everything), and custom properties in the curation document, bulk curation and the asset list's
``?property=`` filter."""
import pytest
from django.urls import reverse

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import curation, properties
from catalog.models import Asset, AssetPropertyValue, PropertyDefinition
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.catalog.property_factories import PropertyDefinitionFactory
from tests.support.permission_matrix import PermissionMatrix, table

Type = PropertyDefinition.Type


class TestPropertyDefinitionMatrix(PermissionMatrix):
    basename = "propertydefinition"
    expected = table(
        "list retrieve_a retrieve_b create update_a update_b partial_update_a partial_update_b destroy_a destroy_b",
        anonymous=           "401 401 401 401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403 403 403 403",
        analyst=             "200 200 404 403 403 403 403 403 403 403",
        steward=             "200 200 404 201 200 404 200 404 204 404",
        workspace_admin=     "200 200 404 201 200 404 200 404 204 404",
        auditor=             "200 200 200 403 403 403 403 403 403 403",
        other_workspace_user="200 404 200 400 404 200 404 200 404 204",
        staff_unverified=    "403 403 403 403 403 403 403 403 403 403",
        superuser=           "200 200 200 201 200 200 200 200 204 204",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB", "other_workspace_user": "B",
               "superuser": "AB"}

    def objects(self, world):
        return (PropertyDefinitionFactory(workspace=world.workspace_a),
                PropertyDefinitionFactory(workspace=world.workspace_b))

    def payload(self, world, action):
        return {"workspace": world.workspace_a.pk, "name": f"tier_{action}", "label": "Tier", "type": "choice",
                "allowed_values": ["gold", "silver"], "applies_to": ["table"]}


@pytest.fixture
def table_a(world):
    return AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_a), type=Asset.Type.TABLE,
                        name="customers", qualified_name="shop.public.customers")


def define(world, name, type_, **fields):
    return PropertyDefinitionFactory(workspace=world.workspace_a, name=name, label=name.title(), type=type_,
                                     **fields)


def _errors(response):
    return {error["field"]: error["detail"] for error in response.json().get("errors", [])}


def test_definition_delete_under_values_is_a_409_naming_how_many(world, table_a):
    definition = define(world, "retention", Type.TEXT)
    properties.asset_properties_set(asset=table_a, values={"retention": "1y"}, acting_user=SYSTEM)
    url = reverse("api:propertydefinition-detail", args=[definition.pk])
    response = world.client("steward").delete(url)
    assert response.status_code == 409 and response.json()["blocked_by"] == {"property value": 1}
    assert PropertyDefinition.objects.filter(pk=definition.pk).exists()


def test_dropping_a_choice_in_use_is_a_400_on_allowed_values(world, table_a):
    definition = define(world, "tier", Type.CHOICE, allowed_values=["gold", "silver"])
    properties.asset_properties_set(asset=table_a, values={"tier": "gold"}, acting_user=SYSTEM)
    response = world.client("steward").patch(reverse("api:propertydefinition-detail", args=[definition.pk]),
                                             {"allowed_values": ["silver"]}, format="json")
    assert response.status_code == 400 and "1 asset has gold" in _errors(response)["allowed_values"]


def test_name_cannot_change_and_a_bad_name_is_a_400(world):
    definition = define(world, "tier", Type.TEXT)
    client = world.client("steward")
    response = client.patch(reverse("api:propertydefinition-detail", args=[definition.pk]), {"name": "other"},
                            format="json")
    assert response.status_code == 200 and response.json()["name"] == "tier"
    response = client.post(reverse("api:propertydefinition-list"), {"workspace": world.workspace_a.pk,
                                                                     "name": "Bad Name", "label": "x",
                                                                     "type": "text"}, format="json")
    assert response.status_code == 400 and "name" in _errors(response)


# --- the curation document ---------------------------------------------------------------------------------------

def _curation(asset):
    return reverse("api:assetcuration-curation", args=[asset.pk])


def test_curation_document_round_trip_put_sets_all_patch_merges_null_clears(world, table_a):
    define(world, "tier", Type.CHOICE, allowed_values=["gold", "silver"])
    define(world, "retention_days", Type.NUMBER)
    define(world, "reviewed", Type.DATE)
    client = world.client("steward")
    assert client.get(_curation(table_a)).json()["properties"] == {}
    response = client.patch(_curation(table_a), {"properties": {"tier": "gold", "retention_days": 30}},
                            format="json")
    assert response.status_code == 200
    assert response.json()["properties"] == {"tier": "gold", "retention_days": 30}
    response = client.patch(_curation(table_a), {"properties": {"reviewed": "2031-01-31", "tier": None}},
                            format="json")
    assert response.json()["properties"] == {"retention_days": 30, "reviewed": "2031-01-31"}
    document = client.get(_curation(table_a)).json()
    whole = {name: document[name] for name in ("description", "owners", "tags", "terms", "certification")}
    response = client.put(_curation(table_a), {**whole, "owners": [], "properties": {"tier": "silver"}},
                          format="json")
    assert response.status_code == 200 and response.json()["properties"] == {"tier": "silver"}
    on_asset = AuditEvent.objects.filter(object_id=str(table_a.pk), event__startswith="asset.")
    assert {event.event for event in on_asset} == {"asset.property_set", "asset.property_cleared"}
    # The same document again writes nothing.
    before = AuditEvent.objects.count()
    client.put(_curation(table_a), {**whole, "owners": [], "properties": {"tier": "silver"}}, format="json")
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(("value", "says"), [
    ("bronze", "Tier: bronze is not offered"),
    (3, "Tier: give text."),
    ({"nested": True}, "Tier: give text."),
])
def test_bad_property_value_is_a_400_naming_the_property(world, table_a, value, says):
    define(world, "tier", Type.CHOICE, allowed_values=["gold", "silver"])
    response = world.client("steward").patch(_curation(table_a), {"properties": {"tier": value}}, format="json")
    assert response.status_code == 400 and _errors(response)["properties.tier"].startswith(says)
    assert not AssetPropertyValue.objects.exists()


def test_unknown_or_other_workspace_property_is_a_400(world, table_a):
    PropertyDefinitionFactory(workspace=world.workspace_b, name="theirs")
    client = world.client("steward")
    for body in ({"properties": {"theirs": "x"}}, {"properties": {"nothing": 1}}, {"properties": ["tier"]},
                 {"properties": {"nul\u0000name": 1}}, {"properties": {"": None}}):
        response = client.patch(_curation(table_a), body, format="json")
        assert response.status_code == 400, body


def test_analyst_reads_properties_but_may_not_set_them(world, table_a):
    define(world, "tier", Type.TEXT)
    properties.asset_properties_set(asset=table_a, values={"tier": "gold"}, acting_user=SYSTEM)
    analyst = world.client("analyst")
    assert analyst.get(_curation(table_a)).json()["properties"] == {"tier": "gold"}
    assert world.client("auditor").get(_curation(table_a)).json()["properties"] == {"tier": "gold"}
    assert analyst.patch(_curation(table_a), {"properties": {"tier": "x"}}, format="json").status_code == 403


def test_an_owner_sets_the_properties_of_what_they_own_only(world, table_a):
    define(world, "tier", Type.TEXT)
    other = AssetFactory(data_source=table_a.data_source, type=Asset.Type.TABLE)
    curation.asset_owner_add(asset=table_a, user=world.user("analyst"), owner_type="business", acting_user=SYSTEM)
    analyst = world.client("analyst")
    response = analyst.patch(_curation(table_a), {"properties": {"tier": "gold"}}, format="json")
    assert response.status_code == 200 and response.json()["properties"] == {"tier": "gold"}
    assert analyst.patch(_curation(other), {"properties": {"tier": "gold"}}, format="json").status_code == 403


# --- bulk curation and the list filter ----------------------------------------------------------------------------

def test_bulk_sets_and_clears_by_filter(world, table_a):
    define(world, "tier", Type.MULTI_CHOICE, allowed_values=["gold", "silver"])
    define(world, "retention", Type.TEXT)
    others = [AssetFactory(data_source=table_a.data_source, type=Asset.Type.TABLE) for _ in range(2)]
    client = world.client("steward")
    response = client.post(reverse("api:assetcuration-bulk"),
                           {"assets": [table_a.pk, *(other.pk for other in others)],
                            "properties": {"set": {"tier": ["silver", "gold"], "retention": "1y"}}}, format="json")
    ids = sorted([table_a.pk, *(other.pk for other in others)])
    assert response.status_code == 200 and response.json() == {
        "assets": 3, "changed": 3, "changed_ids": ids, "changed_ids_complete": True,
        "operations": {"properties": {"set": 6, "cleared": 0, "unchanged": 0}}}  # two properties on three assets
    assert AssetPropertyValue.objects.filter(value=["gold", "silver"]).count() == 3
    response = client.post(reverse("api:assetcuration-bulk"),
                           {"filters": {"property": "tier:gold"}, "properties": {"clear": ["retention"]}},
                           format="json")
    assert response.status_code == 200 and response.json() == {
        "assets": 3, "changed": 3, "changed_ids": ids, "changed_ids_complete": True,
        "operations": {"properties": {"set": 0, "cleared": 3, "unchanged": 0}}}
    assert AssetPropertyValue.objects.filter(definition__name="retention").count() == 0


def test_bulk_bad_shape_is_a_400(world, table_a):
    define(world, "tier", Type.TEXT)
    client = world.client("steward")
    for part in ({"add": {"tier": "x"}}, {}, {"set": {"tier": "x"}, "clear": ["tier"]}, {"set": {"tier": 1}}):
        response = client.post(reverse("api:assetcuration-bulk"), {"assets": [table_a.pk], "properties": part},
                               format="json")
        assert response.status_code == 400, part


def test_asset_list_filters_by_property(world, table_a):
    define(world, "tier", Type.MULTI_CHOICE, allowed_values=["gold", "silver"])
    define(world, "retention_days", Type.NUMBER)
    define(world, "personal", Type.BOOLEAN)
    other = AssetFactory(data_source=table_a.data_source, type=Asset.Type.TABLE)
    properties.asset_properties_set(asset=table_a, values={"tier": ["gold", "silver"], "retention_days": 30,
                                                           "personal": True}, acting_user=SYSTEM)
    properties.asset_properties_set(asset=other, values={"tier": ["silver"], "retention_days": 2.5,
                                                         "personal": False}, acting_user=SYSTEM)
    client = world.client("analyst")

    def listed(value):
        response = client.get(reverse("api:asset-list"), {"property": value})
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert listed("tier:gold") == {table_a.pk}
    assert listed("tier:silver") == {table_a.pk, other.pk}
    assert listed("tier") == {table_a.pk, other.pk}
    assert listed("retention_days:30.0") == {table_a.pk}
    assert listed("retention_days:2.5") == {other.pk}
    assert listed("personal:false") == {other.pk}
    assert listed("retention_days:many") == set()
    assert listed("nothing:1") == set()
