"""Lineage read from the definitions a scan catalogs: views (materialized too), functions, procedures, triggers.

``definitions_lineage_record`` runs after every successful scan (scanning.subscribers.read_definition_lineage, on
``scan.finished``): outside the scan's run, so a scan is not slowed by it and never fails because of it, and
idempotent, so a redelivered event changes nothing. For each live view and routine of the source it hashes what
decides its lineage — the definition, the dialect, the search path, a view's own columns and, for a PostgreSQL
trigger, its function's body — and compares that with what it read last time (``DefinitionLineage``):

- new or changed: the definition is parsed (catalog.lineage.sql) in the source's dialect, and its edges replace
  those it had (``lineage_edges_replace_many``, a batch of definitions at a time; origin "view definition" for a
  view, "stored procedure" for a routine, keyed by the asset's id), so one origin never touches another's edges;
- unchanged: its edges and their records are marked seen (``lineage_edges_refresh``, one UPDATE for all);
- gone (removed by the scan, or no longer a view or routine): its edges are dropped, by their own origin only.

Names are matched to the source's tables and views as the database would: a qualified name by its parts, an
unqualified one through the search path (the definition's own schema, then ``public`` on PostgreSQL; its own
database on MySQL, ``main`` on SQLite), the same case first and then any case; ``SELECT *`` is expanded with the
columns the catalog knows. A name no scan has seen is kept as an external asset (namespace ``datasource/<id>``,
as for submitted SQL). A definition that cannot be read (a syntax the parser does not know, a body the scanning
account may not see, a language other than SQL) keeps no edges and says why in ``DefinitionLineage.problem``,
which the asset's admin page shows; it never fails the run.
"""
from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from accounts.actors import SystemActor
from accounts.models import User
from accounts.permissions import authorize, has_perm
from catalog.lineage.services import (
    MAX_SQL_CHARS,
    SCRIPT_SECONDS,
    STATEMENT_SECONDS,
    ExternalName,
    Flow,
    Replacement,
    lineage_edges_refresh,
    lineage_edges_replace_many,
)
from catalog.lineage.sql import DIALECT_ALIASES, accepted_dialect, sql_lineage
from catalog.models import Asset, DefinitionLineage, LineageEdge, LineageOrigin, LineageRecord
from sources.connectors import parse_qualified_name
from sources.models import DataSource

logger = logging.getLogger("racine.lineage")

# Part of every definition's hash: raise it when reading changes (a better parser, another resolution), so that
# the next scan reads every definition again.
READER_REVISION = "2"
# Definitions whose edges are written in one transaction: a failed write (the database, not the parser) loses at
# most these, and the next scan reads them again (their hash was not stored).
WRITE_BATCH = 100
ORIGINS = {Asset.Type.VIEW: LineageOrigin.VIEW, Asset.Type.ROUTINE: LineageOrigin.PROCEDURE}
ENGINE_DIALECTS = {DataSource.Engine.POSTGRESQL: "postgres", DataSource.Engine.MYSQL: "mysql",
                   DataSource.Engine.SQLITE: "sqlite"}
# Routine languages whose bodies are SQL the parser reads (PostgreSQL's sql and plpgsql; MySQL says "sql").
SQL_LANGUAGES = frozenset({"sql", "plpgsql"})
TABLE_TYPES = (Asset.Type.TABLE, Asset.Type.VIEW)
# A PostgreSQL function's body as pg_get_functiondef writes it: AS $function$ … $function$.
_DOLLAR_BODY = re.compile(r"\bAS\s+\$(\w*)\$(.*)\$\1\$", re.IGNORECASE | re.DOTALL)
_EXECUTES = re.compile(r"\bEXECUTE\s+(?:FUNCTION|PROCEDURE)\b.*\Z", re.IGNORECASE | re.DOTALL)
_STARTS_WITH_CREATE = re.compile(r"\A\s*CREATE\b", re.IGNORECASE)
# Words of a text that may name a table: bare identifiers, and the insides of "…", `…` and […] quotes.
_WORDS = re.compile(r'"([^"]+)"|`([^`]+)`|\[([^\]]+)\]|([A-Za-z_][A-Za-z0-9_$]*)')


