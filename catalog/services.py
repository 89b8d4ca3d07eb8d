"""Writes to the catalog. Keyword-only arguments, a transaction each, an audit event in that transaction.

``acting_user`` is required: ``accounts.actors.SYSTEM`` for tasks and commands, which is not checked; a user's
grant is checked through ``accounts.permissions`` before anything changes, so the API, the admin and commands share
one rule.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from accounts import audit, writes
from accounts.actors import SYSTEM, SystemActor, require_actor, user_or_none
from accounts.fields import check_text
from accounts.models import User, Workspace
from accounts.permissions import authorize, has_any_grant, has_perm
from catalog import search
from catalog.markdown import text_with_newlines
from catalog.models import Asset, AssetClassification, Classification
from catalog.selectors import asset_classification_list, asset_list
from core.events import record_event, record_events

ASSET_EDITABLE_FIELDS = ("description",)


@transaction.atomic
def asset_update(*, asset: Asset, acting_user: User | SystemActor, **fields) -> Asset:
    """Stewards' edits of an asset (its description); scanned fields belong to scans."""
    authorize(acting_user, lambda: has_perm(acting_user, "change", asset))
    unknown = set(fields) - set(ASSET_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field is set by scans."] for name in unknown})
    if isinstance(fields.get("description"), str):
        fields["description"] = text_with_newlines(fields["description"])  # as catalog.curation.asset_describe
    described = asset.description
    with audit.record_changes(event="asset.changed", actor=acting_user, obj=asset, fields=ASSET_EDITABLE_FIELDS):
        for name, value in fields.items():
            setattr(asset, name, value)
        asset.full_clean()
        asset.save()
    if asset.description != described:
        asset_described_record(asset=asset, acting_user=acting_user)
    search.documents_refresh(asset_ids=[asset.pk])
    return asset


def asset_described_record(*, asset: Asset, acting_user: User | SystemActor) -> None:
    """``asset.described``: the stewards' description of ``asset`` changed (set, rewritten or cleared), in the
    transaction of the change; its subscribers (catalog.subscribers: suggestions to the asset's look-alikes) run
    after the commit. Called by the services that write the description, which authorised the change."""
    author = user_or_none(acting_user)
    record_event("asset.described", asset, {
        "asset": asset.pk, "data_source": asset.data_source_id, "described": bool(asset.description),
        "described_by": author.pk if author is not None else None})


# --- classifications -------------------------------------------------------------------------------------------

CLASSIFICATION_FIELDS = ("name", "category", "sensitivity", "description", "is_active")
# What a steward may change on a built-in: the engine owns its name, category and description.
BUILTIN_EDITABLE_FIELDS = ("sensitivity", "is_active")
SENSITIVITY_RANK = {"": 0, Asset.Sensitivity.PUBLIC: 1, Asset.Sensitivity.INTERNAL: 2,
                    Asset.Sensitivity.CONFIDENTIAL: 3, Asset.Sensitivity.RESTRICTED: 4}
_RANK_LABEL = {rank: label for label, rank in SENSITIVITY_RANK.items()}
RESUGGESTED_NOTE = "re-suggested: evidence changed since rejection"
# Classifications that count for an asset's sensitivity: a steward's rejection takes one out.
COUNTING_STATUSES = (AssetClassification.Status.SUGGESTED, AssetClassification.Status.CONFIRMED)


class AlreadyClassified(Exception):
    """The asset already carries this classification (suggested, confirmed or rejected): decide on that one."""

    def __init__(self, existing: AssetClassification):
        super().__init__("This asset already has this classification; confirm or reject it instead.")
        self.existing = existing


@transaction.atomic
def classification_create(*, acting_user: User | SystemActor, **fields) -> Classification:
    """A steward's own classification (``HR.EMPLOYEE_NUMBER``) for custom rules and manual classification."""
    with writes.creating(Classification, acting_user=acting_user, event="classification.created",
                         allowed=lambda: has_any_grant(acting_user, Classification, "add"),
                         values={"is_builtin": False}, fields=fields,
                         editable=CLASSIFICATION_FIELDS) as classification:
        classification.full_clean()
    return classification


@transaction.atomic
def classification_update(*, classification: Classification, acting_user: User | SystemActor,
                          **fields) -> Classification:
    authorize(acting_user, lambda: has_perm(acting_user, "change", classification))
    unknown = set(fields) - set(CLASSIFICATION_FIELDS)
    if unknown:
        raise TypeError(f"unknown classification fields: {', '.join(sorted(unknown))}")
    if classification.is_builtin:
        locked = {name for name, value in fields.items()
                  if name not in BUILTIN_EDITABLE_FIELDS and value != getattr(classification, name)}
        if locked:
            raise ValidationError({name: ["Built-in classifications keep the detection engine's value."]
                                   for name in sorted(locked)})
    before = audit.snapshot(classification, Classification.audit_fields)
    for name, value in fields.items():
        setattr(classification, name, value)
    classification.full_clean()
    classification.save()
    changes = audit.diff(before, audit.snapshot(classification, Classification.audit_fields))
    if changes:
        audit.record(event="classification.changed", actor=acting_user, obj=classification, changes=changes)
        if {"sensitivity", "is_active"} & set(changes):
            asset_sensitivity_recompute(asset_ids=AssetClassification.objects.filter(
                classification=classification).values_list("asset_id", flat=True))
        if "name" in changes:
            search.classification_assets_refresh(classification_ids=[classification.pk])
    return classification


@transaction.atomic
def classification_delete(*, classification: Classification, acting_user: User | SystemActor) -> None:
    def refuse_if_needed():
        if classification.is_builtin:
            raise ValidationError("Built-in classifications cannot be deleted; switch them off instead.")
        if classification.applications.exists() or classification.custom_rules.exists():
            raise ValidationError("This classification is in use by assets or custom rules; switch it off "
                                  "instead.")

    writes.delete(classification, acting_user=acting_user, event="classification.deleted",
                  allowed=lambda: has_perm(acting_user, "delete", classification), check=refuse_if_needed)


def classification_evidence_fingerprint(*, classification: str, evidence: dict) -> str:
    """What a decision was made on, coarse enough that resampling the same data gives the same answer.

    The classification, the match share in tenths (0.9 to 1.0 being one bucket), the number of distinct values
    as an order of magnitude (1, 10s, 100s, …) and the column-name signal. A rejected suggestion comes back only
    when this changes: the data or the name now say something else, not merely another sample of the same data.
    """
    share = evidence.get("match_share")
    distinct = evidence.get("distinct") or 0
    parts = [
        classification,
        # Tenths, floored, with 1.0 in the top bucket: 93 % and 100 % of a resample are the same evidence.
        "-" if share is None else str(min(int(float(share) * 10), 9)),
        str(len(str(int(distinct)))) if distinct else "0",
        str(evidence.get("name_signal") or ""),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _decide(row: AssetClassification, *, status: str, acting_user: User | SystemActor, note: str) -> bool:
    """Apply one decision with its audit row; False when the row already had that status (a no-op)."""
    if row.status == status:
        return False
    before = row.status
    row.status = status
    row.decided_by = user_or_none(acting_user)
    row.decided_at = timezone.now()
    row.decision_note = note
    row.evidence_fingerprint = classification_evidence_fingerprint(classification=row.classification.name,
                                                                   evidence=row.evidence or {})
    row.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "evidence_fingerprint",
                            "updated_at"])
    audit.record(event=f"asset_classification.{status}", actor=acting_user, obj=row,
                 changes={"status": [before, status]},
                 extra={"asset": row.asset_id, "classification": row.classification.name,
                        **({"note": note} if note else {})})
    _record_decision_event(row, before=before)
    return True


