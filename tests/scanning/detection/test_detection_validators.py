import pytest

from scanning.detection import VALIDATORS, type_family
from scanning.detection.names import tokenize


@pytest.mark.parametrize("key,valid,invalid", [
    ("payment_card", "4111 1111 1111 1111", "4111 1111 1111 1112"),
    ("payment_card", "378282246310005", "378282246310006"),
    ("us_ssn", "536-22-1234", "666-22-1234"),
    ("us_ssn", "536-22-1234", "536-00-1234"),
    ("fr_nir", "295109912611193", "295109912611194"),
    ("iban", "GB82WEST12345698765432", "GB82WEST12345698765433"),
    ("iban", "FR76 3000 6000 0112 3456 7890 189", "FR76 3000 6000 0112 3456 7890 188"),
    ("de_idnr", "36574261809", "36574261800"),
    ("es_dni", "54362315K", "54362315Z"),
    ("es_dni", "X2482300W", "X2482300A"),
    ("it_codice_fiscale", "RCCMNL83S18D969H", "RCCMNL83S18D969A"),
    ("nl_bsn", "111222333", "111222334"),
    ("in_aadhaar", "234123412346", "234123412347"),
    ("br_cpf", "390.533.447-05", "390.533.447-06"),
    ("ca_sin", "130 692 544", "130 692 545"),
    ("gb_nino", "AB 12 34 56 C", "DA 12 34 56 C"),
    ("imei", "35-209900-176148-1", "35-209900-176148-2"),
    ("vin", "1M8GDM9AXKP042788", "1M8GDM9A1KP042788"),
    ("vat", "DE136695976", "DE136695977"),
    ("bic", "DEUTDEFF500", "DEUTXXFF500"),
    ("email", "j.doe+tag@example.co.uk", "j.doe@example"),
    ("phone", "+33 1 42 68 53 00", "+33 1"),
    ("ip_address", "2001:db8::ff00:42:8329", "300.1.1.1"),
    ("mac_address", "00:1A:2b:3C:4d:5E", "00:1A:2b:3C:4d"),
    ("url", "https://example.com/a?b=c", "example dot com"),
    ("password_hash", "$2y$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", "hunter2"),
    ("known_secret", "AKIAIOSFODNN7EXAMPLE", "AKIA-not-a-key"),
    ("known_secret", "xoxb-1234567890-abcdefghijkl", "xox-123"),
    ("icd10", "E11.9", "U11.9"),
    ("gb_nhs", "943 476 5919", "943 476 5918"),
])
def test_validator_accepts_valid_and_rejects_invalid_check_digit(key, valid, invalid):
    assert VALIDATORS[key](valid) is True
    assert VALIDATORS[key](invalid) is False


@pytest.mark.parametrize("key", sorted(VALIDATORS))
def test_validators_never_raise_on_junk(key):
    for junk in ("", " ", "\x00", "€€€", "1" * 600, "a@" * 300, "$2b$" + "." * 500, "-" * 50):
        assert VALIDATORS[key](junk) in (True, False)


def test_pattern_checks_are_safe_from_catastrophic_backtracking():
    import time

    start = time.perf_counter()
    for check in VALIDATORS.values():
        for evil in ("a" * 500 + "!", "1." * 250, "a-" * 250 + "@", "0" * 40 + "x", "Aa1" * 170):
            check(evil)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("raw,family", [
    ("character varying(255)", "text"), ("varchar(20)", "text"), ("TEXT", "text"), ("nvarchar(max)", "text"),
    ("enum('M','F')", "text"), ("int(11)", "integer"), ("bigint unsigned", "integer"), ("INTEGER", "integer"),
    ("smallint", "integer"), ("serial", "integer"), ("numeric(10,2)", "decimal"), ("DECIMAL(5,2)", "decimal"),
    ("double precision", "float"), ("REAL", "float"), ("float8", "float"), ("boolean", "boolean"),
    ("tinyint(1)", "boolean"), ("bit(1)", "boolean"), ("date", "date"), ("timestamp with time zone", "datetime"),
    ("datetime", "datetime"), ("time without time zone", "time"), ("bytea", "binary"), ("BLOB", "binary"),
    ("longblob", "binary"), ("varbinary(16)", "binary"), ("json", "json"), ("jsonb", "json"), ("uuid", "uuid"),
    ("integer[]", "other"), ("interval", "other"), ("geometry", "other"), ("", "other"), ("inet", "text"),
])
def test_type_family_maps_engine_types(raw, family):
    assert type_family(raw) == family


@pytest.mark.parametrize("name,tokens", [
    ("customerEMailAddr2", ("customer", "e", "mail", "addr")),
    ("ACADEMIC_YEAR_CODE", ("academic", "year", "code")),
    ("Prénom", ("prenom",)),
    ("Straße", ("strasse",)),
    ("cvv2", ("cvv",)),
    ("IPAddress", ("ip", "address")),
])
def test_column_names_tokenise_on_case_separators_and_accents(name, tokens):
    assert tokenize(name) == tokens


@pytest.mark.parametrize("name, opaque", [
    ("c1", True), ("C12", True), ("col7", True), ("field_3", True), ("FLD023", True), ("x", True), ("12", True),
    ("attr5", True), ("id", False), ("ip", False), ("no", False), ("user_code", False), ("c1_email", False),
])
def test_opaque_column_names_are_those_that_say_nothing(name, opaque):
    from scanning.detection.names import is_opaque_name

    assert is_opaque_name(tokenize(name)) is opaque


@pytest.mark.parametrize("table, accounts", [
    ("legacy_users", True), ("T_COMPTES", True), ("Benutzer", True), ("auth_user", True), ("login", True),
    ("documents", False), ("deployments", False), ("attachments", False),
])
def test_account_tables_are_tables_of_people_or_sign_ins(table, accounts):
    from scanning.detection.names import ACCOUNT_TABLES

    assert ACCOUNT_TABLES.any_token(tokenize(table)) is accounts


@pytest.mark.parametrize("value, person", [
    ("Mini Gifts Distributors Ltd.", False), ("Rovelli Gifts S.p.A.", False), ("Baane Mini Imports GmbH", False),
    ("Volvo Model Replicas AG", False), ("Mini Wheels Co.", False), ("Land of Toys Inc", False),
    ("AB de Villiers", True), ("KK Sharma", True), ("SA Khan", True), ("Rhys ab Owen", True),
    ("Nguyen Van Co", True), ("Lisa As", True), ("Jean-Luc Picard", True), ("Ltd", True),
    ("Siemens AG Österreich", False), ("Acme Limited Partners", False), ("NGUYEN VAN CO", True),
    ("JOAO DE SA", True), ("ACME S.A.", False),
])
def test_a_legal_form_after_the_first_word_makes_a_company_not_a_person(value, person):
    from scanning.detection.validators import is_person_name

    assert is_person_name(value) is person
