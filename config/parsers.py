"""The API's JSON parser: DRF's, with a bound on nesting.

Python's ``json`` recurses once per level, so a body of 5,000 nested brackets raised ``RecursionError`` (a 500), and
one nested a few hundred levels deep parsed but could exhaust the stack in whatever walks it next (validation,
audit diffs, rendering). No request body of this API nests beyond a handful of levels.
"""
from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32


def _depth_exceeds(data, limit: int) -> bool:
    """Whether ``data`` nests lists / objects deeper than ``limit``, walked without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if _depth_exceeds(data, MAX_JSON_DEPTH):
            raise too_deep
        return data
