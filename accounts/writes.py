"""The skeleton of a service's create and update, in one place.

Authorise first (a caller without the right learns nothing, not even which fields are unknown), refuse unknown
fields, build or change the row, let the service validate it in the block, save, audit — inside the service's
transaction, so that a failure anywhere leaves nothing behind::

    with writes.creating(ScanRuleSet, acting_user=acting_user, event="scan_rule_set.created",
                         allowed=lambda: workspace_allows(acting_user, "scanning.add_scanruleset", workspace),
                         values={"workspace": workspace}, fields=fields, editable=RULE_SET_FIELDS) as rule_set:
        validate_rule_set(rule_set)

The block is where a service does what is its own: validating, encrypting a secret, checking owners. An exception
there saves nothing. Steps that need the saved row (a many-to-many, a schedule) follow the ``with``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.db import models

from accounts import audit
from accounts.permissions import authorize


def check_fields(model: type[models.Model], fields: dict, editable: Iterable[str]) -> None:
    """TypeError for a field a caller may not set: a programming error (the API's serializers and the admin's
    forms offer only the editable ones), not bad input."""
    unknown = set(fields) - set(editable)
    if unknown:
        raise TypeError(f"unknown {model._meta.verbose_name} fields: {', '.join(sorted(unknown))}")


@contextmanager
def creating(model: type[models.Model], *, acting_user, allowed: Callable[[], bool], event: str,
             values: dict | None = None, fields: dict | None = None, editable: Iterable[str] | None = None,
             audit_fields: Iterable[str] | None = None) -> Iterator[models.Model]:
    """A new ``model`` row built from ``values`` (what the service sets) and ``fields`` (what the caller set, each
    one of ``editable``), handed to the block to validate, then saved and audited as ``event`` (its
    ``audit_fields``, ``Model.audit_fields`` unless given)."""
    authorize(acting_user, allowed)
    fields = fields or {}
    if editable is not None:
        check_fields(model, fields, editable)
    instance = model(**(values or {}), **fields)
    yield instance
    instance.save()
    audit.record_created(event=event, actor=acting_user, obj=instance, fields=audit_fields)


@contextmanager
def changing(instance: models.Model, *, acting_user, allowed: Callable[[], bool], event: str, fields: dict,
             editable: Iterable[str]) -> Iterator[models.Model]:
    """``instance`` with ``fields`` (each one of ``editable``) set, handed to the block to validate, then saved;
    one ``event`` with what changed of its ``audit_fields``, none when nothing did (a repeated request adds no
    row)."""
    authorize(acting_user, allowed)
    check_fields(type(instance), fields, editable)
    with audit.record_changes(event=event, actor=acting_user, obj=instance):
        for name, value in fields.items():
            setattr(instance, name, value)
        yield instance
        instance.save()


def delete(instance: models.Model, *, acting_user, allowed: Callable[[], bool], event: str,
             check: Callable[[], None] | None = None) -> None:
    """Authorise, let ``check`` refuse (a row still in use: ValidationError), then audit ``instance``'s audited
    fields as ``event`` and delete it."""
    authorize(acting_user, allowed)
    if check is not None:
        check()
    audit.record_deleted(event=event, actor=acting_user, obj=instance)
    instance.delete()
