"""Suggestions from the data: what stewards already said about some assets, offered for others, applied only when a
curator accepts it — never written silently.

Two rules make them (``Suggestion.Rule``):

- **A term implied by a confirmed classification.** A column confirmed as ``PII.EMAIL`` is offered the terms of its
  workspace that imply ``PII.EMAIL`` ("Customer e-mail"), unless one such term is linked to it already.
- **Look-alikes.** Columns with the same name and data type as a curated column of the same source (one with the
  stewards' description or linked terms) are offered its description (when they have none) and its terms (those
  not linked to them yet). Made when the curation happens (the subscribers of ``asset.described``,
  ``asset.term_linked`` and, for bulk curation, ``assets.terms_linked``, catalog.subscribers) and when a scan adds
  or changes columns (``asset.changed``, scanning.subscribers), set-based: a fixed number of queries whatever the
  number of columns.

An asset is offered each thing once (``Suggestion.fingerprint``: the term, or the description's text), whichever
rule or curated column brings it: a redelivered event adds nothing, and a dismissed suggestion is not made again.

Accepting applies the suggestion through the curation services (``glossary_term_link``, ``asset_describe``), so it is
authorised and audited like the same change made by hand; deciding is for who may curate the asset
(catalog.curation.may_curate). Keyword-only, one transaction each, audited.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts import audit
from accounts.actors import SystemActor, user_or_none
from accounts.models import AuditEvent, User, Workspace
from accounts.permissions import authorize
from catalog.curation import asset_describe, curation_authorize_all, may_curate
from catalog.glossary import glossary_term_link
from catalog.models import Asset, AssetClassification, GlossaryTerm, GlossaryTermAsset, Suggestion
from catalog.selectors import asset_curatable_list

REASON_MAX_LENGTH = Suggestion._meta.get_field("reason").max_length
INSERT_BATCH = 1000


class AlreadyDecided(Exception):
    """Some of the suggestions were accepted or dismissed already: nothing was changed."""

    def __init__(self, decided: list[Suggestion], asked: int):
        self.decided = decided
        if asked == 1:
            row = decided[0]
            who = row.decided_by.get_username() if row.decided_by_id else "the system"
            message = f"This suggestion was already {row.status} by {who}."
        else:
            message = f"{len(decided)} of these {asked} suggestions were already decided: nothing was changed."
        super().__init__(message)


def term_fingerprint(term_id: int) -> str:
    return hashlib.sha256(f"term:{term_id}".encode()).hexdigest()


def description_fingerprint(text: str) -> str:
    return hashlib.sha256(f"description:{text}".encode()).hexdigest()


def _present_columns() -> QuerySet[Asset]:
    return Asset.objects.filter(type=Asset.Type.COLUMN, removed_at__isnull=True).exclude(data_type="")


def _curated_columns() -> QuerySet[Asset]:
    """Present columns with something a steward said: a description, or a linked term."""
    return _present_columns().filter(
        ~Q(description="") | Exists(GlossaryTermAsset.objects.filter(asset_id=OuterRef("pk"))))


def _same_column_as_outer(queryset: QuerySet[Asset]) -> QuerySet[Asset]:
    """The rows of ``queryset`` with the outer column's source, name and data type, other than it (the look-alike
    index serves it)."""
    return queryset.filter(data_source_id=OuterRef("data_source_id"), name=OuterRef("name"),
                           data_type=OuterRef("data_type")).exclude(pk=OuterRef("pk"))


def asset_lookalikes(asset: Asset) -> QuerySet[Asset]:
    """The present columns of ``asset``'s source with its name and data type, other than it."""
    if asset.type != Asset.Type.COLUMN or not asset.data_type:
        return Asset.objects.none()
    return _present_columns().filter(data_source_id=asset.data_source_id, name=asset.name,
                                     data_type=asset.data_type).exclude(pk=asset.pk)


def _reason(text: str) -> str:
    return text if len(text) <= REASON_MAX_LENGTH else text[:REASON_MAX_LENGTH - 1] + "…"


def _describers(asset_ids: list[int]) -> dict[int, str]:
    """Who last wrote each asset's description, from the audit trail (one query); absent when the trail no longer
    says (pruned by retention)."""
    if not asset_ids:
        return {}
    events = (AuditEvent.objects.filter(content_type=ContentType.objects.get_for_model(Asset),
                                        object_id__in=[str(pk) for pk in asset_ids], event="asset.changed",
                                        changes__has_key="description")
              .order_by("object_id", "-created_at", "-id").values_list("object_id", "actor_label"))
    describers: dict[int, str] = {}
    for object_id, label in events:
        describers.setdefault(int(object_id), label or "system")
    return describers


