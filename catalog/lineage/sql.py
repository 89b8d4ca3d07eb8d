"""SQL lineage: which tables and columns a script's statements read to write which (issue 14 items 2 and 3).

Pure Python over sqlglot; no Django. Conventions (docs/architecture.md, "SQL lineage engine"):

- A table edge (source, target) for every stored table a statement reads while writing the target, wherever it is
  read: FROM, JOIN, a subquery in WHERE or in the projection, MERGE's USING. CTE names are not tables.
- A column edge S → T when S's value contributes to T's value: every column of the expression computing T
  (functions, CASE, aggregates, window arguments and their PARTITION BY/ORDER BY), not the columns used only to
  filter, join, group or sort. ``direct`` when T is S unchanged (a bare reference or a rename).
- Without a schema, a bare column of UPDATE … FROM is the target's, and one of MERGE the source's.
- UPDATE and MERGE change their target in place: the target reading itself makes no table edge and a column
  assigned from itself (``SET n = n + 1``) no column edge; ``SET total = price * qty`` on the same table does.
- INSERT without a column list takes the target's columns from the known schema by position, else the names the
  query outputs.
- Temporary tables (CREATE TEMP/TEMPORARY, T-SQL #t and @t, Spark's CACHE TABLE, DECLARE GLOBAL TEMPORARY,
  and tables a script creates and later drops) are collapsed in the script's end-to-end edges: A → #t → B
  becomes A → B.
"""
from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError

from catalog.lineage.budget import TookTooLong, time_budget
from catalog.lineage.columns import ColumnResolver, Relation, Scope, Sources, stored_table
from catalog.lineage.dialects import lineage_dialect
from catalog.lineage.names import KnownSchema, Namer
from catalog.lineage.results import ColumnEdge, ScriptLineage, StatementError, StatementLineage
from catalog.lineage.split import Piece, PieceKind, body_pieces, routine_body, script_pieces

DIALECTS = ("athena", "bigquery", "clickhouse", "databricks", "doris", "drill", "duckdb", "exasol", "fabric",
            "hive", "materialize", "mysql", "oracle", "postgres", "presto", "redshift", "risingwave", "snowflake",
            "spark", "spark2", "sqlite", "starrocks", "teradata", "trino", "tsql")
DIALECT_ALIASES = {"mariadb": "mysql", "postgresql": "postgres", "sqlserver": "tsql", "mssql": "tsql"}
# Where SELECT … INTO x inside a routine assigns variables instead of creating a table.
INTO_IS_A_TABLE_IN_ROUTINES = frozenset({"tsql", "fabric"})
# Where COLUMNS('regex') / COLUMNS(*) in a projection stands for the columns it matches.
COLUMN_SELECTORS = frozenset({"duckdb", "clickhouse"})
# Where OUTPUT … INTO names a table (T-SQL); elsewhere RETURNING … INTO assigns variables (PL/pgSQL, PL/SQL).
OUTPUT_INTO_A_TABLE = frozenset({"tsql", "fabric"})
# sqlglot parses recursively: a statement nested past the interpreter's recursion limit is reported, not raised.
TOO_DEEP = "nested too deeply to read (parentheses or subqueries)"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TOKEN_REPR = re.compile(r"<Token token_type: [\w.]+, text: (.*?), line: .*?>")
_TRIGGER_TABLE = re.compile(r"^\s*CREATE\s+(?:OR\s+\w+\s+)?(?:DEFINER\s*=\s*\S+\s+)?TRIGGER\s+.*?\bON\s+"
                            r"([\w.\"`\[\]]+)", re.IGNORECASE | re.DOTALL)
_REPLACE_INTO = re.compile(r"^\s*REPLACE\s+INTO\b", re.IGNORECASE)
_DECLARED_TEMPORARY = re.compile(r"^\s*DECLARE\s+GLOBAL\s+TEMPORARY\s+TABLE\s+([\w.\"`\[\]]+)", re.IGNORECASE)

TableEdges = set[tuple[str, str]]
ColumnEdges = dict[tuple[str, str], bool]


def accepted_dialect(dialect: str) -> str:
    name = DIALECT_ALIASES.get(dialect.lower(), dialect.lower()) if isinstance(dialect, str) else dialect
    if name not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; accepted: {', '.join(DIALECTS + tuple(DIALECT_ALIASES))}")
    return name


