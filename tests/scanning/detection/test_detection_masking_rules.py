import pytest

from scanning.detection import ColumnSample, CustomRule, DetectionSettings, detect_column, mask_value, preview_rule
from sources.safe_regex import InvalidPattern

from .examples import POSITIVES


def test_email_is_masked_as_first_letters_and_tld():
    assert mask_value("john.doe@example.com", "PII.EMAIL") == "j***@e***.com"


def test_card_keeps_at_most_last_four_digits():
    masked = mask_value("4111 1111 1111 1234", "FINANCIAL.PAYMENT_CARD")
    assert masked == "**** **** **** 1234"
    assert sum(ch.isdigit() for ch in masked) == 4


def test_generic_mask_keeps_first_character_and_length():
    assert mask_value("Madeline", "PII.FIRST_NAME") == "M***(8)"
    assert mask_value("M", "PII.GENDER") == "*"


def test_secret_mask_keeps_only_vendor_prefix():
    masked = mask_value("AKIAIOSFODNN7EXAMPLE", "CREDENTIALS.SECRET")
    assert masked.startswith("AKIA") and "IOSFODNN" not in masked


@pytest.mark.parametrize("classification", sorted(POSITIVES))
def test_masking_never_contains_the_raw_value(classification):
    for value in POSITIVES[classification][3]:
        raw = str(value)
        masked = mask_value(value, classification)
        assert raw not in masked
        if len(raw) >= 8:
            assert raw[:-4] not in masked


def sample(name, values):
    return ColumnSample(name, "staff", "varchar(20)", values)


def test_custom_rule_with_value_regex_classifies_column():
    rule = CustomRule(name="HR.EMPLOYEE_NUMBER", value_regex=r"E\d{6}", min_match_share=0.9)
    found = detect_column(sample("c1", [f"E{i:06d}" for i in range(50)]), custom_rules=[rule])
    assert found.classification == "HR.EMPLOYEE_NUMBER"
    assert found.evidence["custom_rule"] is True
    assert "E000001" not in str(found.evidence)


def test_custom_rule_below_min_share_or_distinct_does_not_match():
    rule = CustomRule(name="HR.EMPLOYEE_NUMBER", value_regex=r"E\d{6}", min_match_share=0.9, min_distinct=5)
    assert detect_column(sample("c1", ["E000001"] * 50), custom_rules=[rule]) is None
    assert detect_column(sample("c1", [f"E{i:06d}" for i in range(5)] + ["x"] * 5), custom_rules=[rule]) is None


def test_custom_rule_requires_both_column_and_value_conditions():
    rule = CustomRule(name="HR.BADGE", column_name_regex=r"badge", validator="luhn")
    values = ["79927398713"] * 10
    assert detect_column(sample("badge_no", values), custom_rules=[rule]).classification == "HR.BADGE"
    assert detect_column(sample("other", values), custom_rules=[rule]) is None
    assert detect_column(sample("badge_no", ["79927398710"] * 10), custom_rules=[rule]) is None


def test_custom_rule_takes_precedence_over_builtin_by_default():
    rule = CustomRule(name="CRM.CONTACT_EMAIL", column_name_regex=r"^email$", confidence=0.8)
    values = ["a@example.com"] * 10
    assert detect_column(sample("email", values), custom_rules=[rule]).classification == "CRM.CONTACT_EMAIL"
    competing = DetectionSettings(custom_rules_take_precedence=False)
    assert detect_column(sample("email", values), custom_rules=[rule], settings=competing).classification == "PII.EMAIL"


def test_custom_rule_with_unknown_validator_or_bad_regex_is_rejected():
    with pytest.raises(ValueError):
        CustomRule(name="X.Y", validator="nope")
    with pytest.raises(InvalidPattern, match="missing"):
        CustomRule(name="X.Y", value_regex="(")
    with pytest.raises(ValueError):
        CustomRule(name="X.Y")


def test_preview_rule_reports_matches_per_value_and_share():
    rule = CustomRule(name="FINANCIAL.CARD", validator="payment_card", min_match_share=0.5)
    result = preview_rule(rule, ["4111111111111111", "4111111111111112", "", "5555555555554444"])
    assert [r["matched"] for r in result["results"]] == [True, False, None, True]
    assert result["non_null"] == 3 and result["matched"] == 2
    assert result["match_share"] == pytest.approx(0.6667, abs=1e-3)
    assert result["would_match"] is True
    assert "4111111111111111" not in str(result)
    assert result["column_name_matches"] is None


def test_preview_rule_checks_the_column_name_when_one_is_given():
    rule = CustomRule(name="HR.EMPLOYEE_NUMBER", column_name_regex="^emp_?no$", value_regex=r"E\d{6}")
    values = ["E123456", "E654321"]
    assert preview_rule(rule, values, column_name="emp_no")["would_match"] is True
    other = preview_rule(rule, values, column_name="order_no")
    assert other["column_name_matches"] is False and other["would_match"] is False


def test_rejected_refinement_falls_back_to_the_next_candidate():
    """Regression: when the bare-name refinement (``nom`` → last name) landed on a classification the steward had
    rejected, the engine answered nothing instead of its next candidate."""
    surnames = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"]
    sample = ColumnSample("nom", "clients", "varchar(100)", surnames * 10)
    compete = DetectionSettings(custom_rules_take_precedence=False)
    family_name = CustomRule(name="HR.FAMILY_NAME", column_name_regex="^nom$", confidence=0.55)
    assert detect_column(sample, settings=compete, custom_rules=[family_name]).classification == "PII.LAST_NAME"
    fallback = detect_column(sample, settings=compete, custom_rules=[family_name], exclude={"PII.LAST_NAME"})
    assert fallback is not None and fallback.classification == "HR.FAMILY_NAME"
