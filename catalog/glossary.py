"""Writes of the glossary: terms, their hierarchy and relations, links to assets, and import of a whole glossary.

Keyword-only, one transaction each, an audit row per change. A term belongs to a workspace (see the note above
``catalog.models.Tag``); its parent, related terms, stewards and assets are of the same workspace.

Linking a term that implies a classification to a column also confirms that classification on the column, through
``catalog.services`` (so the confirmation is the linking steward's, audited, recorded as a domain event and counted
in the column's sensitivity like any other). Unlinking leaves the classification as it is: it is a decision about
the data, not about the word, and a steward who thinks it wrong rejects it in the review like any other.
"""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import audit, writes
from accounts.actors import SystemActor, user_or_none
from accounts.fields import UNSTORABLE_TEXT
from accounts.models import Membership, User, Workspace
from accounts.permissions import authorize, has_perm, workspace_allows
from accounts.spreadsheets import spreadsheet_cell, spreadsheet_text
from catalog import search, services
from catalog.bulk import chunks
from catalog.curation import (
    PartDone,
    check_same_workspace,
    curation_authorize_all,
    distinct,
    links_diff,
    links_done,
    may_curate,
)
from catalog.markdown import text_with_newlines
from catalog.models import Asset, AssetClassification, Classification, GlossaryTerm, GlossaryTermAsset
from core.events import record_event, record_events

TERM_FIELDS = ("name", "definition", "synonyms", "abbreviations", "parent", "status", "classification")
TERM_RELATIONS = ("related_terms", "stewards")
WORD_MAX_LENGTH = 200
# Synonyms or abbreviations per term. Every asset linked to the term is found by them: its search document holds
# each word (catalog.search), and PostgreSQL refuses a document past 1 MB, so an import of a term with 120,000
# synonyms made every link to it, and every refresh of a linked asset, fail.
WORDS_MAX_COUNT = 100


