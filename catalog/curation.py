"""Writes of the stewards' curation of assets: owners, tags, certification (the description is
``catalog.services.asset_update``'s). Keyword-only, one transaction each, an audit row per change, in it.

Who may curate an asset (``may_curate``): who may ``change`` it (``accounts.permissions``: the stewards and data
owners of its workspace, through their role), and its own owners — a user named owner in any capacity, or a member
of an owning group, either a member of the asset's workspace (groups are organization-wide: the auditors' group
owning an asset does not make auditors of other workspaces its curators) — for that asset only. Analysts and
auditors read. Ownership is a rule read from the owner rows (``catalog.selectors.asset_owned_by``), not a
guardian object permission: guardian keys a user's object
permission by (user, permission, object pk) whatever the object's type, so ``catalog.change_asset`` on asset 7
would collide with the same permission a role holds on workspace 7; and a rule follows a group's members as they
change, where copied grants would go stale.

The ``*_set`` functions take the whole wanted state and apply the difference with the add/remove functions, so a
repeated request writes nothing and audits nothing; bulk curation calls the same functions per asset.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit, writes
from accounts.actors import SYSTEM, SystemActor, require_actor, user_or_none
from accounts.fields import check_text
from accounts.models import Membership, User, Workspace
from accounts.permissions import authorize, has_perm, workspace_allows
from catalog import search
from catalog.markdown import text_with_newlines
from catalog.models import Asset, AssetCertification, AssetOwner, AssetTag, Tag
from catalog.selectors import asset_curatable_list, asset_owned_by
from catalog.services import asset_described_record


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
    described = asset.description
    with audit.record_changes(event="asset.changed", actor=acting_user, obj=asset, fields=["description"]):
        asset.description = text_with_newlines(description)
        asset.clean_fields(exclude=[field.name for field in Asset._meta.fields if field.name != "description"])
        asset.save(update_fields=["description"])
    if asset.description != described:
        asset_described_record(asset=asset, acting_user=acting_user)
    search.documents_refresh(asset_ids=[asset.pk])
    return asset


# --- owners ------------------------------------------------------------------------------------------------------

def _owner_label(owner: AssetOwner) -> str:
    return f"user:{owner.user.get_username()}" if owner.user_id else f"group:{owner.group.name}"


def _owner_event(owner: AssetOwner, acting_user, *, added: bool):
    label = f"{_owner_label(owner)} ({owner.owner_type})"
    return audit.build(event="asset.owner_added" if added else "asset.owner_removed", actor=acting_user,
                       obj=owner.asset, changes={"owners": [None, label] if added else [label, None]},
                       extra={"owner_type": owner.owner_type, "user": owner.user_id, "group": owner.group_id})


def _check_owner_shape(*, user: User | None, group: Group | None, owner_type: str) -> None:
    if (user is None) == (group is None):
        raise ValidationError({"owner": ["Name a user or a group, not both."]})
    if owner_type not in AssetOwner.OwnerType.values:
        raise ValidationError({"owner_type": [f"Choose one of: {', '.join(AssetOwner.OwnerType.values)}."]})


def _check_owner(asset: Asset, *, user: User | None, group: Group | None, owner_type: str) -> None:
    _check_owner_shape(user=user, group=group, owner_type=owner_type)
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
        _owner_event(owner, acting_user, added=True).save()
        search.documents_refresh(asset_ids=[asset.pk])
    return owner


@transaction.atomic
def asset_owner_remove(*, owner: AssetOwner, acting_user: User | SystemActor) -> None:
    _authorize_curation(acting_user, owner.asset)
    event, asset_id = _owner_event(owner, acting_user, added=False), owner.asset_id
    owner.delete()
    event.save()
    search.documents_refresh(asset_ids=[asset_id])


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
        tag.description = text_with_newlines(tag.description)
        tag.full_clean()
    return tag


@transaction.atomic
def tag_update(*, tag: Tag, acting_user: User | SystemActor, **fields) -> Tag:
    name = tag.name
    with writes.changing(tag, acting_user=acting_user, event="tag.changed", fields=fields, editable=TAG_FIELDS,
                         allowed=lambda: has_perm(acting_user, "change", tag)):
        tag.description = text_with_newlines(tag.description)
        tag.full_clean()
    if tag.name != name:
        search.tag_assets_refresh(tag_ids=[tag.pk])
    return tag


@transaction.atomic
def tag_delete(*, tag: Tag, acting_user: User | SystemActor) -> None:
    """Delete a tag, which takes it off its assets."""
    tagged = list(AssetTag.objects.filter(tag=tag).values_list("asset_id", flat=True))
    writes.delete(tag, acting_user=acting_user, event="tag.deleted",
                  allowed=lambda: has_perm(acting_user, "delete", tag))
    search.documents_refresh(asset_ids=tagged)


def distinct(items, key=lambda item: item.pk) -> list:
    """``items`` (tags, terms, owners) each once, in the order given: a request naming one twice asks for it once
    (each was inserted twice, and the unique constraint failed the request: a 500)."""
    kept: dict = {}
    for item in items:
        kept.setdefault(key(item), item)
    return list(kept.values())


def links_diff(current: list, key: str, *, wanted: list, remove: list, exact: bool) -> tuple[list, set]:
    """For a bulk change of the assets' links (tags, terms: ``current``, each naming its other end by ``key``):
    the links to drop — those not ``wanted`` when the set is ``exact``, else those to ``remove`` — and the
    (asset id, other id) pairs kept."""
    kept, dropped_ids = {item.pk for item in wanted}, {item.pk for item in remove}
    dropped = [link for link in current
               if (getattr(link, key) not in kept if exact else getattr(link, key) in dropped_ids)]
    pairs = {(link.asset_id, getattr(link, key)) for link in current}
    return dropped, pairs - {(link.asset_id, getattr(link, key)) for link in dropped}


def check_same_workspace(asset: Asset, other, field: str) -> None:
    if other.workspace_id != asset.data_source.workspace_id:
        raise ValidationError({field: [f"{other} belongs to another workspace than the asset."]})


def _tag_event(asset: Asset, tag: Tag, acting_user, *, added: bool):
    names = [None, tag.name] if added else [tag.name, None]
    return audit.build(event="asset.tag_added" if added else "asset.tag_removed", actor=acting_user, obj=asset,
                       changes={"tags": names}, extra={"tag": tag.pk})


@transaction.atomic
def asset_tag_add(*, asset: Asset, tag: Tag, acting_user: User | SystemActor) -> AssetTag:
    _authorize_curation(acting_user, asset)
    check_same_workspace(asset, tag, "tags")
    link, created = AssetTag.objects.get_or_create(asset=asset, tag=tag,
                                                   defaults={"added_by": user_or_none(acting_user)})
    if created:
        _tag_event(asset, tag, acting_user, added=True).save()
        search.documents_refresh(asset_ids=[asset.pk])
    return link


@transaction.atomic
def asset_tag_remove(*, asset: Asset, tag: Tag, acting_user: User | SystemActor) -> None:
    _authorize_curation(acting_user, asset)
    deleted, _ = AssetTag.objects.filter(asset=asset, tag=tag).delete()
    if deleted:
        _tag_event(asset, tag, acting_user, added=False).save()
        search.documents_refresh(asset_ids=[asset.pk])


@transaction.atomic
def asset_tags_set(*, asset: Asset, tags, acting_user: User | SystemActor) -> None:
    _authorize_curation(acting_user, asset)
    wanted = {tag.pk: tag for tag in tags}
    for tag in Tag.objects.filter(asset_links__asset=asset).exclude(pk__in=wanted):
        asset_tag_remove(asset=asset, tag=tag, acting_user=acting_user)
    for tag in wanted.values():
        asset_tag_add(asset=asset, tag=tag, acting_user=acting_user)


# --- certification -----------------------------------------------------------------------------------------------

# How far ahead an expiry may be. Past it, a date near the end of year 9999 (UTC) is out of range in a time zone
# east of UTC: with a TIME_ZONE such as Europe/Paris, the asset's admin pages failed (500) and its API curation
# answered 400 to every reader.
CERTIFICATION_MAX_YEARS = 100


def _check_certification(status: str, note: str, expires_at: datetime | None) -> None:
    if status not in AssetCertification.Status.values:
        raise ValidationError({"status": [f"Choose one of: {', '.join(AssetCertification.Status.values)}."]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": ["The expiry must be in the future."]})
    if expires_at is not None and expires_at > timezone.now() + timedelta(days=365 * CERTIFICATION_MAX_YEARS):
        raise ValidationError({"expires_at": [f"The expiry must be within {CERTIFICATION_MAX_YEARS} years."]})
    check_text(AssetCertification, "note", note)


@transaction.atomic
def asset_certify(*, asset: Asset, status: str, acting_user: User | SystemActor, note: str = "",
                  expires_at: datetime | None = None) -> AssetCertification:
    """Certify or deprecate ``asset``, replacing its earlier certification; by whom and when are recorded."""
    _authorize_curation(acting_user, asset)
    note = text_with_newlines(note)
    _check_certification(status, note, expires_at)
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
    search.documents_refresh(asset_ids=[asset.pk])  # certified assets rank first among exact names
    audit.record(event=f"asset.{status}", actor=acting_user, obj=asset,
                 changes={f"certification_{name}": value for name, value in changes.items()})
    return certification


def _end_event(certification: AssetCertification, *, acting_user, event: str, reason: str):
    return audit.build(event=event, actor=acting_user, obj=certification.asset,
                       changes={"certification_status": [certification.status, None]},
                       extra={"certified_by": certification.certified_by_id,
                              "certified_at": certification.certified_at, "expires_at": certification.expires_at,
                              **({"reason": reason} if reason else {})})


def _end_certification(certification: AssetCertification, *, acting_user, event: str, reason: str) -> None:
    _end_event(certification, acting_user=acting_user, event=event, reason=reason).save()
    certification.delete()
    search.documents_refresh(asset_ids=[certification.asset_id])


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


# --- many assets at once (catalog.asset_curation.assets_curate) ------------------------------------------------
# The same rules and audit rows as the functions above, in a fixed number of statements whatever the number of
# assets: the links read once, removed in one DELETE, added in one INSERT, the audit rows appended together. The
# assets come with ``data_source__workspace`` (the audit rows' workspace) read.


@dataclass
class PartDone:
    """What one part of a bulk curation did: its counts by word (links ``added``, ``removed`` and ``unchanged`` —
    asked for but already as asked —, certifications ``changed`` or ``ended``…), and the assets it changed."""

    counts: dict[str, int]
    asset_ids: set[int] = field(default_factory=set)


def links_done(*, assets: list, wanted: list, remove: list, exact: bool, key, added: list, dropped: list) -> PartDone:
    """The counts of a bulk change of links (owners, tags, terms): of the (asset, item) pairs the operation named —
    every asset with each item wanted, and with each item to remove unless the set is ``exact`` —, those ``added``,
    those ``removed`` (with ``exact``, also the links the set left out) and the others ``unchanged``."""
    asked = len(assets) * (len({key(item) for item in wanted}) + (0 if exact else len({key(item) for item in remove})))
    removed_asked = 0 if exact else len(dropped)
    return PartDone({"added": len(added), "removed": len(dropped),
                     "unchanged": max(0, asked - len(added) - removed_asked)},
                    {link.asset_id for link in [*added, *dropped]})


class CurationRefused(PermissionDenied):
    """Some of the assets may not be curated by the caller; the message says how many. Safe to show: the
    selection is made among the assets the caller sees."""


def curation_authorize_all(*, asset_ids: list[int], acting_user: User | SystemActor) -> None:
    """Refuse (``CurationRefused``, naming how many) unless ``acting_user`` may curate every one of the assets —
    one query, as detection on demand's ``may_classify_all``."""
    require_actor(acting_user)
    if acting_user is SYSTEM:
        return
    allowed = asset_curatable_list(user=acting_user).filter(pk__in=asset_ids).count()
    if allowed < len(set(asset_ids)):
        raise CurationRefused(f"You may not curate {len(set(asset_ids)) - allowed} of the {len(set(asset_ids))} "
                              "selected assets: nothing was changed.")