def _record_decision_event(row: AssetClassification, *, before: str | None) -> None:
    """``classification.confirmed`` / ``classification.rejected``: a steward's decision, for the subscribers
    (lineage propagation, compliance) of the apps above the catalog."""
    record_event(f"classification.{row.status}", row, {
        "asset_classification": row.pk, "asset": row.asset_id, "data_source": row.asset.data_source_id,
        "classification": row.classification.name, "status": row.status, "previous_status": before,
        "source": row.source, "confidence": row.confidence, "decided_by": row.decided_by_id})


def _check_decision(decision: str) -> str:
    allowed = {AssetClassification.Status.CONFIRMED, AssetClassification.Status.REJECTED}
    if decision not in allowed:
        raise ValidationError({"decision": [f"Choose one of: {', '.join(sorted(allowed))}."]})
    return decision


@transaction.atomic
def asset_classifications_decide(*, asset_classifications, decision: str, acting_user: User | SystemActor,
                                 note: str = "") -> list[AssetClassification]:
    """Confirm or reject classifications, all or none: a user lacking ``confirm`` on any of them changes
    nothing. Each decision that changes a status is audited; the sensitivity of the assets involved (and their
    tables, schemas and databases) is recomputed once."""
    require_actor(acting_user)
    _check_decision(decision)
    check_text(AssetClassification, "decision_note", note, as_field="note")
    rows = list(AssetClassification.objects.select_for_update(of=("self",))
                .filter(pk__in=[row.pk for row in asset_classifications])
                .select_related("classification", "asset__data_source"))
    if acting_user is not SYSTEM:
        allowed = set(asset_classification_list(user=acting_user, action="confirm")
                      .filter(pk__in=[row.pk for row in rows]).values_list("pk", flat=True))
        if len(allowed) != len(rows):
            raise PermissionDenied("You do not have permission to perform this action.")
    changed = [row for row in rows if _decide(row, status=decision, acting_user=acting_user, note=note)]
    if changed:
        asset_sensitivity_recompute(asset_ids={row.asset_id for row in changed})
        search.documents_refresh(asset_ids={row.asset_id for row in changed})  # a rejected one is not searched
    return rows


