"""Regular expressions written by users and run by Racine (custom rule patterns, ``re:`` include / exclude
patterns) on values and names it does not control.

Python's ``re`` backtracks and has no timeout, so one pattern such as ``(a+)+$`` or ``(a|aa)*$`` on a 40-character
value holds a web worker (rule preview) or a scan for hours. The shapes that backtrack exponentially or with a high
polynomial degree are a repetition inside a repetition (with a variable count) and an alternation inside a
repetition; :func:`check_pattern` refuses those, which keeps what data patterns need (classes, fixed counts,
optional parts, alternation outside a repeat: ``^(EMP|E)-\\d{6}$``, ``(\\d{3}-){2}\\d{4}``).
"""
from __future__ import annotations

import re
from re import _constants as sre  # noqa: PLC2701  (the parser's own opcodes: the only way to read a pattern's tree)
from re import _parser as sre_parse  # noqa: PLC2701

_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}


class UnsafePattern(ValueError):
    """The pattern could take exponential time on a hostile value."""


def _walk(items, in_repeat: bool) -> None:
    for op, arg in items:
        if op in _REPEATS:
            low, high, sub = arg
            if in_repeat and low != high:
                raise UnsafePattern("a repetition inside a repetition (like (a+)+ or (.*x){10}) can take "
                                    "exponential time; rewrite the pattern without nesting them")
            _walk(sub, in_repeat or high > 1)
        elif op is sre.BRANCH:
            if in_repeat:
                raise UnsafePattern("an alternation inside a repetition (like (a|ab)*) can take exponential time; "
                                    "use a character class or move the alternation out of the repetition")
            for alternative in arg[1]:
                _walk(alternative, in_repeat)
        elif op is sre.SUBPATTERN:
            _walk(arg[-1], in_repeat)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            _walk(arg[1], in_repeat)
        elif op is getattr(sre, "ATOMIC_GROUP", None):
            _walk(arg, in_repeat)
        elif op is sre.GROUPREF_EXISTS:
            _walk(arg[1], in_repeat)
            if arg[2] is not None:
                _walk(arg[2], in_repeat)


def check_pattern(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile ``pattern``; ``re.error`` when it is invalid, :class:`UnsafePattern` when it could backtrack
    catastrophically."""
    compiled = re.compile(pattern, flags)
    try:
        tree = sre_parse.parse(pattern, flags)
    except RecursionError:
        raise UnsafePattern("the pattern is nested too deeply") from None
    _walk(tree, False)
    return compiled
