"""The curation of an asset as one document (description, owners, tags, glossary terms, certification, custom
properties), and bulk curation of many assets: each one transaction over the services of catalog.curation,
catalog.glossary and catalog.properties, which authorise, validate and audit every change as when it is made
alone. (A module of its own: catalog.glossary and catalog.properties build on catalog.curation, and this builds on
all three.)

Bulk curation writes the same audit rows as curating each asset by hand — one per change, on the asset, so that
an asset's history shows it — and one ``asset.bulk_curated`` row per workspace touched, saying what was asked of
how many assets and which; the rows of one request share its ``request_id``. Owners, tags, terms,
certification and properties are written by the ``assets_*`` services in a fixed number of statements each.
"""
from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from accounts import audit
from accounts.actors import SystemActor
from accounts.models import User, Workspace
from catalog import curation, glossary, properties
from catalog.models import Asset

# Beyond this, one request would hold its transaction (and the locks of every row it writes) for minutes.
MAX_BULK_ASSETS = 5_000
# How many ids of the assets a bulk curation changed its summary lists (the count is always whole).
CHANGED_IDS_SHOWN = 1_000
UNCHANGED = object()  # "leave the certification as it is" (None ends it)
OPERATIONS = ("set", "add", "remove")
# The certification's parts as the curation document (API and admin forms) names them: a refusal of its expiry is
# an error on ``certification_expires_at``, the field the caller filled, not on the service's ``expires_at``.
CERTIFICATION_FIELDS = {"status": "certification", "note": "certification_note",
                        "expires_at": "certification_expires_at"}


@dataclass
class BulkDone:
    """What a bulk curation did: how many assets were selected, and per part asked for (``owners``, ``tags``,
    ``terms``, ``certification``, ``properties``) its counts and the assets it changed."""

    assets: int
    parts: dict[str, curation.PartDone] = field(default_factory=dict)

    def changed_ids(self) -> list[int]:
        """The assets at least one part changed, by id."""
        return sorted(set().union(*(part.asset_ids for part in self.parts.values())))

    def summary(self) -> dict:
        changed, ids_shown = self.changed_ids(), CHANGED_IDS_SHOWN
        return {"assets": self.assets, "changed": len(changed), "changed_ids": changed[:ids_shown],
                "changed_ids_complete": len(changed) <= ids_shown,
                "operations": {name: dict(part.counts) for name, part in self.parts.items()}}


@contextmanager
def _certification_named():
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise ValidationError({CERTIFICATION_FIELDS.get(name, name): errors
                               for name, errors in exc.error_dict.items()}) from None


@transaction.atomic
def asset_curation_set(*, asset: Asset, acting_user: User | SystemActor, description: str | None = None,
                       owners: list[dict] | None = None, tags=None, terms=None, certification=UNCHANGED,
                       property_values: dict | None = None, properties_exact: bool = False) -> Asset:
    """Make the asset's curation what is given; a part given as None (the certification: ``UNCHANGED``) is left
    as it is, so a partial update names only what it changes. ``owners`` as ``curation.asset_owners_set`` takes
    them; ``certification`` is ``{"status", "note", "expires_at"}``, or None to end it; ``property_values`` is
    ``{key: value}`` (None clears), the asset's only ones with ``properties_exact``. All or nothing."""
    if description is not None:
        curation.asset_describe(asset=asset, description=description, acting_user=acting_user)
    if owners is not None:
        curation.asset_owners_set(asset=asset, owners=owners, acting_user=acting_user)
    if tags is not None:
        curation.asset_tags_set(asset=asset, tags=tags, acting_user=acting_user)
    if terms is not None:
        glossary.asset_terms_set(asset=asset, terms=terms, acting_user=acting_user)
    if certification is None:
        curation.asset_certification_end(asset=asset, acting_user=acting_user)
    elif certification is not UNCHANGED:
        with _certification_named():
            curation.asset_certify(asset=asset, acting_user=acting_user, **certification)
    if property_values is not None:
        properties.asset_properties_set(asset=asset, values=property_values, acting_user=acting_user,
                                        exact=properties_exact)
    return asset


def _check_operation(name: str, operation: dict | None) -> None:
    if operation is None:
        return
    if not operation or set(operation) - set(OPERATIONS):
        raise ValidationError({name: ["Give set, or add and/or remove."]})
    if "set" in operation and len(operation) > 1:
        raise ValidationError({name: ["set replaces the whole list: it does not go with add or remove."]})


