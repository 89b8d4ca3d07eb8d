"""User-written regular expressions run on values and names Racine does not control (rule preview in a web
request, custom rules and ``re:`` filters in scans). They run on RE2, linear in the text's length: the patterns that
made Python's ``re`` run for minutes or hours answer in milliseconds, and the syntax RE2 cannot run (backreferences,
lookaround) is refused with a 400 naming the field and what is not supported."""
from __future__ import annotations

import re
import time

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.actors import SYSTEM
from scanning.detection import ColumnSample, CustomRule, detect_column, preview_rule
from scanning.services import classifications as rule_services
from scanning.services import scans as scan_services
from sources.connectors import ConnectorConfigError, Filters
from sources.safe_regex import InvalidPattern, compile_pattern
from tests.catalog.classification_factories import builtin
from tests.support.factories import WorkspaceFactory

# .*.*.*.*.*X took 17 s on 200 characters and about 30 minutes on 512 with Python's re; the others are exponential.
CATASTROPHIC = [r".*.*.*.*.*X", r"(a+)+$", r"(a|aa)*b", r"(.*a){12}", r"(\w+\s?)+$", r"(?:x*)*y", r"((ab)*c)*d"]
HOSTILE_VALUES = ["a" * 512, "a" * 511 + "!", "ab" * 256, "a b" * 170]
ORDINARY = [r"^emp(loyee)?_?no$", r"[A-Z]{2}\d{6}", r"(\d{3}-){2}\d{4}", r"^(dim|fact)_.*", r"^(EMP|E)-\d+$",
            r"[^@\s]+@[^@\s]+\.[a-z]{2,}", r"(?P<prefix>[A-Z]{3})-\d+", r"(?s)a.b"]
UNSUPPORTED = [
    (r"(\d)\1", "backreferences"),
    (r"(?P<x>a)(?P=x)", "named backreferences"),
    (r"(?=.*\d)\w+", "lookahead and lookbehind"),
    (r"(?<!x)y", "lookahead and lookbehind"),
    (r"(?>a+)b", "atomic groups"),
    (r"a++b", "possessive repeats"),
    (r"(a)?(?(1)b|c)", "conditionals"),
    (r"abc\Z", r"write \z or $"),
    (r"a{5000}", "at most 1000 times"),
]


def _seconds(call) -> float:
    """CPU seconds of this process: a catastrophic pattern burns CPU for seconds to years, while a machine busy with
    other work only stretches the wall clock (a wall-clock bound failed at load 10 on 2 cores)."""
    start = time.process_time()
    call()
    return time.process_time() - start


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_pattern_runs_in_milliseconds_in_the_detection_engine(pattern):
    rule = CustomRule(name="X", value_regex=pattern, column_name_regex=pattern, min_match_share=0.0)
    sample = ColumnSample(column_name="a" * 512, table_name="t", data_type="text", values=HOSTILE_VALUES * 25)
    assert _seconds(lambda: detect_column(sample, custom_rules=[rule])) < 0.5


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_pattern_runs_in_milliseconds_in_rule_preview(world, pattern):
    client = world.client("analyst")
    url = reverse("api:classificationrule-preview")
    body = {"value_regex": pattern, "column_name_regex": pattern, "column_name": "a" * 512, "values": HOSTILE_VALUES}
    response = None

    def call():
        nonlocal response
        response = client.post(url, body, format="json")

    # Untimed first: a process's first request pays for imports and caches, not for the pattern.
    assert client.post(url, {"value_regex": "a", "values": ["a"]}, format="json").status_code == 200
    assert _seconds(call) < 1.0
    assert response.status_code == 200, response.json()
    assert len(response.json()["per_value"]) == len(HOSTILE_VALUES)


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_pattern_runs_in_milliseconds_in_name_filters(pattern):
    filters = Filters(include_tables=(f"re:{pattern}",), exclude_columns=(f"re:{pattern}",))
    assert _seconds(lambda: [filters.table_ok("s", name) or filters.column_ok(name) for name in HOSTILE_VALUES]) < 0.1


def test_hostile_glob_runs_in_milliseconds():
    filters = Filters(include_tables=("*a*a*a*a*a*a*a*b", "?*?*?*?*?*?*?*?*!"))
    assert _seconds(lambda: [filters.table_ok("s", name) for name in HOSTILE_VALUES]) < 0.1


