"""A scan with detection of a real PostgreSQL database holding personal data and hard negatives, through the
services (eager tasks): the expected classifications on exactly the expected columns, none on the hard negatives,
and afterwards no sampled raw value anywhere in Racine's own database (every column of every table) or its logs.
"""
from __future__ import annotations

import datetime
import decimal
import json
import logging
import random
import uuid
from urllib.parse import urlparse

import pytest
from django.db import connection
from stdnum import iban, luhn
from stdnum.fr import nir

from accounts.actors import SYSTEM
from catalog.models import Asset, AssetClassification
from scanning.models import ScanRun
from scanning.services import runs
from sources import crypto
from sources.connectors import parse_qualified_name
from sources.connectors.postgresql import PostgresConnector
from sources.models import DataSource
from tests.catalog.factories import ScanFactory
from tests.support.factories import WorkspaceFactory
from tests.support.services import require_postgres

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ROWS = 80
FIRST = ["Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Giulia", "Hugo", "Inès", "Jonas", "Karim", "Léa",
         "Marc", "Nadia", "Olivier", "Pauline", "Quentin", "Rosa", "Sami", "Théo"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "Bertrand", "Roux", "Vincent", "Fournier", "Girard"]
PRODUCTS = ["Steel hammer", "Garden hose", "Desk lamp", "USB cable", "Coffee mug", "Oak chair", "Rain jacket"]
COMMENTS = ["Fast delivery.", "Box was damaged", "Would buy again", "Colour not as shown", "Late by two days"]

EXPECTED = {
    "customers.email": "PII.EMAIL",
    "customers.phone": "PII.PHONE",
    "customers.full_name": "PII.PERSON_NAME",
    "customers.date_of_birth": "PII.DATE_OF_BIRTH",
    "customers.card_number": "FINANCIAL.PAYMENT_CARD",
    "customers.iban": "FINANCIAL.IBAN",
    "customers.nir": "NATIONAL_ID.FR_NIR",
    "customers.ssn": "NATIONAL_ID.US_SSN",
    "customers.last_login_ip": "NETWORK.IP_ADDRESS",
}
HARD_NEGATIVES = {"customers.id", "customers.email_verified", "customers.academic_year_code", "orders.id",
                  "orders.order_number", "orders.total", "products.id", "products.name", "products.version",
                  "attachments.id", "attachments.content", "comments.id", "comments.body"}


def _digits(rnd, n):
    return "".join(rnd.choice("0123456789") for _ in range(n))


def _rows(rnd):
    def card():
        body = "4" + _digits(rnd, 14)
        return body + luhn.calc_check_digit(body)

    def de_iban():
        bban = _digits(rnd, 18)
        return "DE" + iban.calc_check_digits("DE00" + bban) + bban

    def fr_nir():
        base = (f"{rnd.choice('12')}{rnd.randint(50, 99):02d}{rnd.randint(1, 12):02d}{rnd.randint(1, 95):02d}"
                f"{rnd.randint(1, 999):03d}{rnd.randint(1, 999):03d}")
        return base + nir.calc_check_digits(base)

    customers = []
    for i in range(ROWS):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        ascii_first = first.replace("é", "e").replace("è", "e")
        customers.append((
            f"{ascii_first.lower()}.{last.lower()}{i}@example{i % 5}.com",
            f"+33 6 {rnd.randint(10, 99)} {rnd.randint(10, 99)} {rnd.randint(10, 99)} {rnd.randint(10, 99)}",
            f"{first} {last}",
            datetime.date(1950, 1, 1) + datetime.timedelta(days=rnd.randint(0, 18000)),
            card(), de_iban(), fr_nir(),
            f"{rnd.randint(100, 665):03d}-{rnd.randint(1, 99):02d}-{rnd.randint(1, 9999):04d}",
            f"{rnd.randint(11, 200)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}",
            rnd.randint(0, 1),
            rnd.choice(["231", "241", "221", "211"]),
        ))
    orders = []
    for _ in range(ROWS):
        body = _digits(rnd, 15)
        orders.append((body + luhn.calc_check_digit(body), rnd.randint(100, 99999) / 100))
    products = [(rnd.choice(PRODUCTS), f"{rnd.randint(1, 9)}.{rnd.randint(0, 20)}.{rnd.randint(0, 9)}."
                                       f"{rnd.randint(0, 99)}") for _ in range(ROWS)]
    attachments = [(bytes(rnd.randrange(256) for _ in range(64)),) for _ in range(20)]
    comments = [("Great service, write to me at paul.roux@example.org" if i % 10 == 0 else rnd.choice(COMMENTS),)
                for i in range(ROWS)]
    return customers, orders, products, attachments, comments


