"""Custom classification rules written by data stewards, and the admin preview for them.

A rule matches a column when every condition it states holds: its column-name regex (searched,
case-insensitive) and, for the values, its value regex (full match) and/or a built-in validator from
``VALIDATORS`` on at least ``min_match_share`` of the non-null sampled values with at least ``min_distinct``
distinct matching values. A rule with only a column-name regex matches on the name alone.

Steward regexes run on RE2 (``sources.safe_regex``: linear time, whatever the pattern) and only on values up to
512 characters; patterns are compiled once and cached.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sources.safe_regex import UserPattern, compile_pattern

from .validators import MAX_VALUE_LENGTH, VALIDATORS


@dataclass(frozen=True)
class CustomRule:
    name: str  # classification name, e.g. "PII.EMPLOYEE_NUMBER"
    column_name_regex: str | None = None
    value_regex: str | None = None
    validator: str | None = None  # a key of VALIDATORS
    min_match_share: float = 0.8
    min_distinct: int = 1
    confidence: float = 0.9

    def __post_init__(self):
        if not (self.column_name_regex or self.value_regex or self.validator):
            raise ValueError("a custom rule needs a column-name regex, a value regex or a validator")
        if self.validator is not None and self.validator not in VALIDATORS:
            raise ValueError(f"unknown validator {self.validator!r}; choose one of {sorted(VALIDATORS)}")
        for pattern in (self.column_name_regex, self.value_regex):
            if pattern is not None:
                _compile(pattern)  # refuses a pattern early, in the admin form or the API, not during a scan


def _compile(pattern: str) -> UserPattern:
    # InvalidPattern is a ValueError: a stored rule the engine no longer accepts is skipped by custom_rules_for.
    return compile_pattern(pattern, ignore_case=True)


def _value_matches(rule: CustomRule, text: str) -> bool:
    if len(text) > MAX_VALUE_LENGTH:
        return False
    if rule.value_regex is not None and not _compile(rule.value_regex).fullmatch(text):
        return False
    return rule.validator is None or VALIDATORS[rule.validator](text)


def _has_value_condition(rule: CustomRule) -> bool:
    return rule.value_regex is not None or rule.validator is not None


def evaluate_rule(rule: CustomRule, column_name: str, non_null: int, items: Iterable[tuple[str, int]]):
    """(share or None, matching examples, reasons) when the rule matches the column, else None. ``items`` are
    the column's distinct non-null sampled values with their counts, of which there are ``non_null``."""
    reasons = [f"custom rule {rule.name}"]
    if rule.column_name_regex is not None:
        if not _compile(rule.column_name_regex).search(column_name or ""):
            return None
        reasons.append("column name matches the rule's pattern")
    if not _has_value_condition(rule):
        return None, [], reasons
    if non_null == 0:
        return None  # a value condition with nothing to check: no evidence either way
    matched = 0
    distinct = 0
    examples: list[str] = []
    for text, count in items:
        if _value_matches(rule, text):
            matched += count
            distinct += 1
            if len(examples) < 3:
                examples.append(text)
    share = matched / non_null
    if share < rule.min_match_share or distinct < rule.min_distinct:
        return None
    reasons.append(f"{share:.0%} of values match the rule")
    return share, examples, reasons


def preview_rule(rule: CustomRule, values: list[str], column_name: str | None = None) -> dict:
    """What a rule would say about pasted values: per-value match, share and verdict (values are not echoed).

    With ``column_name`` the rule's column-name pattern is checked too (``column_name_matches``); without it
    only the values are judged and ``column_name_matches`` is None."""
    results = []
    matched = 0
    distinct_matched: set[str] = set()
    non_null = 0
    for index, raw in enumerate(values):
        text = "" if raw is None else str(raw).strip()
        if not text:
            results.append({"index": index, "matched": None, "reason": "empty"})
            continue
        non_null += 1
        ok = _value_matches(rule, text) if _has_value_condition(rule) else True
        if ok:
            matched += 1
            distinct_matched.add(text)
        reason = "matches" if ok else ("too long" if len(text) > MAX_VALUE_LENGTH else "no match")
        results.append({"index": index, "matched": ok, "reason": reason})
    share = matched / non_null if non_null else 0.0
    column_name_matches = None
    if column_name is not None:
        column_name_matches = (rule.column_name_regex is None
                               or _compile(rule.column_name_regex).search(column_name))
    return {
        "results": results,
        "matched": matched,
        "non_null": non_null,
        "match_share": round(share, 4),
        "distinct_matched": len(distinct_matched),
        "column_name_matches": column_name_matches,
        "would_match": (non_null > 0 and share >= rule.min_match_share and len(distinct_matched) >= rule.min_distinct
                        and column_name_matches is not False),
    }
