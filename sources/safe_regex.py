"""Regular expressions written by users and run by Racine (custom rules' column-name and value patterns, the rule
preview, ``re:`` include / exclude patterns of scan rule sets) on values and names it does not control.

Python's ``re`` backtracks and has no timeout: ``.*.*.*.*.*X`` on 512 characters runs for half an hour and holds a
web worker (rule preview) or a scan. These patterns therefore run on RE2 (``google-re2``), whose time is linear in
the text's length whatever the pattern. RE2 has no backtracking constructs: backreferences, lookahead and
lookbehind, atomic groups and possessive repeats, conditionals; such a pattern is refused with
:class:`InvalidPattern`, whose message says what is not supported.

For the patterns both engines accept, the differences with Python's ``re``: ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are
ASCII (``\\p{L}`` / ``\\p{Nd}`` name Unicode classes); ``$`` matches only at the very end of the text (Python's
``\\Z`` is spelled ``\\z``); the inline flags are ``i``, ``m``, ``s`` and ``U``.
"""
from __future__ import annotations

import re
from functools import lru_cache

import re2

# RE2's own words for what it refuses → what the user wrote, in terms a regex writer knows.
_UNSUPPORTED = (
    (re.compile(r"invalid escape sequence: \\[1-9]"), "backreferences (\\1) are not supported"),
    (re.compile(r"invalid perl operator: \(\?P$"), "named backreferences ((?P=name)) are not supported"),
    (re.compile(r"invalid perl operator: \(\?<?[=!]"), "lookahead and lookbehind ((?=…), (?!…), (?<=…), (?<!…)) "
                                                       "are not supported"),
    (re.compile(r"invalid perl operator: \(\?>"), "atomic groups ((?>…)) are not supported"),
    (re.compile(r"bad repetition operator: .\+"), "possessive repeats (a++, a*+, a?+) are not supported"),
    (re.compile(r"invalid perl operator: \(\?\("), "conditionals ((?(1)…|…)) are not supported"),
    (re.compile(r"invalid perl operator: \(\?#"), "comments ((?#…)) are not supported"),
    (re.compile(r"invalid perl operator: \(\?[a-zA-Z]"), "only the inline flags i, m, s and U are supported"),
    (re.compile(r"invalid escape sequence: \\Z"), "\\Z is not supported: write \\z or $ for the end of the text"),
    (re.compile(r"invalid repetition size"), "a counted repetition ({n,m}) may repeat at most 1000 times"),
    (re.compile(r"pattern too large"), "the pattern is too large for the engine: use smaller counts ({n,m}) or "
                                       "fewer alternatives"),
)
_ENGINE = "patterns run on RE2, a linear-time engine without backtracking"


class InvalidPattern(ValueError):
    """The pattern is not a regular expression the engine runs; the message says why, for the user."""


class UserPattern:
    """A compiled user pattern; :meth:`search` and :meth:`fullmatch` answer only whether it matches."""

    __slots__ = ("_regex", "pattern")

    def __init__(self, pattern: str, regex) -> None:
        self.pattern = pattern
        self._regex = regex

    # Matching UTF-8 bytes gives the same answer as matching the str (RE2 works on UTF-8 either way) and skips the
    # binding's mapping of byte offsets back to characters, which costs more than the match on short values.
    def search(self, text: str) -> bool:
        return self._regex.search(text.encode()) is not None

    def fullmatch(self, text: str) -> bool:
        return self._regex.fullmatch(text.encode()) is not None


def _options(ignore_case: bool):
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.never_capture = True  # only whether it matches is used: no group spans to track
    options.log_errors = False  # a refused pattern is the user's error, answered to the user; not a log line
    # RE2's default budget is 8 MiB per pattern, and a hostile pattern on hostile values fills its lazy DFA to
    # about 1.5 MiB; at 2 MiB that is under 0.4 MiB, as fast, and every pattern of ordinary size still compiles.
    options.max_mem = 2 << 20
    return options


def _explain(error: str) -> str:
    for fragment, explanation in _UNSUPPORTED:
        if fragment.search(error):
            return f"{explanation}; {_ENGINE}"
    return f"not a valid regular expression: {error}"


@lru_cache(maxsize=128)
def compile_pattern(pattern: str, *, ignore_case: bool = False) -> UserPattern:
    """Compile a user's pattern for linear-time matching; :class:`InvalidPattern` when RE2 refuses it.

    Cached, so a rule's patterns are compiled once, not per column or value (a compile takes about 20 µs and an
    ordinary compiled pattern holds about 6 KiB)."""
    try:
        return UserPattern(pattern, re2.compile(pattern, _options(ignore_case)))
    except re2.error as exc:
        message = exc.args[0] if exc.args else ""
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        raise InvalidPattern(_explain(message)) from None