class TooManyStatements(ValueError):
    """The script holds more statements than the caller reads at once."""

    def __init__(self, found: int, limit: int):
        super().__init__(f"The SQL holds {found:,} statements; at most {limit:,} are read at once.")
        self.found, self.limit = found, limit


def sql_lineage(sql: str, *, dialect: str, default_database: str | None = None, default_schema: str | None = None,
                schema: Mapping[str, Sequence[str]] | None = None, max_statements: int | None = None,
                statement_seconds: float | None = None, script_seconds: float | None = None) -> ScriptLineage:
    """Table and column lineage of every statement of ``sql``, and of the script end to end.

    ``schema`` maps known tables (``db.schema.table``, ``schema.table`` or ``table``, completed with the
    defaults) to their column names in order: it expands ``SELECT *`` and attributes unqualified columns.
    A statement that does not parse is reported in ``errors`` and the others are still analysed.

    Limits (None: none): more than ``max_statements`` top-level statements raise `TooManyStatements` before any
    is read; a statement read for longer than ``statement_seconds`` is given up and reported in ``errors``; once
    the script has been read for ``script_seconds``, the statements left are reported unread.
    """
    name = accepted_dialect(dialect)
    namer = Namer(name, default_database, default_schema)
    analyser = _Analyser(lineage_dialect(name), name, namer, KnownSchema(namer, schema))
    try:
        with time_budget(script_seconds):
            pieces = script_pieces(sql, analyser.dialect, name)
    except TookTooLong:
        reason = f"not read: cutting the script into statements took over {script_seconds:g} s"
        whole = StatementLineage(index=0, line=1, kind="other", target=(), table_edges=frozenset(),
                                 column_edges=frozenset(), error=reason)
        return ScriptLineage(statements=[whole], table_edges=frozenset(), column_edges=frozenset(),
                             errors=[StatementError(0, 1, reason)])
    if max_statements is not None and len(pieces) > max_statements:
        raise TooManyStatements(len(pieces), max_statements)
    deadline = None if script_seconds is None else time.monotonic() + script_seconds
    statements, errors, writes = [], [], []
    for index, piece in enumerate(pieces):
        write = analyser.within_budget(piece, sql, statement_seconds, deadline, script_seconds)
        writes.append(write)
        statements.append(StatementLineage(
            index=index, line=piece.line, kind=write.kind, target=tuple(write.targets),
            table_edges=frozenset(write.table_edges), column_edges=_column_edges(write.column_edges),
            error=write.error))
        if write.error:
            errors.append(StatementError(index, piece.line, write.error))
        errors.extend(StatementError(index, line, reason) for line, reason in write.inner_errors)
    table_edges, column_edges = collapse(writes)
    return ScriptLineage(statements=statements, table_edges=frozenset(table_edges),
                         column_edges=_column_edges(column_edges), errors=errors)


def _column_edges(edges: ColumnEdges) -> frozenset[ColumnEdge]:
    return frozenset(ColumnEdge(source, target, direct) for (source, target), direct in edges.items())


@dataclass
class Write:
    """What one statement does to the tables of the script."""

    kind: str
    targets: list[str] = field(default_factory=list)
    table_edges: TableEdges = field(default_factory=set)
    column_edges: ColumnEdges = field(default_factory=dict)
    replaces: bool = False  # CREATE … AS, SELECT INTO: the target holds only what this statement wrote
    created: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)
    temporary: set[str] = field(default_factory=set)
    error: str | None = None
    inner_errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason) inside a routine body


def _table_of(column: str) -> str:
    return column.rsplit(".", 1)[0]