def _check_properties_operation(operation: dict | None) -> None:
    if operation is None:
        return
    if not operation or set(operation) - {"set", "clear"}:
        raise ValidationError({"properties": ["Give set ({key: value}) and/or clear ([keys])."]})


def _described(operation: dict | None) -> dict | None:
    """An operation as the bulk audit row records it: ids and owner keys, not objects."""
    if operation is None:
        return None
    return {name: [list(curation.owner_key(item)) if isinstance(item, dict) else item.pk for item in items]
            for name, items in operation.items()}


@transaction.atomic
def assets_curate(*, assets: QuerySet[Asset], acting_user: User | SystemActor, owners: dict | None = None,
                  tags: dict | None = None, terms: dict | None = None, certification=UNCHANGED,
                  property_values: dict | None = None, selection: dict | None = None) -> BulkDone:
    """Curate every asset of ``assets`` (a selection the caller sees) in one transaction: ``owners``, ``tags``
    and ``terms`` are each ``{"set": [...]}`` or ``{"add": [...], "remove": [...]}`` (owners as
    ``curation.asset_owners_set`` takes them, tags and terms as objects); ``certification`` as in
    ``asset_curation_set``; ``property_values`` is ``{"set": {key: value}, "clear": [keys]}`` (either part). At
    most ``MAX_BULK_ASSETS``; every asset must be one the caller may curate; any refusal on any asset (a tag of
    another workspace, a deprecated term, a value a property does not allow) changes nothing. ``selection`` (how
    the assets were chosen) goes into the bulk audit row. Returns what was done (``BulkDone``): how many assets
    were selected, and per part how many links were added, removed or already as asked (certifications changed or
    ended, properties set or cleared) and which assets changed."""
    for name, operation in (("owners", owners), ("tags", tags), ("terms", terms)):
        _check_operation(name, operation)
    _check_properties_operation(property_values)
    if owners is None and tags is None and terms is None and certification is UNCHANGED and property_values is None:
        raise ValidationError("Name what to change: owners, tags, terms, certification or properties.")
    count = assets.count()
    if count > MAX_BULK_ASSETS:
        raise ValidationError({"assets": [f"At most {MAX_BULK_ASSETS:,} assets per bulk operation; this selection "
                                          f"has {count:,}: narrow it."]})
    if not count:
        raise ValidationError({"assets": ["No asset matches this selection."]})
    selected = list(assets.select_related("data_source__workspace").order_by("pk"))
    curation.curation_authorize_all(asset_ids=[asset.pk for asset in selected], acting_user=acting_user)
    # Each part in a fixed number of statements, whatever the number of assets.
    done = BulkDone(assets=count)
    if owners is not None:
        done.parts["owners"] = curation.assets_owners_change(
            assets=selected, acting_user=acting_user, add=owners.get("add", []), remove=owners.get("remove", []),
            exact=owners.get("set"))
    if tags is not None:
        done.parts["tags"] = curation.assets_tags_change(
            assets=selected, acting_user=acting_user, add=tags.get("add", []), remove=tags.get("remove", []),
            exact=tags.get("set"))
    if terms is not None:
        done.parts["terms"] = glossary.assets_terms_change(
            assets=selected, acting_user=acting_user, add=terms.get("add", []), remove=terms.get("remove", []),
            exact=terms.get("set"))
    if certification is None:
        done.parts["certification"] = curation.assets_certification_end(assets=selected, acting_user=acting_user)
    elif certification is not UNCHANGED:
        with _certification_named():
            done.parts["certification"] = curation.assets_certify(assets=selected, acting_user=acting_user,
                                                                  **certification)
    if property_values is not None:
        done.parts["properties"] = properties.assets_properties_change(
            assets=selected, acting_user=acting_user, set_values=property_values.get("set"),
            clear=property_values.get("clear", ()))
    by_workspace: dict[Workspace, list[int]] = defaultdict(list)
    for asset in selected:
        by_workspace[asset.data_source.workspace].append(asset.pk)
    asked = {name: described for name, described in (("owners", _described(owners)), ("tags", _described(tags)),
                                                    ("terms", _described(terms))) if described is not None}
    if certification is not UNCHANGED:
        asked["certification"] = certification
    if property_values is not None:
        asked["properties"] = property_values
    audit.record_many(audit.build(event="asset.bulk_curated", actor=acting_user, workspace=workspace,
                                  extra={"assets": len(ids), "asset_ids": ids, "operation": asked,
                                         "selection": selection or {}})
                      for workspace, ids in sorted(by_workspace.items(), key=lambda item: item[0].pk))
    return done