@dataclass
class DefinitionsOutcome:
    """What one pass over a source's definitions did."""

    read: int = 0
    unchanged: int = 0
    dropped: int = 0
    problems: int = 0


@dataclass
class _Reading:
    """What one definition gave: its flows, and its DefinitionLineage row to store."""

    definition: _Definition
    flows: list[Flow]
    row: DefinitionLineage


@dataclass
class _Definition:
    """One view's or routine's text as the parser is given it, or why there is none."""

    asset: dict
    search_path: tuple[str, ...]
    text: str = ""
    problem: str = ""
    text_hash: str = ""


def definition_dialect(data_source: DataSource) -> str | None:
    """The parser's dialect for ``data_source``'s definitions: its engine's, or a SQLAlchemy URL's backend; None
    when the parser knows no such dialect."""
    name = ENGINE_DIALECTS.get(data_source.engine)
    if name is None:
        try:
            name = make_url((data_source.options or {}).get("url", "")).get_backend_name()
        except ArgumentError:
            return None
        name = DIALECT_ALIASES.get(name, name)
    try:
        return accepted_dialect(name)
    except ValueError:
        return None


def definitions_lineage_record(*, data_source: DataSource, acting_user: User | SystemActor) -> DefinitionsOutcome:
    """Read the lineage of ``data_source``'s new and changed view and routine definitions, refresh that of the
    unchanged ones and drop that of the gone ones (see the module's docstring). Definitions are written
    ``WRITE_BATCH`` to a transaction; one that fails to parse is recorded as a problem and the others are still
    read."""
    authorize(acting_user, lambda: has_perm(acting_user, "view", data_source))
    outcome = DefinitionsOutcome()
    dialect = definition_dialect(data_source)
    now = timezone.now()
    assets = list(Asset.objects.filter(data_source=data_source, type__in=list(ORIGINS), removed_at__isnull=True)
                  .order_by("pk").values("pk", "type", "qualified_name", "name", "properties"))
    outcome.dropped = _drop_gone(data_source, {asset["pk"] for asset in assets}, acting_user)
    if not assets:
        return outcome
    definitions = _definitions(data_source, assets, dialect)
    known = dict(DefinitionLineage.objects.filter(asset__data_source=data_source).values_list("asset_id", "text_hash"))
    unchanged = [d for d in definitions if known.get(d.asset["pk"]) == d.text_hash]
    changed = [d for d in definitions if known.get(d.asset["pk"]) != d.text_hash]
    if unchanged:
        _refresh(data_source, unchanged, now, acting_user)
        outcome.unchanged = len(unchanged)
    if changed:
        tables = _SourceTables(data_source, " ".join(d.text for d in changed))
        for start in range(0, len(changed), WRITE_BATCH):
            readings = [_read(dialect, definition, tables, now) for definition in changed[start:start + WRITE_BATCH]]
            _write(data_source, dialect, readings, acting_user)
            outcome.problems += sum(bool(reading.row.problem) for reading in readings)
        outcome.read = len(changed)
    logger.info("definition lineage read", extra={"data_source": data_source.pk, **vars(outcome)})
    return outcome


# --- what is read -------------------------------------------------------------------------------------------------


def _search_path(engine: str, path: tuple[str, ...]) -> tuple[str, ...]:
    """Where an unqualified name in the definition of the object at ``path`` (database, schema, name) is looked
    up: its own schema; then ``public`` on PostgreSQL, as a session's default search path has it."""
    schema = path[-2]
    if engine == DataSource.Engine.POSTGRESQL and schema != "public":
        return (schema, "public")
    return (schema,)