def asset_classification_confirm(*, asset_classification: AssetClassification, acting_user: User | SystemActor,
                                 note: str = "") -> AssetClassification:
    return asset_classifications_decide(asset_classifications=[asset_classification], acting_user=acting_user,
                                        decision=AssetClassification.Status.CONFIRMED, note=note)[0]


def asset_classification_reject(*, asset_classification: AssetClassification, acting_user: User | SystemActor,
                                note: str = "") -> AssetClassification:
    return asset_classifications_decide(asset_classifications=[asset_classification], acting_user=acting_user,
                                        decision=AssetClassification.Status.REJECTED, note=note)[0]


@transaction.atomic
def asset_classification_create(*, asset: Asset, classification: Classification, acting_user: User | SystemActor,
                                 note: str = "") -> AssetClassification:
    """A steward classifies an asset by hand: a confirmed, manual classification."""
    authorize(acting_user, lambda: has_perm(acting_user, "classify", asset))
    if not classification.is_active:
        raise ValidationError({"classification": ["This classification is switched off."]})
    check_text(AssetClassification, "decision_note", note, as_field="note")
    existing = AssetClassification.objects.filter(asset=asset, classification=classification).first()
    if existing is not None:
        raise AlreadyClassified(existing)
    row = _manual_classification(asset=asset, classification=classification, acting_user=acting_user, note=note,
                                 now=timezone.now())
    row.save()
    _created_audit(row, acting_user=acting_user, note=note).save()
    _record_decision_event(row, before=None)
    asset_sensitivity_recompute(asset_ids=[asset.pk])
    search.documents_refresh(asset_ids=[asset.pk])
    return row


def _manual_classification(*, asset: Asset, classification: Classification, acting_user, note: str,
                           now) -> AssetClassification:
    """A steward's classification by hand, not saved yet: confirmed, certain, decided now."""
    return AssetClassification(
        asset=asset, classification=classification, status=AssetClassification.Status.CONFIRMED,
        source=AssetClassification.Source.MANUAL, confidence=1.0, evidence={"reasons": ["classified by hand"]},
        decided_by=user_or_none(acting_user), decided_at=now, decision_note=note,
        evidence_fingerprint=classification_evidence_fingerprint(classification=classification.name, evidence={}))


