"""Custom properties in the back office: the definitions' pages (scoped, the service's checks on the form, a count
of the values that keep a definition from being deleted) and the Properties section of an asset's page, which a
steward edits and an analyst reads, in a number of queries that does not grow with the properties."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import curation, properties
from catalog.models import Asset, AssetPropertyValue, PropertyDefinition
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.catalog.property_factories import PropertyDefinitionFactory
from tests.support.personas import staff_client

Type = PropertyDefinition.Type


@pytest.fixture
def table_a(world):
    return AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_a), type=Asset.Type.TABLE,
                        name="customers", qualified_name="shop.public.customers")


def _define_all(world):
    define = PropertyDefinitionFactory
    return [define(workspace=world.workspace_a, name="retention", label="Retention", type=Type.TEXT,
                   help_text="How long rows are kept."),
            define(workspace=world.workspace_a, name="rows_expected", label="Rows expected", type=Type.NUMBER),
            define(workspace=world.workspace_a, name="personal", label="Personal data", type=Type.BOOLEAN),
            define(workspace=world.workspace_a, name="reviewed", label="Reviewed on", type=Type.DATE),
            define(workspace=world.workspace_a, name="wiki", label="Wiki page", type=Type.URL),
            define(workspace=world.workspace_a, name="tier", label="Tier", type=Type.CHOICE,
                   allowed_values=["gold", "silver"]),
            define(workspace=world.workspace_a, name="uses", label="Uses", type=Type.MULTI_CHOICE,
                   allowed_values=["billing", "marketing"]),
            define(workspace=world.workspace_a, name="column_only", label="Column only", type=Type.TEXT,
                   applies_to=["column"])]


def _page(client, asset):
    response = client.get(reverse(f"admin:catalog_{asset.type}asset_change", args=[asset.pk]))
    assert response.status_code == 200
    return response.content.decode()


SHOWN = ["retention", "rows_expected", "personal", "reviewed", "wiki", "tier", "uses"]


def _post(client, asset, data):
    """The section's form as the page posts it: every property it showed named in ``shown``."""
    return client.post(reverse("admin:catalog_propertydefinition_asset_values", args=[asset.pk]),
                       {"shown": SHOWN, **data}, format="multipart")


def test_steward_edits_every_type_of_property_on_the_asset_page_audited(world, table_a):
    _define_all(world)
    client = staff_client(world, "steward")
    html = _page(client, table_a)
    assert 'id="asset-properties"' in html and "How long rows are kept." in html
    assert "Column only" not in html  # a column's property is not offered on a table
    response = _post(client, table_a, {
        "property_retention": "7 years", "property_rows_expected": "1200", "property_personal": "true",
        "property_reviewed": "2031-01-31", "property_wiki": "https://wiki.example.org/customers",
        "property_tier": "gold", "property_uses": ["marketing", "billing"]})
    assert response.status_code == 302 and response["Location"].endswith("#asset-properties")
    assert {row.definition.name: row.value for row in AssetPropertyValue.objects.select_related("definition")} == {
        "retention": "7 years", "rows_expected": 1200, "personal": True, "reviewed": "2031-01-31",
        "wiki": "https://wiki.example.org/customers", "tier": "gold", "uses": ["billing", "marketing"]}
    assert AuditEvent.objects.filter(event="asset.property_set", object_id=str(table_a.pk)).count() == 7
    html = _page(client, table_a)
    assert "The properties of customers are saved." in html and 'value="7 years"' in html
    # The asset's curation history says which property became what (it used to say only "property set").
    assert "set Retention to 7 years" in html and "set Tier to gold" in html
    # Emptied fields clear their properties; the others stay.
    _post(client, table_a, {"property_retention": "7 years", "property_rows_expected": "1200",
                            "property_personal": "unknown", "property_tier": "gold"})
    assert set(AssetPropertyValue.objects.values_list("definition__name", flat=True)) == {
        "retention", "rows_expected", "tier"}


def test_a_refused_value_changes_nothing_and_says_why(world, table_a):
    _define_all(world)
    client = staff_client(world, "steward")
    _post(client, table_a, {"property_rows_expected": "many", "property_retention": "kept"})
    assert not AssetPropertyValue.objects.exists()
    assert "Rows expected: Enter a number." in _page(client, table_a)