def _definitions(data_source: DataSource, assets: list[dict], dialect: str | None) -> list[_Definition]:
    quote = "`" if dialect == "mysql" else '"'

    def q(name: str) -> str:
        return quote + name.replace(quote, quote * 2) + quote

    by_name = {asset["qualified_name"]: asset for asset in assets}
    view_columns: dict[int, list[str]] = {}
    for parent_id, name in (Asset.objects.filter(parent_id__in=[a["pk"] for a in assets if a["type"] == "view"],
                                                 type=Asset.Type.COLUMN, removed_at__isnull=True)
                            .order_by("parent_id", "ordinal", "pk").values_list("parent_id", "name")):
        view_columns.setdefault(parent_id, []).append(name)
    definitions = []
    for asset in assets:
        path = parse_qualified_name(asset["qualified_name"])
        definition = _Definition(asset=asset, search_path=_search_path(data_source.engine, path))
        properties = asset["properties"] or {}
        if dialect is None:
            definition.problem = f"Racine cannot read SQL of this source's kind ({data_source.engine})."
        elif asset["type"] == Asset.Type.VIEW:
            text = (properties.get("view_definition") or "").strip().rstrip(";")
            if not text:
                definition.problem = "The source gave no definition for this view."
            else:
                if not _STARTS_WITH_CREATE.match(text):
                    text = f"CREATE VIEW {q(path[-2])}.{q(path[-1])} AS {text}"
                definition.text = text
        else:
            definition.text, definition.problem = _routine_text(properties, path, by_name, q)
        if len(definition.text) > MAX_SQL_CHARS:  # the bound of submitted SQL: the parser's time grows with it
            definition.problem = (f"The definition is {len(definition.text):,} characters long; at most "
                                  f"{MAX_SQL_CHARS:,} are read.")
            definition.text = ""
        # What decides the edges besides the text: a view's columns are their targets (SQLite keeps SELECT * in
        # its definitions: a new column of the table is a new column of the view, under the same text).
        decided_by = [READER_REVISION, dialect or "", *definition.search_path, definition.text, definition.problem,
                      *view_columns.get(asset["pk"], [])]
        definition.text_hash = hashlib.sha256("\0".join(decided_by).encode()).hexdigest()
        definitions.append(definition)
    return definitions


def _routine_text(properties: dict, path: tuple[str, ...], routines: dict[str, dict], q) -> tuple[str, str]:
    """(the text to parse, the problem) of a function, procedure or trigger."""
    kind = properties.get("kind", "")
    definition = (properties.get("definition") or "").strip()
    if properties.get("definition_hidden"):
        return "", ("The scanning account may not read this routine's body (MySQL shows it to its definer and to "
                    "accounts with SHOW_ROUTINE or SELECT on mysql.proc).")
    if not definition:
        return "", "The source gave no definition for this routine."
    language = (properties.get("language") or "sql").lower()
    if kind != "trigger" and language not in SQL_LANGUAGES:
        return "", f"Written in {language}: lineage is read from SQL only."
    if _STARTS_WITH_CREATE.match(definition) and not (kind == "trigger" and "function" in properties):
        return definition, ""  # PostgreSQL's functions and procedures, SQLite's triggers: the whole statement
    schema = q(path[-2])
    if kind == "trigger":
        function = properties.get("function")
        if function is not None:  # PostgreSQL: the trigger runs a function, whose body holds the SQL
            body = _function_body(routines.get(function))
            if body is None:
                return "", f"The body of the trigger's function {function} could not be read."
            return _EXECUTES.sub(lambda _match: body, definition), ""
        events = " OR ".join(properties.get("events") or ["INSERT"])
        name = path[-1][:len(path[-1]) - len(f" on {properties['table']}")]  # "orders_log on orders"
        return (f"CREATE TRIGGER {q(name)} "
                f"{properties.get('timing', 'AFTER')} {events} ON {schema}.{q(properties['table'])} "
                f"FOR EACH ROW {definition}"), ""
    arguments = properties.get("arguments", "")
    name = path[-1][:len(path[-1]) - len(arguments) - 2]  # "copy_orders(IN p_min int)" → "copy_orders"
    returns = f" RETURNS {properties['returns']}" if properties.get("returns") else ""
    return f"CREATE {kind.upper()} {schema}.{q(name)}({arguments}){returns} {definition}", ""


def _function_body(function: dict | None) -> str | None:
    if function is None or (function["properties"] or {}).get("language") not in SQL_LANGUAGES:
        return None
    match = _DOLLAR_BODY.search((function["properties"] or {}).get("definition") or "")
    return match.group(2) if match else None


# --- names to assets ---------------------------------------------------------------------------------------------