def _created_audit(row: AssetClassification, *, acting_user, note: str, workspace=None):
    return audit.build(event="asset_classification.created", actor=acting_user, obj=row, workspace=workspace,
                       changes={"status": [None, row.status]},
                       extra={"asset": row.asset_id, "classification": row.classification.name, "source": row.source,
                              **({"note": note} if note else {})})


@transaction.atomic
def assets_classifications_confirm(*, wanted, acting_user: User | SystemActor,
                                   ) -> dict[tuple[int, int], AssetClassification]:
    """Confirm each ``(asset, classification, note)`` of ``wanted``, as ``asset_classification_create`` (the asset
    has no row with that classification) or ``asset_classification_confirm`` (a suggestion or a rejection) would
    one at a time; a row confirmed already is left as it is. The same audit rows, written set-based: the rows read
    at once, the new ones inserted in a statement per thousand and the decided ones updated in one per note and
    evidence bucket, the audit rows appended together, the sensitivity and the search documents refreshed once;
    one ``classifications.confirmed`` event per workspace naming the rows, where one at a time records a
    ``classification.confirmed`` each. All or none: a user lacking ``classify`` on an asset to classify or
    ``confirm`` on a row to confirm changes nothing. The assets come with ``data_source__workspace`` read. Returns
    the rows that now carry each classification, by ``(asset id, classification id)``."""
    require_actor(acting_user)
    wanted = {(asset.pk, classification.pk): (asset, classification, note) for asset, classification, note in wanted}
    if not wanted:
        return {}
    for _asset, _classification, note in wanted.values():
        check_text(AssetClassification, "decision_note", note, as_field="note")
    existing = {(row.asset_id, row.classification_id): row for row in
                AssetClassification.objects.select_for_update(of=("self",))
                .filter(asset_id__in={key[0] for key in wanted}, classification_id__in={key[1] for key in wanted})
                if (row.asset_id, row.classification_id) in wanted}
    create = [key for key in wanted if key not in existing]
    confirm = [row for row in existing.values() if row.status != AssetClassification.Status.CONFIRMED]
    if any(not wanted[key][1].is_active for key in create):
        raise ValidationError({"classification": ["This classification is switched off."]})
    if acting_user is not SYSTEM:
        to_classify = {asset_id for asset_id, _ in create}
        may_classify = asset_list(user=acting_user, action="classify").filter(pk__in=to_classify).count()
        may_confirm = (asset_classification_list(user=acting_user, action="confirm")
                       .filter(pk__in=[row.pk for row in confirm]).count())
        if (may_classify, may_confirm) != (len(to_classify), len(confirm)):
            raise PermissionDenied("You do not have permission to perform this action.")
    now, by = timezone.now(), user_or_none(acting_user)
    new = [_manual_classification(asset=wanted[key][0], classification=wanted[key][1], acting_user=acting_user,
                                  note=wanted[key][2], now=now) for key in create]
    AssetClassification.objects.bulk_create(new, batch_size=1000)
    befores, groups = {}, defaultdict(list)
    for row in confirm:
        asset, classification, note = wanted[(row.asset_id, row.classification_id)]
        row.asset, row.classification, befores[row.pk] = asset, classification, row.status
        row.status, row.decided_by, row.decided_at, row.decision_note, row.updated_at = (
            AssetClassification.Status.CONFIRMED, by, now, note, now)
        row.evidence_fingerprint = classification_evidence_fingerprint(classification=classification.name,
                                                                       evidence=row.evidence or {})
        groups[(note, row.evidence_fingerprint)].append(row.pk)
    # One UPDATE per note and evidence bucket (a handful: the fingerprint is coarse), not bulk_update's CASE per
    # row and field, which Django takes seconds to build for a few thousand rows.
    for (note, fingerprint), pks in groups.items():
        AssetClassification.objects.filter(pk__in=pks).update(
            status=AssetClassification.Status.CONFIRMED, decided_by=by, decided_at=now, decision_note=note,
            evidence_fingerprint=fingerprint, updated_at=now)
    workspace = {key: asset.data_source.workspace for key, (asset, _c, _n) in wanted.items()}
    audit.record_many([
        *(_created_audit(row, acting_user=acting_user, note=row.decision_note,
                         workspace=workspace[(row.asset_id, row.classification_id)]) for row in new),
        *(audit.build(event="asset_classification.confirmed", actor=acting_user, obj=row,
                      workspace=workspace[(row.asset_id, row.classification_id)],
                      changes={"status": [befores[row.pk], row.status]},
                      extra={"asset": row.asset_id, "classification": row.classification.name,
                             **({"note": row.decision_note} if row.decision_note else {})}) for row in confirm)])
    # One event per workspace naming the rows, not one per row: its subscribers (catalog.subscribers) propagate
    # and suggest for all of them at once, where a delivery per row costs the workers minutes per thousand.
    decided: dict[Workspace, list[AssetClassification]] = defaultdict(list)
    for row in [*new, *confirm]:
        decided[row.asset.data_source.workspace].append(row)
    record_events([("classifications.confirmed", workspace, {
        "workspace": workspace.pk, "asset_classifications": sorted(row.pk for row in rows),
        "assets": sorted({row.asset_id for row in rows}), "decided_by": getattr(by, "pk", None)})
        for workspace, rows in decided.items()])
    changed = {row.asset_id for row in [*new, *confirm]}
    if changed:
        asset_sensitivity_recompute(asset_ids=changed)
        search.documents_refresh(asset_ids=changed)
    return {**existing, **{(row.asset_id, row.classification_id): row for row in new}}


