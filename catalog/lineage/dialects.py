"""sqlglot dialects as the lineage engine reads them: a few statement forms sqlglot's parser rejects, learnt here.

Each extension parses a valid form of its dialect that moves data, so its lineage is not lost to a parse error:

- T-SQL ``OUTPUT … INTO`` names a qualified table with an optional column list (``INTO audit.t (a, b)``), and in
  ``DELETE FROM t OUTPUT … WHERE …`` comes before WHERE; sqlglot takes one name part and OUTPUT only after WHERE.
- Oracle ``MERGE … WHEN MATCHED THEN UPDATE SET … DELETE WHERE …``: the DELETE clause of the UPDATE branch removes
  rows and moves no data; sqlglot stops at it and loses the branches after it.

The subclasses register in sqlglot's dialect table under their own class names and change nothing for other users
of the dialects they extend.
"""
from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.oracle import Oracle
from sqlglot.dialects.tsql import TSQL
from sqlglot.tokens import TokenType


class LineageTSQL(TSQL):
    class Parser(TSQL.Parser):
        def _parse_returning(self) -> exp.Returning | None:
            if not self._match(TokenType.RETURNING):
                return None
            expressions = self._parse_csv(self._parse_expression)
            into = None
            if self._match(TokenType.INTO):
                into = self._parse_table(schema=True)
            return self.expression(exp.Returning(expressions=expressions, into=into))

        def _parse_delete(self) -> exp.Delete:
            hint = self._parse_hint()
            tables = None
            if not self._match(TokenType.FROM, advance=False):
                tables = self._parse_csv(self._parse_table) or None
            returning = self._parse_returning()
            this = self._match(TokenType.FROM) and self._parse_table(joins=True)
            returning = returning or self._parse_returning()  # DELETE FROM t OUTPUT … [FROM …] WHERE …
            if returning is not None and tables is None and self._match(TokenType.FROM, advance=False):
                tables, this = [this], self._match(TokenType.FROM) and self._parse_table(joins=True)
            return self.expression(exp.Delete(
                hint=hint, tables=tables, this=this, where=self._parse_where(),
                returning=returning or self._parse_returning(), order=self._parse_order(),
                limit=self._parse_limit()))


class LineageOracle(Oracle):
    class Parser(Oracle.Parser):
        def _parse_when_matched(self) -> exp.Whens:
            whens = super()._parse_when_matched()
            while whens.expressions and self._match(TokenType.DELETE):
                # UPDATE SET … DELETE WHERE …: kept on the UPDATE branch, then the branches after it.
                whens.expressions[-1].args["then"].set("delete_where", self._parse_where())
                whens.expressions.extend(super()._parse_when_matched().expressions)
            return whens


_EXTENDED = {"tsql": LineageTSQL, "oracle": LineageOracle}


def lineage_dialect(name: str) -> Dialect:
    """The dialect ``name`` with the extensions above where it has some."""
    extended = _EXTENDED.get(name)
    return extended() if extended is not None else Dialect.get_or_raise(name)
