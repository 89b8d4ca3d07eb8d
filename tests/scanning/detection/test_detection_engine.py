import json
import re

import pytest

from scanning.detection import (
    BUILTIN_CLASSIFICATIONS,
    SENSITIVITIES,
    ColumnSample,
    DetectionSettings,
    detect_column,
)

from .examples import POSITIVES


def sample(name, values, *, table="t", data_type="varchar(255)"):
    return ColumnSample(column_name=name, table_name=table, data_type=data_type, values=values)


def luhn_complete(body: str) -> str:
    from stdnum import luhn

    return body + luhn.calc_check_digit(body)


# --- the built-in list ----------------------------------------------------------------------------------------

def test_builtin_list_has_at_least_30_unique_specs():
    names = [c.name for c in BUILTIN_CLASSIFICATIONS]
    assert len(names) >= 30
    assert len(set(names)) == len(names)
    for spec in BUILTIN_CLASSIFICATIONS:
        assert re.fullmatch(r"[A-Z_]+\.[A-Z0-9_]+", spec.name)
        assert spec.sensitivity in SENSITIVITIES
        assert spec.category and spec.description


def test_every_builtin_has_a_positive_example():
    assert set(POSITIVES) == {c.name for c in BUILTIN_CLASSIFICATIONS}


@pytest.mark.parametrize("expected", sorted(POSITIVES))
def test_named_column_with_valid_values_is_classified(expected):
    name, table, data_type, values = POSITIVES[expected]
    found = detect_column(sample(name, list(values) * 10 + [None], table=table, data_type=data_type))
    assert found is not None and found.classification == expected
    assert 0.5 <= found.confidence <= 1.0


@pytest.mark.parametrize("expected", sorted(POSITIVES))
def test_evidence_is_json_and_never_holds_raw_values(expected):
    name, table, data_type, values = POSITIVES[expected]
    found = detect_column(sample(name, list(values) * 5, table=table, data_type=data_type))
    text = json.dumps(found.evidence)
    for key in ("match_share", "values_sampled", "non_null", "distinct", "name_signal", "validator",
                "masked_examples", "reasons"):
        assert key in found.evidence
    assert len(found.evidence["masked_examples"]) <= 3
    for value in values:
        raw = str(value)
        if len(raw) >= 4:
            assert raw not in text


# --- names hidden: values alone -------------------------------------------------------------------------------

VALUE_DETECTABLE = [
    "PII.EMAIL", "PII.PHONE", "FINANCIAL.PAYMENT_CARD", "FINANCIAL.IBAN", "NETWORK.IP_ADDRESS", "NETWORK.MAC_ADDRESS",
    "NETWORK.URL", "CREDENTIALS.PASSWORD_HASH", "CREDENTIALS.SECRET", "NATIONAL_ID.US_SSN", "NATIONAL_ID.FR_NIR",
    "NATIONAL_ID.ES_DNI", "NATIONAL_ID.IT_CODICE_FISCALE", "NATIONAL_ID.NL_BSN", "NATIONAL_ID.IN_AADHAAR",
    "NATIONAL_ID.GB_NINO", "NATIONAL_ID.DE_IDNR", "NATIONAL_ID.BR_CPF", "NATIONAL_ID.CA_SIN", "DEVICE.IMEI",
    "DEVICE.VIN", "FINANCIAL.VAT_NUMBER", "HEALTH.GB_NHS_NUMBER",
]


@pytest.mark.parametrize("expected", VALUE_DETECTABLE)
def test_meaningless_column_name_is_classified_by_values(expected):
    _, table, data_type, values = POSITIVES[expected]
    found = detect_column(sample("c1", list(values) * 10, table=table, data_type=data_type))
    assert found is not None and found.classification == expected
    assert found.evidence["name_signal"] is None


@pytest.mark.parametrize("expected", ["PII.FIRST_NAME", "PII.CITY", "PII.JOB_TITLE", "FINANCIAL.BANK_ACCOUNT",
                                      "FINANCIAL.CARD_SECURITY_CODE", "HEALTH.MEDICAL_RECORD_NUMBER"])
def test_meaningless_column_name_with_shapeless_values_is_not_classified(expected):
    _, table, data_type, values = POSITIVES[expected]
    assert detect_column(sample("c1", list(values) * 10, table=table, data_type=data_type)) is None