def checked_words(value, field_name: str) -> list[str]:
    """Synonyms or abbreviations: a list of distinct, non-empty words, in the order given."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(word, str) for word in value):
        raise ValidationError({field_name: ["Give a list of words."]})
    words = list(dict.fromkeys(word.strip() for word in value if word.strip()))
    if len(words) > WORDS_MAX_COUNT:
        raise ValidationError({field_name: [f"At most {WORDS_MAX_COUNT} words; this term has {len(words):,}."]})
    too_long = [word for word in words if len(word) > WORD_MAX_LENGTH]
    if too_long:
        raise ValidationError({field_name: [f"At most {WORD_MAX_LENGTH} characters: {too_long[0][:40]}…"]})
    return words


def check_hierarchy(term: GlossaryTerm, parent: GlossaryTerm | None) -> None:
    """Refuse a parent of another workspace, the term itself, or one of its own descendants (a cycle)."""
    if parent is None:
        return
    if parent.workspace_id != term.workspace_id:
        raise ValidationError({"parent": ["The parent term belongs to another workspace."]})
    seen = set()
    current = parent
    while current is not None:
        if term.pk is not None and current.pk == term.pk:
            raise ValidationError({"parent": [f"{parent} is {term} itself or one of its narrower terms: a term "
                                              "cannot be above itself."]})
        if current.pk in seen:  # an existing cycle, which validation kept out: stop rather than loop
            break
        seen.add(current.pk)
        current = current.parent


def _validate_term(term: GlossaryTerm) -> None:
    term.definition = text_with_newlines(term.definition)
    term.synonyms = checked_words(term.synonyms, "synonyms")
    term.abbreviations = checked_words(term.abbreviations, "abbreviations")
    if term.classification is not None and not term.classification.is_active:
        raise ValidationError({"classification": ["This classification is switched off."]})
    check_hierarchy(term, term.parent)
    term.full_clean(exclude=["parent", "classification"])


def _set_relations(term: GlossaryTerm, *, related_terms=None, stewards=None) -> dict:
    """Set the related terms and stewards given (None: leave as they are); the changes, by name, for the audit."""
    changes = {}
    if related_terms is not None:
        others = [other for other in related_terms if other.pk != term.pk]
        if any(other.workspace_id != term.workspace_id for other in others):
            raise ValidationError({"related_terms": ["Related terms belong to the term's workspace."]})
        before = sorted(term.related_terms.values_list("name", flat=True))
        term.related_terms.set(others)
        after = sorted(other.name for other in others)
        if before != after:
            changes["related_terms"] = [before, after]
    if stewards is not None:
        members = set(Membership.objects.filter(workspace_id=term.workspace_id, user__in=stewards)
                      .values_list("user_id", flat=True))
        if any(user.pk not in members for user in stewards):
            raise ValidationError({"stewards": ["Stewards of a term are members of its workspace."]})
        before = sorted(term.stewards.values_list("username", flat=True))
        term.stewards.set(stewards)
        after = sorted(user.get_username() for user in stewards)
        if before != after:
            changes["stewards"] = [before, after]
    return changes


@transaction.atomic
def glossary_term_create(*, workspace: Workspace, acting_user: User | SystemActor, related_terms=None,
                         stewards=None, **fields) -> GlossaryTerm:
    with writes.creating(GlossaryTerm, acting_user=acting_user, event="glossary_term.created",
                         allowed=lambda: workspace_allows(acting_user, "catalog.add_glossaryterm", workspace),
                         values={"workspace": workspace}, fields=fields, editable=TERM_FIELDS) as term:
        _validate_term(term)
    changes = _set_relations(term, related_terms=related_terms, stewards=stewards)
    if changes:
        audit.record(event="glossary_term.changed", actor=acting_user, obj=term, changes=changes)
    return term


# What a term's linked assets are found by (catalog.search): a change of these refreshes their documents.
SEARCHED_FIELDS = ("name", "synonyms", "abbreviations")


@transaction.atomic
def glossary_term_update(*, term: GlossaryTerm, acting_user: User | SystemActor, related_terms=None,
                         stewards=None, **fields) -> GlossaryTerm:
    searched = [getattr(term, name) for name in SEARCHED_FIELDS]
    with writes.changing(term, acting_user=acting_user, event="glossary_term.changed",
                         allowed=lambda: has_perm(acting_user, "change", term), fields=fields,
                         editable=TERM_FIELDS):
        _validate_term(term)
    if [getattr(term, name) for name in SEARCHED_FIELDS] != searched:
        search.term_assets_refresh(term_ids=[term.pk])
    changes = _set_relations(term, related_terms=related_terms, stewards=stewards)
    if changes:
        audit.record(event="glossary_term.changed", actor=acting_user, obj=term, changes=changes)
    return term


@transaction.atomic
def glossary_term_delete(*, term: GlossaryTerm, acting_user: User | SystemActor) -> None:
    def refuse_if_needed():
        if term.children.exists():
            raise ValidationError("This term has narrower terms: move or delete them first.")

    linked = list(GlossaryTermAsset.objects.filter(term=term).values_list("asset_id", flat=True))
    writes.delete(term, acting_user=acting_user, event="glossary_term.deleted",
                  allowed=lambda: has_perm(acting_user, "delete", term), check=refuse_if_needed)
    search.documents_refresh(asset_ids=linked)


# --- links to assets ---------------------------------------------------------------------------------------------

def _implied_classification(term: GlossaryTerm, asset: Asset, *, acting_user) -> AssetClassification | None:
    """Confirm on a column the classification ``term`` implies, as the linking steward: classify it by hand when
    it has none, confirm a suggestion or an earlier rejection (the steward now says it is that data)."""
    if term.classification_id is None or asset.type != Asset.Type.COLUMN:
        return None
    note = f"glossary term {term.name}"[:2000]
    existing = AssetClassification.objects.filter(asset=asset, classification=term.classification).first()
    if existing is None:
        return services.asset_classification_create(asset=asset, classification=term.classification,
                                                    acting_user=acting_user, note=note)
    if existing.status != AssetClassification.Status.CONFIRMED:
        return services.asset_classification_confirm(asset_classification=existing, acting_user=acting_user,
                                                     note=note)
    return existing


@transaction.atomic
def glossary_term_link(*, term: GlossaryTerm, asset: Asset, acting_user: User | SystemActor) -> GlossaryTermAsset:
    """Link ``term`` to ``asset`` (the curator of the asset decides, with the term in sight); linking again is a
    no-op. A term's implied classification is confirmed on a column in the same transaction: a curator who may
    not classify the column links nothing."""
    authorize(acting_user, lambda: may_curate(acting_user, asset) and has_perm(acting_user, "view", term))
    if term.workspace_id != asset.data_source.workspace_id:
        raise ValidationError({"terms": [f"{term} belongs to another workspace than the asset."]})
    existing = GlossaryTermAsset.objects.filter(term=term, asset=asset).first()
    if existing is not None:
        return existing
    if term.status == GlossaryTerm.Status.DEPRECATED:
        raise ValidationError({"terms": [f"{term} is deprecated: link the term that replaces it."]})
    applied = _implied_classification(term, asset, acting_user=acting_user)
    link = GlossaryTermAsset.objects.create(term=term, asset=asset, asset_classification=applied,
                                            linked_by=user_or_none(acting_user))
    _link_audit(asset, term, acting_user, classified=applied is not None).save()
    # For the subscribers (catalog.subscribers: the term suggested to the asset's look-alikes), after the commit.
    record_event("asset.term_linked", asset, {"asset": asset.pk, "data_source": asset.data_source_id,
                                              "term": term.pk, "linked_by": link.linked_by_id})
    search.documents_refresh(asset_ids=[asset.pk])
    return link


@transaction.atomic
def glossary_term_unlink(*, term: GlossaryTerm, asset: Asset, acting_user: User | SystemActor) -> None:
    """Remove the link; a classification it confirmed stays (module docstring)."""
    authorize(acting_user, lambda: may_curate(acting_user, asset))
    link = GlossaryTermAsset.objects.filter(term=term, asset=asset).first()
    if link is None:
        return
    link.term, link.asset = term, asset
    event = _unlink_audit(link, acting_user)
    link.delete()
    event.save()
    search.documents_refresh(asset_ids=[asset.pk])


@transaction.atomic
def asset_terms_set(*, asset: Asset, terms, acting_user: User | SystemActor) -> None:
    authorize(acting_user, lambda: may_curate(acting_user, asset))
    wanted = {term.pk: term for term in terms}
    for term in GlossaryTerm.objects.filter(asset_links__asset=asset).exclude(pk__in=wanted):
        glossary_term_unlink(term=term, asset=asset, acting_user=acting_user)
    for term in wanted.values():
        glossary_term_link(term=term, asset=asset, acting_user=acting_user)


def _link_audit(asset: Asset, term: GlossaryTerm, acting_user, *, classified: bool):
    return audit.build(event="asset.term_linked", actor=acting_user, obj=asset, changes={"terms": [None, term.name]},
                       extra={"term": term.pk, **({"classification": term.classification.name} if classified else {})})


def _unlink_audit(link: GlossaryTermAsset, acting_user):
    kept = link.asset_classification_id
    return audit.build(event="asset.term_unlinked", actor=acting_user, obj=link.asset,
                       changes={"terms": [link.term.name, None]},
                       extra={"term": link.term_id, **({"classification_kept": kept} if kept else {})})


@transaction.atomic
def assets_terms_change(*, assets: list[Asset], acting_user: User | SystemActor, add=(), remove=(),
                        exact=None) -> PartDone:
    """Link and unlink terms on every asset, or with ``exact`` make their terms exactly those: what
    ``glossary_term_link``, ``glossary_term_unlink`` and ``asset_terms_set`` do asset by asset, with the same
    rules and audit rows, in a fixed number of statements whatever the number of assets — the links read once,
    removed in one DELETE, added in one INSERT, the classifications the new links imply confirmed together
    (``services.assets_classifications_confirm``), the audit rows appended together. The look-alikes' suggestions
    follow one ``assets.terms_linked`` event per workspace naming the assets (catalog.subscribers), not one event
    per link. The assets come with ``data_source__workspace`` read."""
    curation_authorize_all(asset_ids=[asset.pk for asset in assets], acting_user=acting_user)
    wanted = distinct(exact if exact is not None else add)
    authorize(acting_user, lambda: all(has_perm(acting_user, "view", term) for term in wanted))
    for term in wanted:
        for asset in assets:
            check_same_workspace(asset, term, "terms")
    by_id = {asset.pk: asset for asset in assets}
    current = list(GlossaryTermAsset.objects.filter(asset_id__in=by_id).select_related("term"))
    dropped, have = links_diff(current, "term_id", wanted=wanted, remove=remove, exact=exact is not None)
    new = [(asset, term) for asset in assets for term in wanted if (asset.pk, term.pk) not in have]
    deprecated = next((term for _, term in new if term.status == GlossaryTerm.Status.DEPRECATED), None)
    if deprecated is not None:
        raise ValidationError({"terms": [f"{deprecated} is deprecated: link the term that replaces it."]})
    applied = services.assets_classifications_confirm(
        wanted=[(asset, term.classification, f"glossary term {term.name}"[:2000]) for asset, term in new
                if term.classification_id is not None and asset.type == Asset.Type.COLUMN],
        acting_user=acting_user)
    for link in dropped:
        link.asset = by_id[link.asset_id]
    events = [_unlink_audit(link, acting_user) for link in dropped]
    GlossaryTermAsset.objects.filter(pk__in=[link.pk for link in dropped]).delete()
    linked_by = user_or_none(acting_user)
    links = [GlossaryTermAsset(term=term, asset=asset, linked_by=linked_by,
                               asset_classification=applied.get((asset.pk, term.classification_id)))
             for asset, term in new]
    GlossaryTermAsset.objects.bulk_create(links, batch_size=1000)
    audit.record_many([*events, *(_link_audit(link.asset, link.term, acting_user,
                                              classified=link.asset_classification is not None)
                                  for link in links)])
    linked: dict[Workspace, set[int]] = {}
    for link in links:
        linked.setdefault(link.asset.data_source.workspace, set()).add(link.asset_id)
    record_events([("assets.terms_linked", workspace, {
        "workspace": workspace.pk, "assets": sorted(asset_ids), "terms": sorted({term.pk for term in wanted}),
        "linked_by": getattr(linked_by, "pk", None)}) for workspace, asset_ids in linked.items()])
    search.documents_refresh(asset_ids={link.asset_id for link in [*dropped, *links]})
    return links_done(assets=assets, wanted=wanted, remove=list(remove), exact=exact is not None,
                      key=lambda term: term.pk, added=links, dropped=dropped)


# --- import and export -------------------------------------------------------------------------------------------

COLUMNS = ("name", "definition", "synonyms", "abbreviations", "parent", "related_terms", "status", "stewards",
           "classification")
LIST_COLUMNS = ("synonyms", "abbreviations", "related_terms", "stewards")
LIST_SEPARATOR = ";"  # in CSV cells; JSON has lists
MAX_IMPORT_ROWS = 10_000


class ImportRejected(ValidationError):
    """The file as a whole is refused; ``errors`` lists every problem found as ``{"row", "column", "message"}``
    (row 0 is the header, or the file as a whole; row 1 is the first term: the CSV's header is not counted)."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        first = errors[0]
        where = (f"row {first['row']}" if first["row"] else "header") + (
            f", column {first['column']}" if first["column"] else "")
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{where}: {first['message']}{more}")


@dataclass
class ImportPlan:
    """What an import does (or would do, in a dry run): per term, ``create``, ``update`` (with the fields that
    change) or ``unchanged``."""

    workspace: Workspace
    dry_run: bool
    items: list[dict] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for item in self.items if item["action"] == action)

    def summary(self) -> dict:
        return {"dry_run": self.dry_run, "created": self.count("create"), "updated": self.count("update"),
                "unchanged": self.count("unchanged"), "terms": self.items}