def owner_key(owner) -> tuple:
    """An owner row's or an owner request's identity: (user id, group id, owner type)."""
    if isinstance(owner, AssetOwner):
        return owner.user_id, owner.group_id, owner.owner_type
    return getattr(owner.get("user"), "pk", None), getattr(owner.get("group"), "pk", None), owner["owner_type"]


@transaction.atomic
def assets_owners_change(*, assets: list[Asset], acting_user: User | SystemActor, add=(), remove=(),
                         exact=None) -> PartDone:
    """Add and remove owners (each ``{"owner_type", "user" | "group"}``) on every asset, or with ``exact`` make
    their owners exactly those."""
    curation_authorize_all(asset_ids=[asset.pk for asset in assets], acting_user=acting_user)
    wanted = distinct(exact if exact is not None else add, key=owner_key)
    workspaces = {asset.data_source.workspace_id for asset in assets}
    for owner in wanted:
        _check_owner_shape(user=owner.get("user"), group=owner.get("group"), owner_type=owner["owner_type"])
        user = owner.get("user")
        if user is not None:
            member_of = set(Membership.objects.filter(user=user, workspace_id__in=workspaces)
                            .values_list("workspace_id", flat=True)) if user.is_active else set()
            if member_of != workspaces:
                raise ValidationError({"user": ["Owners must be active members of the asset's workspace."]})
    by_id = {asset.pk: asset for asset in assets}
    current = list(AssetOwner.objects.filter(asset_id__in=by_id).select_related("user", "group"))
    kept_keys = {owner_key(owner) for owner in wanted}
    dropped_keys = {owner_key(owner) for owner in remove}
    dropped = [owner for owner in current if (owner_key(owner) not in kept_keys if exact is not None
                                              else owner_key(owner) in dropped_keys)]
    have = {(owner.asset_id, owner_key(owner)) for owner in current} - {
        (owner.asset_id, owner_key(owner)) for owner in dropped}
    added_by = user_or_none(acting_user)
    new = [AssetOwner(asset=asset, user=owner.get("user"), group=owner.get("group"), owner_type=owner["owner_type"],
                      added_by=added_by)
           for asset in assets for owner in wanted if (asset.pk, owner_key(owner)) not in have]
    for owner in dropped:
        owner.asset = by_id[owner.asset_id]
    events = [_owner_event(owner, acting_user, added=False) for owner in dropped]
    AssetOwner.objects.filter(pk__in=[owner.pk for owner in dropped]).delete()
    AssetOwner.objects.bulk_create(new, batch_size=1000)
    audit.record_many([*events, *(_owner_event(owner, acting_user, added=True) for owner in new)])
    search.documents_refresh(asset_ids={owner.asset_id for owner in [*dropped, *new]})
    return links_done(assets=assets, wanted=wanted, remove=list(remove), exact=exact is not None, key=owner_key,
                      added=new, dropped=dropped)