@transaction.atomic
def asset_classifications_change(*, asset_classifications, classification: Classification,
                                 acting_user: User | SystemActor, note: str = "") -> list[AssetClassification]:
    """A steward says the assets of these classifications carry ``classification`` instead ("change to…"): each
    row is rejected (remembered with its evidence fingerprint, so a rescan does not suggest it again) and the
    asset gets ``classification`` confirmed — its existing row with that classification is confirmed, or a manual
    one created. A row that already carries ``classification`` is confirmed. All or none: a user lacking
    ``confirm`` on any row or ``classify`` on any asset changes nothing. Audited per row as
    ``asset_classification.changed`` beside the rejection and the confirmation; returns the rows that now carry
    ``classification``, one per asset."""
    require_actor(acting_user)
    if not classification.is_active:
        raise ValidationError({"classification": ["This classification is switched off."]})
    check_text(AssetClassification, "decision_note", note, as_field="note")
    rows = list(AssetClassification.objects.select_for_update(of=("self",))
                .filter(pk__in=[row.pk for row in asset_classifications])
                .select_related("classification", "asset__data_source").order_by("pk"))
    if acting_user is not SYSTEM:
        pks, asset_ids = [row.pk for row in rows], {row.asset_id for row in rows}
        may_decide = asset_classification_list(user=acting_user, action="confirm").filter(pk__in=pks).count()
        may_classify = asset_list(user=acting_user, action="classify").filter(pk__in=asset_ids).count()
        if (may_decide, may_classify) != (len(rows), len(asset_ids)):
            raise PermissionDenied("You do not have permission to perform this action.")
    changed_to: dict[int, AssetClassification] = {}
    for row in rows:
        if row.classification_id != classification.pk:
            _decide(row, status=AssetClassification.Status.REJECTED, acting_user=acting_user,
                    note=note or f"changed to {classification.name}")
            audit.record(event="asset_classification.changed", actor=acting_user, obj=row,
                         changes={"classification": [row.classification.name, classification.name]},
                         extra={"asset": row.asset_id, **({"note": note} if note else {})})
        if row.asset_id in changed_to:
            continue
        target = (AssetClassification.objects.select_for_update(of=("self",)).select_related("classification",
                                                                                             "asset__data_source")
                  .filter(asset_id=row.asset_id, classification=classification).first())
        if target is None:
            target = asset_classification_create(asset=row.asset, classification=classification,
                                                 acting_user=acting_user, note=note)
        else:
            _decide(target, status=AssetClassification.Status.CONFIRMED, acting_user=acting_user, note=note)
        changed_to[row.asset_id] = target
    asset_sensitivity_recompute(asset_ids=set(changed_to))
    search.documents_refresh(asset_ids=set(changed_to))
    return list(changed_to.values())