@dataclass
class ReadFile:
    """A file as its parser read it: each term's row (``None`` where no term can be read from it, so that rows
    keep their numbers), and every problem found on the way — the header's and each row's, all of them, so that
    a steward corrects the file once rather than once per problem. ``resolvable``: the rows can be checked
    further (names, parents, stewards…); not when the header has no ``name`` column."""

    rows: list[dict | None] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    resolvable: bool = True

    def problem(self, row: int, column: str, message: str) -> None:
        self.errors.append({"row": row, "column": column, "message": message})


def _check_row_count(count: int) -> None:
    # Checked as the rows are read: a 2.5 MB file holds 250,000 one-word rows, seconds of checking before the cap.
    # The one problem that stops the reading: past it, the file is not read for more.
    if count > MAX_IMPORT_ROWS:
        raise ImportRejected([{"row": MAX_IMPORT_ROWS + 1, "column": "",
                               "message": f"At most {MAX_IMPORT_ROWS:,} terms per file."}])


def read_csv(data: str) -> ReadFile:
    """The rows of a CSV glossary and every problem in it. An unknown column is named (each one) and its cells
    left out, so that the rows' own problems are found as well."""
    read = ReadFile()
    reader = csv.DictReader(io.StringIO(data))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        read.problem(0, "", f"Not readable CSV: {exc}.")
        read.resolvable = False
        return read
    if header is None or "name" not in header:
        read.problem(0, "name", "The header must name a 'name' column.")
        read.resolvable = False
    for name, times in Counter(header or ()).items():
        if not name:
            read.problem(0, "", "A column without a name in the header.")
        elif name not in COLUMNS:
            read.problem(0, name, f"Unknown column; the columns are: {', '.join(COLUMNS)}.")
        elif times > 1:
            read.problem(0, name, "Named more than once in the header.")
    if header is None:
        return read
    try:
        for record in reader:
            number = len(read.rows) + 1
            _check_row_count(number)
            if None in record:
                read.problem(number, "", "More cells than the header.")
            row = {}
            for name, value in record.items():
                if name not in COLUMNS:
                    continue
                value = spreadsheet_text((value or "").strip())
                row[name] = ([part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]
                             if name in LIST_COLUMNS else value)
            read.rows.append(_storable_row(number, row, read))
    except csv.Error as exc:  # a cell past the csv module's size limit: the rest of the file is not read
        read.problem(len(read.rows) + 1, "", f"Not readable CSV: {exc}.")
    return read


