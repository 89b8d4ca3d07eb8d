"""Custom properties (catalog.properties): definitions written by their workspace's stewards, values checked against
their definition per type and set by who may curate the asset, every change audited; a definition cannot change or
go away under the values that need it."""
import datetime
import decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import ProtectedError

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import asset_curation, curation, properties
from catalog.models import Asset, AssetPropertyValue, PropertyDefinition
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.catalog.property_factories import PropertyDefinitionFactory

Type = PropertyDefinition.Type


@pytest.fixture
def table_a(world):
    return AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_a), type=Asset.Type.TABLE)


def define(world, type_=Type.TEXT, name="retention", **fields):
    return PropertyDefinitionFactory(workspace=world.workspace_a, name=name, label=name.replace("_", " ").title(),
                                     type=type_, **fields)


def stored(asset):
    return {row.definition.name: row.value for row in AssetPropertyValue.objects.filter(asset=asset)
            .select_related("definition")}


def audited(name, asset=None):
    rows = AuditEvent.objects.filter(event=name).order_by("pk")
    return list(rows.filter(object_id=str(asset.pk)) if asset is not None else rows)


# --- definitions -------------------------------------------------------------------------------------------------

def test_steward_defines_a_property_audited_and_analyst_may_not(world):
    definition = properties.property_definition_create(
        workspace=world.workspace_a, acting_user=world.user("steward"), name="tier", label="Tier", type=Type.CHOICE,
        allowed_values=[" gold", "silver "], applies_to=["column", "table"])
    assert definition.allowed_values == ["gold", "silver"] and definition.applies_to == ["table", "column"]
    [event] = audited("property_definition.created")
    assert event.actor == world.user("steward") and event.changes["name"] == [None, "tier"]
    with pytest.raises(PermissionDenied):
        properties.property_definition_create(workspace=world.workspace_a, acting_user=world.user("analyst"),
                                              name="other", label="Other", type=Type.TEXT)
    with pytest.raises(PermissionDenied):  # another workspace's steward
        properties.property_definition_create(workspace=world.workspace_b, acting_user=world.user("steward"),
                                              name="other", label="Other", type=Type.TEXT)


@pytest.mark.parametrize(("fields", "field"), [
    ({"name": "Has Space"}, "name"),
    ({"name": "9lives"}, "name"),
    ({"type": "colour"}, "type"),
    ({"type": Type.CHOICE}, "allowed_values"),  # a choice without values
    ({"type": Type.CHOICE, "allowed_values": ["a", "A"]}, "allowed_values"),
    ({"type": Type.CHOICE, "allowed_values": ['say "hi"']}, "allowed_values"),
    ({"type": Type.TEXT, "allowed_values": ["a"]}, "allowed_values"),
    ({"applies_to": ["table", "index"]}, "applies_to"),
    ({"label": ""}, "label"),
])
def test_bad_definition_is_refused_on_its_field(world, fields, field):
    wanted = {"name": "retention", "label": "Retention", "type": Type.TEXT, **fields}
    with pytest.raises(ValidationError) as refused:
        properties.property_definition_create(workspace=world.workspace_a, acting_user=SYSTEM, **wanted)
    assert field in refused.value.message_dict


def test_name_is_unique_per_workspace_and_does_not_change(world):
    define(world)
    with pytest.raises(ValidationError) as refused:
        properties.property_definition_create(workspace=world.workspace_a, acting_user=SYSTEM, name="retention",
                                              label="Again", type=Type.TEXT)
    assert "name" in refused.value.message_dict
    properties.property_definition_create(workspace=world.workspace_b, acting_user=SYSTEM, name="retention",
                                          label="Theirs", type=Type.TEXT)
    with pytest.raises(TypeError):
        properties.property_definition_update(definition=PropertyDefinition.objects.get(
            workspace=world.workspace_a), acting_user=SYSTEM, name="renamed")


# --- values, per type ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("type_", "given", "kept"), [
    (Type.TEXT, "  Seven years ", "Seven years"),
    (Type.NUMBER, 7, 7),
    (Type.NUMBER, 7.0, 7),
    (Type.NUMBER, decimal.Decimal("2.50"), 2.5),
    (Type.BOOLEAN, False, False),
    (Type.DATE, "2031-01-31", "2031-01-31"),
    (Type.DATE, datetime.date(2031, 1, 31), "2031-01-31"),
    (Type.URL, "https://wiki.example.org/retention", "https://wiki.example.org/retention"),
])
def test_value_of_each_type_is_stored_as_its_json(world, table_a, type_, given, kept):
    define(world, type_)
    properties.asset_properties_set(asset=table_a, values={"retention": given}, acting_user=world.user("steward"))
    assert stored(table_a) == {"retention": kept} and type(stored(table_a)["retention"]) is type(kept)