def _only_match(wanted: tuple[str, ...], paths: Iterable[tuple[int, tuple[str, ...]]]) -> int | None:
    """The one path that ends with ``wanted``, in the same case, or else in any case; None if none or several."""
    paths = list(paths)
    for same in (lambda a, b: a == b, lambda a, b: a.lower() == b.lower()):
        matches = [pk for pk, path in paths if len(path) >= len(wanted)
                   and all(same(a, b) for a, b in zip(path[-len(wanted):], wanted, strict=True))]
        if len(matches) == 1:
            return matches[0]
        if matches:
            return None
    return None


class _SourceTables:
    """The source's live tables and views that the definitions may name (their name is a word of the texts), and
    their columns: two queries for all the definitions of a pass."""

    def __init__(self, data_source: DataSource, texts: str):
        words = {next(group for group in match.groups() if group).lower() for match in _WORDS.finditer(texts)}
        self.namespace = f"datasource/{data_source.pk}"
        self.data_source_id = data_source.pk
        self.by_name: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for pk, qualified_name in (Asset.objects.filter(data_source=data_source, type__in=TABLE_TYPES,
                                                        removed_at__isnull=True)
                                   .annotate(lower_name=Lower("name")).filter(lower_name__in=words)
                                   .values_list("pk", "qualified_name")):
            path = parse_qualified_name(qualified_name)
            self.by_name.setdefault(path[-1].lower(), []).append((pk, path))
        self.columns: dict[int, list[tuple[int, str]]] = {}
        for pk, parent_id, name in (Asset.objects.filter(parent_id__in=[pk for rows in self.by_name.values()
                                                                        for pk, _path in rows],
                                                         type=Asset.Type.COLUMN, removed_at__isnull=True)
                                    .order_by("parent_id", "ordinal", "pk").values_list("pk", "parent_id", "name")):
            self.columns.setdefault(parent_id, []).append((pk, name))

    def table(self, parts: tuple[str, ...], search_path: tuple[str, ...]) -> int | None:
        candidates = self.by_name.get(parts[-1].lower(), [])
        if len(parts) > 1:
            return _only_match(parts, candidates)
        for schema in search_path:
            found = _only_match((schema, parts[0]), candidates)
            if found is not None:
                return found
        return None

    def column(self, table: int, name: str) -> int | None:
        return _only_match((name,), [(pk, (column,)) for pk, column in self.columns.get(table, [])])

    def schema_for(self, text: str, search_path: tuple[str, ...]) -> dict[str, list[str]]:
        """The columns of the tables ``text`` may name, under each name the parser may give them: ``schema.table``,
        ``database.schema.table``, and ``table`` for the one the search path finds."""
        words = {next(group for group in match.groups() if group).lower() for match in _WORDS.finditer(text)}
        schema: dict[str, list[str]] = {}
        for word in words & self.by_name.keys():
            for pk, path in self.by_name[word]:
                columns = [name for _pk, name in self.columns.get(pk, [])]
                for start in range(max(len(path) - 3, 0), len(path) - 1):
                    schema[".".join(path[start:])] = columns
                if self.table((path[-1],), search_path) == pk:
                    schema[path[-1]] = columns
        return schema


class _Ends:
    """Maps one definition's parser names to the source's assets, or to external assets of the source."""

    def __init__(self, tables: _SourceTables, search_path: tuple[str, ...]):
        self.tables = tables
        self.search_path = search_path
        self.external: set[str] = set()

    def _external_name(self, parts: tuple[str, ...]) -> str:
        name = ".".join(parts if len(parts) > 1 else (self.search_path[0], *parts))
        self.external.add(name)
        return name

    def table(self, name: str) -> int | ExternalName:
        parts = tuple(name.split("."))
        found = self.tables.table(parts, self.search_path)
        if found is not None:
            return found
        return ExternalName(self.tables.namespace, self._external_name(parts), "", self.tables.data_source_id)

    def column(self, name: str) -> int | ExternalName | None:
        table_name, _, column = name.rpartition(".")
        table = self.table(table_name)
        if isinstance(table, ExternalName):
            return ExternalName(table.namespace, table.name, column, table.data_source_id)
        return self.tables.column(table, column)  # a column the catalog does not hold is left out, not invented

    def flows(self, script) -> list[Flow]:
        flows = [Flow(self.table(source), self.table(target), LineageEdge.Level.TABLE)
                 for source, target in script.table_edges]
        for edge in script.column_edges:
            source, target = self.column(edge.source), self.column(edge.target)
            if source is not None and target is not None:
                flows.append(Flow(source, target, LineageEdge.Level.COLUMN, direct=bool(edge.direct)))
        return flows