SCHEMA = """
CREATE TABLE customers (
    id serial PRIMARY KEY, email varchar(255), phone varchar(30), full_name text, date_of_birth date,
    card_number varchar(19), iban varchar(34), nir varchar(15), ssn varchar(11), last_login_ip inet,
    email_verified integer, academic_year_code varchar(3));
CREATE TABLE orders (id serial PRIMARY KEY, order_number varchar(16), total numeric(10, 2));
CREATE TABLE products (id serial PRIMARY KEY, name text, version varchar(20));
CREATE TABLE attachments (id serial PRIMARY KEY, content bytea);
CREATE TABLE comments (id serial PRIMARY KEY, body text);
"""


@pytest.fixture
def personal_database():
    """A throwaway PostgreSQL database with personal data and hard negatives; dropped at teardown."""
    import psycopg

    url = urlparse(require_postgres())
    params = {"host": url.hostname, "port": url.port or 5432, "user": url.username or "postgres",
              "password": url.password}
    name = f"racine_t_detect_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(dbname=(url.path.lstrip("/") or "postgres"), autocommit=True, **params)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(dbname=name, autocommit=True, **params) as conn:
            conn.execute(SCHEMA)
            customers, orders, products, attachments, comments = _rows(random.Random(20240611))
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO customers (email, phone, full_name, date_of_birth, card_number, iban, nir, ssn, "
                    "last_login_ip, email_verified, academic_year_code) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", customers)
                cur.executemany("INSERT INTO orders (order_number, total) VALUES (%s, %s)", orders)
                cur.executemany("INSERT INTO products (name, version) VALUES (%s, %s)", products)
                cur.executemany("INSERT INTO attachments (content) VALUES (%s)", attachments)
                cur.executemany("INSERT INTO comments (body) VALUES (%s)", comments)
            conn.execute("ANALYZE")
        yield name, params
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def sampled(monkeypatch):
    """Every value the connector hands to detection during the test."""
    seen: list = []
    original = PostgresConnector.sample_table

    def recording(self, table_path, columns, limit, **kwargs):
        result = original(self, table_path, columns, limit, **kwargs)
        for values in result.values():
            seen.extend(values)
        return result

    monkeypatch.setattr(PostgresConnector, "sample_table", recording)
    return seen


def _searchable(values) -> set[str]:
    """The sampled values as the text they would be stored as; short ones ("1", "231") occur in any database, and
    numbers (an order's total, 490.20) in any log of durations: the personal values searched for are text."""
    texts = set()
    for value in values:
        if value is None or isinstance(value, (bytes, bytearray, memoryview, int, float, decimal.Decimal)):
            continue
        text = str(value).strip()
        if len(text) >= 6:
            texts.add(text)
    return texts


def _app_database_text() -> list[tuple[str, str]]:
    """(table, rendered row) for every row of every table of Racine's database, every column as text."""
    rendered = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                parts = []
                for value in row:
                    if isinstance(value, (dict, list)):
                        parts.append(json.dumps(value, ensure_ascii=False))
                    elif isinstance(value, (bytes, bytearray, memoryview)):
                        parts.append(bytes(value).decode("utf-8", "replace"))
                    elif value is not None:
                        parts.append(str(value))
                rendered.append((table, "\x1f".join(parts)))
    return rendered


def _scan(name, params, django_capture_on_commit_callbacks) -> ScanRun:
    source = DataSource.objects.create(
        workspace=WorkspaceFactory(), name="Shop", engine=DataSource.Engine.POSTGRESQL, host=params["host"],
        port=params["port"], database=name, username=params["user"],
        encrypted_secret=crypto.encrypt(params["password"] or ""))
    scan = ScanFactory(data_source=source)
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)
    run.refresh_from_db()
    return run