# --- hard negatives -------------------------------------------------------------------------------------------

def test_luhn_valid_order_numbers_are_not_payment_cards():
    values = [luhn_complete(f"4{i:014d}") for i in range(100, 200)]
    assert all(__import__("stdnum").luhn.is_valid(v) for v in values)
    assert detect_column(sample("order_number", values, table="orders")) is None
    assert detect_column(sample("ref", values, table="invoices")) is None


def test_random_luhn_valid_numbers_without_name_are_not_payment_cards():
    import random

    rnd = random.Random(1)
    values = [luhn_complete("".join(rnd.choice("0123456789") for _ in range(15))) for _ in range(100)]
    assert detect_column(sample("c7", values)) is None


def test_numeric_postal_code_like_ids_are_not_postal_codes():
    values = [10000 + i * 37 for i in range(100)]
    assert detect_column(sample("store_id", values, data_type="int(11)")) is None
    assert detect_column(sample("c3", [str(v) for v in values], data_type="char(5)")) is None


def test_version_strings_are_not_ip_addresses():
    values = [f"{a}.{b}.{c}.{d}" for a in (1, 2) for b in range(5) for c in range(5) for d in (0, 7)]
    assert detect_column(sample("version", values)) is None
    assert detect_column(sample("c9", values)) is None
    builds = [f"{a}.{b}.{c}.{d}" for a in range(1, 9) for b in range(3) for c in (3,) for d in (120, 250, 7, 199)]
    assert detect_column(sample("firmware_version", builds)) is None
    assert detect_column(sample("c10", builds)) is None


def test_product_names_in_a_name_column_are_not_person_names():
    values = ["Ergonomic Steel Chair", "Rustic Wooden Table", "Sleek Cotton Gloves", "Small Plastic Lamp"] * 25
    assert detect_column(sample("name", values, table="products")) is None
    assert detect_column(sample("nom", values, table="produits")) is None
    assert detect_column(sample("name", ["Ann Lee", "John Smith"] * 50, table="customers")).classification == \
        "PII.PERSON_NAME"


def test_comments_with_an_occasional_email_are_not_email():
    values = [f"Customer called about order {i}." for i in range(95)]
    values += [f"Contact me at a{i}@example.com" for i in range(5)]
    assert detect_column(sample("comments", values, data_type="text")) is None
    assert detect_column(sample("c2", values, data_type="text")) is None


def test_integer_email_verified_is_not_email():
    assert detect_column(sample("email_verified", [0, 1, 1, 0] * 25, data_type="integer")) is None
    assert detect_column(sample("email_verified", ["0", "1"] * 50, data_type="int(1)")) is None


def test_academic_year_code_is_not_card_security_code():
    values = ["201", "202", "2324", "2425"] * 25
    assert detect_column(sample("ACADEMIC_YEAR_CODE", values, table="ENROLMENTS", data_type="VARCHAR2(4)")) is None


def test_cvv_name_with_three_digit_values_is_card_security_code():
    found = detect_column(sample("cvv2", ["123", "456", "789"] * 10, data_type="char(3)"))
    assert found.classification == "FINANCIAL.CARD_SECURITY_CODE"


def test_checksums_and_git_shas_without_name_are_not_password_hashes():
    import hashlib

    md5s = [hashlib.md5(str(i).encode()).hexdigest() for i in range(100)]
    assert detect_column(sample("file_checksum", md5s)) is None
    assert detect_column(sample("c4", md5s)) is None
    assert detect_column(sample("password", md5s)).classification == "CREDENTIALS.PASSWORD_HASH"


def _sha256s(n=100):
    import hashlib

    return [hashlib.sha256(f"secret-{i}".encode()).hexdigest() for i in range(n)]


@pytest.mark.parametrize("column, table", [("c7", "legacy_users"), ("FLD_12", "T_COMPTES"), ("x", "benutzer"),
                                           ("col3", "staff"), ("12", "login")])
def test_bare_digests_under_an_opaque_name_in_an_account_table_are_password_hashes(column, table):
    found = detect_column(sample(column, _sha256s(), table=table, data_type="char(64)"))
    assert found.classification == "CREDENTIALS.PASSWORD_HASH"
    assert 0.5 <= found.confidence < 0.9  # below a self-describing hash: the table is a weaker witness
    assert found.evidence["name_signal"] is None and found.evidence["validator"] == "hex_digest"
    assert f"table '{table}' holds people or accounts" in found.evidence["reasons"]


