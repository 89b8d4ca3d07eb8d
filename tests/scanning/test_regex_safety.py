"""User-written regular expressions run on values and names Racine does not control (rule preview in a web
request, custom rules and ``re:`` filters in scans). Python's ``re`` has no timeout, so patterns that backtrack
catastrophically are refused when they are saved or previewed."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from scanning.connectors import ConnectorConfigError, Filters
from scanning.detection import CustomRule
from scanning.safe_regex import UnsafePattern, check_pattern
from scanning.services import classifications as rule_services
from scanning.services import scans as scan_services
from tests.catalog.classification_factories import builtin
from tests.support.factories import WorkspaceFactory

CATASTROPHIC = [r"(a+)+$", r"(a|aa)+b", r"(.*a){12}", r"(\w+\s?)+$", r"(?:x*)*y", r"((ab)*c)*d"]
ORDINARY = [r"^emp(loyee)?_?no$", r"[A-Z]{2}\d{6}", r"(\d{3}-){2}\d{4}", r"^(dim|fact)_.*", r"^(EMP|E)-\d+$",
            r"[^@\s]+@[^@\s]+\.[a-z]{2,}"]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_pattern_is_refused(pattern):
    with pytest.raises(UnsafePattern):
        check_pattern(pattern)
    with pytest.raises(ValueError):
        CustomRule(name="X", value_regex=pattern)
    with pytest.raises(ConnectorConfigError, match="not accepted"):
        Filters(include_tables=(f"re:{pattern}",))


@pytest.mark.parametrize("pattern", ORDINARY)
def test_ordinary_data_pattern_is_accepted(pattern):
    assert check_pattern(pattern).pattern == pattern
    assert CustomRule(name="X", value_regex=pattern, column_name_regex=pattern).value_regex == pattern
    assert Filters(exclude_tables=(f"re:{pattern}",)).filters_tables


@pytest.mark.django_db
def test_custom_rule_with_catastrophic_value_pattern_is_refused_on_save():
    with pytest.raises(ValidationError) as info:
        rule_services.classification_rule_create(workspace=WorkspaceFactory(), acting_user=None,
                                                 classification=builtin("PII.EMAIL"), value_regex=r"(a+)+$")
    assert "value_regex" in info.value.message_dict


@pytest.mark.django_db
def test_rule_set_with_catastrophic_re_filter_is_refused_on_save():
    with pytest.raises(ValidationError, match="not accepted"):
        scan_services.rule_set_create(workspace=WorkspaceFactory(), acting_user=None, name="hostile",
                                      include_tables=[r"re:(a|aa)+b"])


def test_preview_of_catastrophic_pattern_is_400_before_running_it(world):
    # Before the check, a 40-character value would have held the web worker for hours; the values here are
    # harmless so the test would not hang, only answer 200.
    response = world.client("analyst").post(reverse("api:classificationrule-preview"),
                                            {"value_regex": r"(a+)+$", "values": ["aaa", "b"]}, format="json")
    assert response.status_code == 400
    assert "value_regex" in str(response.json())