@transaction.atomic
def assets_tags_change(*, assets: list[Asset], acting_user: User | SystemActor, add=(), remove=(),
                       exact=None) -> PartDone:
    """Add and remove tags on every asset, or with ``exact`` make their tags exactly those."""
    curation_authorize_all(asset_ids=[asset.pk for asset in assets], acting_user=acting_user)
    wanted = distinct(exact if exact is not None else add)
    for tag in wanted:
        for asset in assets:
            check_same_workspace(asset, tag, "tags")
    by_id = {asset.pk: asset for asset in assets}
    current = list(AssetTag.objects.filter(asset_id__in=by_id).select_related("tag"))
    dropped, have = links_diff(current, "tag_id", wanted=wanted, remove=remove, exact=exact is not None)
    added_by = user_or_none(acting_user)
    new = [AssetTag(asset=asset, tag=tag, added_by=added_by) for asset in assets for tag in wanted
           if (asset.pk, tag.pk) not in have]
    events = [_tag_event(by_id[link.asset_id], link.tag, acting_user, added=False) for link in dropped]
    AssetTag.objects.filter(pk__in=[link.pk for link in dropped]).delete()
    AssetTag.objects.bulk_create(new, batch_size=1000)
    audit.record_many([*events, *(_tag_event(link.asset, link.tag, acting_user, added=True) for link in new)])
    search.documents_refresh(asset_ids={link.asset_id for link in [*dropped, *new]})
    return links_done(assets=assets, wanted=wanted, remove=list(remove), exact=exact is not None,
                      key=lambda tag: tag.pk, added=new, dropped=dropped)