def asset_classification_change(*, asset_classification: AssetClassification, classification: Classification,
                                acting_user: User | SystemActor, note: str = "") -> AssetClassification:
    return asset_classifications_change(asset_classifications=[asset_classification], classification=classification,
                                        acting_user=acting_user, note=note)[0]


@dataclass(frozen=True)
class DetectedClassification:
    """One column's detection result, as scanning hands it to the catalog (evidence already masked)."""

    classification_id: int
    confidence: float
    evidence: dict
    resuggest: bool = False  # a rejected one whose evidence changed materially: suggest it again


@transaction.atomic
def asset_classifications_record_scan(*, scope: Asset, results: dict[int, DetectedClassification | None],
                                      run_id: int | None = None) -> dict[str, int]:
    """Write a detection pass over some columns (``results``: column id → its best detection or None).

    The stewards' rules, in one place:

    - a confirmed or rejected classification is never changed by a scan, except that a rejected one with
      ``resuggest`` (its evidence changed materially since the rejection) becomes a suggestion again, saying so;
    - a column's scan suggestions that the pass no longer finds are removed; decided ones and manual ones stay;
    - new detections become suggestions; existing suggestions get the fresh confidence and evidence.

    Idempotent: replaying the same results changes nothing. One audit event for the pass (on ``scope``, the
    table) when something changed.
    """
    if not results:
        return {"suggested": 0, "updated": 0, "resuggested": 0, "removed": 0}
    existing: dict[int, list[AssetClassification]] = defaultdict(list)
    for row in (AssetClassification.objects.select_for_update().filter(asset_id__in=list(results))
                .order_by("pk")):
        existing[row.asset_id].append(row)
    create, update, resuggested, remove = [], [], [], []
    for column_id, found in results.items():
        rows = existing.get(column_id, [])
        for row in rows:
            stale = found is None or row.classification_id != found.classification_id
            if stale and row.status == AssetClassification.Status.SUGGESTED and row.source == row.Source.SCAN:
                remove.append(row.pk)
        if found is None:
            continue
        evidence = dict(found.evidence)
        if run_id is not None:
            evidence["run"] = run_id
        current = next((row for row in rows if row.classification_id == found.classification_id), None)
        if current is None:
            create.append(AssetClassification(
                asset_id=column_id, classification_id=found.classification_id, confidence=found.confidence,
                evidence=evidence, status=AssetClassification.Status.SUGGESTED,
                source=AssetClassification.Source.SCAN))
        elif current.status == AssetClassification.Status.SUGGESTED:
            if (current.confidence, current.evidence) != (found.confidence, evidence):
                current.confidence, current.evidence = found.confidence, evidence
                update.append(current)
        elif current.status == AssetClassification.Status.REJECTED and found.resuggest:
            evidence["resuggested"] = RESUGGESTED_NOTE
            evidence["reasons"] = [*evidence.get("reasons", []), RESUGGESTED_NOTE]
            current.status = AssetClassification.Status.SUGGESTED
            current.source = AssetClassification.Source.SCAN
            current.confidence, current.evidence = found.confidence, evidence
            current.decided_by, current.decided_at = None, None
            current.decision_note = RESUGGESTED_NOTE
            resuggested.append(current)
    if remove:
        AssetClassification.objects.filter(pk__in=remove).delete()
    AssetClassification.objects.bulk_create(create, batch_size=500)
    AssetClassification.objects.bulk_update(update, ["confidence", "evidence", "updated_at"], batch_size=500)
    AssetClassification.objects.bulk_update(
        resuggested, ["status", "source", "confidence", "evidence", "decided_by", "decided_at", "decision_note",
                      "updated_at"], batch_size=500)
    counts = {"suggested": len(create), "updated": len(update), "resuggested": len(resuggested),
              "removed": len(remove)}
    if create or resuggested or remove:
        # What the columns are suggested to be is searched; a new confidence is not.
        search.documents_refresh(asset_ids=[column_id for column_id, found in results.items()
                                            if found is not None or existing.get(column_id)])
    if create or resuggested or remove:
        audit.record(event="asset_classification.detected", obj=scope,
                     extra={**counts, "run": run_id,
                            "resuggested_ids": [row.pk for row in resuggested][:100]})
    return counts