def _save_new(candidates: list[tuple[Suggestion, int]], *, rule: str, acting_user) -> int:
    """Insert the candidates (each with its asset's workspace id) an asset has not had yet — read in one query; the
    unique constraint settles a race with another delivery — and audit how many per workspace; returns how many
    were new."""
    if not candidates:
        return 0
    existing = set(Suggestion.objects.filter(asset_id__in={row.asset_id for row, _ in candidates})
                   .values_list("asset_id", "fingerprint"))
    new: dict[tuple[int, str], tuple[Suggestion, int]] = {}
    for row, workspace_id in candidates:
        key = (row.asset_id, row.fingerprint)
        if key not in existing:
            new.setdefault(key, (row, workspace_id))
    Suggestion.objects.bulk_create([row for row, _ in new.values()], batch_size=INSERT_BATCH, ignore_conflicts=True)
    by_workspace: dict[int, int] = defaultdict(int)
    for _, workspace_id in new.values():
        by_workspace[workspace_id] += 1
    workspaces = Workspace.objects.in_bulk(list(by_workspace))
    audit.record_many([audit.build(event="suggestion.made", actor=acting_user, workspace=workspaces[workspace_id],
                                   extra={"rule": rule, "count": count})
                       for workspace_id, count in sorted(by_workspace.items())])
    return len(new)


def _suggestion(*, asset_id: int, rule: str, reason: str, term: GlossaryTerm | None = None, description: str = "",
                source_asset_id: int | None = None) -> Suggestion:
    if term is not None:
        kind, fingerprint = Suggestion.Kind.TERM, term_fingerprint(term.pk)
    else:
        kind, fingerprint = Suggestion.Kind.DESCRIPTION, description_fingerprint(description)
    return Suggestion(asset_id=asset_id, rule=rule, kind=kind, term=term, description=description,
                      fingerprint=fingerprint, reason=_reason(reason), source_asset_id=source_asset_id)


# --- making ------------------------------------------------------------------------------------------------------

@transaction.atomic
def suggestions_make_for_classification(*, asset_classification: AssetClassification,
                                        acting_user: User | SystemActor) -> int:
    """Offer a column confirmed as a classification the terms of its workspace that imply it (not deprecated, not
    linked to it), unless a term implying it is linked already; returns how many suggestions were new."""
    asset = asset_classification.asset
    authorize(acting_user, lambda: may_curate(acting_user, asset))
    if (asset.type != Asset.Type.COLUMN or asset.removed_at is not None
            or asset_classification.status != AssetClassification.Status.CONFIRMED):
        return 0
    classification = asset_classification.classification
    linked = GlossaryTerm.objects.filter(asset_links__asset=asset)
    if linked.filter(classification=classification).exists():
        return 0
    terms = (GlossaryTerm.objects.filter(workspace_id=asset.data_source.workspace_id, classification=classification)
             .exclude(status=GlossaryTerm.Status.DEPRECATED).exclude(pk__in=linked.values("pk")).order_by("name"))
    candidates = [(_suggestion(asset_id=asset.pk, rule=Suggestion.Rule.IMPLIED_CLASSIFICATION, term=term,
                               reason=f"{asset.qualified_name} is confirmed as {classification.name} and the term "
                                      f"“{term.name}” implies it."), asset.data_source.workspace_id)
                  for term in terms]
    return _save_new(candidates, rule=Suggestion.Rule.IMPLIED_CLASSIFICATION, acting_user=acting_user)


@transaction.atomic
def suggestions_make_for_classifications(*, asset_classifications, acting_user: User | SystemActor) -> int:
    """``suggestions_make_for_classification`` for many confirmed rows (bulk curation's ``classifications.confirmed``):
    the rows whose column has a term implying the classification linked already — all of them when linking that
    term confirmed it — are set aside in one query; each other row is offered its terms as one at a time."""
    rows = [row for row in asset_classifications if row.status == AssetClassification.Status.CONFIRMED]
    curation_authorize_all(asset_ids=sorted({row.asset_id for row in rows}), acting_user=acting_user)
    implied = set(GlossaryTermAsset.objects.filter(asset_id__in={row.asset_id for row in rows},
                                                   term__classification_id__in={row.classification_id for row in rows})
                  .values_list("asset_id", "term__classification_id"))
    return sum(suggestions_make_for_classification(asset_classification=row, acting_user=acting_user)
               for row in rows if (row.asset_id, row.classification_id) not in implied)


