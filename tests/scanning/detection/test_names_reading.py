"""Issue 12 items 3 and 4: names read better — glued names of three or more words, a person's role, a bare
``name`` read through its table's head noun — and vetoes that stop name-only false positives."""
import pytest

from scanning.detection import ColumnSample, detect_column
from scanning.detection.classifications import GLUED_NAMES
from scanning.detection.names import NAME_ONLY_VETO, head_noun, is_bare_name, person_role, tokenize

FULL_NAMES = ["Ann Lee", "Bruno Diaz", "Chloé Martin", "David Okafor", "Emma Rossi", "Farid Haddad", "Giulia Conti",
              "Hugo Lambert"] * 5
LOGINS = ["alee", "bdiaz", "cmartin", "dokafor", "erossi", "fhaddad", "gconti", "hlambert"] * 5
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Pharmaceuticals", "Stark Industries", "Wayne Enterprises",
             "Tyrell", "Soylent"] * 5
COUNTRIES = ["France", "Germany", "Spain", "Italy", "Peru", "Japan", "Kenya", "Canada"] * 5
JOBS = ["Sales Manager", "Nurse", "Accountant", "Chief Executive Officer", "Data Analyst", "Teacher",
        "Civil Engineer", "Pharmacist"] * 5
CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Lima", "Osaka", "Nairobi", "Toronto"] * 5


def detect(name, values, *, table="t", data_type="varchar(100)"):
    found = detect_column(ColumnSample(column_name=name, table_name=table, data_type=data_type, values=values))
    return found.classification if found else None


@pytest.mark.parametrize("glued, words", [
    ("shiptocountrycode", ("ship", "to", "countrycode")),
    ("billingcityname", ("billing", "city", "name")),
    ("emergencycontactphone", ("emergency", "contact", "phone")),
    ("nextofkinphone", ("next", "of", "kin", "phone")),
    ("salesrepname", ("sales", "rep", "name")),
    ("mothermaidenname", ("mother", "maiden", "name")),
    ("approvername", ("approver", "name")),
])
def test_glued_names_of_three_or_more_words_are_split(glued, words):
    assert GLUED_NAMES.tokens(tokenize(glued)) == words


@pytest.mark.parametrize("name, values, expected", [
    ("shiptocountrycode", ["US", "FR", "DE", "GB", "IT", "ES", "NL", "BE"] * 5, "PII.COUNTRY"),
    ("BILLINGCITYNAME", CITIES, "PII.CITY"),
    ("emergencycontactphone", [f"+44 20 7946 {i:04d}" for i in range(40)], "PII.PHONE"),
    ("salesrepname", FULL_NAMES, "PII.PERSON_NAME"),
    ("countryofresidence", COUNTRIES, "PII.COUNTRY"),
])
def test_glued_names_are_classified_like_their_words(name, values, expected):
    assert detect(name, values, table="orders") == expected


@pytest.mark.parametrize("name", ["consignee_name", "ConsigneeName", "approver_name", "account_manager_name",
                                  "emergency_contact_name", "guardian_full_name"])
def test_a_role_followed_by_name_is_a_persons_name(name):
    assert detect(name, FULL_NAMES, table="shipments") == "PII.PERSON_NAME"


@pytest.mark.parametrize("name", ["approver", "account_manager", "AccountManager", "sales_rep", "assignee",
                                  "supervisor"])
def test_a_column_named_by_a_persons_role_holding_full_names_is_a_persons_name(name):
    assert detect(name, FULL_NAMES, table="requests") == "PII.PERSON_NAME"


@pytest.mark.parametrize("name, values", [
    ("approver", LOGINS),  # logins, not names
    ("approver", ["Yes", "No", "Pending"] * 10),
    ("manager_id", FULL_NAMES),  # the role is not the whole name
    ("account_manager", [f"E{i:05d}" for i in range(40)]),
    ("visitor", ["Returning Visitor", "New Visitor"] * 20),  # the record's subject: as often a category
    ("officer", ["Loan Officer", "Senior Loan Officer", "Credit Officer", "Branch Officer"] * 10),  # kinds of it
    ("customer", ["Northwind Traders", "Contoso Pharmaceuticals", "Fabrikam"] * 10),
])
def test_a_role_alone_needs_full_names(name, values):
    assert detect(name, values, table="requests") is None


def test_person_roles_are_whole_column_names():
    assert person_role(("account", "manager")) == "account manager"
    assert person_role(("sales", "reps")) == "sales rep"
    assert person_role(("manager", "id")) is None
    assert person_role(("driver",)) is None  # also software


