"""The hand-written SQL lineage accuracy corpus (issue 14): loading and validation.

Each file `corpus/<dialect>.yaml` holds statements whose expected lineage was written by hand from the SQL, never
from a lineage tool's output. Conventions shared with `catalog.lineage.sql`:

- names are qualified with the defaults applied (`database.schema.table` when a database is named or a default
  database is given, else `schema.table`, else `table`), lower-case; comparison is case-insensitive;
- table edges: every table a statement reads (FROM, JOIN, WHERE subqueries, USING) -> the table it writes; a table
  is never its own source (the target read by UPDATE/MERGE adds no edge); SELECT-only statements have no edges;
- column edges S -> T when S's value contributes to T's value (projection expressions, aggregates, CASE, window
  arguments with their PARTITION BY / ORDER BY, through CTEs, subqueries and UNION branches by position); columns
  used only to filter, join, group or order rows add no edge; literal-only or `count(*)` targets have none;
- scripts and procedure bodies: temporary tables (TEMP, `#t`, created and dropped in the script) collapse into the
  end-to-end flow; persistent intermediate tables stay nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

CORPUS_DIR = Path(__file__).with_name("corpus")

_CASE_KEYS = {"id", "about", "sql", "tables", "columns", "schema", "default_database", "default_schema", "sqlglot_note"}
_REQUIRED_CASE_KEYS = {"id", "about", "sql", "tables", "columns"}
_FILE_KEYS = {"dialect", "default_database", "default_schema", "cases"}


class CorpusError(ValueError):
    """A corpus file breaks the format: the message names the file and the case."""


@dataclass(frozen=True)
class CorpusCase:
    id: str
    about: str
    dialect: str
    sql: str
    default_database: str | None
    default_schema: str | None
    schema: dict[str, list[str]]
    # Expected lineage, lower-cased: (source table, target table) and (source column, target column) pairs.
    table_edges: frozenset[tuple[str, str]]
    column_edges: frozenset[tuple[str, str]]
    # Set when sqlglot cannot parse this valid statement fully (it falls back to a generic command); the engine is
    # expected to cope, e.g. by analysing a procedure body on its own.
    sqlglot_note: str | None


def _edges(mapping, *, where: str, parts: tuple[int, ...]) -> frozenset[tuple[str, str]]:
    if not isinstance(mapping, dict):
        raise CorpusError(f"{where}: expected a mapping of target -> [sources], got {type(mapping).__name__}")
    edges = set()
    for target, sources in mapping.items():
        if not isinstance(sources, list) or not sources:
            raise CorpusError(f"{where}: {target!r} needs a non-empty list of sources (omit targets with none)")
        for name in [target, *sources]:
            if not isinstance(name, str) or len(name.split(".")) not in parts:
                raise CorpusError(f"{where}: {name!r} is not a qualified name of {' or '.join(map(str, parts))} parts")
        edges.update((source.lower(), target.lower()) for source in sources)
    return frozenset(edges)


def _case(raw: dict, *, path: Path, defaults: dict) -> CorpusCase:
    where = f"{path.name}: case {raw.get('id', '?')!r}"
    missing = _REQUIRED_CASE_KEYS - raw.keys()
    if missing:
        raise CorpusError(f"{where}: missing {', '.join(sorted(missing))}")
    unknown = raw.keys() - _CASE_KEYS
    if unknown:
        raise CorpusError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    if not isinstance(raw["sql"], str) or not raw["sql"].strip():
        raise CorpusError(f"{where}: sql must be a non-empty string")
    schema = raw.get("schema") or {}
    if not all(isinstance(columns, list) and columns for columns in schema.values()):
        raise CorpusError(f"{where}: schema maps each table to a non-empty list of columns")
    return CorpusCase(
        id=raw["id"],
        about=raw["about"],
        dialect=defaults["dialect"],
        sql=raw["sql"],
        default_database=raw.get("default_database", defaults.get("default_database")),
        default_schema=raw.get("default_schema", defaults.get("default_schema")),
        schema=schema,
        table_edges=_edges(raw["tables"], where=f"{where} tables", parts=(1, 2, 3)),
        column_edges=_edges(raw["columns"], where=f"{where} columns", parts=(2, 3, 4)),
        sqlglot_note=raw.get("sqlglot_note"),
    )


def load_file(path: Path) -> list[CorpusCase]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or "dialect" not in document or "cases" not in document:
        raise CorpusError(f"{path.name}: needs 'dialect' and 'cases'")
    unknown = document.keys() - _FILE_KEYS
    if unknown:
        raise CorpusError(f"{path.name}: unknown keys {', '.join(sorted(unknown))}")
    return [_case(raw, path=path, defaults=document) for raw in document["cases"]]


def load_corpus(directory: Path = CORPUS_DIR) -> list[CorpusCase]:
    """Every case of every corpus file, validated; case ids are unique across the corpus."""
    cases = [case for path in sorted(directory.glob("*.yaml")) for case in load_file(path)]
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise CorpusError(f"duplicate case id {case.id!r}")
        seen.add(case.id)
    return cases