def _storable_row(number: int, row: dict, read: ReadFile) -> dict:
    """``row``, with the cells holding a character no database text holds (it would fail the write) named as
    problems and emptied."""
    for name, value in row.items():
        if any(UNSTORABLE_TEXT.search(word) for word in (value if isinstance(value, list) else [value])):
            read.problem(number, name, "The text holds a NUL or an invalid character.")
            row[name] = [] if name in LIST_COLUMNS else ""
    return row


def read_json(data: str) -> ReadFile:
    """The terms of a JSON glossary and every problem in them (an unknown field, a value of the wrong type: each
    named, the term's other fields still checked)."""
    read = ReadFile()
    try:
        document = json.loads(data)
    except ValueError as exc:
        read.problem(0, "", f"Not JSON: {exc}")
        return read
    except RecursionError:
        read.problem(0, "", "Not a glossary: nested too deeply.")
        return read
    terms = document.get("terms") if isinstance(document, dict) else document
    if not isinstance(terms, list):
        read.problem(0, "", 'Expected a list of terms (or {"terms": […]}).')
        return read
    _check_row_count(len(terms))
    for number, item in enumerate(terms, start=1):
        if not isinstance(item, dict):
            read.problem(number, "", "Each term is an object.")
            read.rows.append(None)
            continue
        for name in item:
            if name not in COLUMNS:
                read.problem(number, name, "Unknown field.")
        row = {}
        for name in COLUMNS:
            empty = [] if name in LIST_COLUMNS else ""
            value = item.get(name, empty)
            if value is None:
                value = empty
            if name in LIST_COLUMNS:
                if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
                    read.problem(number, name, "Expected a list of text.")
                    value = empty
            elif not isinstance(value, str):
                read.problem(number, name, "Expected text.")
                value = empty
            row[name] = value
        read.rows.append(_storable_row(number, row, read))
    return read


