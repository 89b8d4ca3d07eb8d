"""Writes of the stewards' curation of assets: owners, tags, certification (the description is
``catalog.services.asset_update``'s). Keyword-only, one transaction each, an audit row per change, in it.

Who may curate an asset (``may_curate``): who may ``change`` it (``accounts.permissions``: the stewards and data
owners of its workspace, through their role), and its own owners — a user named owner in any capacity, or a member
of an owning group — for that asset only. Analysts and auditors read. Ownership is a rule read from the owner rows
(``catalog.selectors.asset_owned_by``), not a guardian object permission: guardian keys a user's object
permission by (user, permission, object pk) whatever the object's type, so ``catalog.change_asset`` on asset 7
would collide with the same permission a role holds on workspace 7; and a rule follows a group's members as they
change, where copied grants would go stale.

The ``*_set`` functions take the whole wanted state and apply the difference with the add/remove functions, so a
repeated request writes nothing and audits nothing; bulk curation calls the same functions per asset.
"""
from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit, writes
from accounts.actors import SYSTEM, SystemActor, user_or_none
from accounts.fields import check_text
from accounts.models import Membership, User, Workspace
from accounts.permissions import authorize, has_perm, workspace_allows
from catalog.models import Asset, AssetCertification, AssetOwner, AssetTag, Tag
from catalog.selectors import asset_owned_by


def may_curate(user, asset: Asset) -> bool:
    """The curation rule: who may ``change`` the asset (its workspace's stewards and data owners), or one of its
    owners (a user, or a member of an owning group)."""
    return has_perm(user, "change", asset) or asset_owned_by(user=user, asset=asset)


def _authorize_curation(acting_user, asset: Asset) -> None:
    authorize(acting_user, lambda: may_curate(acting_user, asset))


# --- description -----------------------------------------------------------------------------------------------

@transaction.atomic
def asset_describe(*, asset: Asset, description: str, acting_user: User | SystemActor) -> Asset:
    """Write the stewards' description (Markdown) as a curator: the asset's owners too, where
    ``catalog.services.asset_update`` (the asset's own edit) asks for ``change`` on it. Audited the same way, as
    ``asset.changed``; the same text again writes nothing."""
    _authorize_curation(acting_user, asset)
    with audit.record_changes(event="asset.changed", actor=acting_user, obj=asset, fields=["description"]):
        asset.description = description
        asset.clean_fields(exclude=[field.name for field in Asset._meta.fields if field.name != "description"])
        asset.save(update_fields=["description"])
    return asset


# --- owners ------------------------------------------------------------------------------------------------------

def _owner_label(owner: AssetOwner) -> str:
    return f"user:{owner.user.get_username()}" if owner.user_id else f"group:{owner.group.name}"


def _check_owner(asset: Asset, *, user: User | None, group: Group | None, owner_type: str) -> None:
    if (user is None) == (group is None):
        raise ValidationError({"owner": ["Name a user or a group, not both."]})
    if owner_type not in AssetOwner.OwnerType.values:
        raise ValidationError({"owner_type": [f"Choose one of: {', '.join(AssetOwner.OwnerType.values)}."]})
    # Owning grants curation of the asset: only people already in its workspace may be given it, so that naming
    # an owner cannot open a workspace to someone outside it.
    if user is not None and not (user.is_active and Membership.objects.filter(
            user=user, workspace_id=asset.data_source.workspace_id).exists()):
        raise ValidationError({"user": ["Owners must be active members of the asset's workspace."]})


@transaction.atomic
def asset_owner_add(*, asset: Asset, owner_type: str, acting_user: User | SystemActor, user: User | None = None,
                    group: Group | None = None) -> AssetOwner:
    """Make ``user`` or ``group`` an owner of ``asset`` (technical, business or steward); the same owner in the
    same capacity again is a no-op."""
    _authorize_curation(acting_user, asset)
    _check_owner(asset, user=user, group=group, owner_type=owner_type)
    owner, created = AssetOwner.objects.get_or_create(asset=asset, user=user, group=group, owner_type=owner_type,
                                                      defaults={"added_by": user_or_none(acting_user)})
    if created:
        audit.record(event="asset.owner_added", actor=acting_user, obj=asset,
                     changes={"owners": [None, f"{_owner_label(owner)} ({owner_type})"]},
                     extra={"owner_type": owner_type, "user": owner.user_id, "group": owner.group_id})
    return owner