def collapse(writes: list[Write]) -> tuple[TableEdges, ColumnEdges]:
    """End-to-end edges of a sequence of statements, temporary tables replaced by what they were filled from."""
    temporary: set[str] = set().union(*(write.temporary for write in writes)) if writes else set()
    temporary.update(target for write in writes for target in write.targets if target[:1] in ("#", "@"))
    created_at: dict[str, int] = {}
    for position, write in enumerate(writes):
        for table in write.created:
            created_at.setdefault(table, position)
        temporary.update(table for table in write.dropped if created_at.get(table, position) < position)
    table_sources: dict[str, set[str]] = {}  # temporary table -> the persistent tables it holds data from
    column_sources: dict[str, Sources] = {}  # temporary column -> persistent columns
    tables: TableEdges = set()
    columns: ColumnEdges = {}
    for write in writes:
        resolved_tables: dict[str, set[str]] = {}
        for source, target in write.table_edges:
            upstream = table_sources.get(source, {source}) if source in temporary else {source}
            resolved_tables.setdefault(target, set()).update(upstream)
        resolved_columns: dict[str, Sources] = {}
        for (source, target), direct in write.column_edges.items():
            upstream = column_sources.get(source, {}) if _table_of(source) in table_sources else None
            collected = resolved_columns.setdefault(target, {})
            for column, upstream_direct in (upstream.items() if upstream is not None else [(source, True)]):
                collected[column] = collected.get(column, False) or (direct and upstream_direct)
        for target in write.targets:
            if target in temporary:
                if write.replaces or target not in table_sources:
                    table_sources[target] = set()
                    for column in [c for c in column_sources if _table_of(c) == target]:
                        del column_sources[column]
                table_sources[target].update(resolved_tables.get(target, ()))
            else:
                tables.update((source, target) for source in resolved_tables.get(target, ()))
        for target_column, sources in resolved_columns.items():
            bucket = column_sources.setdefault(target_column, {}) if _table_of(target_column) in temporary else None
            for source, direct in sources.items():
                if bucket is not None:
                    bucket[source] = bucket.get(source, False) or direct
                else:
                    columns[(source, target_column)] = columns.get((source, target_column), False) or direct
        for table in write.dropped:
            if table in temporary:
                table_sources.pop(table, None)
    return tables, columns