READERS = {"csv": read_csv, "json": read_json}


def _parsed(read: ReadFile) -> list[dict]:
    if read.errors:
        raise ImportRejected(read.errors)
    return read.rows


def parse_csv(data: str) -> list[dict]:
    """The rows of a CSV glossary, or ``ImportRejected`` with every problem the reading found."""
    return _parsed(read_csv(data))


def parse_json(data: str) -> list[dict]:
    """The terms of a JSON glossary, or ``ImportRejected`` with every problem the reading found."""
    return _parsed(read_json(data))


PARSERS = {"csv": parse_csv, "json": parse_json}


def _resolve(rows: list[dict], workspace: Workspace) -> tuple:
    """``(wanted, existing, errors, members, classifications)``: each row's wanted values, with names checked
    (parent and related terms among the existing terms and the file's, stewards among the workspace's members,
    classifications among the active ones), every problem found named by row and column, and the lookups."""
    existing = {term.name: term for term in GlossaryTerm.objects.filter(workspace=workspace)
                .select_related("parent", "classification").prefetch_related("related_terms", "stewards")}
    members = {user.get_username(): user for user in User.objects.filter(memberships__workspace=workspace)}
    classifications = {item.name: item for item in Classification.objects.filter(is_active=True)}
    errors, wanted, seen = [], [], {}
    names_in_file = {row.get("name", "").strip() for row in rows if row is not None}
    known_names = set(existing) | names_in_file

    def problem(number, column, message):
        errors.append({"row": number, "column": column, "message": message})

    for number, row in enumerate(rows, start=1):
        if row is None:  # nothing could be read from it (its problem is the reader's)
            continue
        name = row.get("name", "").strip()
        if not name:
            problem(number, "name", "A term needs a name.")
            continue
        if len(name) > GlossaryTerm._meta.get_field("name").max_length:
            problem(number, "name", "At most 200 characters.")
        if name in seen:
            problem(number, "name", f"{name} is also on row {seen[name]}.")
        seen[name] = number
        status = row.get("status") or GlossaryTerm.Status.DRAFT
        if status not in GlossaryTerm.Status.values:
            problem(number, "status", f"Choose one of: {', '.join(GlossaryTerm.Status.values)}.")
        definition = text_with_newlines(row.get("definition", ""))
        if len(definition) > GlossaryTerm._meta.get_field("definition").max_length:
            problem(number, "definition", "At most 10,000 characters.")
        parent = row.get("parent", "").strip()
        if parent and parent not in known_names:
            problem(number, "parent", f"No term named {parent} in the file or the glossary.")
        if parent == name:
            problem(number, "parent", "A term cannot be its own parent.")
        for other in row.get("related_terms", []):
            if other not in known_names:
                problem(number, "related_terms", f"No term named {other} in the file or the glossary.")
        for username in row.get("stewards", []):
            if username not in members:
                problem(number, "stewards", f"{username} is not a member of {workspace.name}: give them a role there "
                                            "first (Memberships in the admin, or manage.py grant_role).")
        classification = row.get("classification", "").strip()
        if classification and classification not in classifications:
            problem(number, "classification", f"No active classification named {classification}.")
        for column in ("synonyms", "abbreviations"):
            try:
                checked_words(row.get(column, []), column)
            except ValidationError as exc:
                problem(number, column, exc.message_dict[column][0])
        wanted.append({"row": number, "name": name, "definition": definition, "status": status, "parent": parent,
                       "synonyms": _words_or_empty(row.get("synonyms", [])),
                       "abbreviations": _words_or_empty(row.get("abbreviations", [])),
                       "related_terms": sorted(set(row.get("related_terms", [])) - {name}),
                       "stewards": sorted(set(row.get("stewards", []))),
                       "classification": classification})
    if not errors:
        _check_import_cycles(wanted, existing, errors)
    # Relations are symmetric: "A relates to B" on A's row is also B's relation, as the export writes it on both.
    # Sets while completing (re-sorting a list per relation made 700 rows each relating the 700 others minutes).
    related = {item["name"]: set(item["related_terms"]) for item in wanted}
    for item in wanted:
        for other in item["related_terms"]:
            if other in related:
                related[other].add(item["name"])
    for item in wanted:
        item["related_terms"] = sorted(related[item["name"]])
    return wanted, existing, errors, members, classifications