@pytest.mark.parametrize(("type_", "given"), [
    (Type.TEXT, 7),
    (Type.TEXT, "x" * 2001),
    (Type.TEXT, "nul\x00inside"),
    (Type.TEXT, "lone \ud800 surrogate"),
    (Type.NUMBER, "7"),
    (Type.NUMBER, True),
    (Type.NUMBER, float("nan")),
    (Type.BOOLEAN, "yes"),
    (Type.BOOLEAN, 1),
    (Type.DATE, "31/01/2031"),
    (Type.DATE, "2031-02-30"),
    (Type.DATE, "20310131"),
    (Type.URL, "javascript:alert(1)"),
    (Type.URL, "not a link"),
    (Type.CHOICE, "bronze"),
    (Type.CHOICE, ["gold"]),
    (Type.MULTI_CHOICE, "gold"),
    (Type.MULTI_CHOICE, ["gold", "bronze"]),
])
def test_value_of_the_wrong_type_or_not_offered_is_refused_naming_the_property(world, table_a, type_, given):
    offered = ["gold", "silver"] if type_ in PropertyDefinition.CHOICE_TYPES else []
    define(world, type_, allowed_values=offered)
    with pytest.raises(ValidationError) as refused:
        properties.asset_properties_set(asset=table_a, values={"retention": given}, acting_user=SYSTEM)
    [message] = refused.value.message_dict["properties.retention"]
    assert message.startswith("Retention: ")
    assert stored(table_a) == {} and audited("asset.property_set") == []


def test_several_choices_are_kept_in_the_definitions_order_once_each(world, table_a):
    define(world, Type.MULTI_CHOICE, allowed_values=["gold", "silver", "bronze"])
    properties.asset_properties_set(asset=table_a, values={"retention": ["bronze", "gold", "bronze"]},
                                    acting_user=SYSTEM)
    assert stored(table_a) == {"retention": ["gold", "bronze"]}


def test_property_of_another_type_of_asset_or_unknown_name_is_refused(world, table_a):
    define(world, applies_to=["column"])
    with pytest.raises(ValidationError) as refused:
        properties.asset_properties_set(asset=table_a, values={"retention": "x"}, acting_user=SYSTEM)
    assert "applies to columns, not to tables" in str(refused.value.message_dict["properties.retention"])
    PropertyDefinitionFactory(workspace=world.workspace_b, name="theirs")
    with pytest.raises(ValidationError) as refused:
        properties.asset_properties_set(asset=table_a, values={"theirs": "x"}, acting_user=SYSTEM)
    assert "properties.theirs" in refused.value.message_dict


def test_property_named_like_a_secret_is_shown_in_the_trail(world, table_a):
    define(world, Type.BOOLEAN, name="primary_key")
    properties.asset_properties_set(asset=table_a, values={"primary_key": True}, acting_user=SYSTEM)
    [event] = audited("asset.property_set", table_a)
    assert event.changes == {"properties": [None, {"primary_key": True}]}


def test_set_change_and_clear_are_audited_and_a_repeat_writes_nothing(world, table_a):
    define(world, Type.NUMBER)
    steward = world.user("steward")
    for value in (30, 30, 60, None, None):
        properties.asset_properties_set(asset=table_a, values={"retention": value}, acting_user=steward)
    assert [event.changes for event in audited("asset.property_set", table_a)] == [
        {"properties": [None, {"retention": 30}]}, {"properties": [{"retention": 30}, {"retention": 60}]}]
    [cleared] = audited("asset.property_cleared", table_a)
    assert cleared.changes == {"properties": [{"retention": 60}, None]} and cleared.actor == steward
    assert cleared.workspace == world.workspace_a and cleared.extra["label"] == "Retention"


def test_exact_clears_the_properties_not_given(world, table_a):
    define(world)
    define(world, name="cost_centre")
    properties.asset_properties_set(asset=table_a, values={"retention": "1y", "cost_centre": "42"},
                                    acting_user=SYSTEM)
    properties.asset_properties_set(asset=table_a, values={"cost_centre": "43"}, acting_user=SYSTEM, exact=True)
    assert stored(table_a) == {"cost_centre": "43"}


def test_curation_rule_decides_who_sets_values(world, table_a):
    define(world)
    analyst = world.user("analyst")
    with pytest.raises(PermissionDenied):
        properties.asset_properties_set(asset=table_a, values={"retention": "1y"}, acting_user=analyst)
    with pytest.raises(PermissionDenied):
        properties.asset_properties_set(asset=table_a, values={"retention": "1y"}, acting_user=world.user("auditor"))
    curation.asset_owner_add(asset=table_a, user=analyst, owner_type="business", acting_user=SYSTEM)
    properties.asset_properties_set(asset=table_a, values={"retention": "1y"}, acting_user=analyst)
    assert stored(table_a) == {"retention": "1y"}


# --- definitions under their values ----------------------------------------------------------------------------------