@pytest.mark.parametrize("column, table", [
    ("c7", "documents"),  # the table does not hold accounts: a checksum as likely as anything
    ("sync_marker", "users"),  # a name we do not know still says the column is something else
    ("content_sha256", "users"),
])
def test_bare_digests_need_both_an_opaque_name_and_an_account_table(column, table):
    assert detect_column(sample(column, _sha256s(), table=table, data_type="char(64)")) is None


def test_digests_of_mixed_lengths_or_too_few_are_not_settled_by_the_table():
    import hashlib

    mixed = [hashlib.md5(str(i).encode()).hexdigest() if i % 2 else hashlib.sha1(str(i).encode()).hexdigest()
             for i in range(100)]
    assert detect_column(sample("c1", mixed, table="users")) is None
    assert detect_column(sample("c1", _sha256s(3) * 30, table="users")) is None


def test_table_context_is_a_value_only_suggestion_and_obeys_allow_value_only():
    strict = DetectionSettings(allow_value_only=False)
    assert detect_column(sample("c1", _sha256s(), table="users"), settings=strict) is None


def test_hash_of_an_avatar_or_file_is_not_a_password_hash():
    import hashlib

    md5s = [hashlib.md5(f"user{i}@example.com".encode()).hexdigest() for i in range(100)]
    assert detect_column(sample("gravatar_hash", md5s, table="users")) is None
    assert detect_column(sample("file_hash", md5s, table="uploads")) is None
    assert detect_column(sample("password_hash", md5s, table="users")).classification == "CREDENTIALS.PASSWORD_HASH"


def test_uuids_in_text_column_are_not_secrets():
    import uuid

    values = [str(uuid.UUID(int=i * 7919 + 1)) for i in range(100)]
    assert detect_column(sample("c5", values)) is None


# --- wrong types ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data_type", ["bytea", "BLOB", "varbinary(64)", "longblob"])
def test_binary_column_is_never_classified(data_type):
    assert detect_column(sample("ssn", [b"\x00\x01secret"] * 50, data_type=data_type)) is None
    assert detect_column(sample("email", [b"a@b.com"] * 50, data_type=data_type)) is None


def test_binary_values_in_untyped_column_are_never_classified():
    assert detect_column(sample("email", [b"john@example.com"] * 50, data_type="")) is None


@pytest.mark.parametrize("data_type", ["boolean", "bool", "tinyint(1)", "bit(1)"])
def test_boolean_column_is_never_classified(data_type):
    assert detect_column(sample("is_email", [True, False] * 50, data_type=data_type)) is None


def test_integers_are_never_text_identifiers():
    assert detect_column(sample("email", list(range(100)), data_type="bigint")) is None
    assert detect_column(sample("first_name", list(range(100)), data_type="integer")) is None
    assert detect_column(sample("url", list(range(100)), data_type="text")) is None  # SQLite: values decide


def test_integer_card_numbers_in_bigint_column_are_payment_cards():
    values = [int(v) for v in POSITIVES["FINANCIAL.PAYMENT_CARD"][3]] * 20
    found = detect_column(sample("card_pan", values, data_type="bigint"))
    assert found.classification == "FINANCIAL.PAYMENT_CARD"


# --- names, values and settings -------------------------------------------------------------------------------

def test_name_contradicted_by_values_gives_no_suggestion():
    assert detect_column(sample("phone", ["n/a", "unknown", "-", "none"] * 25)) is None
    assert detect_column(sample("ssn", ["pending"] * 100)) is None


def test_name_only_with_all_null_values_is_a_low_confidence_suggestion():
    found = detect_column(sample("date_of_birth", [None] * 100, data_type="date"))
    assert found.classification == "PII.DATE_OF_BIRTH"
    assert found.confidence < 0.7
    assert detect_column(sample("date_of_birth", [None] * 10, data_type="date"),
                         settings=DetectionSettings(allow_name_only=False)) is None


