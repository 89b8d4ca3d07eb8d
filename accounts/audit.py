"""Writing the audit trail: one call per event, from services, in their transaction.

    before = audit.snapshot(source, ["name", "host", "password"])
    ... change and save ...
    audit.record(event="datasource.changed", actor=acting_user, obj=source,
                 changes=audit.diff(before, audit.snapshot(source, ["name", "host", "password"])))

Secrets never reach the trail: a field whose name contains password / secret / token / key, or that the model
lists in ``audit_redact``, is recorded as ``"***"`` (the fact that it changed is kept, not its value).
"""
from __future__ import annotations

import contextlib
import datetime
import decimal
import re
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models

from accounts.actors import SYSTEM, SYSTEM_LABEL
from accounts.fields import UNSTORABLE_TEXT
from accounts.models import AuditEvent, Workspace
from accounts.permissions import workspace_of
from config.request_id import current_request_id

REDACTED = "***"
SYSTEM_ACTOR_LABEL = SYSTEM_LABEL
_SECRET_NAME = re.compile(r"password|secret|token|key", re.IGNORECASE)
_MAX_USER_AGENT = 512


def is_secret_field(name: str, redact: Iterable[str] = ()) -> bool:
    return bool(_SECRET_NAME.search(name)) or name in set(redact)


def _plain(value):
    """A JSON-safe rendering of a field value, stable enough to compare before and after."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(_plain(item) for item in value)
    if isinstance(value, (bytes, memoryview)):
        return REDACTED  # binary values are ciphertexts or blobs; neither belongs in a trail
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict:
    """Field values of ``instance`` (foreign keys as ids) for ``diff``."""
    values = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        values[name] = _plain(getattr(instance, attname))
    return values


def diff(before: dict, after: dict, redact: Iterable[str] = ()) -> dict:
    """``{field: [before, after]}`` for the fields whose value changed; secret fields as ``"***"``."""
    redact = tuple(redact)
    changes = {}
    for name in sorted(set(before) | set(after)):
        old, new = _plain(before.get(name)), _plain(after.get(name))
        if old == new:
            continue
        if is_secret_field(name, redact):
            changes[name] = [REDACTED if old not in (None, "") else old, REDACTED if new not in (None, "") else new]
        else:
            changes[name] = [old, new]
    return changes


def _audited(obj: models.Model, fields: Iterable[str] | None) -> list[str]:
    return list(fields) if fields is not None else list(type(obj).audit_fields)


def record_created(*, event: str, actor, obj: models.Model, fields: Iterable[str] | None = None):
    """The creation of ``obj``: its audited fields (``Model.audit_fields`` unless given) as a diff from nothing."""
    return record(event=event, actor=actor, obj=obj, changes=diff({}, snapshot(obj, _audited(obj, fields))))


def record_deleted(*, event: str, actor, obj: models.Model, fields: Iterable[str] | None = None):
    """The deletion of ``obj`` (call it before deleting): its audited fields as a diff to nothing."""
    return record(event=event, actor=actor, obj=obj, changes=diff(snapshot(obj, _audited(obj, fields)), {}))


@contextlib.contextmanager
def record_changes(*, event: str, actor, obj: models.Model, fields: Iterable[str] | None = None):
    """Audit what the block changes on ``obj``: one event with the field diff, none when nothing changed (so a
    retried or repeated request adds no row)."""
    fields = _audited(obj, fields)
    before = snapshot(obj, fields)
    yield
    changes = diff(before, snapshot(obj, fields))
    if changes:
        record(event=event, actor=actor, obj=obj, changes=changes)


def redact_changes(changes: dict, redact: Iterable[str] = ()) -> dict:
    """Apply the secret rule to a ``changes`` dict written by hand (any shape of value)."""
    redact = tuple(redact)
    clean = {}
    for name, value in changes.items():
        if is_secret_field(str(name), redact):
            if isinstance(value, (list, tuple)):
                clean[name] = [REDACTED if item not in (None, "") else item for item in value]
            else:
                clean[name] = REDACTED
        else:
            clean[name] = _plain(value) if not isinstance(value, (list, dict)) else value
    return clean


def _storable(value):
    """``value`` with the characters no database text holds (NUL, which PostgreSQL refuses; lone surrogates) replaced
    by U+FFFD: ``extra`` records what a request asked, as given, and an event that cannot be written fails the
    change it records."""
    if isinstance(value, str):
        return UNSTORABLE_TEXT.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_storable(name): _storable(item) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_storable(item) for item in value)
    return value


def client_ip(request) -> str | None:
    """The caller's address. Behind the proxy Racine is configured for, the last hop it appended."""
    meta = getattr(request, "META", {})
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return meta.get("REMOTE_ADDR") or None


def _actor_label(actor) -> str:
    if actor is None or actor is SYSTEM:
        return SYSTEM_ACTOR_LABEL
    if not getattr(actor, "is_authenticated", False):
        return "anonymous"
    return actor.get_username()[:150]


def build(*, event: str, actor=None, obj=None, workspace=None, changes: dict | None = None, request=None,
          extra: dict | None = None) -> AuditEvent:
    """The event ``record`` appends, not saved yet: a service that writes many rows at once builds one per row
    and appends them together with ``record_many`` (one INSERT, not one round trip per row)."""
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    label = _actor_label(actor)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None  # SYSTEM and AnonymousUser have no row to point at; the label says who it was
    if workspace is None and obj is not None:
        workspace = workspace_of(obj)
    if workspace is not None and not isinstance(workspace, Workspace):
        raise TypeError("workspace must be a Workspace")
    redact = getattr(type(obj), "audit_redact", ()) if obj is not None else ()
    request_id = current_request_id() or getattr(request, "request_id", None) or ""
    return AuditEvent(
        event=event,
        actor=actor,
        actor_label=label,
        workspace=workspace,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        changes=redact_changes(changes or {}, redact),
        extra=redact_changes(_storable(extra or {})),
        request_id=request_id[:128],
        ip=client_ip(request) if request is not None else None,
        user_agent=(getattr(request, "META", {}).get("HTTP_USER_AGENT", "")[:_MAX_USER_AGENT]
                    if request is not None else ""),
    )


def record(*, event: str, actor=None, obj=None, workspace=None, changes: dict | None = None, request=None,
           extra: dict | None = None) -> AuditEvent:
    """Append one event to the trail and return it.

    ``actor`` defaults to the request's authenticated user, else the system; ``SYSTEM`` is stored as before
    accounts.actors existed: no actor row, the label ``"system"``. ``workspace`` defaults to the object's own
    workspace. Call it inside the service's transaction so the event and the change commit (or roll back)
    together.
    """
    audit_event = build(event=event, actor=actor, obj=obj, workspace=workspace, changes=changes, request=request,
                        extra=extra)
    audit_event.save()
    return audit_event


def record_many(events: Iterable[AuditEvent]) -> None:
    """Append events made by ``build``, in the caller's transaction, a thousand rows per statement."""
    AuditEvent.objects.bulk_create(list(events), batch_size=1000)