@transaction.atomic
def assets_certify(*, assets: list[Asset], status: str, acting_user: User | SystemActor, note: str = "",
                   expires_at: datetime | None = None) -> PartDone:
    """Certify or deprecate every asset (``asset_certify`` on each): one whose certification says the same
    already is left as it is, unaudited."""
    curation_authorize_all(asset_ids=[asset.pk for asset in assets], acting_user=acting_user)
    note = text_with_newlines(note)
    _check_certification(status, note, expires_at)
    existing = {certification.asset_id: certification for certification in
                AssetCertification.objects.select_for_update().filter(asset__in=assets)}
    wanted = {"status": status, "note": note, "expires_at": expires_at}
    now, by = timezone.now(), user_or_none(acting_user)
    changed, new, events, touched = [], [], [], set()
    for asset in assets:
        certification = existing.get(asset.pk)
        before = audit.snapshot(certification, AssetCertification.audit_fields) if certification else {}
        changes = audit.diff(before, wanted)
        if not changes:
            continue
        if certification is None:
            new.append(AssetCertification(asset=asset, certified_by=by, certified_at=now, **wanted))
        else:
            changed.append(certification.pk)
        touched.add(asset.pk)
        events.append(audit.build(event=f"asset.{status}", actor=acting_user, obj=asset,
                                  changes={f"certification_{name}": value for name, value in changes.items()}))
    AssetCertification.objects.filter(pk__in=changed).update(certified_by=by, certified_at=now, **wanted)
    AssetCertification.objects.bulk_create(new, batch_size=1000)
    search.documents_refresh(asset_ids=[*(item.asset_id for item in new),
                                        *AssetCertification.objects.filter(pk__in=changed).values_list("asset_id",
                                                                                                       flat=True)])
    audit.record_many(events)
    return PartDone({"changed": len(touched), "unchanged": len(assets) - len(touched)}, touched)


@transaction.atomic
def assets_certification_end(*, assets: list[Asset], acting_user: User | SystemActor) -> PartDone:
    """End the certification (or deprecation) of every asset that has one."""
    curation_authorize_all(asset_ids=[asset.pk for asset in assets], acting_user=acting_user)
    by_id = {asset.pk: asset for asset in assets}
    ended = list(AssetCertification.objects.select_for_update().filter(asset_id__in=by_id))
    for certification in ended:
        certification.asset = by_id[certification.asset_id]
    events = [_end_event(certification, acting_user=acting_user, event="asset.certification_ended", reason="")
              for certification in ended]
    AssetCertification.objects.filter(pk__in=[certification.pk for certification in ended]).delete()
    search.documents_refresh(asset_ids=[certification.asset_id for certification in ended])
    audit.record_many(events)
    return PartDone({"ended": len(ended), "unchanged": len(assets) - len(ended)},
                    {certification.asset_id for certification in ended})