def _rank_of(field: str) -> Case:
    return Case(*(When(**{field: label}, then=Value(rank)) for label, rank in SENSITIVITY_RANK.items() if rank),
                default=Value(0), output_field=IntegerField())


# A scan suggestion made from the column's name alone (every sampled value null: the engine's ``name_only``
# evidence) says what the column is meant to hold, not that it holds anything: until a steward confirms it, it
# counts as internal at most. An empty ``ssn`` column is worth a look, not a "restricted" badge on its database.
NAME_ONLY_CAP = SENSITIVITY_RANK[Asset.Sensitivity.INTERNAL]


def _counted_rank() -> Case:
    rank = _rank_of("classification__sensitivity")
    return Case(When(status=AssetClassification.Status.SUGGESTED, evidence__name_only=True,
                     then=Least(rank, Value(NAME_ONLY_CAP))), default=rank, output_field=IntegerField())


_LEVELS = ((Asset.Type.COLUMN,), (Asset.Type.TABLE, Asset.Type.VIEW), (Asset.Type.SCHEMA,),
           (Asset.Type.DATABASE,), (Asset.Type.SOURCE,))


def asset_sensitivity_recompute(*, asset_ids=None, data_source_id: int | None = None) -> int:
    """Set ``Asset.sensitivity`` to the highest sensitivity of the suggested or confirmed classifications on the
    asset or anywhere below it (a table is as sensitive as its most sensitive column, a database as its most
    sensitive table, a data source's own asset as its most sensitive database), a name-only suggestion counting as
    internal at most (``NAME_ONLY_CAP``). Covers ``asset_ids`` and their ancestors, or a whole data source.

    Set-based, bottom-up per level: one read and at most one write per sensitivity per level, whatever the
    number of assets. Derived, so not audited itself: the classification events it follows from are.
    """
    if data_source_id is not None:
        targets = Asset.objects.filter(data_source_id=data_source_id)
    else:
        ids = set(asset_ids or ())
        frontier = set(ids)
        for _ in range(len(_LEVELS)):
            frontier = set(Asset.objects.filter(pk__in=frontier, parent__isnull=False)
                           .values_list("parent_id", flat=True)) - ids
            if not frontier:
                break
            ids |= frontier
        if not ids:
            return 0
        targets = Asset.objects.filter(pk__in=ids)
    own = (AssetClassification.objects
           .filter(asset=OuterRef("pk"), status__in=COUNTING_STATUSES, classification__is_active=True)
           .annotate(rank=_counted_rank()).order_by("-rank").values("rank")[:1])
    below = (Asset.objects.filter(parent=OuterRef("pk"), removed_at__isnull=True)
             .annotate(rank=_rank_of("sensitivity")).order_by("-rank").values("rank")[:1])
    changed = 0
    with transaction.atomic():
        for types in _LEVELS:
            rows = (targets.filter(type__in=types)
                    .annotate(own=Coalesce(Subquery(own, output_field=IntegerField()), 0),
                              below=Coalesce(Subquery(below, output_field=IntegerField()), 0))
                    .values_list("pk", "sensitivity", "own", "below"))
            dirty: dict[str, list[int]] = defaultdict(list)
            for pk, current, own_rank, below_rank in rows:
                if current != _RANK_LABEL[max(own_rank, below_rank)]:
                    dirty[_RANK_LABEL[max(own_rank, below_rank)]].append(pk)
            # One UPDATE per sensitivity (five at most), not bulk_update's CASE per row, which Django takes
            # seconds to build for a few thousand rows.
            for sensitivity, pks in dirty.items():
                changed += Asset.objects.filter(pk__in=pks).update(sensitivity=sensitivity)
    return changed