@pytest.mark.parametrize("name", ["courriel", "correo_electronico", "EmailAddress", "e-mail", "eml", "E_MAIL_ADRESSE"])
def test_email_name_variants_give_a_name_signal(name):
    found = detect_column(sample(name, ["a.b@example.com"] * 10))
    assert found.classification == "PII.EMAIL" and found.evidence["name_signal"]


@pytest.mark.parametrize("name,expected", [
    ("dob", "PII.DATE_OF_BIRTH"), ("geburtsdatum", "PII.DATE_OF_BIRTH"), ("fecha_nacimiento", "PII.DATE_OF_BIRTH"),
    ("date_de_naissance", "PII.DATE_OF_BIRTH"),
])
def test_date_of_birth_name_variants_are_detected(name, expected):
    found = detect_column(sample(name, ["1980-05-01", "1975-12-31", "2001-02-03"], data_type="varchar(10)"))
    assert found.classification == expected


def test_created_dates_without_name_are_not_date_of_birth():
    from datetime import date

    assert detect_column(sample("created_on", [date(2020, 1, d) for d in range(1, 29)], data_type="date")) is None


def test_threshold_settings_are_honoured():
    values = ["a@example.com"] * 70 + ["not an email"] * 30
    assert detect_column(sample("c1", values)) is None
    loose = DetectionSettings(min_match_share=0.6)
    assert detect_column(sample("c1", values), settings=loose).classification == "PII.EMAIL"
    assert detect_column(sample("email", values), settings=DetectionSettings(min_confidence=0.99)) is None


def test_disabled_and_excluded_classifications_are_skipped():
    values = ["a@example.com"] * 20
    assert detect_column(sample("email", values), settings=DetectionSettings(disabled=frozenset({"PII.EMAIL"}))) is None
    assert detect_column(sample("email", values), exclude={"PII.EMAIL"}) is None


def test_phone_regions_setting_changes_national_parsing():
    values = ["06 12 34 56 78", "01 42 68 53 00"] * 10
    assert detect_column(sample("telephone", values)).classification == "PII.PHONE"


def test_long_values_are_not_pattern_checked():
    values = ["a" * 600 + "@example.com"] * 10
    assert detect_column(sample("email", values, data_type="text")) is None


# --- names without separators, generic names, companies ----------------------------------------------------------

@pytest.mark.parametrize("glued, expected", [
    ("BILLINGADDRESS", "PII.STREET_ADDRESS"), ("streetaddress", "PII.STREET_ADDRESS"),
    ("addressline1", "PII.STREET_ADDRESS"), ("CUSTOMERSSN", "NATIONAL_ID.US_SSN"),
])
def test_glued_column_names_are_read_word_by_word(glued, expected):
    original, table, data_type, values = POSITIVES[expected]
    found = detect_column(sample(glued, list(values) * 10, table=table, data_type=data_type))
    assert found is not None and found.classification == expected
    assert found.evidence["name_signal"] is not None


@pytest.mark.parametrize("token, pieces", [
    ("billingpostalcode", ("billing", "postalcode")), ("shipcity", ("ship", "city")),
    ("nationalidnumber", ("national", "id", "number")), ("passwordhash", ("password", "hash")),
    ("customerdob", ("customer", "dob")), ("lastloginip", ("last", "login", "ip")),
    ("passwordsalt", ("password", "salt")),  # not "passwords alt": longest pieces first, no 3-letter pun
    ("description", ("description",)), ("password", ("password",)), ("ipsum", ("ipsum",)),
    ("transcription", ("transcription",)), ("keyword", ("keyword",)),
    # Regressions: splits that were puns, not evidence.
    ("export", ("export",)), ("placeholder", ("placeholder",)), ("mainland", ("mainland",)),
    ("jobname", ("jobname",)), ("hashkey", ("hashkey",)), ("citizenship", ("citizenship",)),
    ("township", ("township",)), ("recapito", ("recapito",)), ("usersalt", ("usersalt",)),
    ("x" * 200, ("x" * 200,)),
])
def test_glued_tokens_split_only_when_the_split_reveals_a_known_phrase(token, pieces):
    from scanning.detection.classifications import GLUED_NAMES

    assert GLUED_NAMES.split(token) == pieces