@transaction.atomic
def suggestions_make_for_lookalikes(*, columns: QuerySet[Asset], acting_user: User | SystemActor) -> int:
    """Offer each of ``columns`` what its curated look-alikes say (same source, name and data type): their
    description when it has none, their terms not linked to it. Set-based: the columns with a curated look-alike,
    those look-alikes with their terms, the terms already linked, the describers and the existing suggestions are
    a query each, whatever the number of columns (``columns`` may be a subquery: a scan's new columns)."""
    # A user (not a subscriber) may ask for the columns they may curate.
    authorize(acting_user, lambda: not columns.exclude(pk__in=asset_curatable_list(user=acting_user)
                                                       .values("pk")).exists())
    curated = _curated_columns()
    targets_qs = _present_columns().filter(pk__in=columns.values("pk")).filter(
        Exists(_same_column_as_outer(curated)))
    targets = list(targets_qs.values("pk", "data_source_id", "data_source__workspace_id", "name", "data_type",
                                     "description"))
    if not targets:
        return 0
    links = Prefetch("term_links", queryset=GlossaryTermAsset.objects.select_related("term", "linked_by")
                     .exclude(term__status=GlossaryTerm.Status.DEPRECATED).order_by("term__name"))
    # Among the targets' sources only, so that the index on (data_source, type) bounds the read.
    sources = list(curated.filter(data_source_id__in=targets_qs.values("data_source_id"))
                   .filter(Exists(_same_column_as_outer(targets_qs)))
                   .only("pk", "data_source_id", "name", "data_type", "qualified_name", "description")
                   .prefetch_related(links))
    by_key: dict[tuple, list[Asset]] = defaultdict(list)
    for source in sources:
        by_key[(source.data_source_id, source.name, source.data_type)].append(source)
    linked = set(GlossaryTermAsset.objects.filter(asset_id__in=targets_qs.values("pk"))
                 .values_list("asset_id", "term_id"))
    describers = _describers([source.pk for source in sources if source.description])
    candidates = []
    for target in targets:
        for source in by_key[(target["data_source_id"], target["name"], target["data_type"])]:
            if source.pk == target["pk"]:
                continue
            same = f"Same name and type ({source.data_type}) as {source.qualified_name}"
            common = {"asset_id": target["pk"], "rule": Suggestion.Rule.LOOKALIKE, "source_asset_id": source.pk}
            workspace_id = target["data_source__workspace_id"]
            if source.description and not target["description"]:
                who = describers.get(source.pk, "a steward")
                candidates.append((_suggestion(description=source.description,
                                               reason=f"{same}, described by {who}.", **common), workspace_id))
            for link in source.term_links.all():
                if (target["pk"], link.term_id) not in linked:
                    who = link.linked_by.get_username() if link.linked_by_id else "the system"
                    reason = f"{same}, linked to the term “{link.term.name}” by {who}."
                    candidates.append((_suggestion(term=link.term, reason=reason, **common), workspace_id))
    return _save_new(candidates, rule=Suggestion.Rule.LOOKALIKE, acting_user=acting_user)


@transaction.atomic
def suggestions_after_curation(*, asset: Asset, acting_user: User | SystemActor) -> int:
    """``asset``'s description or terms changed: withdraw the open suggestions it no longer needs (a description
    when it has one now, a term linked to it now) and those copying an earlier description of it, then offer
    what it says to its look-alikes. Returns how many suggestions were new."""
    authorize(acting_user, lambda: may_curate(acting_user, asset))
    return _after_curation({asset.pk: asset}, acting_user=acting_user)


@transaction.atomic
def suggestions_after_curation_many(*, assets: list[Asset], acting_user: User | SystemActor) -> int:
    """``suggestions_after_curation`` for many assets curated at once (bulk curation), in a fixed number of
    queries whatever their number."""
    curation_authorize_all(asset_ids=[asset.pk for asset in assets], acting_user=acting_user)
    return _after_curation({asset.pk: asset for asset in assets}, acting_user=acting_user)


def _after_curation(by_id: dict[int, Asset], *, acting_user) -> int:
    mine = Q(asset_id__in=by_id, status=Suggestion.Status.OPEN)
    linked_now = Exists(GlossaryTermAsset.objects.filter(asset_id=OuterRef("asset_id"), term_id=OuterRef("term_id")))
    described = [pk for pk, asset in by_id.items() if asset.description]
    moot = Suggestion.objects.filter(mine & (Q(kind=Suggestion.Kind.TERM) & linked_now
                                             | Q(kind=Suggestion.Kind.DESCRIPTION, asset_id__in=described)))
    # Each withdrawn suggestion is counted on the curated asset that made it moot, or whose description it copied.
    withdrawn = dict(moot.values_list("pk", "asset_id"))
    copies = Suggestion.objects.filter(source_asset_id__in=by_id, kind=Suggestion.Kind.DESCRIPTION,
                                       status=Suggestion.Status.OPEN).values_list("pk", "source_asset_id",
                                                                                  "fingerprint")
    for pk, source_id, fingerprint in copies:
        if fingerprint != description_fingerprint(by_id[source_id].description):
            withdrawn.setdefault(pk, source_id)
    if withdrawn:
        Suggestion.objects.filter(pk__in=list(withdrawn)).delete()
        counts: dict[int, int] = defaultdict(int)
        for asset_id in withdrawn.values():
            counts[asset_id] += 1
        audit.record_many(audit.build(event="suggestion.withdrawn", actor=acting_user, obj=by_id[asset_id],
                                      extra={"count": count, "reason": "curated since"})
                          for asset_id, count in sorted(counts.items()))
    return suggestions_make_for_lookalikes(columns=Asset.objects.filter(pk__in=_lookalike_ids(by_id)),
                                           acting_user=acting_user)


