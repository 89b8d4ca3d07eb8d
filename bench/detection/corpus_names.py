"""Corpus columns for issue 12's reading of names (items 2–4): names and values together, names read better, and
no verdict from a name alone where the name says the column is about something else.

* test and synthetic data under a strong name (e-mails without a domain, card numbers that fail Luhn, unissued
  SSNs, fictitious 555 phone numbers) — still the class; with the names hidden, values alone must not make the
  first three that class (``hidden_expected``: local parts are then logins by their values, the cards and SSNs
  nothing) — and placeholders under the same names, which are not the class;
* glued names of three or more words, person roles (``consignee_name``, ``account_manager``, ``approver``), and a
  bare ``name`` whose table says what it names (suppliers, merchants, nations, positions, customers) — with the
  confounders: an application's roles, warehouses, logins under a role's name, a job's type;
* empty columns whose names end in a veto (``…_approval_code``, ``…_count``, ``…_type``, ``…_id``).

Its own random generator (seeded from the corpus seed), so adding it changes no column of ``corpus.py``; like the
corpus, it never imports the engine's rules.
"""
from __future__ import annotations

import string

from stdnum import luhn

_OFFSET = 12  # issue 12: the generator's seed is the corpus seed plus this


def columns(seed: int) -> list:
    # Lazy: corpus.py includes this module while it is itself being imported.
    from bench.detection.corpus import ADJ, SAME, THING, LabelledColumn, _Gen, _with_nulls
    from scanning.detection.engine import ColumnSample

    g = _Gen(seed + _OFFSET)
    cols: list[LabelledColumn] = []

    def add(name, table, dtype, expected, make, null_rate=0.05, note="", hidden_expected=SAME):
        cols.append(LabelledColumn(ColumnSample(name, table, dtype, _with_nulls(g, make, null_rate)), expected, note,
                                   hidden_expected))

    def test_card():
        prefix = g.rnd.choice(["4", "51", "52", "55"])
        return g.until(lambda: prefix + g.digits(16 - len(prefix), string.digits), lambda n: not luhn.is_valid(n))

    def full_name(loc="en_US"):
        f = g.f(loc)
        return lambda: f"{f.first_name()} {f.last_name()}"

    # --- item 2: test data under a strong name, and placeholders that are not -----------------------------
    add("email", "test_users", "varchar(100)", "PII.EMAIL", g.f("en_GB").user_name,
        note="local parts only (an export that dropped the domain)",
        hidden_expected="PII.USERNAME")  # without the name, handles are what the values show
    add("card_number", "test_payments", "varchar(19)", "FINANCIAL.PAYMENT_CARD", test_card,
        note="issuer-range test cards that fail Luhn", hidden_expected=None)
    add("ssn", "demo_employees", "char(11)", "NATIONAL_ID.US_SSN",
        lambda: f"9{g.digits(2, string.digits)}-{g.digits(2)}-{g.digits(4)}", note="unissued 9xx SSNs",
        hidden_expected=None)
    add("phone_number", "demo_contacts", "varchar(20)", "PII.PHONE",
        lambda: f"({g.digits(3, '2345678')}) 555-01{g.digits(2, string.digits)}", note="fictitious 555 numbers")
    add("phone", "contacts_import", "varchar(20)", None,
        lambda: g.rnd.choice(["TBD", "none given", "ask customer", "0", "N/A"]), note="placeholders under phone")
    add("email", "newsletter_import", "varchar(100)", None,
        lambda: g.rnd.choice(["noreply", "none", "unknown", "test"]), note="placeholders under email")
    add("card_number", "gift_cards", "varchar(19)", None, lambda: "7" + g.digits(15, string.digits),
        note="gift card numbers outside every card issuer's range")
    add("email_domain", "accounts", "varchar(60)", None, g.f("en_US").domain_name, note="about e-mail, not one")

    # --- item 3: names read better -----------------------------------------------------------------------
    add("shiptocountrycode", "orders", "char(2)", "PII.COUNTRY", g.f("en_US").country_code,
        note="glued, four words")
    add("billingcityname", "invoices", "varchar(60)", "PII.CITY", g.city("en_GB"), note="glued, three words")
    add("shiptopostalcode", "orders", "varchar(10)", "PII.POSTAL_CODE", g.f("de_DE").postcode,
        note="glued, four words")
    add("emergencycontactphone", "employees", "varchar(24)", "PII.PHONE", g.f("en_US").phone_number,
        note="glued, three words")
    add("consignee_name", "shipments", "varchar(100)", "PII.PERSON_NAME", full_name("fr_FR"), note="role + name")
    add("account_manager", "accounts", "varchar(100)", "PII.PERSON_NAME", full_name("en_GB"), note="bare role")
    add("approver", "expense_reports", "varchar(100)", "PII.PERSON_NAME", full_name("de_DE"), note="bare role")
    add("name", "suppliers", "varchar(100)", "ORG.COMPANY_NAME", g.f("en_US").company, note="table says company")
    add("name", "merchant", "varchar(100)", "ORG.COMPANY_NAME", g.f("fr_FR").company, note="table says company")
    add("name", "nation", "varchar(60)", "PII.COUNTRY", g.f("en_US").country, note="table says country")
    add("name", "positions", "varchar(80)", "PII.JOB_TITLE", g.f("en_US").job, note="table says job title")
    add("cust_name", "customer", "varchar(100)", "PII.PERSON_NAME", full_name("es_ES"),
        note="name prefixed with its table's abbreviation")
    add("name", "roles", "varchar(40)", None,
        lambda: g.rnd.choice(["admin", "editor", "viewer", "ROLE_USER", "read_only", "billing_admin"]),
        note="an application's roles, not job titles")
    add("name", "warehouses", "varchar(60)", None,
        lambda: f"{g.rnd.choice(['North', 'South', 'East', 'West', 'Central'])} {g.rnd.choice(THING)} Depot",
        note="a bare name in a table of places that are not people")
    add("approver", "purchase_orders", "varchar(40)", "PII.USERNAME", g.f("en_US").user_name,
        note="logins under a role's name: logins, not full names")
    add("job_type", "vacancies", "varchar(20)", None,
        lambda: g.rnd.choice(["Full time", "Part time", "Contract", "Internship"]), note="about the job")
    add("supplier_category", "suppliers", "varchar(40)", None,
        lambda: f"{g.rnd.choice(ADJ)} goods", note="a category of suppliers")

    # --- item 4: empty columns whose names say they are about something else ----------------------------
    for name, table, dtype in [("credit_card_approval_code", "orders", "varchar(15)"),
                               ("phone_count", "customers", "integer"), ("email_type", "contacts", "varchar(10)"),
                               ("country_id", "addresses", "varchar(3)"), ("ssn_status", "employees", "varchar(10)")]:
        add(name, table, dtype, None, lambda: None, null_rate=1.0, note="empty, vetoed name")
    add("credit_card_approval_code", "sales_orders", "varchar(15)", None,
        lambda: f"{g.digits(6)}Vi{g.digits(5)}", note="approval codes, not card numbers")
    return cols
