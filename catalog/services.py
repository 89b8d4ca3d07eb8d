"""Writes to the catalog. Keyword-only arguments, a transaction each, an audit event in that transaction.

Creating and changing a data source lives in ``scanning.services``: its connection settings are validated by the
connectors' rules, and catalog may not import scanning.

``acting_user=None`` means the system (tasks, commands); otherwise the service checks the user's grant through
``accounts.permissions`` before it changes anything, so the API, the admin and commands share one rule.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts import audit
from accounts.models import User
from accounts.permissions import has_perm
from catalog import crypto
from catalog.models import Asset, DataSource

ASSET_EDITABLE_FIELDS = ("description",)


def _require(acting_user: User | None, allowed) -> None:
    if acting_user is not None and not allowed():
        raise PermissionDenied("You do not have permission to perform this action.")


def datasource_secret_read(*, data_source: DataSource, acting_user: User | None, purpose: str) -> str:
    """The decrypted secret, for a connector. Every read is in the audit trail, with its purpose."""
    _require(acting_user, lambda: has_perm(acting_user, "view_secret", data_source)
             or has_perm(acting_user, "test_connection", data_source))
    audit.record(event="datasource.secret_accessed", actor=acting_user, obj=data_source,
                 extra={"purpose": purpose})
    return crypto.decrypt(data_source.encrypted_secret)


def datasource_secrets_rotate() -> int:
    """Re-encrypt every stored secret with the newest key; returns how many were rewritten."""
    rotated = 0
    for source in DataSource.objects.exclude(encrypted_secret="").only("pk", "encrypted_secret").iterator():
        with transaction.atomic():
            fresh = crypto.rotate(source.encrypted_secret)
            DataSource.objects.filter(pk=source.pk).update(encrypted_secret=fresh)
            audit.record(event="datasource.secret_rotated", obj=source)
        rotated += 1
    return rotated


@transaction.atomic
def asset_update(*, asset: Asset, acting_user: User | None, **fields) -> Asset:
    """Stewards' edits of an asset (its description); scanned fields belong to scans."""
    _require(acting_user, lambda: has_perm(acting_user, "change", asset))
    unknown = set(fields) - set(ASSET_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field is set by scans."] for name in unknown})
    before = audit.snapshot(asset, ASSET_EDITABLE_FIELDS)
    for name, value in fields.items():
        setattr(asset, name, value)
    asset.full_clean()
    asset.save()
    changes = audit.diff(before, audit.snapshot(asset, ASSET_EDITABLE_FIELDS))
    if changes:
        audit.record(event="asset.changed", actor=acting_user, obj=asset, changes=changes)
    return asset
