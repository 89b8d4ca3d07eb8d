"""Writes of lineage: edges between assets (or external assets), by origin.

Every origin writes through the same two services, keyed by (workspace, origin, origin key):

- ``lineage_edges_merge`` adds flows and refreshes the ones already there (``last_seen_at``, the record they were
  last read from): submitted SQL, whose key is the data source and the text's hash, so re-submitting the same SQL
  creates nothing new.
- ``lineage_edges_replace`` makes the edges of one key exactly the flows given: a view's definition (key: the
  view's asset id) or a procedure's body read again, an OpenLineage job's latest run.

Neither ever touches another (origin, key)'s edges. Both are set-based: a fixed number of statements whatever
the number of flows (external assets created in bulk, edges inserted in bulk, refreshed with one UPDATE).

``lineage_sql_record`` parses SQL (catalog.lineage.sql), maps the names it finds to the data source's assets by
their qualified names, keeps the names no scan has seen as external assets, and merges the flows.
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import BigIntegerField, Case, F, Q, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import audit
from accounts.actors import SystemActor
from accounts.models import User, Workspace
from accounts.permissions import authorize, has_perm, workspace_allows
from catalog.lineage.sql import DIALECT_ALIASES, DIALECTS, TooManyStatements, accepted_dialect, sql_lineage
from catalog.models import Asset, ExternalAsset, LineageEdge, LineageOrigin, LineageRecord, external_qualified_name
from core.events import record_event
from sources.connectors import parse_qualified_name
from sources.models import DataSource

# What one POST (or one file of the command) may hold: a large dbt model is about 100 kB, a day of a query log
# is cut into files by the caller.
MAX_SQL_CHARS = 1_000_000
# Reading SQL happens inside the request (or the command), so it is bounded three ways beside the length: the
# statements of one script (a query log of more is cut into several requests or files), the time one statement may
# take (sqlglot on a pathological statement can run for minutes; a large dbt model reads in well under a second),
# and the time the whole script may take (under the 30 s a proxy usually waits), after which the statements left are
# reported unread. Scans reading view and routine definitions use the same two time budgets per definition.
MAX_SQL_STATEMENTS = 2_000
STATEMENT_SECONDS = 5.0
SCRIPT_SECONDS = 25.0
TOO_LARGE = "too_large"  # the code of a ValidationError for SQL over a limit: the API answers 413
# The dialects SQL may be submitted in: the parser's, and the other names people give them (postgresql, mssql).
SQL_DIALECTS = DIALECTS + tuple(DIALECT_ALIASES)
TABLE_TYPES = (Asset.Type.TABLE, Asset.Type.VIEW)


@dataclass(frozen=True)
class ExternalName:
    """A dataset (``field`` blank) or one of its fields that no catalog asset stands for."""

    namespace: str
    name: str
    field: str = ""
    data_source_id: int | None = None


# One end of a flow: an asset's id, or an external name.
End = int | ExternalName


@dataclass(frozen=True)
class Flow:
    source: End
    target: End
    level: str  # LineageEdge.Level
    direct: bool = False


@dataclass
class MergeResult:
    created: int = 0
    refreshed: int = 0
    removed: int = 0
    external_created: int = 0
    record: LineageRecord | None = None


# --- the two writes every origin uses -------------------------------------------------------------------------


def _may_record(acting_user, workspace: Workspace) -> None:
    authorize(acting_user, lambda: workspace_allows(acting_user, "catalog.add_lineageedge", workspace)
              and workspace_allows(acting_user, "catalog.change_lineageedge", workspace))


@transaction.atomic
def lineage_edges_merge(*, workspace: Workspace, origin: str, origin_key: str, flows: Iterable[Flow], text: str = "",
                        dialect: str = "", data_source: DataSource | None = None,
                        external_names: Iterable[ExternalName] = (),
                        acting_user: User | SystemActor) -> MergeResult:
    """Add ``flows`` to the edges of (``origin``, ``origin_key``) in ``workspace``, refreshing those already
    there; ``text`` (the SQL, the event) is kept once as their record. ``external_names``: external assets to
    have even where no flow reaches them (the fields an OpenLineage schema lists). Audited as
    ``lineage.recorded`` when it adds an edge (a repeat refreshes ``last_seen_at`` and audits nothing)."""
    _may_record(acting_user, workspace)
    return _write_one(workspace=workspace, origin=origin, origin_key=origin_key, flows=list(flows), text=text,
                      dialect=dialect, data_source=data_source, external_names=set(external_names), replace=False,
                      acting_user=acting_user)


@transaction.atomic
def lineage_edges_replace(*, workspace: Workspace, origin: str, origin_key: str, flows: Iterable[Flow],
                          text: str = "", dialect: str = "", data_source: DataSource | None = None,
                          external_names: Iterable[ExternalName] = (),
                          acting_user: User | SystemActor) -> MergeResult:
    """Make the edges of (``origin``, ``origin_key``) in ``workspace`` exactly ``flows``: those no longer given
    are deleted, with the records no edge refers to any more (``external_names`` as for the merge). Audited as
    ``lineage.replaced`` when anything was added or removed."""
    _may_record(acting_user, workspace)
    return _write_one(workspace=workspace, origin=origin, origin_key=origin_key, flows=list(flows), text=text,
                      dialect=dialect, data_source=data_source, external_names=set(external_names), replace=True,
                      acting_user=acting_user)


@transaction.atomic
def lineage_edges_refresh(*, workspace: Workspace, origin: str, origin_keys: Iterable[str],
                          acting_user: User | SystemActor) -> int:
    """Mark the edges of (``origin``, each of ``origin_keys``) in ``workspace``, and the records they were read
    from, as seen now: their origin read the same text again (a view's definition unchanged at a rescan). One
    UPDATE per 5,000 keys; not audited, as nothing was added or removed. Returns the number of edges."""
    _may_record(acting_user, workspace)
    keys, now, refreshed = list(origin_keys), timezone.now(), 0
    for start in range(0, len(keys), 5000):
        chunk = Q(workspace=workspace, origin=origin, origin_key__in=keys[start:start + 5000])
        refreshed += LineageEdge.objects.filter(chunk).update(last_seen_at=now)
        LineageRecord.objects.filter(chunk).update(last_seen_at=now)
    return refreshed


@dataclass(frozen=True)
class Replacement:
    """What the edges of one (origin, key) are to be: the flows, and the text they were read from."""

    origin: str
    origin_key: str
    flows: list[Flow]
    text: str = ""


@transaction.atomic
def lineage_edges_replace_many(*, workspace: Workspace, replacements: Iterable[Replacement], dialect: str = "",
                               data_source: DataSource | None = None,
                               acting_user: User | SystemActor) -> list[MergeResult]:
    """``lineage_edges_replace`` for many (origin, key) groups at once (the definitions a scan read): each group's
    edges made exactly its flows, in a fixed number of statements whatever the number of groups (records, external
    assets, edges read, inserted, refreshed and deleted for all of them together). Audited per group, as the single
    replace is (one ``lineage.replaced`` row for each group that changed, appended together); one
    ``lineage.changed`` per origin names the groups that changed. Returns one result per replacement, in order."""
    _may_record(acting_user, workspace)
    return _write(workspace=workspace, replacements=list(replacements), dialect=dialect, data_source=data_source,
                  replace=True, acting_user=acting_user)


def _write_one(*, workspace, origin, origin_key, flows, text, dialect, data_source, external_names, replace,
               acting_user) -> MergeResult:
    return _write(workspace=workspace, replacements=[Replacement(origin, origin_key, flows, text)], dialect=dialect,
                  data_source=data_source, external_names=external_names, replace=replace,
                  acting_user=acting_user)[0]


def _write(*, workspace, replacements: list[Replacement], dialect, data_source, replace, acting_user,
           external_names: set[ExternalName] = frozenset()) -> list[MergeResult]:
    keys = [(group.origin, group.origin_key) for group in replacements]
    if unknown := {origin for origin, _key in keys} - set(LineageOrigin.values):
        raise ValueError(f"unknown lineage origin {sorted(unknown)[0]!r}")
    if len(set(keys)) != len(keys):
        raise ValueError("each (origin, key) may be given once")
    if not replacements:
        return []
    now = timezone.now()
    results = {key: MergeResult() for key in keys}
    records = _records(workspace, replacements, dialect, data_source, now)
    for key, record in records.items():
        results[key].record = record
    externals, created_externals = _external_ids(
        workspace, [flow for group in replacements for flow in group.flows], set(external_names))
    wanted = {key: _edge_rows(group.flows, externals) for key, group in zip(keys, replacements, strict=True)}
    existing = _existing_edges(workspace, keys)
    new, seen, gone = [], {key: [] for key in keys}, {key: [] for key in keys}
    for key, group in zip(keys, replacements, strict=True):
        origin, origin_key = key
        result, rows, before = results[key], wanted[key], existing[key]
        # Each external asset created is counted once, by the first group naming it (a field's dataset too).
        named = {name for flow in group.flows for end in (flow.source, flow.target) if isinstance(end, ExternalName)
                 for name in (end, ExternalName(end.namespace, end.name, "", end.data_source_id))}
        result.external_created = len(named & created_externals)
        created_externals -= named
        new += [LineageEdge(workspace=workspace, origin=origin, origin_key=origin_key, level=level, direct=direct,
                            record=result.record, first_seen_at=now, last_seen_at=now,
                            source_asset_id=ends[0], source_external_id=ends[1],
                            target_asset_id=ends[2], target_external_id=ends[3])
                for ends, (level, direct) in rows.items() if ends not in before]
        result.created = sum(ends not in before for ends in rows)
        seen[key] = [ends for ends in rows if ends in before]
        result.refreshed = len(seen[key])
        gone[key] = [ends for ends in before if ends not in rows] if replace else []
    results[keys[0]].external_created += len(created_externals)  # those only ``external_names`` named
    # ignore_conflicts: the same SQL submitted twice at once; the second's edges are the first's.
    LineageEdge.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    _refresh_seen(keys, wanted, existing, seen, records, now)
    gone_ids = {existing[key][ends][0]: key for key in keys for ends in gone[key]}
    if gone_ids:
        LineageEdge.objects.filter(pk__in=list(gone_ids)).delete()
        for key in gone_ids.values():
            results[key].removed += 1
    if replace:
        _delete_unreferenced_records(workspace, keys)
    changed = [key for key in keys if results[key].created or results[key].removed]
    audit.record_many(audit.build(
        event="lineage.replaced" if replace else "lineage.recorded", actor=acting_user, obj=results[key].record,
        workspace=workspace, extra={"origin": key[0], "origin_key": key[1], "created": results[key].created,
                                    "removed": results[key].removed, "refreshed": results[key].refreshed,
                                    "external_created": results[key].external_created}) for key in changed)
    _record_changed(workspace, results, {key: [
        ends for ends in [*(e for e in wanted[key] if e not in existing[key]), *seen[key], *gone[key]]
        if existing[key].get(ends, (None, False))[1] != (ends in wanted[key] and wanted[key][ends][1])]
        for key in keys})
    return [results[key] for key in keys]


def _records(workspace, replacements: list[Replacement], dialect, data_source, now) -> dict[tuple, LineageRecord]:
    """The record of each group given a text, created when that text is new to its key, else marked seen: three
    statements for all the groups."""
    hashes = {(g.origin, g.origin_key): hashlib.sha256(g.text.encode()).hexdigest() for g in replacements if g.text}
    if not hashes:
        return {}

    def lookup() -> dict[tuple, LineageRecord]:
        rows = LineageRecord.objects.filter(workspace=workspace, origin__in={key[0] for key in hashes},
                                            origin_key__in={key[1] for key in hashes},
                                            text_hash__in=set(hashes.values()))
        return {(row.origin, row.origin_key): row for row in rows
                if hashes.get((row.origin, row.origin_key)) == row.text_hash}

    found = lookup()
    if found:
        LineageRecord.objects.filter(pk__in=[row.pk for row in found.values()]).update(last_seen_at=now)
    texts = {(g.origin, g.origin_key): g.text for g in replacements if g.text}
    missing = [key for key in hashes if key not in found]
    if missing:
        LineageRecord.objects.bulk_create(
            [LineageRecord(workspace=workspace, origin=key[0], origin_key=key[1], text_hash=hashes[key],
                           text=texts[key], dialect=dialect, data_source=data_source, first_seen_at=now,
                           last_seen_at=now) for key in missing], batch_size=500, ignore_conflicts=True)
        found = lookup()
    return found


def _existing_edges(workspace, keys: list[tuple]) -> dict[tuple, dict[EdgeEnds, tuple[int, bool]]]:
    """Each group's edges as ``{ends: (pk, direct)}``: one query per 5,000 keys."""
    existing: dict[tuple, dict] = {key: {} for key in keys}
    origins = {origin for origin, _key in keys}
    origin_keys = sorted({origin_key for _origin, origin_key in keys})
    for start in range(0, len(origin_keys), 5000):
        for row in LineageEdge.objects.filter(
                workspace=workspace, origin__in=origins, origin_key__in=origin_keys[start:start + 5000]).values(
                "pk", "direct", "origin", "origin_key", "source_asset_id", "source_external_id", "target_asset_id",
                "target_external_id"):
            group = existing.get((row["origin"], row["origin_key"]))
            if group is not None:
                group[_ends(row)] = (row["pk"], row["direct"])
    return existing


def _refresh_seen(keys, wanted, existing, seen, records, now) -> None:
    """The edges given again marked seen, with the value of ``direct`` given now and their group's record: one
    UPDATE per value of ``direct``, the record chosen by the edge's group."""
    record_of = Case(*[When(origin=key[0], origin_key=key[1], then=Value(record.pk))
                       for key, record in records.items()], default=F("record_id"), output_field=BigIntegerField())
    for direct in (True, False):
        ids = [existing[key][ends][0] for key in keys for ends in seen[key] if wanted[key][ends][1] is direct]
        if ids:
            refreshed = {"last_seen_at": now, "direct": direct}
            if records:
                refreshed["record_id"] = record_of
            LineageEdge.objects.filter(pk__in=ids).update(**refreshed)


def _delete_unreferenced_records(workspace, keys: list[tuple]) -> None:
    """The groups' records that no edge refers to any more (a replaced text's)."""
    wanted = set(keys)
    unreferenced = [pk for pk, origin, origin_key in LineageRecord.objects.filter(
        workspace=workspace, origin__in={key[0] for key in keys}, origin_key__in={key[1] for key in keys},
        edges__isnull=True).values_list("pk", "origin", "origin_key") if (origin, origin_key) in wanted]
    if unreferenced:
        LineageRecord.objects.filter(pk__in=unreferenced).delete()


def _record_changed(workspace: Workspace, results: dict[tuple, MergeResult], copies: dict[tuple, list]) -> None:
    """``lineage.changed``, in the write's transaction, once per origin whose groups changed — flows added or
    removed, or a flow that became or stopped being a copy (``direct``): ``origin_keys`` the groups that changed
    (``origin_key`` too when it is one), ``direct_targets`` the ends (asset ids, external asset ids) into which a copy
    appeared, disappeared or changed, for the subscribers that follow copies (catalog.propagation). One event for a
    batch of definitions rather than one per view: the region around them is recomputed once."""
    changed: dict[str, list[tuple]] = {}
    for key, result in results.items():
        if result.created or result.removed or copies[key]:
            changed.setdefault(key[0], []).append(key)
    for origin, keys in changed.items():
        payload = {"workspace": workspace.pk, "origin": origin, "origin_keys": [key[1] for key in keys],
                   "created": sum(results[key].created for key in keys),
                   "removed": sum(results[key].removed for key in keys),
                   "direct_targets": {"assets": sorted({ends[2] for key in keys for ends in copies[key] if ends[2]}),
                                      "externals": sorted({ends[3] for key in keys for ends in copies[key]
                                                           if ends[3]})}}
        if len(keys) == 1:
            payload["origin_key"] = keys[0][1]
        record_event("lineage.changed", workspace, payload)


EdgeEnds = tuple  # (source_asset_id, source_external_id, target_asset_id, target_external_id)


def _ends(row: dict) -> EdgeEnds:
    return (row["source_asset_id"], row["source_external_id"], row["target_asset_id"], row["target_external_id"])


def _edge_rows(flows: list[Flow], externals: dict[ExternalName, int]) -> dict[EdgeEnds, tuple[str, bool]]:
    """``{ends: (level, direct)}``, one per distinct flow: a flow read both as a copy and as a transformation is
    direct (some of the target's values are the source's)."""
    rows: dict[EdgeEnds, tuple[str, bool]] = {}
    for flow in flows:
        source = (flow.source, None) if isinstance(flow.source, int) else (None, externals[flow.source])
        target = (flow.target, None) if isinstance(flow.target, int) else (None, externals[flow.target])
        ends = (*source, *target)
        if ends[0::2] == ends[1::2]:  # the same node on both ends: UPDATE t SET a = a + 1 reads t into t
            continue
        level, direct = rows.get(ends, (flow.level, False))
        rows[ends] = (level, direct or flow.direct)
    return rows


def _external_ids(workspace: Workspace, flows: list[Flow],
                  also: set[ExternalName]) -> tuple[dict[ExternalName, int], set[ExternalName]]:
    """The ExternalAsset id of every external end of ``flows`` and of ``also``, creating the missing ones (datasets
    first, then their fields under them), and those created. Three statements per kind, whatever their number."""
    names = also | {end for flow in flows for end in (flow.source, flow.target) if isinstance(end, ExternalName)}
    datasets = {ExternalName(n.namespace, n.name, "", n.data_source_id) for n in names}
    ids, created = _ensure_externals(workspace, datasets, parents={})
    fields = {n for n in names if n.field}
    field_ids, created_fields = _ensure_externals(workspace, fields, parents=ids)
    ids.update(field_ids)
    return ids, created | created_fields


def _ensure_externals(workspace, names: set[ExternalName], *,
                      parents: dict) -> tuple[dict[ExternalName, int], set[ExternalName]]:
    if not names:
        return {}, set()
    by_key = {(n.namespace, n.name, n.field): n for n in names}
    existing = _external_lookup(workspace, by_key)
    missing = [by_key[key] for key in by_key if key not in existing]
    ExternalAsset.objects.bulk_create(
        [ExternalAsset(workspace=workspace, namespace=n.namespace, name=n.name, field=n.field,
                       type=ExternalAsset.Type.FIELD if n.field else ExternalAsset.Type.DATASET,
                       data_source_id=n.data_source_id,
                       parent_id=parents[ExternalName(n.namespace, n.name, "", n.data_source_id)] if n.field else None)
         for n in missing], batch_size=1000, ignore_conflicts=True)
    if missing:
        existing = _external_lookup(workspace, by_key)
    return {by_key[key]: pk for key, pk in existing.items()}, set(missing)


def _external_lookup(workspace, by_key: dict[tuple, ExternalName]) -> dict[tuple, int]:
    """The ids of the external assets named by ``by_key``'s keys that exist: read by namespaces and names (the
    unique index's range), the exact (namespace, name, field) matched here — an OR of thousands of conditions is
    too deep for SQLite."""
    rows = ExternalAsset.objects.filter(
        workspace=workspace, namespace__in={key[0] for key in by_key}, name__in={key[1] for key in by_key},
    ).values_list("namespace", "name", "field", "pk")
    return {(namespace, name, field_name): pk for namespace, name, field_name, pk in rows
            if (namespace, name, field_name) in by_key}


# --- submitted SQL ----------------------------------------------------------------------------------------------


@dataclass
class StatementOutcome:
    """What one statement of a script gave: where it is, what it writes, the script's end-to-end edges into its
    targets (table level as names, column level counted), or why it could not be read."""

    index: int
    line: int
    kind: str
    targets: list[str]
    table_edges: list[dict] = field(default_factory=list)
    column_edges: int = 0
    error: str | None = None
    error_line: int | None = None


@dataclass
class SqlRecording:
    statements: list[StatementOutcome]
    table_edges: int
    column_edges: int
    external_tables: list[str]
    unresolved_columns: list[str]
    dry_run: bool
    result: MergeResult = field(default_factory=MergeResult)


def sql_dialect(name: str) -> str:
    """The parser's name of dialect ``name`` (``postgresql`` → ``postgres``); a ValidationError naming the accepted
    ones for another."""
    try:
        return accepted_dialect(name)
    except ValueError:
        raise ValidationError({"dialect": f"Unknown dialect {name!r}; use one of: {', '.join(SQL_DIALECTS)}."}) \
            from None


def sql_origin_key(*, data_source: DataSource, text: str, dialect: str, default_database: str | None,
                   default_schema: str | None) -> str:
    """The key of submitted SQL: the data source, and a hash of what decides its edges (the text, the dialect, the
    defaults), so that the same submission is the same key and adds nothing."""
    decided_by = "\0".join((dialect, default_database or "", default_schema or "", text))
    return f"datasource/{data_source.pk}/{hashlib.sha256(decided_by.encode()).hexdigest()}"


def lineage_sql_record(*, data_source: DataSource, sql: str, dialect: str, default_database: str | None = None,
                       default_schema: str | None = None, dry_run: bool = False,
                       acting_user: User | SystemActor) -> SqlRecording:
    """Parse ``sql`` (a statement or a script) in ``dialect`` and record the flows it makes in ``data_source``:
    tables and columns named as the catalog knows them become edges between assets, the others external assets
    of the source's workspace (namespace ``datasource/<id>``). A statement that cannot be read is reported with
    its line and reason and the others are recorded. With ``dry_run`` nothing is written. Needs ``view`` on the
    source and the right to record lineage in its workspace."""
    authorize(acting_user, lambda: has_perm(acting_user, "view", data_source))
    _may_record(acting_user, data_source.workspace)
    dialect = sql_dialect(dialect)
    if len(sql) > MAX_SQL_CHARS:
        raise ValidationError({"sql": ValidationError(f"The SQL is {len(sql):,} characters long; at most "
                                                      f"{MAX_SQL_CHARS:,} are read at once.", code=TOO_LARGE)})
    try:
        script = sql_lineage(sql, dialect=dialect, default_database=default_database, default_schema=default_schema,
                             schema=_known_schema(data_source, sql, default_schema=default_schema),
                             max_statements=MAX_SQL_STATEMENTS, statement_seconds=STATEMENT_SECONDS,
                             script_seconds=SCRIPT_SECONDS)
    except TooManyStatements as exc:
        raise ValidationError({"sql": ValidationError(f"{exc} Cut the script into several requests or files.",
                                                      code=TOO_LARGE)}) from None
    resolver = _Resolver(data_source)
    flows = resolver.flows(script)
    recording = SqlRecording(
        statements=_outcomes(script), table_edges=len(script.table_edges), column_edges=len(script.column_edges),
        external_tables=sorted(external_qualified_name(resolver.namespace, name, "", data_source.pk, data_source.name)
                               for name in resolver.external_tables),
        unresolved_columns=sorted(resolver.unresolved_columns), dry_run=dry_run)
    if not dry_run and flows:
        recording.result = lineage_edges_merge(
            workspace=data_source.workspace, origin=LineageOrigin.SQL, data_source=data_source, dialect=dialect,
            origin_key=sql_origin_key(data_source=data_source, text=sql, dialect=dialect,
                                      default_database=default_database, default_schema=default_schema),
            flows=flows, text=sql, acting_user=acting_user)
    ends = resolver.shown_ends()
    for outcome in recording.statements:
        outcome.table_edges = [{f"{side}{suffix}": value for side in ("source", "target")
                                for suffix, value in zip(("", "_id", "_external"), ends[edge[side]], strict=True)}
                               for edge in outcome.table_edges]
    return recording


def _outcomes(script) -> list[StatementOutcome]:
    into: dict[str, list] = {}
    for source, target in sorted(script.table_edges):
        into.setdefault(target, []).append({"source": source, "target": target})
    columns_into: dict[str, int] = {}
    for edge in script.column_edges:
        table = _split_column(edge.target)[0]
        columns_into[table] = columns_into.get(table, 0) + 1
    outcomes = []
    for statement in script.statements:
        targets = list(statement.target)
        outcome = StatementOutcome(index=statement.index, line=statement.line, kind=statement.kind, targets=targets)
        if statement.error:
            outcome.error, outcome.error_line = statement.error, statement.line
        else:
            outcome.table_edges = [edge for target in targets for edge in into.get(target, [])]
            outcome.column_edges = sum(columns_into.get(target, 0) for target in targets)
        outcomes.append(outcome)
    return outcomes


def _split_column(name: str) -> tuple[str, str]:
    """``'db.schema.table.column'`` → (``'db.schema.table'``, ``'column'``)."""
    table, _, column = name.rpartition(".")
    return table, column


def _name_parts(name: str) -> tuple[str, ...]:
    """The parts of a name as the parser writes it: plain parts joined with dots, unquoted ones lower-cased."""
    return tuple(name.split("."))


# Words of a SQL text that may name a table: bare identifiers, and the insides of "…", `…` and […] quotes.
_WORDS = re.compile(r'"([^"]+)"|`([^`]+)`|\[([^\]]+)\]|([A-Za-z_][A-Za-z0-9_$]*)')


def _known_schema(data_source: DataSource, sql: str, *, default_schema: str | None) -> dict[str, list[str]]:
    """The columns of the source's tables and views that ``sql`` may name, for the parser to resolve ``SELECT *``
    and unqualified columns: two queries, for the tables whose name is a word of the text and for their columns,
    rather than the whole catalog of the source.

    Each table is given under the names a script may call it by — ``db.schema.table``, ``schema.table``, and
    ``table`` when no default schema is given and no other schema has a table of that name — as the parser
    completes a name with the defaults before looking it up."""
    words = {next(group for group in match.groups() if group).lower() for match in _WORDS.finditer(sql)}
    if not words:
        return {}
    tables = {pk: parse_qualified_name(name) for pk, name in (
        Asset.objects.filter(data_source=data_source, type__in=TABLE_TYPES, removed_at__isnull=True)
        .annotate(lower_name=Lower("name")).filter(lower_name__in=words).values_list("pk", "qualified_name"))}
    columns: dict[int, list[str]] = {pk: [] for pk in tables}
    for parent_id, column in (Asset.objects.filter(type=Asset.Type.COLUMN, parent_id__in=tables,
                                                   removed_at__isnull=True)
                              .order_by("parent_id", "ordinal", "pk").values_list("parent_id", "name")):
        columns[parent_id].append(column)
    bare_names = Counter(path[-1].lower() for path in tables.values())
    schema: dict[str, list[str]] = {}
    for pk, path in tables.items():
        names = [path[i:] for i in range(len(path) - 1)]
        if default_schema is None and bare_names[path[-1].lower()] == 1:
            names.append(path[-1:])
        for name in names:
            schema[".".join(name)] = columns[pk]
    return schema


class _Resolver:
    """Maps the parser's names to a data source's assets, set-based: one query for the tables and views whose name
    could match, one for their columns. A name matches the assets whose qualified name ends with its parts
    (database, schema, table), the same case first and then any case; a name that matches no asset, or more
    than one (an unqualified ``orders`` in two schemas), is an external asset of the source."""

    def __init__(self, data_source: DataSource):
        self.source = data_source
        self.namespace = f"datasource/{data_source.pk}"
        self.external_tables: set[str] = set()
        self.unresolved_columns: set[str] = set()
        self.tables: dict[str, int] = {}  # parser's table name -> asset id, as mapped

    def flows(self, script) -> list[Flow]:
        table_names = {name for edge in script.table_edges for name in edge}
        column_names = {name for edge in script.column_edges for name in (edge.source, edge.target)}
        table_names |= {_split_column(name)[0] for name in column_names}
        tables = self.tables = self._tables(table_names)
        columns = self._columns(tables, column_names)
        flows = [Flow(self._table_end(source, tables), self._table_end(target, tables), LineageEdge.Level.TABLE,
                      direct=False) for source, target in script.table_edges]
        for edge in script.column_edges:
            ends = self._column_end(edge.source, tables, columns), self._column_end(edge.target, tables, columns)
            if None not in ends:
                flows.append(Flow(*ends, LineageEdge.Level.COLUMN, direct=bool(edge.direct)))
        return flows

    def _table_end(self, name: str, tables: dict[str, int]) -> End:
        if name in tables:
            return tables[name]
        self.external_tables.add(name)
        return ExternalName(self.namespace, name, "", self.source.pk)

    def shown_ends(self) -> dict[str, tuple[str, int | None, bool]]:
        """(qualified name, id, external) of each table name the parser gave, as it was mapped: a catalog asset, or
        an external asset of the source (its id null when a dry run did not create it). Two queries."""
        names = dict(Asset.objects.filter(pk__in=set(self.tables.values())).values_list("pk", "qualified_name"))
        ends = {name: (names[pk], pk, False) for name, pk in self.tables.items()}
        externals = dict(ExternalAsset.objects.filter(
            workspace_id=self.source.workspace_id, namespace=self.namespace, name__in=self.external_tables,
            field="").values_list("name", "pk")) if self.external_tables else {}
        for name in self.external_tables:
            ends[name] = (external_qualified_name(self.namespace, name, "", self.source.pk, self.source.name),
                          externals.get(name), True)
        return ends

    def _column_end(self, name: str, tables: dict[str, int], columns: dict[str, int]) -> End | None:
        table, column = _split_column(name)
        if table not in tables:
            self.external_tables.add(table)
            return ExternalName(self.namespace, table, column, self.source.pk)
        if name in columns:
            return columns[name]
        # A column the catalog does not hold on a table it does (not scanned since it was added, or named by a
        # parser that could not resolve it): left out rather than invented.
        self.unresolved_columns.add(name)
        return None

    def _tables(self, names: set[str]) -> dict[str, int]:
        return tables_matching([self.source.pk], {name: _name_parts(name) for name in names})

    def _columns(self, tables: dict[str, int], names: set[str]) -> dict[str, int]:
        return columns_matching(tables, {name: _split_column(name) for name in names})


def tables_matching(data_source_ids: Iterable[int], names: dict) -> dict:
    """``{key: table or view id}`` for the ``names`` (``{key: (database, schema, table) parts}``, as many parts as
    the name gives) that match one table or view of the data sources by the tail of its qualified name, the same
    case first and then any case (``_only_match``). Two queries at most, whatever the number of names."""
    if not names:
        return {}
    candidates = Asset.objects.filter(data_source_id__in=list(data_source_ids), type__in=TABLE_TYPES,
                                      removed_at__isnull=True)
    candidates = candidates.annotate(lower_name=Lower("name")).filter(
        lower_name__in={parts[-1].lower() for parts in names.values()}).values_list("pk", "qualified_name")
    paths = [(pk, parse_qualified_name(qualified_name)) for pk, qualified_name in candidates]
    found = {}
    for key, wanted in names.items():
        match = _only_match(tuple(wanted), paths)
        if match is not None:
            found[key] = match
    return found


def columns_matching(tables: dict, names: dict) -> dict:
    """``{key: column id}`` for the ``names`` (``{key: (table key, column name)}``) whose table is one of
    ``tables`` (``{table key: id}``, as ``tables_matching`` answers) and that name one of its columns, the same case
    first and then any case. One query."""
    wanted = {key: (table, column) for key, (table, column) in names.items() if table in tables}
    if not wanted:
        return {}
    rows = (Asset.objects.filter(type=Asset.Type.COLUMN, parent_id__in=set(tables.values()))
            .annotate(lower_name=Lower("name"))
            .filter(lower_name__in={column.lower() for _table, column in wanted.values()})
            .values_list("pk", "parent_id", "name"))
    by_parent: dict[int, list[tuple[int, tuple[str]]]] = {}
    for pk, parent_id, name in rows:
        by_parent.setdefault(parent_id, []).append((pk, (name,)))
    found = {}
    for key, (table, column) in wanted.items():
        match = _only_match((column,), by_parent.get(tables[table], []))
        if match is not None:
            found[key] = match
    return found


def _only_match(wanted: tuple[str, ...], paths: list[tuple[int, tuple[str, ...]]]) -> int | None:
    """The one path that ends with ``wanted``, in the same case, or else in any case; None if none or several."""
    for same in (lambda a, b: a == b, lambda a, b: a.lower() == b.lower()):
        matches = [pk for pk, path in paths
                   if len(path) >= len(wanted) and all(same(a, b) for a, b in zip(path[-len(wanted):], wanted,
                                                                                   strict=True))]
        if len(matches) == 1:
            return matches[0]
        if matches:
            return None
    return None