def _lookalike_ids(by_id: dict[int, Asset]) -> list[int]:
    """The present columns with the source, name and data type of one of the columns of ``by_id`` other than
    themselves, read in one query by the look-alike index (a correlated EXISTS over the curated columns was
    planned as a scan of every column, 37 s at 1,000 of them)."""
    keys: dict[tuple, int] = defaultdict(int)
    for asset in by_id.values():
        if asset.type == Asset.Type.COLUMN and asset.data_type:
            keys[(asset.data_source_id, asset.name, asset.data_type)] += 1
    if not keys:
        return []
    candidates = (_present_columns().filter(data_source_id__in={key[0] for key in keys},
                                            name__in={key[1] for key in keys})
                  .values_list("pk", "data_source_id", "name", "data_type"))
    # One of the curated columns is its own look-alike only if another curated column shares its key.
    return [pk for pk, *key in candidates
            if tuple(key) in keys and (pk not in by_id or keys[tuple(key)] > 1)]


# --- deciding ----------------------------------------------------------------------------------------------------

DECISIONS = (Suggestion.Status.ACCEPTED, Suggestion.Status.DISMISSED)


def _apply(row: Suggestion, *, acting_user) -> None:
    if row.kind == Suggestion.Kind.TERM:
        glossary_term_link(term=row.term, asset=row.asset, acting_user=acting_user)
    else:
        asset_describe(asset=row.asset, description=row.description, acting_user=acting_user)


@transaction.atomic
def suggestions_decide(*, suggestions, decision: str, acting_user: User | SystemActor) -> list[Suggestion]:
    """Accept or dismiss suggestions, all or none: each must be open (else ``AlreadyDecided``) and its asset one
    the caller may curate (else ``PermissionDenied``, naming how many are not). Accepting applies each through
    the curation services, which authorise and audit the change itself; the decision is audited as
    ``suggestion.accepted`` / ``suggestion.dismissed``."""
    if decision not in DECISIONS:
        raise ValueError(f"decision: one of {', '.join(DECISIONS)}")
    rows = list(Suggestion.objects.select_for_update(of=("self",))
                .filter(pk__in=[row.pk for row in suggestions])
                .select_related("asset__data_source", "term", "decided_by").order_by("pk"))
    curation_authorize_all(asset_ids=sorted({row.asset_id for row in rows}), acting_user=acting_user)
    decided = [row for row in rows if row.status != Suggestion.Status.OPEN]
    if decided:
        raise AlreadyDecided(decided, asked=len(rows))
    now, by = timezone.now(), user_or_none(acting_user)
    for row in rows:
        if decision == Suggestion.Status.ACCEPTED:
            _apply(row, acting_user=acting_user)
        row.status, row.decided_by, row.decided_at = decision, by, now
        what = {"term": row.term.name} if row.kind == Suggestion.Kind.TERM else {"description": row.description[:200]}
        audit.record(event=f"suggestion.{decision}", actor=acting_user, obj=row,
                     changes={"status": [Suggestion.Status.OPEN, decision]},
                     extra={"asset": row.asset_id, "kind": row.kind, "rule": row.rule, **what})
    Suggestion.objects.filter(pk__in=[row.pk for row in rows]).update(status=decision, decided_by=by, decided_at=now)
    return rows


def suggestion_accept(*, suggestion: Suggestion, acting_user: User | SystemActor) -> Suggestion:
    return suggestions_decide(suggestions=[suggestion], decision=Suggestion.Status.ACCEPTED,
                              acting_user=acting_user)[0]


def suggestion_dismiss(*, suggestion: Suggestion, acting_user: User | SystemActor) -> Suggestion:
    return suggestions_decide(suggestions=[suggestion], decision=Suggestion.Status.DISMISSED,
                              acting_user=acting_user)[0]