def _first_per_cell(errors: list[dict]) -> list[dict]:
    """The problems by row (the header first), the first one of each cell only: a cell the reading emptied (a NUL
    in a name) is not named again by the checks that followed ("A term needs a name")."""
    seen, kept = set(), []
    for error in sorted(errors, key=lambda error: error["row"]):
        cell = (error["row"], error["column"])
        if not error["column"] or cell not in seen:
            seen.add(cell)
            kept.append(error)
    return kept


def _words_or_empty(value) -> list[str]:
    try:
        return checked_words(value, "words")
    except ValidationError:
        return []


def _check_import_cycles(wanted: list[dict], existing: dict[str, GlossaryTerm], errors: list[dict]) -> None:
    """The hierarchy after the import (the file's parents over the glossary's) has no cycle: a row whose term is in
    one, or below one, is refused. Each term's way up is walked once (a file of 10,000 terms one below the other
    walked it again from every row: minutes of CPU)."""
    parents = {name: term.parent.name if term.parent_id else "" for name, term in existing.items()}
    for item in wanted:
        parents[item["name"]] = item["parent"]
    in_cycle: dict[str, bool] = {}  # whether a cycle lies on the term's way up (the term's own included)
    for item in wanted:
        path, on_path, current = [], set(), item["name"]
        while current and current not in in_cycle and current not in on_path:
            path.append(current)
            on_path.add(current)
            current = parents.get(current, "")
        found = bool(current) and (current in on_path or in_cycle[current])
        in_cycle.update(dict.fromkeys(path, found))
        if in_cycle[item["name"]]:
            errors.append({"row": item["row"], "column": "parent",
                           "message": f"{item['parent']} is below {item['name']}: a term cannot be above itself."})


def _current(term: GlossaryTerm | None) -> dict:
    if term is None:
        return {}
    return {"definition": term.definition, "status": term.status, "parent": term.parent.name if term.parent_id else "",
            "synonyms": term.synonyms, "abbreviations": term.abbreviations,
            "related_terms": sorted(other.name for other in term.related_terms.all()),
            "stewards": sorted(user.get_username() for user in term.stewards.all()),
            "classification": term.classification.name if term.classification_id else ""}