@pytest.mark.parametrize("table, values, expected", [
    ("suppliers", COMPANIES, "ORG.COMPANY_NAME"),
    ("merchant", COMPANIES, "ORG.COMPANY_NAME"),
    ("company_master", COMPANIES, "ORG.COMPANY_NAME"),
    ("fournisseurs", COMPANIES, "ORG.COMPANY_NAME"),
    ("nation", COUNTRIES, "PII.COUNTRY"),
    ("countries", COUNTRIES, "PII.COUNTRY"),
    ("positions", JOBS, "PII.JOB_TITLE"),
    ("job", JOBS, "PII.JOB_TITLE"),
    ("roles", JOBS, "PII.JOB_TITLE"),
    ("cities", CITIES, "PII.CITY"),
    ("customer", FULL_NAMES, "PII.PERSON_NAME"),
    ("employees", FULL_NAMES, "PII.PERSON_NAME"),
    ("person", FULL_NAMES, "PII.PERSON_NAME"),
    ("supplier_contacts", FULL_NAMES, "PII.PERSON_NAME"),  # the head noun: contacts are people
])
def test_a_bare_name_is_read_by_its_tables_head_noun(table, values, expected):
    assert detect("name", values, table=table) == expected


@pytest.mark.parametrize("column, table", [("s_name", "supplier"), ("supp_name", "suppliers"),
                                           ("supplier_name", "suppliers"), ("name", "dim_supplier")])
def test_a_name_qualified_by_its_own_table_is_bare(column, table):
    assert detect(column, COMPANIES, table=table) == "ORG.COMPANY_NAME"


@pytest.mark.parametrize("table, values", [
    ("roles", ["admin", "editor", "viewer", "ROLE_USER", "read_only", "billing_admin"] * 5),  # application roles
    ("products", ["Steel Chair", "Oak Table", "Desk Lamp", "Rain Jacket"] * 10),
    ("warehouses", ["North Depot", "South Depot", "East Hub", "West Hub"] * 10),
    ("suppliers", [f"SUP-{i:04d}" for i in range(40)]),
])
def test_a_bare_name_elsewhere_or_with_other_values_is_not_classified(table, values):
    assert detect("name", values, table=table) is None


def test_is_bare_name_and_the_head_noun_past_view_qualifiers():
    assert is_bare_name(("name",), ("anything",))
    assert is_bare_name(("cust", "name"), ("customers",))
    assert not is_bare_name(("product", "name"), ("orders",))
    assert not is_bare_name(("first", "name"), ("customers",))
    assert head_noun(("supplier", "master")) == ("supplier",)
    assert head_noun(("customer", "details")) == ("customer",)


# --- vetoes (item 4) ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, data_type", [
    ("credit_card_approval_code", "varchar(15)"), ("CreditCardApprovalCode", "varchar(15)"),
    ("phone_count", "varchar(10)"), ("email_type", "varchar(10)"), ("country_id", "varchar(3)"),
    ("ssn_status", "varchar(10)"), ("address_type", "varchar(10)"), ("passport_number_format", "varchar(20)"),
])
def test_vetoed_names_of_empty_columns_give_no_suggestion(name, data_type):
    assert detect(name, [None] * 50, data_type=data_type) is None


@pytest.mark.parametrize("name, data_type, expected", [
    ("ssn", "char(11)", "NATIONAL_ID.US_SSN"), ("card_number", "varchar(19)", "FINANCIAL.PAYMENT_CARD"),
    ("phone_number", "varchar(20)", "PII.PHONE"), ("cvv_code", "char(3)", "FINANCIAL.CARD_SECURITY_CODE"),
    ("passport_id", "varchar(12)", "PII.PASSPORT_NUMBER"),  # "id" is part of the phrase, not after it
])
def test_strong_names_of_empty_columns_are_name_only_suggestions(name, data_type, expected):
    found = detect_column(ColumnSample(name, "t", data_type, [None] * 50))
    assert found.classification == expected
    assert found.confidence <= 0.6
    assert found.evidence["name_only"] is True


def test_an_approval_code_with_values_is_not_a_card():
    codes = [f"{100000 + i * 37}Vi{20000 + i * 11}" for i in range(40)]
    assert detect("CreditCardApprovalCode", codes, table="SalesOrderHeader") is None


@pytest.mark.parametrize("name, values", [
    ("job_type", ["Full time", "Part time", "Contract", "Internship"] * 10),
    ("city_category", ["Tier one", "Tier two", "Rural"] * 10),
    ("supplier_category", ["Office supplies", "Raw materials", "Logistics"] * 10),
    ("country_status", ["Active", "Embargoed"] * 20),
])
def test_a_trailing_type_count_or_category_stops_classes_values_cannot_contradict(name, values):
    assert detect(name, values, table="employees") is None


def test_a_lookups_id_with_real_values_is_still_read_by_its_values():
    assert detect("country_id", ["US", "FR", "DE", "GB", "IT"] * 8) == "PII.COUNTRY"
    assert "id" in NAME_ONLY_VETO