def test_a_post_without_the_shown_properties_clears_nothing(world, table_a):
    _define_all(world)
    properties.asset_properties_set(asset=table_a, values={"tier": "gold"}, acting_user=SYSTEM)
    client = staff_client(world, "steward")
    client.post(reverse("admin:catalog_propertydefinition_asset_values", args=[table_a.pk]), {},
                format="multipart")
    assert AssetPropertyValue.objects.get().value == "gold"
    assert "Nothing was posted: open the page again." in _page(client, table_a)


def test_analyst_reads_the_values_without_a_form_and_another_workspace_cannot_post(world, table_a):
    _define_all(world)
    properties.asset_properties_set(asset=table_a, values={"tier": "gold", "personal": False}, acting_user=SYSTEM)
    html = _page(staff_client(world, "analyst"), table_a)
    assert "asset-properties-form" not in html and "gold" in html and ">no<" in html
    assert _post(staff_client(world, "analyst"), table_a, {"property_tier": "silver"}).status_code == 302
    assert AssetPropertyValue.objects.get(definition__name="tier").value == "gold"  # refused by the service
    assert _post(staff_client(world, "other_workspace_user"), table_a, {"property_tier": "silver"}).status_code == 404


def test_an_analyst_who_owns_the_asset_edits_its_properties_audited(world, table_a):
    """Owners curate what they own: the analyst gets the form on their asset's page, and their change is theirs."""
    _define_all(world)
    analyst = world.user("analyst")
    curation.asset_owner_add(asset=table_a, user=analyst, owner_type="business", acting_user=SYSTEM)
    client = staff_client(world, "analyst")
    assert "asset-properties-form" in _page(client, table_a)
    assert _post(client, table_a, {"property_tier": "silver"}).status_code == 302
    assert AssetPropertyValue.objects.get(definition__name="tier").value == "silver"
    event = AuditEvent.objects.get(event="asset.property_set")
    assert (event.actor, event.object_id, event.changes) == (analyst, str(table_a.pk),
                                                             {"properties": [None, {"tier": "silver"}]})
    other = AssetFactory(data_source=table_a.data_source, type=Asset.Type.TABLE, name="orders",
                         qualified_name="shop.public.orders")
    assert "asset-properties-form" not in _page(client, other)


def test_properties_section_costs_the_same_queries_for_two_properties_as_for_eight(world, table_a):
    definitions = _define_all(world)
    other = AssetFactory(data_source=table_a.data_source, type=Asset.Type.TABLE, name="orders",
                         qualified_name="shop.public.orders")
    for definition in definitions[2:]:
        definition.workspace = world.workspace_b  # only two are the workspace's while measuring the first page
        definition.save(update_fields=["workspace"])
    client = staff_client(world, "steward")
    _page(client, table_a)

    def queries(asset):
        with CaptureQueriesContext(connection) as captured:
            _page(client, asset)
        return len(captured)

    few = queries(table_a)
    PropertyDefinition.objects.filter(pk__in=[definition.pk for definition in definitions]).update(
        workspace=world.workspace_a)
    properties.asset_properties_set(asset=other, values={"tier": "gold", "uses": ["billing"], "retention": "1y"},
                                    acting_user=SYSTEM)
    assert queries(other) == few


def test_steward_defines_a_property_in_the_admin_and_a_choice_in_use_stays(world, table_a):
    client = staff_client(world, "steward")
    response = client.post(reverse("admin:catalog_propertydefinition_add"), {
        "workspace": world.workspace_a.pk, "name": "tier", "label": "Tier", "help_text": "", "type": "choice",
        "allowed_values": "gold\nsilver\n", "applies_to": ["table", "view"]}, format="multipart")
    assert response.status_code == 302, response.content.decode()[:2000]
    definition = PropertyDefinition.objects.get(name="tier")
    assert definition.allowed_values == ["gold", "silver"] and definition.applies_to == ["table", "view"]
    assert AuditEvent.objects.filter(event="property_definition.created", object_id=str(definition.pk)).exists()
    properties.asset_properties_set(asset=table_a, values={"tier": "gold"}, acting_user=SYSTEM)
    url = reverse("admin:catalog_propertydefinition_change", args=[definition.pk])
    response = client.post(url, {"label": "Tier", "help_text": "", "type": "choice", "allowed_values": "silver",
                                 "applies_to": ["table", "view"]}, format="multipart")
    assert response.status_code == 200 and "1 asset has gold" in response.content.decode()
    response = client.get(reverse("admin:catalog_propertydefinition_delete", args=[definition.pk]))
    assert "Its values on 1 asset: clear them first" in response.content.decode()
    assert staff_client(world, "other_workspace_user").get(url).status_code == 302  # not theirs: back to the index