@transaction.atomic
def asset_owner_remove(*, owner: AssetOwner, acting_user: User | SystemActor) -> None:
    asset = owner.asset
    _authorize_curation(acting_user, asset)
    label = f"{_owner_label(owner)} ({owner.owner_type})"
    user, group = owner.user, owner.group
    owner.delete()
    audit.record(event="asset.owner_removed", actor=acting_user, obj=asset, changes={"owners": [label, None]},
                 extra={"owner_type": owner.owner_type, "user": getattr(user, "pk", None),
                        "group": getattr(group, "pk", None)})


@transaction.atomic
def asset_owners_set(*, asset: Asset, owners: list[dict], acting_user: User | SystemActor) -> list[AssetOwner]:
    """Make the owners of ``asset`` exactly ``owners`` (each ``{"owner_type", "user" | "group"}``)."""
    _authorize_curation(acting_user, asset)
    wanted = {(item.get("user"), item.get("group"), item["owner_type"]) for item in owners}
    current = list(AssetOwner.objects.filter(asset=asset).select_related("user", "group"))
    for owner in current:
        if (owner.user, owner.group, owner.owner_type) not in wanted:
            asset_owner_remove(owner=owner, acting_user=acting_user)
    for user, group, owner_type in sorted(wanted, key=lambda key: (key[2], str(key[0]), str(key[1]))):
        asset_owner_add(asset=asset, user=user, group=group, owner_type=owner_type, acting_user=acting_user)
    return list(AssetOwner.objects.filter(asset=asset).select_related("user", "group"))


# --- tags --------------------------------------------------------------------------------------------------------

TAG_FIELDS = ("name", "description")


@transaction.atomic
def tag_create(*, workspace: Workspace, acting_user: User | SystemActor, **fields) -> Tag:
    with writes.creating(Tag, acting_user=acting_user, event="tag.created",
                         allowed=lambda: workspace_allows(acting_user, "catalog.add_tag", workspace),
                         values={"workspace": workspace}, fields=fields, editable=TAG_FIELDS) as tag:
        tag.full_clean()
    return tag


@transaction.atomic
def tag_update(*, tag: Tag, acting_user: User | SystemActor, **fields) -> Tag:
    with writes.changing(tag, acting_user=acting_user, event="tag.changed", fields=fields, editable=TAG_FIELDS,
                         allowed=lambda: has_perm(acting_user, "change", tag)):
        tag.full_clean()
    return tag


@transaction.atomic
def tag_delete(*, tag: Tag, acting_user: User | SystemActor) -> None:
    """Delete a tag, which takes it off its assets."""
    writes.delete(tag, acting_user=acting_user, event="tag.deleted",
                  allowed=lambda: has_perm(acting_user, "delete", tag))


def _check_same_workspace(asset: Asset, other, field: str) -> None:
    if other.workspace_id != asset.data_source.workspace_id:
        raise ValidationError({field: [f"{other} belongs to another workspace than the asset."]})


@transaction.atomic
def asset_tag_add(*, asset: Asset, tag: Tag, acting_user: User | SystemActor) -> AssetTag:
    _authorize_curation(acting_user, asset)
    _check_same_workspace(asset, tag, "tags")
    link, created = AssetTag.objects.get_or_create(asset=asset, tag=tag,
                                                   defaults={"added_by": user_or_none(acting_user)})
    if created:
        audit.record(event="asset.tag_added", actor=acting_user, obj=asset, changes={"tags": [None, tag.name]},
                     extra={"tag": tag.pk})
    return link


