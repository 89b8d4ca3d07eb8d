"""Custom properties: what a workspace defines (``PropertyDefinition``: key, label, type, allowed values, the asset
types it applies to) and what its stewards set on its assets (``AssetPropertyValue``). Keyword-only, one
transaction each, an audit row per change, in it.

Definitions are written by who may add, change or delete them in the workspace (its stewards), as tags are.
Values are curation: who may curate the asset writes them (``catalog.curation.may_curate``: the workspace's
stewards and data owners, the asset's own owners), audited on the asset as ``asset.property_set`` (with the value
before and after) and ``asset.property_cleared``. A value is checked against its definition
(``property_value_clean``): the wrong type, a choice the definition does not offer or an asset type it does not
apply to is a ValidationError on ``properties.<key>`` naming the property.

No change to a definition leaves a value it no longer allows: its type cannot change while assets carry it,
and a choice cannot be dropped, nor an asset type left out, while values use it — each refusal says how many.
Nor is a definition deleted under its values (see ``PropertyDefinition``).
"""
from __future__ import annotations

import datetime
import decimal
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone

from accounts import audit, writes
from accounts.actors import SystemActor, user_or_none
from accounts.fields import NOTE_MAX_LENGTH
from accounts.models import User, Workspace
from accounts.permissions import authorize, has_perm, workspace_allows
from accounts.wording import counted
from catalog import curation
from catalog.models import Asset, AssetPropertyValue, PropertyDefinition

Type = PropertyDefinition.Type
DEFINITION_FIELDS = ("name", "label", "help_text", "type", "allowed_values", "applies_to")
# The name is what API clients, filters and the audit trail know the property by: it does not change.
CHANGEABLE_FIELDS = tuple(field for field in DEFINITION_FIELDS if field != "name")
NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
TEXT_MAX_LENGTH = NOTE_MAX_LENGTH
URL_MAX_LENGTH = 2_000
MAX_CHOICES = 200
CHOICE_MAX_LENGTH = 200
_URL = URLValidator(schemes=["http", "https"])
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _named(definition: PropertyDefinition, message: str) -> ValidationError:
    """An error on ``properties.<key>`` that names the property as people know it."""
    return ValidationError({f"properties.{definition.name}": [f"{definition.label or definition.name}: {message}"]})


# --- definitions -----------------------------------------------------------------------------------------------


def _check_choices(definition: PropertyDefinition) -> None:
    values = definition.allowed_values
    if definition.type not in PropertyDefinition.CHOICE_TYPES:
        if values:
            raise ValidationError({"allowed_values": ["Only a choice offers allowed values."]})
        return
    if not isinstance(values, list) or not values or not all(isinstance(value, str) for value in values):
        raise ValidationError({"allowed_values": ["A choice offers a list of values (text), at least one."]})
    cleaned = [value.strip() for value in values]
    if not all(cleaned):
        raise ValidationError({"allowed_values": ["A value offered cannot be empty."]})
    if len(cleaned) > MAX_CHOICES or any(len(value) > CHOICE_MAX_LENGTH for value in cleaned):
        raise ValidationError({"allowed_values": [f"At most {MAX_CHOICES} values of at most {CHOICE_MAX_LENGTH} "
                                                  "characters each."]})
    # Told apart case-insensitively and without quotes or backslashes: where the database cannot look inside a
    # JSON list (SQLite), a choice among several is found in the list's text (``carrying``).
    folded = [value.casefold() for value in cleaned]
    if len(set(folded)) != len(folded):
        raise ValidationError({"allowed_values": ["Each value is offered once (values differing only by case are "
                                                  "the same)."]})
    if any('"' in value or "\\" in value for value in cleaned):
        raise ValidationError({"allowed_values": ['A value offered may not contain " or \\.']})
    definition.allowed_values = cleaned


def _check_applies_to(definition: PropertyDefinition) -> None:
    types = definition.applies_to
    if not isinstance(types, list) or not all(isinstance(name, str) for name in types) or (
            set(types) - set(Asset.Type.values)):
        raise ValidationError({"applies_to": [f"A list of asset types among: {', '.join(Asset.Type.values)}."]})
    definition.applies_to = [name for name in Asset.Type.values if name in types]  # one order, to compare