def test_dropping_a_choice_in_use_is_refused_naming_how_many(world, table_a):
    definition = define(world, Type.MULTI_CHOICE, allowed_values=["gold", "silver", "bronze"])
    other = AssetFactory(data_source=table_a.data_source, type=Asset.Type.TABLE)
    properties.asset_properties_set(asset=table_a, values={"retention": ["gold", "silver"]}, acting_user=SYSTEM)
    properties.asset_properties_set(asset=other, values={"retention": ["silver"]}, acting_user=SYSTEM)
    with pytest.raises(ValidationError) as refused:
        properties.property_definition_update(definition=definition, acting_user=SYSTEM,
                                              allowed_values=["gold", "bronze"])
    assert refused.value.message_dict["allowed_values"][0].startswith("2 assets have silver")
    definition.refresh_from_db()
    assert definition.allowed_values == ["gold", "silver", "bronze"]
    properties.property_definition_update(definition=definition, acting_user=SYSTEM,
                                          allowed_values=["gold", "silver", "platinum"])  # bronze is unused
    [changed] = audited("property_definition.changed")
    assert changed.changes == {"allowed_values": [["gold", "silver", "bronze"], ["gold", "silver", "platinum"]]}


def test_dropping_a_single_choice_in_use_is_refused(world, table_a):
    definition = define(world, Type.CHOICE, allowed_values=["gold", "silver"])
    properties.asset_properties_set(asset=table_a, values={"retention": "gold"}, acting_user=SYSTEM)
    with pytest.raises(ValidationError) as refused:
        properties.property_definition_update(definition=definition, acting_user=SYSTEM, allowed_values=["silver"])
    assert refused.value.message_dict["allowed_values"][0].startswith("1 asset has gold")


def test_type_and_asset_types_do_not_change_under_values(world, table_a):
    definition = define(world)
    properties.asset_properties_set(asset=table_a, values={"retention": "1y"}, acting_user=SYSTEM)
    with pytest.raises(ValidationError) as refused:
        properties.property_definition_update(definition=definition, acting_user=SYSTEM, type=Type.NUMBER)
    assert "1 asset" in refused.value.message_dict["type"][0]
    definition.refresh_from_db()  # the refused change stays on the instance given
    with pytest.raises(ValidationError) as refused:
        properties.property_definition_update(definition=definition, acting_user=SYSTEM, applies_to=["column"])
    assert "1 asset" in refused.value.message_dict["applies_to"][0]
    properties.property_definition_update(definition=definition, acting_user=SYSTEM, applies_to=["table"],
                                          label="Kept for")


def test_definition_with_values_is_not_deleted_until_they_are_cleared(world, table_a):
    definition = define(world)
    properties.asset_properties_set(asset=table_a, values={"retention": "1y"}, acting_user=SYSTEM)
    with pytest.raises(ProtectedError, match="1 asset"):
        properties.property_definition_delete(definition=definition, acting_user=world.user("steward"))
    assert audited("property_definition.deleted") == []
    properties.asset_properties_set(asset=table_a, values={"retention": None}, acting_user=SYSTEM)
    properties.property_definition_delete(definition=definition, acting_user=world.user("steward"))
    assert not PropertyDefinition.objects.filter(pk=definition.pk).exists()
    [deleted] = audited("property_definition.deleted")
    assert deleted.changes["name"] == ["retention", None]


# --- in bulk -------------------------------------------------------------------------------------------------------

def test_bulk_sets_and_clears_on_every_asset_audited_per_asset(world, table_a):
    define(world, Type.CHOICE, allowed_values=["gold", "silver"], name="tier")
    define(world)
    source = table_a.data_source
    tables = [table_a, *(AssetFactory(data_source=source, type=Asset.Type.TABLE) for _ in range(3))]
    properties.asset_properties_set(asset=tables[0], values={"tier": "gold", "retention": "1y"}, acting_user=SYSTEM)
    done = asset_curation.assets_curate(
        assets=Asset.objects.filter(pk__in=[table.pk for table in tables]), acting_user=world.user("steward"),
        property_values={"set": {"tier": "gold"}, "clear": ["retention"]})
    assert done.assets == 4
    assert done.parts["properties"].counts == {"set": 3, "cleared": 1, "unchanged": 4}
    assert [stored(table) for table in tables] == [{"tier": "gold"}] * 4
    assert len(audited("asset.property_set")) == 1 + 1 + 3  # the first asset's two, then three new golds
    assert len(audited("asset.property_cleared")) == 1
    [bulk] = audited("asset.bulk_curated")
    assert bulk.extra["operation"] == {"properties": {"set": {"tier": "gold"}, "clear": ["retention"]}}


def test_bulk_refuses_a_bad_value_or_a_workspace_without_the_name_changing_nothing(world, table_a):
    define(world, Type.NUMBER)
    with pytest.raises(ValidationError) as refused:
        asset_curation.assets_curate(assets=Asset.objects.filter(pk=table_a.pk), acting_user=SYSTEM,
                                     property_values={"set": {"retention": "long"}})
    assert "properties.retention" in refused.value.message_dict
    theirs = AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_b), type=Asset.Type.TABLE)
    with pytest.raises(ValidationError) as refused:
        asset_curation.assets_curate(assets=Asset.objects.filter(pk__in=[table_a.pk, theirs.pk]),
                                     acting_user=SYSTEM, property_values={"set": {"retention": 5}})
    assert "Not every selected asset's workspace" in str(refused.value)
    assert AssetPropertyValue.objects.count() == 0 and audited("asset.bulk_curated") == []