@pytest.mark.parametrize(("pattern", "what"), UNSUPPORTED)
def test_unsupported_syntax_is_refused_saying_what(pattern, what):
    with pytest.raises(InvalidPattern, match=re.escape(what)):
        compile_pattern(pattern)
    with pytest.raises(ValueError, match=re.escape(what)):
        CustomRule(name="X", value_regex=pattern)
    with pytest.raises(ConnectorConfigError, match=re.escape(what)):
        Filters(include_tables=(f"re:{pattern}",))


def test_invalid_pattern_is_refused_as_invalid():
    with pytest.raises(InvalidPattern, match="not a valid regular expression: missing \\)"):
        compile_pattern("(ab")


@pytest.mark.parametrize("pattern", ORDINARY)
def test_ordinary_data_pattern_is_accepted(pattern):
    assert compile_pattern(pattern).pattern == pattern
    assert CustomRule(name="X", value_regex=pattern, column_name_regex=pattern).value_regex == pattern
    assert Filters(exclude_tables=(f"re:{pattern}",)).filters_tables


def test_supported_patterns_keep_their_meaning():
    # Custom rules are case-insensitive, search the column name and match values in full; filters are
    # case-sensitive full matches.
    rule = CustomRule(name="X", column_name_regex=r"^emp(loyee)?_?no$", value_regex=r"emp-\d{6}")
    report = preview_rule(rule, ["EMP-123456", "emp-654321", "EMP-1234567", "xEMP-123456"],
                                        column_name="EMPLOYEE_NO")
    assert [r["matched"] for r in report["results"]] == [True, True, False, False]
    assert report["column_name_matches"] is True
    assert preview_rule(rule, ["EMP-123456"], column_name="manager_employee_no")[
        "column_name_matches"] is False
    filters = Filters(include_tables=(r"re:(dim|fact)_.*",))
    assert filters.table_ok("s", "dim_date")
    assert not filters.table_ok("s", "DIM_date")
    assert not filters.table_ok("s", "x_dim_date")
    assert compile_pattern(r"é+\w").fullmatch("ÉÉa") is False
    assert compile_pattern(r"é+\w", ignore_case=True).fullmatch("ÉÉa") is True


@pytest.mark.django_db
def test_custom_rule_with_unsupported_pattern_is_refused_on_save():
    with pytest.raises(ValidationError) as info:
        rule_services.classification_rule_create(workspace=WorkspaceFactory(), acting_user=SYSTEM,
                                                 classification=builtin("PII.EMAIL"), value_regex=r"(a)\1")
    assert "backreferences" in info.value.message_dict["value_regex"][0]


@pytest.mark.parametrize(("field", "pattern", "what"), [
    ("value_regex", r"(\d)\1", "backreferences (\\1) are not supported"),
    ("column_name_regex", r"^(?!tmp_)\w+", "lookahead and lookbehind"),
])
def test_preview_with_unsupported_pattern_is_400_naming_field_and_construct(world, field, pattern, what):
    response = world.client("analyst").post(reverse("api:classificationrule-preview"),
                                            {field: pattern, "values": ["11", "22"]}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert what in errors[0]["detail"]


def test_rule_set_with_unsupported_re_filter_is_400_naming_the_field(world):
    response = world.client("steward").post(
        reverse("api:scanruleset-list"),
        {"workspace": world.workspace_a.pk, "name": "lookaround", "include_tables": ["sales_*"],
         "exclude_columns": ["re:^(?!id$).*_id$"]}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["exclude_columns"]
    assert "lookahead and lookbehind" in errors[0]["detail"]
    assert "re:^(?!id$).*_id$" in errors[0]["detail"]


@pytest.mark.django_db
def test_rule_set_with_hostile_but_supported_re_filter_is_saved():
    rule_set = scan_services.rule_set_create(workspace=WorkspaceFactory(), acting_user=SYSTEM, name="fine now",
                                             include_tables=[r"re:.*.*.*.*.*X"])
    assert scan_services.rule_set_filters(rule_set).table_ok("s", "a" * 511 + "X")
