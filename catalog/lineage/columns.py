"""Which source columns feed each output column of a query.

A single pass over sqlglot's tree, scope by scope (FROM items, CTEs, subqueries, lateral joins, set operations),
instead of sqlglot's ``optimizer.qualify`` + ``lineage``: those rebuild the scopes once per output column and cost
far more than the parse. A column's sources map ``table.column`` to ``direct``: True while every step from the
source is a bare reference or a rename.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlglot import exp

from catalog.lineage.names import KnownSchema, Namer

Sources = dict[str, bool]

# Values that read like columns but are not: Oracle's hierarchy and row pseudo-columns, sequences' NEXTVAL.
PSEUDO_COLUMNS = frozenset({"level", "rownum", "rowid", "sysdate", "systimestamp", "connect_by_isleaf",
                            "connect_by_iscycle", "nextval", "currval"})


def merge_into(target: Sources, sources: Sources | None, direct: bool = True) -> None:
    """Add ``sources`` to ``target``; a pair is direct if any path is (one branch of a UNION copying is enough)."""
    if not sources:
        return
    for column, is_direct in sources.items():
        target[column] = target.get(column, False) or (is_direct and direct)


@dataclass
class Relation:
    """Something a FROM clause reads: a table, a CTE, a derived table, a table function."""

    table: str | None = None  # qualified name of a stored table
    columns: list[tuple[str, Sources]] | None = None  # ordered outputs, None when not known
    open_to: list[Relation] = field(default_factory=list)  # relations selected with a * we could not expand
    feeds_every_column: Sources | None = None  # a table function: each of its columns comes from its arguments
    is_target: bool = False  # the table an UPDATE/MERGE writes

    def __post_init__(self):
        self._by_name = dict(reversed(self.columns or []))

    @property
    def complete(self) -> bool:
        return self.columns is not None and not self.open_to

    @property
    def names(self) -> list[str] | None:
        return [name for name, _ in self.columns] if self.complete else None

    def knows(self, name: str) -> bool | None:
        """True if the relation has the column, False if it surely has not, None when we cannot tell."""
        if name in self._by_name:
            return True
        if self.columns is None or any(relation.knows(name) is not False for relation in self.open_to):
            return None
        return False

    def sources(self, name: str) -> Sources | None:
        if name in self._by_name:
            return self._by_name[name]
        if self.feeds_every_column is not None:
            return self.feeds_every_column
        if self.table is not None and self.columns is None:
            return {f"{self.table}.{name}": True}
        for relation in self.open_to:
            found = relation.sources(name)
            if found is not None:
                return found
        return None

    def renamed(self, names: list[str]) -> Relation:
        """The relation seen through a column alias list: ``AS x(a, b)``, ``WITH c(a, b) AS``."""
        if self.columns is None:
            return Relation(columns=[(name, self.sources(name) or {}) for name in names])
        columns = [(name, sources) for name, (_, sources) in zip(names, self.columns, strict=False)]
        return Relation(columns=columns + self.columns[len(names):])


def parenthesised_join(item: exp.Expression) -> bool:
    """A FROM or JOIN item in parentheses that is not a query: ``(a JOIN b ON …)``, which PostgreSQL's
    ``pg_get_viewdef`` and MySQL's stored view definitions write for every join (nested for three tables or more).
    sqlglot reads it as a Subquery around its first item, that item carrying the joins."""
    if not isinstance(item, exp.Subquery):
        return False
    inner = item.this
    if isinstance(inner, exp.Query) and not isinstance(inner, exp.Subquery):  # (SELECT … JOIN …) s: its own joins
        return False
    return isinstance(inner, exp.Table) or bool(inner.args.get("joins")) or parenthesised_join(inner)


def _joined(relations: list[Relation]) -> Relation:
    """The relation of joined relations: their columns side by side; open to those whose columns are unknown."""
    columns: list[tuple[str, Sources]] = []
    open_to: list[Relation] = []
    for relation in relations:
        if relation.columns is None:
            open_to.append(relation)
        else:
            columns.extend(relation.columns)
            open_to.extend(relation.open_to)
    return Relation(columns=columns, open_to=open_to)


def stored_table(name: str, columns: list[str] | None, *, is_target: bool = False) -> Relation:
    if columns is None:
        return Relation(table=name, is_target=is_target)
    return Relation(table=name, columns=[(column, {f"{name}.{column}": True}) for column in columns],
                    is_target=is_target)


@dataclass
class Scope:
    parent: Scope | None
    ctes: dict[str, Relation]
    relations: dict[str, Relation] = field(default_factory=dict)
    aliases: dict[str, Sources] = field(default_factory=dict)  # earlier projections, referable by name
    windows: dict[str, exp.Window] = field(default_factory=dict)  # WINDOW w AS (…), referred to by OVER w
    # Which relation a bare column belongs to when no schema says: UPDATE t SET n = n + 1 FROM s reads t's n,
    # while MERGE's INSERT VALUES (x) can only read the source (the target row does not exist yet).
    bare_columns_of_target: bool = False


class ColumnResolver:
    def __init__(self, namer: Namer, schema: KnownSchema, *, column_selectors: bool = False):
        self.namer = namer
        self.schema = schema
        # DuckDB's and ClickHouse's COLUMNS(…) select columns by pattern: only there is a projection searched for it.
        self.column_selectors = column_selectors

    # --- queries -------------------------------------------------------------------------------------------

    def query(self, node: exp.Expression, parent: Scope | None, ctes: dict[str, Relation]) -> Relation:
        """The relation a query produces (SELECT, set operation, parenthesised query, VALUES)."""
        if isinstance(node, exp.Subquery):
            ctes = self.with_clause(node.args.get("with_"), parent, ctes)
            return self.query(node.this, parent, ctes)
        if isinstance(node, exp.SetOperation):
            ctes = self.with_clause(node.args.get("with_"), parent, ctes)
            left = self.query(node.left, parent, ctes)
            right = self.query(node.right, parent, ctes)
            if node.args.get("by_name"):  # DuckDB UNION BY NAME
                return self._union_by_name(left, right)
            return self._union(left, right)
        if isinstance(node, exp.Select):
            return self.select(node, parent, ctes)
        if isinstance(node, exp.Values):
            width = len(node.expressions[0].expressions) if node.expressions and isinstance(
                node.expressions[0], exp.Tuple) else 1
            scope = Scope(parent, ctes)
            columns = [(f"_col_{i}", {}) for i in range(width)]
            for row in node.expressions:
                for i, value in enumerate(row.expressions if isinstance(row, exp.Tuple) else [row]):
                    if i < width:
                        merge_into(columns[i][1], self.expression(value, scope), direct=False)
            return Relation(columns=columns)
        if isinstance(node, exp.Insert | exp.Update | exp.Delete) and node.args.get("returning"):
            return self._returning(node, parent, ctes)
        if isinstance(node, exp.Table):  # PostgreSQL's TABLE t, or a CTE/table read whole
            scope = Scope(parent, ctes)
            return self.from_item(node, scope)[1]
        return Relation(columns=[])

    def _returning(self, node: exp.Expression, parent: Scope | None, ctes: dict[str, Relation]) -> Relation:
        """A data-modifying CTE (PostgreSQL): its RETURNING list read over the table it changes."""
        scope = Scope(parent, ctes)
        table = node.this.this if isinstance(node.this, exp.Schema) else node.this
        if isinstance(table, exp.Table):
            self._add(table, scope)
        self.add_from(node, scope)
        select = exp.Select(expressions=node.args["returning"].expressions)
        columns: list[tuple[str, Sources]] = []
        open_to: list[Relation] = []
        self._project(select, scope, columns, open_to)
        return Relation(columns=columns, open_to=open_to)

    @staticmethod
    def _union(left: Relation, right: Relation) -> Relation:
        if left.columns is None:
            return left
        columns = []
        for i, (name, sources) in enumerate(left.columns):
            merged = dict(sources)
            if right.columns is not None and i < len(right.columns):
                merge_into(merged, right.columns[i][1])
            columns.append((name, merged))
        return Relation(columns=columns, open_to=left.open_to + right.open_to)

    @staticmethod
    def _union_by_name(left: Relation, right: Relation) -> Relation:
        columns = {name: dict(sources) for name, sources in (left.columns or [])}
        for name, sources in right.columns or []:
            merge_into(columns.setdefault(name, {}), sources)
        return Relation(columns=list(columns.items()), open_to=left.open_to + right.open_to)

    def with_clause(self, with_: exp.With | None, parent: Scope | None,
                    ctes: dict[str, Relation]) -> dict[str, Relation]:
        if with_ is None:
            return ctes
        ctes = dict(ctes)
        for cte in with_.expressions:
            name = self.namer.identifier(cte.args["alias"].this)
            body = cte.this
            alias_columns = [self.namer.column(c) for c in cte.args["alias"].columns]
            if isinstance(body, exp.SetOperation) and self._refers_to(body.right, name):
                # Recursive CTE: the anchor gives the columns, the recursive branch adds its sources to them.
                anchor = self.query(body.left, parent, ctes)
                ctes[name] = anchor.renamed(alias_columns) if alias_columns else anchor
                relation = self._union(anchor, self.query(body.right, parent, ctes))
            else:
                relation = self.query(body, parent, ctes)
            ctes[name] = relation.renamed(alias_columns) if alias_columns else relation
        return ctes

    def _refers_to(self, node: exp.Expression, cte_name: str) -> bool:
        return any(not table.args.get("db") and self.namer.identifier(table.this) == cte_name
                   for table in node.find_all(exp.Table) if isinstance(table.this, exp.Identifier))

    def select(self, select: exp.Select, parent: Scope | None, ctes: dict[str, Relation]) -> Relation:
        ctes = self.with_clause(select.args.get("with_"), parent, ctes)
        scope = Scope(parent, ctes)
        self.add_from(select, scope)
        for window in select.args.get("windows") or []:
            scope.windows[self.namer.column(window.this)] = window
        columns: list[tuple[str, Sources]] = []
        open_to: list[Relation] = []
        self._project(select, scope, columns, open_to)
        return Relation(columns=columns, open_to=open_to)

    def _project(self, select: exp.Select, scope: Scope, columns: list, open_to: list) -> None:
        for position, projection in enumerate(select.expressions):
            star = projection if isinstance(projection, exp.Star) else (
                projection if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star) else None)
            if star is not None:
                self._expand_star(star, scope, columns, open_to)
                continue
            selector = projection.find(exp.Columns) if self.column_selectors else None
            if selector is not None and self._expand_columns(projection, selector, scope, columns):
                continue
            name = self.namer.column(projection.args["alias"]) if isinstance(projection, exp.Alias) \
                else (self.namer.column(projection.this) if isinstance(projection, exp.Column)
                      else f"_col_{position}")
            sources = self.expression(projection.unalias(), scope)
            columns.append((name, sources))
            scope.aliases.setdefault(name, sources)

    def _expand_columns(self, projection: exp.Expression, selector: exp.Columns, scope: Scope,
                        columns: list) -> bool:
        """DuckDB's ``COLUMNS('regex')`` / ``COLUMNS(*)``: one output per matching column of the FROM relations,
        the expression around it applied to each. False when the selector is a lambda or the columns are unknown."""
        pattern = selector.this
        if isinstance(pattern, exp.Star):
            matches = lambda name: True  # noqa: E731
        elif isinstance(pattern, exp.Literal) and pattern.is_string:
            try:
                regex = re.compile(pattern.this)
            except re.error:
                return False
            matches = lambda name: regex.search(name) is not None  # noqa: E731
        else:
            return False
        relations = [relation for relation in scope.relations.values() if not relation.is_target]
        if not relations or any(relation.columns is None for relation in relations):
            return False
        bare = projection.unalias() is selector
        rest = projection.unalias().copy()
        rest.find(exp.Columns).replace(exp.null())
        around = {} if bare else self.expression(rest, scope)
        for relation in relations:
            for name, sources in relation.columns:
                if matches(name):
                    found = dict(around)
                    merge_into(found, sources, direct=bare)
                    columns.append((name if bare else f"_col_{len(columns)}", found))
        return True

    def _expand_star(self, star: exp.Expression, scope: Scope, columns: list, open_to: list) -> None:
        qualifier = self.namer.identifier(star.args.get("table")) if isinstance(star, exp.Column) else None
        if qualifier is not None:
            relations = [relation for relation in [self._relation_named(qualifier, scope)] if relation]
        else:
            relations = [relation for relation in scope.relations.values() if not relation.is_target]
        modifiers = star.this if isinstance(star, exp.Column) else star
        excluded = {self.namer.column(c) for c in (modifiers.args.get("except_") or modifiers.args.get("except")
                                                   or [])}
        replaced = {self.namer.column(r.args["alias"]): r.this for r in (modifiers.args.get("replace") or [])
                    if isinstance(r, exp.Alias)}
        renamed = {self.namer.column(r.this.this if isinstance(r.this, exp.Column) else r.this):
                   self.namer.column(r.args["alias"]) for r in (modifiers.args.get("rename") or [])
                   if isinstance(r, exp.Alias)}
        for relation in relations:
            if relation.columns is None:
                open_to.append(relation)
                continue
            for name, sources in relation.columns:
                if name in excluded:
                    continue
                if name in replaced:
                    sources = self.expression(replaced[name], scope)
                columns.append((renamed.get(name, name), sources))
            open_to.extend(relation.open_to)

    # --- FROM items ----------------------------------------------------------------------------------------

    def add_from(self, node: exp.Expression, scope: Scope) -> None:
        from_ = node.args.get("from_")
        if from_ is not None:
            self._add(from_.this, scope)
        for join in node.args.get("joins") or []:
            self._add(join.this, scope)
        for lateral in node.args.get("laterals") or []:
            self._add(lateral, scope)

    def _add(self, item: exp.Expression, scope: Scope) -> None:
        if parenthesised_join(item) and not item.args.get("alias"):
            # (a JOIN b ON …): its tables are named in this scope as if the parentheses were not there.
            self._add(item.this, scope)
            for join in item.args.get("joins") or []:
                self._add(join.this, scope)
            return
        alias, relation = self.from_item(item, scope)
        scope.relations[alias if alias not in scope.relations else f"{alias}#{len(scope.relations)}"] = relation
        for join in item.args.get("joins") or []:  # a parenthesised join, or MySQL's UPDATE a JOIN b
            self._add(join.this, scope)

    def from_item(self, item: exp.Expression, scope: Scope) -> tuple[str, Relation]:
        table_alias = item.args.get("alias")
        alias_columns = [self.namer.column(c) for c in table_alias.columns] if isinstance(
            table_alias, exp.TableAlias) else []
        alias = self.namer.identifier(table_alias.this) if isinstance(table_alias, exp.TableAlias) and \
            table_alias.this else None
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier | exp.Parameter):
            name = self.namer.identifier(item.this) if isinstance(item.this, exp.Identifier) else \
                self.namer.table(item)
            if not item.args.get("db") and name in scope.ctes:
                relation = scope.ctes[name]
            else:
                qualified = self.namer.table(item)
                relation = stored_table(qualified, self.schema.columns(qualified))
            alias = alias or name
        elif parenthesised_join(item):  # (a JOIN b ON …) AS j: one relation, the joined tables' columns in order
            inner = Scope(scope, scope.ctes)
            self._add(item.this, inner)
            for join in item.args.get("joins") or []:
                self._add(join.this, inner)
            relation = _joined(list(inner.relations.values()))
        elif isinstance(item, (exp.Subquery, exp.Lateral)) and isinstance(item.this, exp.Query | exp.Subquery):
            relation = self.query(item.this, scope, scope.ctes)
        elif isinstance(item, exp.Values):
            relation = self.query(item, scope, scope.ctes)
        else:  # a table function: UNNEST, LATERAL VIEW explode, FLATTEN, generate_series, …
            function = item.this if isinstance(item, exp.Table | exp.Lateral) else item
            sources = dict.fromkeys(self.expression(function, scope), False)
            relation = Relation(feeds_every_column=sources,
                                columns=[(name, sources) for name in alias_columns] if alias_columns else None)
            alias_columns = []
            if alias is None and isinstance(item, exp.Unnest) and relation.columns:
                alias = relation.columns[0][0]
        if alias_columns:
            relation = relation.renamed(alias_columns)
        return alias or f"_{id(item)}", relation

    def _relation_named(self, qualifier: str, scope: Scope) -> Relation | None:
        found = scope.relations.get(qualifier)
        if found is not None:
            return found
        for relation in scope.relations.values():  # t.col where t was given an alias, or schema.t.col
            if relation.table is not None and relation.table.rsplit(".", 1)[-1] == qualifier:
                return relation
        return None

    # --- expressions ---------------------------------------------------------------------------------------

    def expression(self, node: exp.Expression, scope: Scope) -> Sources:
        """Sources of an expression; direct only when it is a bare column reference."""
        if isinstance(node, exp.Paren):
            return self.expression(node.this, scope)
        if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
            return dict(self.column(node, scope) or {})
        found: Sources = {}
        lambda_variables: set[str] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, exp.Column):
                if isinstance(current.this, exp.Star):
                    continue
                if not current.args.get("table") and self.namer.column(current.this) in lambda_variables:
                    continue
                merge_into(found, self.column(current, scope), direct=False)
            elif isinstance(current, exp.Query | exp.Subquery):
                relation = self.query(current, scope, scope.ctes)
                for _, sources in relation.columns or []:
                    merge_into(found, sources, direct=False)
            else:
                if isinstance(current, exp.Window) and isinstance(current.args.get("alias"), exp.Identifier):
                    named = self._named_window(self.namer.column(current.args["alias"]), scope)
                    if named is not None:
                        stack.extend(named.iter_expressions())
                if isinstance(current, exp.Lambda):
                    lambda_variables.update(self.namer.column(v) for v in current.expressions)
                stack.extend(current.iter_expressions())
        return dict.fromkeys(found, False)

    @staticmethod
    def _named_window(name: str, scope: Scope) -> exp.Window | None:
        current: Scope | None = scope
        while current is not None:
            if name in current.windows:
                return current.windows[name]
            current = current.parent
        return None

    def column(self, column: exp.Column, scope: Scope) -> Sources | None:
        name = self.namer.column(column.this)
        qualifier = self.namer.identifier(column.args.get("table"))
        if name in PSEUDO_COLUMNS and not any(relation.knows(name) for relation in scope.relations.values()):
            return None
        if qualifier is not None:
            relation = self._visible_relation(qualifier, scope)
            if relation is not None:
                found = relation.sources(name)
                if found is None and relation.table is not None:
                    return {f"{relation.table}.{name}": True}  # the schema we were given is incomplete
                return found
            # Not a table: a struct field path (BigQuery, Snowflake, Spark, DuckDB), read from the column it starts
            # at: alias.struct.field.sub reads alias's struct, struct.field.sub reads struct.
            parts = [self.namer.identifier(part) for part in (column.args.get("catalog"), column.args.get("db"))
                     if part is not None] + [qualifier]
            relation = self._visible_relation(parts[0], scope) if len(parts) > 1 else None
            if relation is not None:
                return relation.sources(parts[1]) or ({f"{relation.table}.{parts[1]}": True}
                                                      if relation.table is not None else None)
            return self._unqualified(parts[0], scope)
        return self._unqualified(name, scope)

    def _visible_relation(self, qualifier: str, scope: Scope) -> Relation | None:
        """The relation ``qualifier`` names in this scope or an enclosing one (a correlated reference)."""
        current: Scope | None = scope
        while current is not None:
            relation = self._relation_named(qualifier, current)
            if relation is not None:
                return relation
            current = current.parent
        return None

    def _unqualified(self, name: str, scope: Scope) -> Sources | None:
        current: Scope | None = scope
        while current is not None:
            relations = list(current.relations.values())
            for relation in relations:
                if relation.knows(name):
                    return relation.sources(name)
            if name in current.aliases:
                return current.aliases[name]
            unknown = [relation for relation in relations if relation.knows(name) is None]
            if len(unknown) > 1:
                unknown = [relation for relation in unknown
                           if relation.is_target == current.bare_columns_of_target] or unknown
            if len(unknown) == 1:
                return unknown[0].sources(name)
            if unknown:
                return None
            current = current.parent
        return None