class _Analyser:
    def __init__(self, dialect: Dialect, name: str, namer: Namer, schema: KnownSchema):
        self.dialect = dialect
        self.name = name
        self.namer = namer
        self.schema = schema
        self.resolver = ColumnResolver(namer, schema, column_selectors=name in COLUMN_SELECTORS)
        # Inside a trigger: NEW and OLD are rows of the trigger's table.
        self.row_scope: Scope | None = None
        self.trigger_table: str | None = None

    # --- pieces --------------------------------------------------------------------------------------------

    def within_budget(self, piece: Piece, sql: str, statement_seconds: float | None, deadline: float | None,
                      script_seconds: float | None) -> Write:
        """A top-level piece read within its time budget: the statement's, or what is left of the script's."""
        budget = statement_seconds
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return Write("other", error=f"not read: the script's {script_seconds:g} s were spent on the "
                                            "statements before it")
            budget = left if budget is None else min(budget, left)
        try:
            with time_budget(budget):
                return self.piece(piece, sql, in_routine=False)
        except TookTooLong:
            self.row_scope = self.trigger_table = None  # a routine given up half-way leaves no trigger scope behind
            return Write("other", error=f"took too long to read (over {budget:.3g} s); given up, the rest read on")

    def piece(self, piece: Piece, sql: str, *, in_routine: bool) -> Write:
        if piece.kind is PieceKind.PROCEDURE:
            return self.routine(piece, sql)
        declared = _DECLARED_TEMPORARY.match(piece.text)
        if declared:
            table = self.namer.table(exp.to_table(declared.group(1), dialect=self.dialect))
            return Write("create_table", created={table}, temporary={table})
        if self.name in ("mysql", "doris", "starrocks") and _REPLACE_INTO.match(piece.text):
            # MySQL's REPLACE INTO is an INSERT that deletes conflicting rows first: the same lineage.
            return self.piece_text(_REPLACE_INTO.sub("INSERT INTO", piece.text, count=1), in_routine)
        try:
            if piece.tokens is None:
                trees = self.dialect.parse(piece.text)
            else:
                trees = self.dialect.parser().parse(piece.tokens, piece.source)
            trees = [tree for tree in trees if tree is not None]
        except (ParseError, TokenError) as error:
            return Write("other", error=_reason(error))
        except RecursionError:
            return Write("other", error=TOO_DEEP)
        if not trees:
            return Write("other")
        try:
            writes = [self.statement(tree, in_routine=in_routine) for tree in trees]
        except Exception as error:  # a shape the analysis does not know must not fail the rest of the script
            return Write("other", error=f"not analysed: {type(error).__name__}: {error}")
        if len(writes) == 1:
            return writes[0]
        combined = Write(writes[0].kind)
        for write in writes:
            _absorb(combined, write)
        return combined

    def routine(self, piece: Piece, sql: str) -> Write:
        body = routine_body(piece, self.dialect)
        write = Write("procedure")
        if body is None:
            return write
        inner = []
        self.trigger_table = self._trigger_table(piece)
        if self.trigger_table is not None:
            row = stored_table(self.trigger_table, self.schema.columns(self.trigger_table))
            self.row_scope = Scope(None, {}, relations={"new": row, "old": row})
        for inner_piece in body_pieces(body.text, body.offset, sql, self.dialect, self.name):
            analysed = self.piece(inner_piece, sql, in_routine=True)
            if analysed.error:
                write.inner_errors.append((inner_piece.line, analysed.error))
            write.inner_errors.extend(analysed.inner_errors)
            inner.append(analysed)
        self.row_scope = self.trigger_table = None
        write.table_edges, write.column_edges = collapse(inner)
        temporary = set().union(*(w.temporary for w in inner)) if inner else set()
        write.targets = sorted({target for w in inner for target in w.targets if target not in temporary
                                and target[:1] not in ("#", "@")})
        return write

    def _trigger_table(self, piece: Piece) -> str | None:
        """The table of CREATE TRIGGER … {BEFORE|AFTER|INSTEAD OF} … ON table."""
        match = _TRIGGER_TABLE.match(piece.text)
        if match is None:
            return None
        try:
            return self.namer.table(exp.to_table(match.group(1), dialect=self.dialect))
        except (ParseError, TokenError):
            return None

    # --- statements ----------------------------------------------------------------------------------------

    def statement(self, tree: exp.Expression, *, in_routine: bool) -> Write:
        write = self._statement(tree, in_routine=in_routine)
        returning = tree.args.get("returning")
        if self.name in OUTPUT_INTO_A_TABLE and isinstance(tree, exp.Insert | exp.Update | exp.Delete | exp.Merge) \
                and isinstance(returning, exp.Returning) and returning.args.get("into") is not None:
            _absorb(write, self.output_into(tree, write, returning))
        return write

    def _statement(self, tree: exp.Expression, *, in_routine: bool) -> Write:
        if isinstance(tree, exp.Insert):
            return self.insert(tree)
        if isinstance(tree, exp.Cache) and isinstance(tree.expression, exp.Query):
            # Spark's CACHE TABLE t AS SELECT: a session-scoped table, temporary.
            write = self.create(exp.Create(this=tree.this, kind="TABLE", expression=tree.expression))
            write.temporary = set(write.targets)
            return write
        if isinstance(tree, exp.Uncache):
            return Write("drop")
        if isinstance(tree, exp.MultitableInserts):
            return self.multitable_insert(tree)
        if isinstance(tree, exp.Create):
            return self.create(tree)
        if isinstance(tree, exp.Merge):
            return self.merge(tree)
        if isinstance(tree, exp.Update):
            return self.update(tree)
        if isinstance(tree, exp.Query):
            leftmost = tree
            while isinstance(leftmost, exp.SetOperation):
                leftmost = leftmost.left
            into = tree.args.get("into") or leftmost.args.get("into")
            if into is not None and (not in_routine or self.name in INTO_IS_A_TABLE_IN_ROUTINES):
                return self.select_into(tree, into)
            return Write("select")
        if isinstance(tree, exp.Delete):
            return Write("delete")
        if isinstance(tree, exp.Drop):
            if (tree.args.get("kind") or "").upper() in ("TABLE", "VIEW"):
                tables = tree.args.get("tables") or [tree.this]
                dropped = {self.namer.table(t) for t in tables if isinstance(t, exp.Table)}
                for table in dropped:
                    self.schema.forget(table)
                return Write("drop", dropped=dropped)
            return Write("drop")
        if isinstance(tree, exp.Command) and tree.name.upper() in ("INSERT", "UPDATE", "MERGE", "DELETE", "CREATE"):
            return Write("other", error=f"{tree.name.upper()} statement in a form the parser does not support")
        return Write("other")

    def piece_text(self, text: str, in_routine: bool) -> Write:
        try:
            tree = sqlglot.parse_one(text, dialect=self.dialect)
        except (ParseError, TokenError) as error:
            return Write("other", error=_reason(error))
        except RecursionError:
            return Write("other", error=TOO_DEEP)
        return self.statement(tree, in_routine=in_routine)

    def multitable_insert(self, tree: exp.MultitableInserts) -> Write:
        """Snowflake/Oracle INSERT ALL/FIRST: each INTO takes values from the one source query."""
        source = tree.args["source"]
        scope = Scope(None, {})
        if isinstance(source, exp.Query) and not source.args.get("alias"):
            relation = self.resolver.query(source, None, {})
            scope.relations["_source"] = relation
        else:  # Hive/Spark FROM-first: FROM t [alias] INSERT … SELECT …, each SELECT reads t by its alias
            alias, relation = self.resolver.from_item(source, scope)
            scope.relations[alias] = relation
        reads = self._reads(source, set())
        write = Write("insert")
        for branch in tree.expressions:
            insert = branch.this if isinstance(branch, exp.ConditionalInsert) else branch
            if not isinstance(insert, exp.Insert):
                continue
            target_node, names = insert.this, None
            if isinstance(target_node, exp.Schema):
                names = [self.namer.column(c) for c in target_node.expressions]
                target_node = target_node.this
            target = self.namer.table(target_node)
            if target not in write.targets:
                write.targets.append(target)
            write.table_edges |= {(read, target) for read in reads}
            values = insert.expression
            if isinstance(values, exp.Query) and not isinstance(values, exp.Values):
                branch_relation = self.resolver.query(values, scope, {})
                write.table_edges |= {(read, target) for read in self._reads(values, set())}
                target_names = names or self._insertable_columns(target, target_node)
                for key, direct in self._positional(target, target_names, branch_relation, by_name=False).items():
                    write.column_edges[key] = write.column_edges.get(key, False) or direct
            elif isinstance(values, exp.Values) and values.expressions:
                row = values.expressions[0]
                expressions = row.expressions if isinstance(row, exp.Tuple) else [row]
                names = names or self.schema.columns(target) or []
                for name, value in zip(names, expressions, strict=False):
                    self._assign(write.column_edges, target, name, self.resolver.expression(value, scope))
            else:
                for key, direct in self._positional(target, names or self.schema.columns(target), relation,
                                                    by_name=False).items():
                    write.column_edges[key] = write.column_edges.get(key, False) or direct
        return write

    def insert(self, tree: exp.Insert) -> Write:
        target_node = tree.this
        names = None
        if isinstance(target_node, exp.Schema):
            names = [self.namer.column(c) for c in target_node.expressions]
            target_node = target_node.this
        if not isinstance(target_node, exp.Table):
            return Write("insert")
        target = self.namer.table(target_node)
        write = Write("insert", targets=[target])
        source = tree.expression
        if source is None:
            return write
        ctes = self.resolver.with_clause(tree.args.get("with_"), self.row_scope, {})
        relation = self.resolver.query(source, self.row_scope, ctes)
        if names is None and not tree.args.get("by_name"):
            names = self._insertable_columns(target, target_node)
        write.column_edges = self._positional(target, names, relation, by_name=bool(tree.args.get("by_name")))
        write.table_edges = {(read, target) for read in self._reads(tree, {id(target_node)})}
        return write

    def create(self, tree: exp.Create) -> Write:
        kind = (tree.args.get("kind") or "").upper()
        if kind not in ("TABLE", "VIEW"):
            return Write("procedure" if kind in ("FUNCTION", "PROCEDURE") else "other")
        target_node, names = tree.this, None
        properties = tree.args.get("properties")
        if isinstance(target_node, exp.Schema):
            names = []
            for item in target_node.expressions:
                if isinstance(item, exp.ColumnDef | exp.Identifier | exp.Column):
                    names.append(self.namer.column(item.this if isinstance(item, exp.ColumnDef) else item))
                elif isinstance(item, exp.LikeProperty):  # PostgreSQL: CREATE TABLE t (LIKE s, extra int)
                    names.extend(self._like_columns(item))
            target_node = target_node.this
        elif properties is not None:  # MySQL, Snowflake, Spark: CREATE TABLE t LIKE s
            names = [name for like in properties.expressions if isinstance(like, exp.LikeProperty)
                     for name in self._like_columns(like)] or None
        if not isinstance(target_node, exp.Table):
            return Write("other")
        target = self.namer.table(target_node)
        temporary = target.startswith("#") or bool(
            properties and any(isinstance(p, exp.TemporaryProperty) for p in properties.expressions))
        query = tree.expression
        write = Write("create_view" if kind == "VIEW" else "create_table", targets=[target], created={target},
                      temporary={target} if temporary else set())
        if not isinstance(query, exp.Query):
            if names:
                self.schema.define(target, names)
            return write
        if kind == "TABLE":
            write.kind = "create_table_as"
        write.replaces = True
        relation = self.resolver.query(query, None, {})
        write.column_edges = self._positional(target, names or None, relation, by_name=False)
        output_names = names or relation.names
        if output_names:
            self.schema.define(target, output_names)
        write.table_edges = {(read, target) for read in self._reads(query, set())}
        return write

    def output_into(self, tree: exp.Expression, write: Write, returning: exp.Returning) -> Write:
        """T-SQL ``OUTPUT … INTO t``: the rows a statement changed, copied into ``t``. ``deleted.c`` is the row's
        value before the statement, ``inserted.c`` after it (what the statement assigned, else the value it had)."""
        target = write.targets[0] if write.targets else self._deleted_from(tree)
        into = returning.args["into"]
        into_node = into.this if isinstance(into, exp.Schema) else into
        if target is None or not isinstance(into_node, exp.Table):
            return Write(write.kind)
        copy = self.namer.table(into_node)
        assigned: dict[str, Sources] = {}
        for (source, target_column), direct in write.column_edges.items():
            if _table_of(target_column) == target:
                assigned.setdefault(target_column.rsplit(".", 1)[1], {})[source] = direct
        scope = Scope(self.row_scope, {})
        if isinstance(tree, exp.Update | exp.Delete):
            self.resolver.add_from(tree, scope)
            if isinstance(tree, exp.Delete) and isinstance(tree.this, exp.Table):
                self.resolver._add(tree.this, scope)
        scope.relations["deleted"] = stored_table(target, None)
        scope.relations["inserted"] = Relation(columns=list(assigned.items()), open_to=[stored_table(target, None)])
        names = [self.namer.column(c) for c in into.expressions] if isinstance(into, exp.Schema) else \
            self.schema.columns(copy)
        output = Write(write.kind, targets=[copy])
        reads: set[str] = set()
        for position, expression in enumerate(returning.expressions):
            if names is not None:
                if position >= len(names):
                    break
                name = names[position]
            elif expression.alias_or_name:
                name = self.namer.text(expression.alias_or_name)
            else:
                continue
            sources = self.resolver.expression(expression.unalias(), scope)
            reads.update(_table_of(source) for source in sources)
            self._assign(output.column_edges, copy, name, sources)
        output.table_edges = {(read, copy) for read in (reads or {target}) if read != copy}
        return output

    def _deleted_from(self, tree: exp.Expression) -> str | None:
        """The table a T-SQL DELETE removes rows from: ``DELETE [FROM] t``, or ``DELETE a FROM t a JOIN …``."""
        if not isinstance(tree, exp.Delete):
            return None
        named = (tree.args.get("tables") or [None])[0]
        candidates = [tree.this] + [join.this for join in (tree.this.args.get("joins") or [])] \
            if isinstance(tree.this, exp.Table) else []
        if named is None:
            return self.namer.table(tree.this) if isinstance(tree.this, exp.Table) else None
        wanted = self.namer.identifier(named.this)
        for candidate in candidates:
            alias = candidate.args.get("alias")
            if isinstance(candidate, exp.Table) and not named.args.get("db") and alias is not None \
                    and self.namer.identifier(alias.this) == wanted:
                return self.namer.table(candidate)
        return self.namer.table(named)

    def _insertable_columns(self, target: str, target_node: exp.Table) -> list[str] | None:
        """The target's known columns a query fills by position: Hive/Spark's static partition columns
        (``PARTITION (country = 'FR', day)``) take their value from the clause, so the query skips them."""
        columns = self.schema.columns(target)
        partition = target_node.args.get("partition")
        if columns is None or not isinstance(partition, exp.Partition):
            return columns
        static = {self.namer.column(item.this.this) for item in partition.expressions
                  if isinstance(item, exp.EQ) and isinstance(item.this, exp.Column)}
        return [column for column in columns if column not in static]

    def _like_columns(self, like: exp.LikeProperty) -> list[str]:
        """The columns CREATE TABLE … LIKE copies: structure only, so they name the target's columns, no edge."""
        source = like.this
        return list(self.schema.columns(self.namer.table(source)) or []) if isinstance(source, exp.Table) else []

    def select_into(self, tree: exp.Query, into: exp.Into) -> Write:
        target_node = into.this
        if not isinstance(target_node, exp.Table):
            return Write("select")
        target = self.namer.table(target_node)
        query = tree.copy()
        query.set("into", None)
        for select in query.find_all(exp.Select):
            select.set("into", None)
        relation = self.resolver.query(query, None, {})
        temporary = target.startswith("#") or bool(into.args.get("temporary"))
        write = Write("create_table_as", targets=[target], replaces=True, created={target},
                      temporary={target} if temporary else set())
        write.column_edges = self._positional(target, None, relation, by_name=False)
        if relation.names:
            self.schema.define(target, relation.names)
        write.table_edges = {(read, target) for read in self._reads(query, set())}
        return write

    def merge(self, tree: exp.Merge) -> Write:
        target_node = tree.this
        if not isinstance(target_node, exp.Table):
            return Write("merge")
        target = self.namer.table(target_node)
        target_columns = self.schema.columns(target)
        write = Write("merge", targets=[target])
        scope = Scope(self.row_scope, self.resolver.with_clause(tree.args.get("with_"), self.row_scope, {}))
        target_alias = self.namer.identifier(target_node.args["alias"].this) if target_node.args.get("alias") \
            else self.namer.identifier(target_node.this)
        scope.relations[target_alias] = stored_table(target, target_columns, is_target=True)
        using_alias, using = self.resolver.from_item(tree.args["using"], scope)
        scope.relations[using_alias] = using
        edges: ColumnEdges = {}
        whens = tree.args.get("whens")
        for when in (whens.expressions if whens else []):
            action = when.args.get("then")
            if isinstance(action, exp.Update):
                if any(isinstance(e, exp.Star) for e in action.expressions) or not action.expressions:
                    self._by_name(edges, target, target_columns or using.names or [], using)
                for assignment in action.expressions:
                    if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Column):
                        self._assign(edges, target, self.namer.column(assignment.this.this),
                                     self.resolver.expression(assignment.expression, scope))
            elif isinstance(action, exp.Insert):
                values = action.expression
                if not isinstance(values, exp.Expression) and _bare_values(action.this) is not None:
                    values = exp.Tuple(expressions=_bare_values(action.this))  # Redshift: INSERT VALUES (…)
                    action = exp.Insert(expression=values)
                if isinstance(values, exp.Star) or values is None:  # Databricks INSERT *
                    self._by_name(edges, target, target_columns or using.names or [], using)
                    continue
                columns = [self.namer.column(c.this if isinstance(c, exp.Column) else c)
                           for c in (action.this.expressions if isinstance(action.this, exp.Tuple) else
                                     [action.this] if isinstance(action.this, exp.Expression) else [])]
                columns = columns or target_columns or []
                expressions = values.expressions if isinstance(values, exp.Tuple) else [values]
                for name, value in zip(columns, expressions, strict=False):
                    self._assign(edges, target, name, self.resolver.expression(value, scope))
        write.column_edges = edges
        write.table_edges = {(read, target) for read in self._reads(tree, {id(target_node)}) if read != target}
        return write

    def update(self, tree: exp.Update) -> Write:
        target_node = tree.this
        if not isinstance(target_node, exp.Table):
            return Write("update")
        scope = Scope(self.row_scope, self.resolver.with_clause(tree.args.get("with_"), self.row_scope, {}))
        target_alias = self.namer.identifier(target_node.args["alias"].this) if target_node.args.get("alias") \
            else self.namer.identifier(target_node.this)
        scope.bare_columns_of_target = True
        excluded = {id(target_node)}
        target = self.namer.table(target_node)
        # T-SQL: UPDATE a SET … FROM orders a JOIN …: the target is named by its alias in FROM.
        from_ = tree.args.get("from_")
        if not target_node.args.get("db"):
            for item in ([from_.this] if from_ else []) + [j.this for j in tree.args.get("joins") or []]:
                alias = item.args.get("alias")
                if isinstance(item, exp.Table) and alias is not None and \
                        self.namer.identifier(alias.this) == target_alias:
                    target_node = item
                    target = self.namer.table(item)
                    excluded.add(id(item))
        scope.relations[target_alias] = stored_table(target, self.schema.columns(target), is_target=True)
        for join in target_node.args.get("joins") or []:
            self.resolver._add(join.this, scope)
        if from_ is not None:
            for item in [from_.this] + [j.this for j in tree.args.get("joins") or []]:
                if id(item) not in excluded:
                    self.resolver._add(item, scope)
        write = Write("update", targets=[target])
        for assignment in tree.expressions:
            if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Tuple):
                # SET (a, b) = (SELECT x, y …): by position.
                names = [self.namer.column(c.this) for c in assignment.this.expressions if isinstance(c, exp.Column)]
                value = assignment.expression
                if isinstance(value, exp.Query | exp.Subquery):
                    relation = self.resolver.query(value, scope, scope.ctes)
                    for name, (_, sources) in zip(names, relation.columns or [], strict=False):
                        self._assign(write.column_edges, target, name, dict.fromkeys(sources, False))
                elif isinstance(value, exp.Tuple):
                    for name, item in zip(names, value.expressions, strict=False):
                        self._assign(write.column_edges, target, name, self.resolver.expression(item, scope))
                continue
            if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Column):
                self._assign(write.column_edges, target, self.namer.column(assignment.this.this),
                             self.resolver.expression(assignment.expression, scope))
        write.table_edges = {(read, target) for read in self._reads(tree, excluded) if read != target}
        return write

    # --- helpers -------------------------------------------------------------------------------------------

    @staticmethod
    def _assign(edges: ColumnEdges, target: str, column: str, sources: Sources) -> None:
        target_column = f"{target}.{column}"
        for source, direct in sources.items():
            if source != target_column:
                edges[(source, target_column)] = edges.get((source, target_column), False) or direct

    def _by_name(self, edges: ColumnEdges, target: str, names: list[str], relation: Relation) -> None:
        for name in names:
            self._assign(edges, target, name, relation.sources(name) or {})

    def _positional(self, target: str, names: list[str] | None, relation: Relation, *, by_name: bool) -> ColumnEdges:
        edges: ColumnEdges = {}
        if by_name or names is None:
            # No target column list: the query's output names are the target's columns.
            for name, sources in relation.columns or []:
                if not name.startswith("_col_"):
                    self._assign(edges, target, name, sources)
            return edges
        if not relation.complete:
            return edges
        for name, (_, sources) in zip(names, relation.columns, strict=False):
            self._assign(edges, target, name, sources)
        return edges

    def _reads(self, tree: exp.Expression, excluded: set[int]) -> set[str]:
        """Stored tables a statement reads anywhere (FROM, JOIN, subqueries, USING), CTE names left out."""
        cte_names = {self.namer.identifier(cte.args["alias"].this) for cte in tree.find_all(exp.CTE)}
        reads = set()
        for table in tree.find_all(exp.Table):
            if id(table) in excluded or not isinstance(table.this, exp.Identifier | exp.Parameter):
                continue
            if not table.args.get("db") and self.namer.identifier(table.this) in cte_names:
                continue
            if table.find_ancestor(exp.Into, exp.Reference, exp.Hint, exp.Returning) is not None:  # written, not read
                continue
            reads.add(self.namer.table(table))
        if self.trigger_table is not None and any(self.namer.identifier(column.args.get("table")) in ("new", "old")
                                                  for column in tree.find_all(exp.Column)):
            reads.add(self.trigger_table)
        return reads


def _bare_values(node: exp.Expression | None) -> list[exp.Expression] | None:
    """The values of a MERGE INSERT without a column list when the parser read ``VALUES (…)`` as a function."""
    if isinstance(node, exp.Tuple) and len(node.expressions) == 1:
        node = node.expressions[0]
    if isinstance(node, exp.Anonymous) and node.name.upper() == "VALUES":
        return list(node.expressions)
    return None


def _absorb(combined: Write, write: Write) -> None:
    combined.targets += [t for t in write.targets if t not in combined.targets]
    combined.table_edges |= write.table_edges
    for key, direct in write.column_edges.items():
        combined.column_edges[key] = combined.column_edges.get(key, False) or direct
    combined.created |= write.created
    combined.dropped |= write.dropped
    combined.temporary |= write.temporary
    combined.replaces = combined.replaces or write.replaces
    combined.error = combined.error or write.error


def _reason(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if errors:
        first = errors[0]
        description = _TOKEN_REPR.sub(r"\1", first.get("description") or "syntax error")
        return f"{description} near {_ANSI.sub('', first.get('highlight') or '')!r}"
    return _ANSI.sub("", str(error)).splitlines()[0] if str(error) else type(error).__name__
