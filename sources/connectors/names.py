"""Canonical qualified names of catalog objects.

A path such as ``("shop", "public", "Order Items", "id")`` becomes ``shop.public."Order Items".id``: parts are
joined with ``.``, and a part is written bare only when it is a plain lower-case SQL identifier (ASCII letters,
digits, ``_`` and ``$``, not starting with a digit or ``$``) that no supported engine reserves. Every other part is
wrapped in double quotes with inner ``"`` doubled: ``"Users"``, ``"select"``, ``"a.b"``, ``"we""ird"``,
``"back\\slash"``, ``"顧客"``, ``""``. So a name reads the same way SQL would read it — a bare ``users`` can only
be the lower-case table, never ``Users`` folded by the server — and the mapping is one-to-one:
``parse_qualified_name(qualified_name(p)) == p`` for every tuple of strings.

The reserved words are SQLAlchemy's, the ones its identifier preparers quote for PostgreSQL, MySQL, MariaDB and
SQLite, plus the SQL standard's (sqlglot lists none for PostgreSQL or SQLite). Non-ASCII parts are quoted because
whether a server folds their case depends on its encoding and locale.

Names written before this rule (bare ``Users``, ``select``, ``back\\slash``) still parse:
``qualified_name(parse_qualified_name(old))`` is the canonical spelling, which is how migration
``scanning.0006_quote_qualified_names`` rewrote existing catalogs.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.dialects.mysql.reserved_words import RESERVED_WORDS_MARIADB
from sqlalchemy.sql.compiler import RESERVED_WORDS as SQL_STANDARD_RESERVED_WORDS

RESERVED_WORDS = frozenset().union(
    SQL_STANDARD_RESERVED_WORDS,
    RESERVED_WORDS_MARIADB,
    *(dialect.dialect().identifier_preparer.reserved_words for dialect in (postgresql, mysql, sqlite)),
)
_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_$]*")
# What a bare part can never hold, because the grammar of a qualified name would read it differently.
_UNPARSABLE_BARE = re.compile(r'[."\s]')


def _needs_quotes(part: str) -> bool:
    return _PLAIN_IDENTIFIER.fullmatch(part) is None or part in RESERVED_WORDS


def quote_part(part: str) -> str:
    if _needs_quotes(part):
        return '"' + part.replace('"', '""') + '"'
    return part


def qualified_name(path: Sequence[str]) -> str:
    if not path:
        raise ValueError("a qualified name needs at least one part")
    return ".".join(quote_part(str(part)) for part in path)


def parse_qualified_name(name: str) -> tuple[str, ...]:
    """Inverse of :func:`qualified_name`, also reading names written before the current quoting rule. Raises
    ``ValueError`` on a malformed name."""
    parts: list[str] = []
    i, n = 0, len(name)
    while True:
        if i < n and name[i] == '"':
            i += 1
            buf: list[str] = []
            while True:
                if i >= n:
                    raise ValueError(f"unterminated quoted part in {name!r}")
                if name[i] == '"':
                    if i + 1 < n and name[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(name[i])
                i += 1
            parts.append("".join(buf))
        else:
            j = name.find(".", i)
            j = n if j < 0 else j
            part = name[i:j]
            if not part or _UNPARSABLE_BARE.search(part):
                raise ValueError(f"part {part!r} of {name!r} should have been quoted")
            parts.append(part)
            i = j
        if i == n:
            return tuple(parts)
        if name[i] != ".":
            raise ValueError(f"expected '.' at offset {i} of {name!r}")
        i += 1
        if i == n:
            raise ValueError(f"trailing '.' in {name!r}")