def property_definition_check(definition: PropertyDefinition) -> None:
    """Validate a definition about to be saved (the admin's form runs it too): its own fields, and for one stored
    already that the change leaves no value it no longer allows."""
    _validate_definition(definition)
    if definition.pk is not None:
        _check_values_still_allowed(definition, PropertyDefinition.objects.get(pk=definition.pk))


def _validate_definition(definition: PropertyDefinition) -> None:
    if not NAME.fullmatch(definition.name or ""):
        raise ValidationError({"name": ["Lower-case letters, digits and underscores, starting with a letter (at "
                                       "most 64)."]})
    if definition.type not in Type.values:
        raise ValidationError({"type": [f"Choose one of: {', '.join(Type.values)}."]})
    _check_choices(definition)
    _check_applies_to(definition)
    definition.full_clean(exclude=["workspace", "allowed_values", "applies_to"], validate_unique=False)
    taken = PropertyDefinition.objects.filter(workspace_id=definition.workspace_id, name=definition.name)
    if taken.exclude(pk=definition.pk).exists():
        raise ValidationError({"name": ["The workspace has a property of this name already."]})


def carrying(definition: PropertyDefinition, value) -> Q:
    """The values of ``definition`` that are ``value`` (as stored) or, for several choices, include it."""
    if definition.type != Type.MULTI_CHOICE:
        return Q(definition=definition, value=value)
    if connection.features.supports_json_field_contains:
        return Q(definition=definition, value__contains=[value])
    # The list's JSON text holds the choice in quotes; choices hold no quote and differ beyond case (_check_choices).
    return Q(definition=definition, value__icontains=json.dumps(value))


def _check_values_still_allowed(definition: PropertyDefinition, before: PropertyDefinition) -> None:
    """Refuse a change that would leave values the definition no longer allows, naming how many."""
    values = AssetPropertyValue.objects.filter(definition=definition)
    if definition.type != before.type:
        carried = values.count()
        if carried:
            raise ValidationError({"type": [f"The property has a value on {counted(carried, 'asset')}: clear "
                                            "those before changing its type."]})
        return
    dropped = [choice for choice in before.allowed_values if choice not in definition.allowed_values]
    if dropped:
        carried = values.filter(any_of(carrying(definition, choice) for choice in dropped)).count()
        if carried:
            raise ValidationError({"allowed_values": [
                f"{counted(carried, 'asset')} {'has' if carried == 1 else 'have'} {', '.join(dropped)}, which "
                "this change no longer offers: change or clear those values first."]})
    if definition.applies_to and definition.applies_to != before.applies_to:
        carried = values.exclude(asset__type__in=definition.applies_to).count()
        if carried:
            raise ValidationError({"applies_to": [f"The property has a value on {counted(carried, 'asset')} of a "
                                                  "type left out: clear those first."]})


def any_of(conditions: Iterable[Q]) -> Q:
    combined = Q(pk__in=[])
    for condition in conditions:
        combined |= condition
    return combined


@transaction.atomic
def property_definition_create(*, workspace: Workspace, acting_user: User | SystemActor,
                               **fields) -> PropertyDefinition:
    with writes.creating(PropertyDefinition, acting_user=acting_user, event="property_definition.created",
                         allowed=lambda: workspace_allows(acting_user, "catalog.add_propertydefinition", workspace),
                         values={"workspace": workspace}, fields=fields, editable=DEFINITION_FIELDS) as definition:
        property_definition_check(definition)
    return definition


@transaction.atomic
def property_definition_update(*, definition: PropertyDefinition, acting_user: User | SystemActor,
                               **fields) -> PropertyDefinition:
    """Change a definition's label, help, type, choices or asset types (not its key); refused while it would
    leave values it no longer allows."""
    with writes.changing(definition, acting_user=acting_user, event="property_definition.changed", fields=fields,
                         editable=CHANGEABLE_FIELDS, allowed=lambda: has_perm(acting_user, "change", definition)):
        property_definition_check(definition)
    return definition