def _table_column(qualified_name: str) -> str:
    """``table.column`` of a column's qualified name, unquoted (``comments."body"`` reads ``comments.body``)."""
    return ".".join(parse_qualified_name(qualified_name)[-2:])


def _classified(source_id) -> dict[str, str]:
    found = {}
    for qualified, classification in AssetClassification.objects.filter(
            asset__data_source_id=source_id).values_list("asset__qualified_name", "classification__name"):
        found[_table_column(qualified)] = classification
    return found


def test_scan_classifies_exactly_the_personal_columns_and_stores_no_sampled_value(
        personal_database, sampled, django_capture_on_commit_callbacks, caplog):
    name, params = personal_database
    with caplog.at_level(logging.DEBUG):
        run = _scan(name, params, django_capture_on_commit_callbacks)
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    assert run.progress_done == run.progress_total == 5 and run.columns_classified == len(EXPECTED)

    found = _classified(run.data_source_id)
    assert found == EXPECTED
    columns = {_table_column(q) for q in Asset.objects.filter(
        data_source_id=run.data_source_id, type=Asset.Type.COLUMN).values_list("qualified_name", flat=True)}
    assert columns >= HARD_NEGATIVES and not HARD_NEGATIVES & set(found)
    assert set(AssetClassification.objects.values_list("status", flat=True)) == {"suggested"}
    table = Asset.objects.get(data_source_id=run.data_source_id, type=Asset.Type.TABLE, name="customers")
    database = Asset.objects.get(data_source_id=run.data_source_id, type=Asset.Type.DATABASE)
    products = Asset.objects.get(data_source_id=run.data_source_id, type=Asset.Type.TABLE, name="products")
    assert table.sensitivity == database.sensitivity == "restricted" and products.sensitivity == ""

    # No sampled raw value anywhere in Racine's database, nor in what was logged.
    raw = _searchable(sampled)
    assert len(raw) > 500  # the test is only as strong as what it searched for
    leaks = [(table_name, value) for table_name, text in _app_database_text() for value in raw if value in text]
    assert leaks == []
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert [value for value in raw if value in logged] == []


def test_rescan_keeps_decisions_and_reads_nothing_unchanged(personal_database, sampled,
                                                            django_capture_on_commit_callbacks):
    from catalog import services as catalog_services

    name, params = personal_database
    run = _scan(name, params, django_capture_on_commit_callbacks)
    rows = {_table_column(r.asset.qualified_name): r
            for r in AssetClassification.objects.select_related("asset", "classification")}
    catalog_services.asset_classification_confirm(asset_classification=rows["customers.email"], acting_user=SYSTEM)
    catalog_services.asset_classification_reject(asset_classification=rows["customers.ssn"], acting_user=SYSTEM)
    sampled.clear()
    with django_capture_on_commit_callbacks(execute=True):
        second = runs.scan_run_request(scan=run.scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)
    second.refresh_from_db()
    assert second.status == ScanRun.Status.SUCCEEDED and sampled == []  # nothing changed, all tables sampled
    # On-demand detection of the whole source resamples every table, as a run of its own; decisions hold.
    database = Asset.objects.get(data_source_id=run.data_source_id, type=Asset.Type.DATABASE)
    with django_capture_on_commit_callbacks(execute=True):
        third = runs.detection_run_request(assets=[database], acting_user=SYSTEM)
    third.refresh_from_db()
    assert third.status == ScanRun.Status.SUCCEEDED and third.progress_done == third.progress_total > 0
    assert sampled
    statuses = {_table_column(r.asset.qualified_name): r.status
                for r in AssetClassification.objects.select_related("asset")}
    assert statuses["customers.email"] == "confirmed" and statuses["customers.ssn"] == "rejected"
    assert {k for k, v in statuses.items() if v == "suggested"} == set(EXPECTED) - {"customers.email",
                                                                                   "customers.ssn"}