COMPARED = ("definition", "status", "parent", "synonyms", "abbreviations", "related_terms", "stewards",
            "classification")


@transaction.atomic
def glossary_import(*, workspace: Workspace, data: str, fmt: str, acting_user: User | SystemActor,
                    dry_run: bool = False) -> ImportPlan:
    """Import a glossary (CSV or JSON, ``COLUMNS``) into ``workspace``: terms are matched by name, created or
    updated; terms not in the file are left alone. All or nothing: any problem rejects the whole file
    (``ImportRejected``, naming row and column) and one transaction holds every change. ``dry_run`` reads and
    validates the same way and returns the same plan, writing nothing."""
    authorize(acting_user, lambda: workspace_allows(acting_user, "catalog.add_glossaryterm", workspace)
              and workspace_allows(acting_user, "catalog.change_glossaryterm", workspace))
    if fmt not in PARSERS:
        raise ValidationError({"format": [f"Choose one of: {', '.join(PARSERS)}."]})
    read = READERS[fmt](data)
    errors = read.errors
    if read.resolvable:
        wanted, existing, resolved, members, classifications = _resolve(read.rows, workspace)
        errors = _first_per_cell([*errors, *resolved])
    if errors:
        raise ImportRejected(errors)
    plan = ImportPlan(workspace=workspace, dry_run=dry_run)
    for item in wanted:
        current = _current(existing.get(item["name"]))
        if not current:
            plan.items.append({"row": item["row"], "name": item["name"], "action": "create"})
            continue
        changed = [name for name in COMPARED if current[name] != item[name]]
        plan.items.append({"row": item["row"], "name": item["name"],
                           "action": "update" if changed else "unchanged", "fields": changed})
    if dry_run:
        return plan
    _apply(plan, wanted, existing, members, classifications, acting_user=acting_user)
    audit.record(event="glossary.imported", actor=acting_user, workspace=workspace,
                 extra={"created": plan.count("create"), "updated": plan.count("update"),
                        "unchanged": plan.count("unchanged"), "format": fmt})
    return plan


def _apply(plan: ImportPlan, wanted: list[dict], existing: dict[str, GlossaryTerm], members: dict,
           classifications: dict, *, acting_user) -> None:
    """Write the plan in a fixed number of statements, whatever the number of terms: the new terms in one
    INSERT, their fields and every parent in one UPDATE (all parents at once, so that a hierarchy being turned
    around never holds a cycle on the way), related terms and stewards as the rows added and removed, and one
    audit row per term created or changed, appended together.

    ``glossary_import`` authorised the whole file and ``_resolve`` validated it whole (names, statuses, lengths,
    words, parents and relations among the file's and glossary's terms, no cycle in the hierarchy the import
    leaves, stewards among the members, active classifications); each term is still checked by its model
    (``full_clean`` without the queries those checks make redundant). The audit rows say what the term services
    would: created with its fields, or changed with what changed, related terms and stewards by name."""
    actions = {item["name"]: item for item in plan.items}
    changed = [item for item in wanted if actions[item["name"]]["action"] != "unchanged"]
    if not changed:
        return
    terms = dict(existing)
    before = {item["name"]: (audit.snapshot(terms[item["name"]], GlossaryTerm.audit_fields),
                             _current(terms[item["name"]])) for item in changed if item["name"] in terms}
    now = timezone.now()
    for item in changed:
        term = terms.get(item["name"]) or GlossaryTerm(workspace=plan.workspace, name=item["name"], created_at=now)
        term.definition, term.status = item["definition"], item["status"]
        term.synonyms, term.abbreviations = item["synonyms"], item["abbreviations"]
        term.classification = classifications.get(item["classification"])
        term.updated_at = now
        term.full_clean(exclude=["workspace", "parent", "classification"], validate_unique=False,
                        validate_constraints=False)
        terms[item["name"]] = term
    for item in changed:
        terms[item["name"]].parent = terms[item["parent"]] if item["parent"] else None
    # The new terms in one INSERT, those below another new term without their parent, given it in one UPDATE (by
    # depth, an INSERT per level, a file 10,000 terms deep took 10,000 statements); the changed ones then in one
    # UPDATE of their fields (a parent included).
    created = [terms[item["name"]] for item in changed if item["name"] not in before]
    below_new = [(term, term.parent) for term in created if term.parent is not None and term.parent.pk is None]
    for term, _parent in below_new:
        term.parent = None
    GlossaryTerm.objects.bulk_create(created)
    for term, parent in below_new:
        term.parent = parent
    GlossaryTerm.objects.bulk_update([term for term, _parent in below_new], ["parent"], batch_size=500)
    # Only the fields some term changes: each is a CASE over every row in the statement Django builds.
    fields = sorted({name for item in changed if item["name"] in before for name in actions[item["name"]]["fields"]}
                    & set(GlossaryTerm.audit_fields))
    GlossaryTerm.objects.bulk_update([terms[item["name"]] for item in changed if item["name"] in before],
                                     [*fields, "updated_at"], batch_size=500)
    _write_relations(changed, terms, before, members)
    events = []
    for item in changed:
        term = terms[item["name"]]
        old_fields, old = before.get(item["name"], ({}, {"related_terms": [], "stewards": []}))
        changes = audit.diff(old_fields, audit.snapshot(term, GlossaryTerm.audit_fields))
        for name in TERM_RELATIONS:
            if old[name] != item[name]:
                changes[name] = [old[name], item[name]]
        if changes:
            event = "glossary_term.changed" if item["name"] in before else "glossary_term.created"
            events.append(audit.build(event=event, actor=acting_user, obj=term, workspace=plan.workspace,
                                      changes=changes))
    audit.record_many(events)
    # New terms have no assets yet; the changed ones' assets are found by their new words.
    search.term_assets_refresh(term_ids=[terms[item["name"]].pk for item in changed if item["name"] in before
                                         and set(actions[item["name"]]["fields"]) & {"synonyms", "abbreviations"}])