@transaction.atomic
def property_definition_delete(*, definition: PropertyDefinition, acting_user: User | SystemActor) -> None:
    """Delete a definition no asset carries a value of; otherwise refuse (``ProtectedError``, which the API answers
    409 with ``blocked_by``), saying how many: clearing the values first leaves each in its asset's history."""

    def refuse_if_carried():
        carried = AssetPropertyValue.objects.filter(definition=definition)
        count = carried.count()
        if count:
            raise ProtectedError(f"{definition} has a value on {counted(count, 'asset')}: clear those first.",
                                 carried.only("pk"))

    writes.delete(definition, acting_user=acting_user, event="property_definition.deleted",
                  allowed=lambda: has_perm(acting_user, "delete", definition), check=refuse_if_carried)


# --- values ------------------------------------------------------------------------------------------------------


def _number(definition: PropertyDefinition, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        raise _named(definition, "give a number.")
    try:
        if not math.isfinite(float(value)):
            raise ValueError
    except (OverflowError, ValueError):
        raise _named(definition, "give a finite number.") from None
    integral = value == int(value)
    return int(value) if integral else float(value)


def _date(definition: PropertyDefinition, value) -> str:
    if isinstance(value, datetime.datetime):
        raise _named(definition, "give a date (YYYY-MM-DD), not a time.")
    if isinstance(value, datetime.date):
        return value.isoformat()
    # fromisoformat also reads "20240131" and week dates: only the one spelling the API documents is taken.
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
        try:
            return datetime.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise _named(definition, f"{value.strip()} is not a date.") from None
    raise _named(definition, "give a date as YYYY-MM-DD.")


def _text(definition: PropertyDefinition, value, max_length: int) -> str:
    if not isinstance(value, str):
        raise _named(definition, "give text.")
    # Neither can be stored (PostgreSQL's text and jsonb refuse NUL; a lone surrogate is no character at all).
    if _UNSTORABLE.search(value):
        raise _named(definition, "the text holds a NUL or an invalid character.")
    value = value.strip()
    if len(value) > max_length:
        raise _named(definition, f"at most {max_length:,} characters.")
    return value


def _choices(definition: PropertyDefinition, value) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(
            isinstance(item, str) for item in value):
        raise _named(definition, "give a list of values.")
    unknown = [item for item in value if item not in definition.allowed_values]
    if unknown:
        raise _named(definition, f"{unknown[0][:40]} is not offered; choose among: "
                                 f"{', '.join(definition.allowed_values)}.")
    return [choice for choice in definition.allowed_values if choice in value]


def property_value_clean(definition: PropertyDefinition, value):
    """``value`` as stored for ``definition``: JSON of its type, dates as YYYY-MM-DD, several choices in the order
    the definition offers them. None — or an empty text or list — is "no value". A value of the wrong type or a
    choice not offered is a ValidationError on ``properties.<key>`` that names the property."""
    if value is None or value == "" or (isinstance(value, (list, tuple)) and not value):
        return None
    kind = definition.type
    if kind == Type.NUMBER:
        return _number(definition, value)
    if kind == Type.BOOLEAN:
        if not isinstance(value, bool):
            raise _named(definition, "give true or false.")
        return value
    if kind == Type.DATE:
        return _date(definition, value)
    if kind == Type.MULTI_CHOICE:
        return _choices(definition, value) or None
    text = _text(definition, value, URL_MAX_LENGTH if kind == Type.URL else TEXT_MAX_LENGTH)
    if not text:
        return None
    if kind == Type.URL:
        try:
            _URL(text)
        except ValidationError:
            raise _named(definition, "give a web address (http:// or https://).") from None
    if kind == Type.CHOICE and text not in definition.allowed_values:
        raise _named(definition, f"{text[:40]} is not offered; choose one of: "
                                 f"{', '.join(definition.allowed_values)}.")
    return text


def _check_applies(definition: PropertyDefinition, asset: Asset) -> None:
    if definition.workspace_id != asset.data_source.workspace_id:
        raise _named(definition, "it is another workspace's property.")
    if definition.applies_to and asset.type not in definition.applies_to:
        kinds = ", ".join(f"{Asset.Type(name).label.lower()}s" for name in definition.applies_to)
        raise _named(definition, f"applies to {kinds}, not to {Asset.Type(asset.type).label.lower()}s.")


def _same(before, after) -> bool:
    """Equal as stored (JSON's true is not 1)."""
    return type(before) is type(after) and before == after


def _one(definition: PropertyDefinition, value) -> dict | None:
    # The trail's change is {"properties": [before, after]}, each {name: value}: under a field named after the
    # property, a name containing "key" (primary_key) would read as a secret and be hidden (accounts.audit).
    return None if value is None else {definition.name: value}


def _value_event(asset: Asset, definition: PropertyDefinition, before, after, acting_user):
    """``asset.property_set`` (a value given or changed, with the one before) or ``asset.property_cleared``."""
    return audit.build(event="asset.property_set" if after is not None else "asset.property_cleared",
                       actor=acting_user, obj=asset,
                       changes={"properties": [_one(definition, before), _one(definition, after)]},
                       extra={"property": definition.pk, "label": definition.label})


def _definitions_by_key(*, workspace_ids: Iterable[int],
                        keys: Iterable[str]) -> dict[tuple[int, str], PropertyDefinition]:
    """The definitions named ``keys`` in the workspaces, by (workspace id, key): one query."""
    found = PropertyDefinition.objects.filter(workspace_id__in=set(workspace_ids), name__in=set(keys))
    return {(definition.workspace_id, definition.name): definition for definition in found}


def _unknown_key(key: str) -> ValidationError:
    return ValidationError({f"properties.{key}": [f"The asset's workspace has no property {key!r}."]})


def _check_names(names: Iterable[str]) -> None:
    """A property name no definition can have is unknown before any query (and a NUL in it never reaches one)."""
    for name in names:
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ValidationError({"properties": [f"No property is named {str(name)[:64]!r}."]})


@transaction.atomic
def asset_properties_set(*, asset: Asset, values: Mapping[str, object], acting_user: User | SystemActor,
                         exact: bool = False) -> None:
    """Set the properties ``values`` names (by key; None clears) on ``asset``; with ``exact``, clear every other.
    A value equal to the stored one writes and audits nothing. All or nothing."""
    authorize(acting_user, lambda: curation.may_curate(acting_user, asset))
    _check_names(values)
    workspace_id = asset.data_source.workspace_id
    definitions = _definitions_by_key(workspace_ids=[workspace_id], keys=values)
    wanted = {}
    for key, value in values.items():
        definition = definitions.get((workspace_id, key))
        if definition is None:
            raise _unknown_key(key)
        cleaned = property_value_clean(definition, value)
        if cleaned is not None:
            _check_applies(definition, asset)
        wanted[definition] = cleaned
    stored = {row.definition: row for row in
              AssetPropertyValue.objects.select_for_update(of=("self",)).select_related("definition")
              .filter(asset=asset)}
    if exact:
        wanted.update({definition: None for definition in stored if definition not in wanted})
    events, now, by = [], timezone.now(), user_or_none(acting_user)
    for definition, value in wanted.items():
        row = stored.get(definition)
        before = row.value if row is not None else None
        if _same(before, value):
            continue
        if value is None:
            row.delete()
        elif row is None:
            AssetPropertyValue.objects.create(asset=asset, definition=definition, value=value, set_by=by, set_at=now)
        else:
            row.value, row.set_by, row.set_at = value, by, now
            row.save(update_fields=["value", "set_by", "set_at"])
        events.append(_value_event(asset, definition, before, value, acting_user))
    audit.record_many(events)


# --- many assets at once (catalog.asset_curation.assets_curate) --------------------------------------------------


def _wanted_per_workspace(assets: list[Asset], set_values: Mapping[str, object], clear: Iterable[str]):
    """Each workspace's definitions for the keys named, with their cleaned values: ``{workspace id: {definition:
    value or None}}``. Every workspace among the assets must define every key."""
    keys = {*set_values, *clear}
    workspaces = {asset.data_source.workspace_id for asset in assets}
    definitions = _definitions_by_key(workspace_ids=workspaces, keys=keys)
    wanted: dict[int, dict[PropertyDefinition, object]] = {}
    for workspace_id in sorted(workspaces):
        wanted[workspace_id] = {}
        for key in sorted(keys):
            definition = definitions.get((workspace_id, key))
            if definition is None:
                raise ValidationError({f"properties.{key}": [
                    f"Not every selected asset's workspace has a property {key!r}."]})
            value = set_values.get(key)
            wanted[workspace_id][definition] = property_value_clean(definition, value) if key in set_values else None
    return wanted


@transaction.atomic
def assets_properties_change(*, assets: list[Asset], acting_user: User | SystemActor,
                             set_values: Mapping[str, object] | None = None,
                             clear: Iterable[str] = ()) -> curation.PartDone:
    """Set the properties of ``set_values`` (by key; None clears) and clear those of ``clear`` on every asset, with
    the same checks and audit rows as ``asset_properties_set``, in a number of statements that does not grow with
    the assets (one UPDATE per property and workspace). The assets come with ``data_source__workspace``."""
    set_values, clear = dict(set_values or {}), list(clear)
    both = set(set_values) & set(clear)
    if both:
        raise ValidationError({f"properties.{sorted(both)[0]}": ["Set or clear a property, not both."]})
    curation.curation_authorize_all(asset_ids=[asset.pk for asset in assets], acting_user=acting_user)
    _check_names([*set_values, *clear])
    wanted = _wanted_per_workspace(assets, set_values, clear)
    for asset in assets:
        for definition, value in wanted[asset.data_source.workspace_id].items():
            if value is not None:
                _check_applies(definition, asset)
    by_id = {asset.pk: asset for asset in assets}
    definitions = [definition for per_workspace in wanted.values() for definition in per_workspace]
    stored = {(row.asset_id, row.definition_id): row for row in AssetPropertyValue.objects.select_for_update()
              .filter(asset_id__in=by_id, definition__in=definitions)}
    now, by = timezone.now(), user_or_none(acting_user)
    new, dropped, changed, events, asked, touched = [], [], defaultdict(list), [], 0, set()
    for asset in assets:
        for definition, value in wanted[asset.data_source.workspace_id].items():
            asked += 1
            row = stored.get((asset.pk, definition.pk))
            before = row.value if row is not None else None
            if _same(before, value):
                continue
            touched.add(asset.pk)
            if value is None:
                dropped.append(row.pk)
            elif row is None:
                new.append(AssetPropertyValue(asset=asset, definition=definition, value=value, set_by=by,
                                              set_at=now))
            else:
                changed[definition].append(row.pk)
            events.append(_value_event(asset, definition, before, value, acting_user))
    AssetPropertyValue.objects.filter(pk__in=dropped).delete()
    for definition, pks in changed.items():
        AssetPropertyValue.objects.filter(pk__in=pks).update(
            value=wanted[definition.workspace_id][definition], set_by=by, set_at=now)
    AssetPropertyValue.objects.bulk_create(new, batch_size=1000)
    audit.record_many(events)
    return curation.PartDone({"set": len(events) - len(dropped), "cleared": len(dropped),
                              "unchanged": asked - len(events)}, touched)


_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


def value_from_query_text(definition: PropertyDefinition, text: str):
    """A query string's value (``?property=key:value``) as ``definition`` stores it — for several choices, the
    one choice looked for —, or None when it cannot be one."""
    try:
        if definition.type == Type.NUMBER:
            return property_value_clean(definition, decimal.Decimal(text))
        if definition.type == Type.BOOLEAN:
            lowered = text.strip().lower()
            return True if lowered in _TRUE else False if lowered in _FALSE else None
        if definition.type == Type.MULTI_CHOICE:
            return text if text in definition.allowed_values else None
        return property_value_clean(definition, text)
    except (ValidationError, decimal.InvalidOperation):
        return None
