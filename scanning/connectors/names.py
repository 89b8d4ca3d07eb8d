"""Canonical qualified names of catalog objects.

A path such as ``("shop", "public", "Order Items", "id")`` becomes ``shop.public."Order Items".id``: parts are
joined with ``.``, and a part is wrapped in double quotes (inner ``"`` doubled) only when it contains ``.``, ``"``,
whitespace, or is empty. Every other character (unicode, backticks, ``;``) stays as it is, so names stay readable
and the mapping is one-to-one: ``parse_qualified_name(qualified_name(p)) == p`` for every tuple of strings.
"""
from __future__ import annotations

from collections.abc import Sequence


def _needs_quotes(part: str) -> bool:
    return part == "" or any(ch == "." or ch == '"' or ch.isspace() for ch in part)


def quote_part(part: str) -> str:
    if _needs_quotes(part):
        return '"' + part.replace('"', '""') + '"'
    return part


def qualified_name(path: Sequence[str]) -> str:
    if not path:
        raise ValueError("a qualified name needs at least one part")
    return ".".join(quote_part(str(part)) for part in path)


def parse_qualified_name(name: str) -> tuple[str, ...]:
    """Inverse of :func:`qualified_name`. Raises ``ValueError`` on a malformed name."""
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
            if _needs_quotes(part):
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