# --- writes -------------------------------------------------------------------------------------------------------


def _read(dialect, definition: _Definition, tables: _SourceTables, now) -> _Reading:
    """Parse one definition into flows; a failure is its problem."""
    asset = definition.asset
    flows: list[Flow] = []
    problem, external = definition.problem, []
    if definition.text:
        try:
            script = sql_lineage(definition.text, dialect=dialect,
                                 schema=tables.schema_for(definition.text, definition.search_path),
                                 statement_seconds=STATEMENT_SECONDS, script_seconds=SCRIPT_SECONDS)
            ends = _Ends(tables, definition.search_path)
            flows = ends.flows(script)
            external = sorted(ends.external)
            problem = "; ".join(f"line {error.line}: {error.reason}" for error in script.errors)
        except Exception as exc:  # noqa: BLE001 — the parser's own failure is this definition's problem, not the run's
            logger.exception("definition lineage failed", extra={"asset": asset["pk"]})
            problem = f"The definition could not be read: {type(exc).__name__}: {exc}"
    levels = [flow.level for flow in flows]
    return _Reading(definition, flows, DefinitionLineage(
        asset_id=asset["pk"], text_hash=definition.text_hash, read_at=now, seen_at=now, problem=problem[:10_000],
        table_edges=levels.count(LineageEdge.Level.TABLE), column_edges=levels.count(LineageEdge.Level.COLUMN),
        external_tables=external))


@transaction.atomic
def _write(data_source, dialect, readings: list[_Reading], acting_user) -> None:
    """Each definition's edges replaced (by its own origin and key), and what was read stored, in one transaction:
    a fixed number of statements for the batch."""
    lineage_edges_replace_many(
        workspace=data_source.workspace, dialect=dialect or "", data_source=data_source, acting_user=acting_user,
        replacements=[Replacement(ORIGINS[reading.definition.asset["type"]], str(reading.definition.asset["pk"]),
                                  reading.flows, reading.definition.text) for reading in readings])
    DefinitionLineage.objects.bulk_create(
        [reading.row for reading in readings], update_conflicts=True, unique_fields=["asset"],
        update_fields=["text_hash", "read_at", "seen_at", "problem", "table_edges", "column_edges",
                       "external_tables"])


@transaction.atomic
def _refresh(data_source, unchanged: list[_Definition], now, acting_user) -> None:
    for asset_type, origin in ORIGINS.items():
        keys = [str(d.asset["pk"]) for d in unchanged if d.asset["type"] == asset_type]
        if keys:
            lineage_edges_refresh(workspace=data_source.workspace, origin=origin, origin_keys=keys,
                                  acting_user=acting_user)
    DefinitionLineage.objects.filter(asset_id__in=[d.asset["pk"] for d in unchanged]).update(seen_at=now)


def _drop_gone(data_source: DataSource, live: set[int], acting_user) -> int:
    """Drop the edges of this source's definitions that are no longer live views or routines (removed by a scan,
    or now a table), found by the records they were read from; and what was read of them."""
    recorded = set(LineageRecord.objects.filter(data_source=data_source, origin__in=list(ORIGINS.values()))
                   .values_list("origin", "origin_key").distinct())
    gone = sorted((origin, key) for origin, key in recorded if not key.isdigit() or int(key) not in live)
    if gone:
        lineage_edges_replace_many(workspace=data_source.workspace, data_source=data_source, acting_user=acting_user,
                                   replacements=[Replacement(origin, key, []) for origin, key in gone])
    DefinitionLineage.objects.filter(asset__data_source=data_source).filter(
        Q(asset__removed_at__isnull=False) | ~Q(asset__type__in=list(ORIGINS))).delete()
    return len(gone)