@transaction.atomic
def asset_tag_remove(*, asset: Asset, tag: Tag, acting_user: User | SystemActor) -> None:
    _authorize_curation(acting_user, asset)
    deleted, _ = AssetTag.objects.filter(asset=asset, tag=tag).delete()
    if deleted:
        audit.record(event="asset.tag_removed", actor=acting_user, obj=asset, changes={"tags": [tag.name, None]},
                     extra={"tag": tag.pk})


@transaction.atomic
def asset_tags_set(*, asset: Asset, tags, acting_user: User | SystemActor) -> None:
    _authorize_curation(acting_user, asset)
    wanted = {tag.pk: tag for tag in tags}
    for tag in Tag.objects.filter(asset_links__asset=asset).exclude(pk__in=wanted):
        asset_tag_remove(asset=asset, tag=tag, acting_user=acting_user)
    for tag in wanted.values():
        asset_tag_add(asset=asset, tag=tag, acting_user=acting_user)


# --- certification -----------------------------------------------------------------------------------------------

@transaction.atomic
def asset_certify(*, asset: Asset, status: str, acting_user: User | SystemActor, note: str = "",
                  expires_at: datetime | None = None) -> AssetCertification:
    """Certify or deprecate ``asset``, replacing its earlier certification; by whom and when are recorded."""
    _authorize_curation(acting_user, asset)
    if status not in AssetCertification.Status.values:
        raise ValidationError({"status": [f"Choose one of: {', '.join(AssetCertification.Status.values)}."]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": ["The expiry must be in the future."]})
    check_text(AssetCertification, "note", note)
    certification = AssetCertification.objects.select_for_update().filter(asset=asset).first()
    if certification is None:
        certification = AssetCertification(asset=asset)
    before = audit.snapshot(certification, AssetCertification.audit_fields) if certification.pk else {}
    certification.status, certification.note, certification.expires_at = status, note, expires_at
    changes = audit.diff(before, audit.snapshot(certification, AssetCertification.audit_fields))
    if not changes:
        return certification  # the same word again: no new date, no audit row
    certification.certified_by = user_or_none(acting_user)
    certification.certified_at = timezone.now()
    certification.save()
    audit.record(event=f"asset.{status}", actor=acting_user, obj=asset,
                 changes={f"certification_{name}": value for name, value in changes.items()})
    return certification


def _end_certification(certification: AssetCertification, *, acting_user, event: str, reason: str) -> None:
    audit.record(event=event, actor=acting_user, obj=certification.asset,
                 changes={"certification_status": [certification.status, None]},
                 extra={"certified_by": certification.certified_by_id, "certified_at": certification.certified_at,
                        "expires_at": certification.expires_at, **({"reason": reason} if reason else {})})
    certification.delete()


@transaction.atomic
def asset_certification_end(*, asset: Asset, acting_user: User | SystemActor, reason: str = "") -> None:
    """Take back the asset's certification (or deprecation); none is a no-op."""
    _authorize_curation(acting_user, asset)
    check_text(AssetCertification, "note", reason, as_field="reason")
    certification = AssetCertification.objects.select_for_update().filter(asset=asset).first()
    if certification is not None:
        _end_certification(certification, acting_user=acting_user, event="asset.certification_ended",
                           reason=reason)


def asset_certifications_expire(*, now: datetime | None = None) -> int:
    """End every certification whose expiry has passed, each audited as ``asset.certification_expired`` by the
    system; returns how many. Idempotent: each is ended in its own transaction, re-read under lock, so a
    duplicate tick or a steward's renewal meanwhile ends nothing twice and nothing renewed."""
    now = now or timezone.now()
    ended = 0
    due = AssetCertification.objects.filter(expires_at__lte=now).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            certification = (AssetCertification.objects.select_for_update(of=("self",)).select_related("asset")
                             .filter(pk=pk, expires_at__lte=now).first())
            if certification is not None:
                _end_certification(certification, acting_user=SYSTEM, event="asset.certification_expired",
                                   reason="expired")
                ended += 1
    return ended