def _write_relations(changed: list[dict], terms: dict[str, GlossaryTerm], before: dict, members: dict) -> None:
    """Related terms (both directions: the relation is symmetrical) and stewards of the changed terms, as the
    rows to remove and the rows to add."""
    related = GlossaryTerm.related_terms.through
    stewards = GlossaryTerm.stewards.through
    unrelate, relate, unassign, assign = set(), set(), set(), set()
    for item in changed:
        term, known = terms[item["name"]], item["name"] in before
        pk = term.pk
        # The existing terms' relations were read (prefetched) with them by _resolve.
        had = {other.pk for other in term.related_terms.all()} if known else set()
        has = {terms[name].pk for name in item["related_terms"]}
        unrelate |= {pair for other in had - has for pair in ((pk, other), (other, pk))}
        relate |= {pair for other in has - had for pair in ((pk, other), (other, pk))}
        had = {user.pk for user in term.stewards.all()} if known else set()
        has = {members[name].pk for name in item["stewards"]}
        unassign |= {(pk, user) for user in had - has}
        assign |= {(pk, user) for user in has - had}
    for chunk in chunks(sorted(unrelate), 500):
        related.objects.filter(reduce(or_, (Q(from_glossaryterm_id=a, to_glossaryterm_id=b) for a, b in chunk))
                               ).delete()
    related.objects.bulk_create([related(from_glossaryterm_id=a, to_glossaryterm_id=b) for a, b in sorted(relate)],
                                batch_size=1000, ignore_conflicts=True)
    for chunk in chunks(sorted(unassign), 500):
        stewards.objects.filter(reduce(or_, (Q(glossaryterm_id=term, user_id=user) for term, user in chunk))
                                ).delete()
    stewards.objects.bulk_create([stewards(glossaryterm_id=term, user_id=user) for term, user in sorted(assign)],
                                 batch_size=1000, ignore_conflicts=True)


def glossary_rows(terms) -> list[dict]:
    """Terms (a queryset from ``catalog.selectors.glossary_term_list``) as import rows, lists kept as lists."""
    return [{"name": term.name, "definition": term.definition, "synonyms": list(term.synonyms),
             "abbreviations": list(term.abbreviations), "parent": term.parent.name if term.parent_id else "",
             "related_terms": sorted(other.name for other in term.related_terms.all()), "status": term.status,
             "stewards": sorted(user.get_username() for user in term.stewards.all()),
             "classification": term.classification.name if term.classification_id else ""} for term in terms]


def glossary_export(*, terms, fmt: str) -> str:
    """The file ``glossary_import`` reads back: CSV (lists joined with ``;``, cells spreadsheet-safe) or JSON."""
    rows = glossary_rows(terms)
    if fmt == "json":
        return json.dumps({"terms": rows}, ensure_ascii=False, indent=2)
    if fmt != "csv":
        raise ValidationError({"format": ["Choose one of: csv, json."]})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({name: spreadsheet_cell(LIST_SEPARATOR.join(value) if name in LIST_COLUMNS else value)
                         for name, value in row.items()})
    return out.getvalue()