@pytest.mark.parametrize("name, table, values", [
    ("export", "products", ["csv", "pdf", "xlsx"] * 10),
    ("placeholder", "ui_fields", ["Enter text", "Your answer", "Search"] * 10),
    ("mainland", "regions", ["Europe", "Asia", "Africa"] * 10),
    ("jobname", "batch_jobs", ["Nightly Export", "Weekly Report", "Index Rebuild"] * 10),
])
def test_ordinary_glued_words_are_not_classified(name, table, values):
    assert detect_column(sample(name, values, table=table)) is None


def test_a_glued_name_is_still_contradicted_by_its_values():
    assert detect_column(sample("EMAILVERIFIED", [0, 1] * 50, table="users", data_type="integer")) is None
    assert detect_column(sample("emailcount", list(range(100)), table="campaigns", data_type="int")) is None


@pytest.mark.parametrize("name", ["national_id", "NationalIDNumber", "citizen_number", "id_card_number"])
def test_a_national_id_without_a_country_is_named_by_the_check_digits_of_its_values(name):
    ssns = POSITIVES["NATIONAL_ID.US_SSN"][3]
    bsns = POSITIVES["NATIONAL_ID.NL_BSN"][3]
    assert detect_column(sample(name, ssns * 10, table="employees")).classification == "NATIONAL_ID.US_SSN"
    assert detect_column(sample(name, bsns * 10, table="employees")).classification == "NATIONAL_ID.NL_BSN"
    assert detect_column(sample(name, ["A-1", "B-2", "C-3"] * 10, table="employees")) is None


def test_company_names_do_not_confirm_a_person_name():
    companies = ["Mini Gifts Distributors Ltd.", "Australian Collectors, Co.", "Havel & Zbyszek Co",
                 "Land of Toys Inc.", "Euro+ Shopping Channel", "Baane Mini Imports GmbH", "Rovelli Gifts S.p.A."]
    assert detect_column(sample("customer_name", companies * 10, table="customers")) is None
    people = ["Anne-Marie O'Neil", "José Pérez", "Li Wei", "Jean-Luc Picard", "Zoë Saldaña"]
    assert detect_column(sample("customer_name", people * 10, table="customers")).classification == "PII.PERSON_NAME"


def test_country_codes_under_an_id_name_are_countries_but_integer_keys_are_not():
    found = detect_column(sample("country_id", ["IT", "US", "FR", "DE", "BR"] * 10, table="locations",
                                 data_type="char(2)"))
    assert found.classification == "PII.COUNTRY"
    assert detect_column(sample("country_id", list(range(1, 101)), table="cities", data_type="integer")) is None
    assert detect_column(sample("country_id", [str(i) for i in range(1, 101)], table="cities",
                                data_type="varchar(10)")) is None


@pytest.mark.parametrize("column, table", [
    ("value", "user_preferences"), ("data", "account_events"), ("val", "login_history"), ("col2", "admin_audit"),
])
def test_table_context_needs_the_tables_head_noun_and_a_truly_opaque_name(column, table):
    assert detect_column(sample(column, _sha256s(), table=table, data_type="char(64)")) is None


def test_dashless_uuids_in_an_account_table_are_not_password_hashes():
    import uuid

    values = [uuid.uuid4().hex for _ in range(100)]
    assert detect_column(sample("c3", values, table="users", data_type="char(32)")) is None
    import hashlib

    md5s = [hashlib.md5(f"pw{i}".encode()).hexdigest() for i in range(100)]
    assert detect_column(sample("c3", md5s, table="users")).classification == "CREDENTIALS.PASSWORD_HASH"


@pytest.mark.parametrize("glued, snake", [
    ("accesskey", "access_key"), ("apitoken", "api_token"), ("macaddr", "mac_addr"), ("jobrole", "job_role"),
    ("customersex", "customer_sex"), ("altphone", "alt_phone"), ("passwordsalt", "password_salt"),
])
def test_a_glued_name_reads_like_its_snake_case_spelling(glued, snake):
    from scanning.detection.classifications import GLUED_NAMES

    assert GLUED_NAMES.split(glued) == tuple(snake.split("_"))


@pytest.mark.parametrize("table", ["users_old", "users_backup", "accounts_archive", "members_v2", "user_passwords"])
def test_table_context_reads_the_head_noun_past_copy_qualifiers(table):
    found = detect_column(sample("c7", _sha256s(), table=table, data_type="char(64)"))
    assert found is not None and found.classification == "CREDENTIALS.PASSWORD_HASH"
