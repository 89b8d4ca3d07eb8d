"""Issue 12 item 2: a name signal and a value signal combine, neither is required, and a strong name is not
overruled by values only because they are test or synthetic data — while placeholders and flags stay unflagged."""
import pytest
from stdnum import luhn

from scanning.detection import ColumnSample, DetectionSettings, detect_column


def sample(name, values, *, table="t", data_type="varchar(255)"):
    return ColumnSample(column_name=name, table_name=table, data_type=data_type, values=values)


def luhn_complete(body: str) -> str:
    return body + luhn.calc_check_digit(body)


def _not_luhn(prefix: str, i: int) -> str:
    body = f"{prefix}{i:0{15 - len(prefix)}d}"
    wrong = (int(luhn.calc_check_digit(body)) + 1) % 10
    return f"{body}{wrong}"


TEST_DATA = {
    "email local parts": ("email", [f"{first}.{last}" for first in ("ann", "bob", "chloe", "dev", "emil")
                                    for last in ("lee", "diaz", "roux", "okafor")] * 4, "PII.EMAIL"),
    "email hosts without a dot": ("email", [f"user{i}@localhost" for i in range(40)], "PII.EMAIL"),
    "cards failing Luhn": ("card_number", [_not_luhn("4", i) for i in range(40)], "FINANCIAL.PAYMENT_CARD"),
    "mastercard test numbers": ("credit_card", [_not_luhn("51", i * 7) for i in range(40)],
                                "FINANCIAL.PAYMENT_CARD"),
    "issuer-less 14-digit fakes": ("CardNumber", [f"{d * 4}{i:010d}" for d in "1357" for i in range(10)],
                                   "FINANCIAL.PAYMENT_CARD"),
    "unissued SSNs": ("ssn", [f"9{i:02d}-12-{1000 + i}" for i in range(40)], "NATIONAL_ID.US_SSN"),
    "dummy-prefix NINOs": ("national_insurance", [f"ZZ {i:02d} {i + 10:02d} {i + 20:02d} {'ABCT'[i % 4]}"
                                                  for i in range(40)], "NATIONAL_ID.GB_NINO"),
    "unassigned phone numbers": ("phone", [f"000{i:07d}" for i in range(40)], "PII.PHONE"),
}


@pytest.mark.parametrize("case", list(TEST_DATA))
def test_a_strong_name_holds_against_test_data_at_lower_confidence_with_the_reason(case):
    name, values, expected = TEST_DATA[case]
    found = detect_column(sample(name, values + [None] * 5))
    assert found.classification == expected
    assert 0.5 <= found.confidence <= 0.75
    assert found.evidence["test_data"] is True
    assert any("test" in reason for reason in found.evidence["reasons"])


def test_real_values_under_the_same_name_are_confirmed_at_full_confidence():
    found = detect_column(sample("email", [f"user{i}@example{i % 5}.com" for i in range(40)]))
    assert found.confidence >= 0.9 and "test_data" not in found.evidence
    card = detect_column(sample("card_number", [luhn_complete("4" + f"{i:014d}") for i in range(40)]))
    assert card.confidence >= 0.9 and "test_data" not in card.evidence


@pytest.mark.parametrize("name, values", [
    ("phone", ["n/a", "unknown", "-", "none"] * 25),
    ("phone", ["TBD", "ask customer", "0", "N/A"] * 25),
    ("email", ["missing", "invalid", "TODO"] * 30),
    ("email", ["noreply", "none", "unknown", "test"] * 25),  # local-part shaped, but four repeated words
    ("email", ["n/a", "none", "null", "test", "sample", "dummy", "example"] * 10),  # placeholders, however many
    ("ssn", ["pending"] * 100),
])
def test_placeholders_and_other_numbers_under_a_strong_name_stay_unflagged(name, values):
    assert detect_column(sample(name, values)) is None


@pytest.mark.parametrize("table", ["gift_cards", "loyalty_card", "orders", "library_members"])
def test_test_data_is_not_read_in_a_table_the_class_vetoes(table):
    # A Luhn-failing number under "card_number" is a gift or loyalty card there, or an order reference.
    values = ["7" + f"{i * 7919:015d}" for i in range(40)]
    assert detect_column(sample("card_number", values, table=table)) is None
    assert detect_column(sample("card_number", values, table="credit_cards")).classification == \
        "FINANCIAL.PAYMENT_CARD"


def test_integer_and_boolean_flags_named_after_a_class_stay_unflagged():
    assert detect_column(sample("email_verified", [0, 1] * 50, data_type="integer")) is None
    assert detect_column(sample("EMAILVERIFIED", [0, 1] * 50, data_type="NUMBER(1)")) is None
    assert detect_column(sample("phone_verified", [True, False] * 50, data_type="boolean")) is None


def test_test_data_needs_a_strong_name():
    local_parts = [f"user{i}" for i in range(40)]
    assert detect_column(sample("mail", local_parts)) is None  # "mail" is a weak name
    assert detect_column(sample("c7", local_parts)) is None  # no name at all
    assert detect_column(sample("contact", [f"{i}@localhost" for i in range(40)])) is None


def test_a_weak_name_and_values_combine_above_each_alone():
    values = [f"{i:03d}-{i % 90 + 10:02d}-{1000 + i:04d}" for i in range(101, 141)]
    by_values = detect_column(sample("c3", values))
    with_weak_name = detect_column(sample("national_id", values))
    assert by_values.classification == with_weak_name.classification == "NATIONAL_ID.US_SSN"
    assert with_weak_name.confidence > by_values.confidence
    assert any("values alone" in reason for reason in with_weak_name.evidence["reasons"])


def test_test_data_under_a_strong_name_needs_no_value_only_detection():
    # The test-data path is part of reading a name with values: it does not turn value-only detection on.
    found = detect_column(sample("card_number", [_not_luhn("4", i) for i in range(40)]),
                          settings=DetectionSettings(allow_value_only=False))
    assert found.classification == "FINANCIAL.PAYMENT_CARD" and found.evidence["test_data"] is True


def test_a_name_about_a_class_keeps_distribution_judged_guesses_out():
    # "email_domain" is about e-mail: its "smith.com" values are domains, not logins.
    domains = [f"{w}.{tld}" for w in ("smith", "jones", "garcia", "miller", "davis", "lopez", "wilson", "martin")
               for tld in ("com", "net", "org", "io", "fr")]
    assert detect_column(sample("email_domain", domains)) is None
    # Values with a real check still speak under such a name.
    emails = [f"user{i}@example{i % 5}.com" for i in range(40)]
    assert detect_column(sample("phone_type", emails)).classification == "PII.EMAIL"


def test_a_strong_name_with_test_data_outranks_a_value_only_guess_of_another_class():
    local_parts = [f"{first}{last}" for first in ("ann", "bob", "chloe", "david", "emma")
                   for last in ("smith", "jones", "garcia", "miller", "martin", "lopez", "wilson", "davis")]
    found = detect_column(sample("email", local_parts))
    assert found.classification == "PII.EMAIL" and found.evidence["test_data"] is True
    # Without the name, the same values are logins by their distribution.
    assert detect_column(sample("c7", local_parts)).classification == "PII.USERNAME"
