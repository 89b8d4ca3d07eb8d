"""A populated catalog for a newcomer: a small shop's SQLite database, registered and scanned.

The data is generated here (Faker, fixed seed, several locales), so the demo needs no download and is the same on
every machine. It holds what a governance tool should find — names, e-mail addresses, phone numbers, dates of
birth, addresses, Luhn-valid card numbers, IBANs — next to look-alikes it should not flag: order references,
status codes, SKUs and 16-digit tracking numbers that fail the Luhn check.
"""
from __future__ import annotations

import random
import re
import sqlite3
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from faker import Faker

from accounts import services as accounts_services
from accounts.actors import SYSTEM
from catalog import curation
from catalog.source_assets import source_asset_ensure
from scanning import services
from scanning.management.commands._common import run_summary
from scanning.models import ScanRun
from sources import services as source_services
from sources.models import DataSource

SOURCE_NAME = "Demo shop"
FILE_NAME = "demo_shop.sqlite3"
SEED = 20240601
LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES"]
SIZES = {"customers": 200, "products": 60, "orders": 600}
STATUSES = ["PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"]
GENDERS = ["female", "male", "non-binary", "undisclosed"]

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    phone TEXT,
    date_of_birth DATE,
    gender TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE addresses (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    kind TEXT NOT NULL CHECK (kind IN ('billing', 'shipping')),
    street TEXT NOT NULL,
    city TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    country TEXT NOT NULL
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    price NUMERIC(10, 2) NOT NULL,
    status_code TEXT NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    shipping_address_id INTEGER REFERENCES addresses(id),
    status TEXT NOT NULL,
    ordered_at TIMESTAMP NOT NULL,
    tracking_number TEXT
);
CREATE TABLE order_items (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL,
    unit_price NUMERIC(10, 2) NOT NULL
);
CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    method TEXT NOT NULL,
    card_number TEXT,
    iban TEXT,
    amount NUMERIC(10, 2) NOT NULL,
    paid_at TIMESTAMP NOT NULL
);
CREATE VIEW customer_orders AS
    SELECT c.id AS customer_id, c.first_name, c.last_name, c.email,
           COUNT(DISTINCT o.id) AS order_count, ROUND(COALESCE(SUM(i.quantity * i.unit_price), 0), 2) AS total
    FROM customers c
    LEFT JOIN orders o ON o.customer_id = c.id
    LEFT JOIN order_items i ON i.order_id = o.id
    GROUP BY c.id, c.first_name, c.last_name, c.email;
CREATE VIEW monthly_revenue AS
    SELECT strftime('%Y-%m', p.paid_at) AS month, COUNT(*) AS payments, ROUND(SUM(p.amount), 2) AS revenue
    FROM payments p
    GROUP BY strftime('%Y-%m', p.paid_at);
"""


def _luhn_valid(number: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(number)):
        value = int(digit)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _tracking_number(rng: random.Random) -> str:
    """16 digits, like a card number, that fail the Luhn check: a detector must not call them cards."""
    number = "".join(str(rng.randint(0, 9)) for _ in range(16))
    while _luhn_valid(number):
        number = number[:-1] + str((int(number[-1]) + 1) % 10)
    return number


def _email_part(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower()) or "customer"


def _money(value: float) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def build_demo_database(path: Path, *, seed: int = SEED) -> dict[str, int]:
    """Write the shop into a new SQLite file at ``path`` (replacing it atomically); returns rows per table."""
    fake = Faker(LOCALES)
    fake.seed_instance(seed)
    rng = random.Random(seed)
    start, end = datetime(2023, 1, 1, 8), datetime(2024, 12, 31, 20)
    span = int((end - start).total_seconds())

    def moment() -> str:
        return (start + timedelta(seconds=rng.randrange(span))).isoformat(sep=" ")

    rows: dict[str, list[tuple]] = {name: [] for name in
                                    ("customers", "addresses", "products", "orders", "order_items", "payments")}
    customer_locale = {}
    for customer_id in range(1, SIZES["customers"] + 1):
        locale = rng.choice(LOCALES)
        local = fake[locale]
        first, last = local.first_name(), local.last_name()
        email = f"{_email_part(first)}.{_email_part(last)}{customer_id}@{local.free_email_domain()}"
        birth = local.date_between_dates(date(1940, 1, 1), date(2005, 12, 31))
        rows["customers"].append((customer_id, first, last, email, local.phone_number(), birth.isoformat(),
                                  rng.choice(GENDERS), moment()))
        customer_locale[customer_id] = locale
        for kind in ("billing", "shipping")[: rng.choice((1, 1, 2))]:
            rows["addresses"].append((len(rows["addresses"]) + 1, customer_id, kind, local.street_address(),
                                      local.city(), local.postcode(), local.current_country()))
    shipping = {}
    for address in rows["addresses"]:
        shipping[address[1]] = address[0]  # the last address of a customer ships
    for product_id in range(1, SIZES["products"] + 1):
        name = f"{fake['en_US'].color_name()} {rng.choice(['mug', 'tote bag', 'notebook', 'lamp', 'scarf', 'cap'])}"
        sku = f"SKU-{rng.randint(10000, 99999)}-{product_id:03d}"
        rows["products"].append((product_id, sku, name.capitalize(), _money(rng.uniform(4, 180)),
                                 rng.choice(["ACTIVE", "ACTIVE", "ACTIVE", "DISCONTINUED", "BACKORDER"])))
    prices = {product[0]: Decimal(product[3]) for product in rows["products"]}
    for order_id in range(1, SIZES["orders"] + 1):
        customer_id = rng.randint(1, SIZES["customers"])
        ordered_at = moment()
        status = rng.choice(STATUSES)
        shipped = status in ("SHIPPED", "DELIVERED")
        rows["orders"].append((order_id, f"ORD-{ordered_at[:4]}-{order_id:06d}", customer_id,
                               shipping.get(customer_id), status, ordered_at,
                               _tracking_number(rng) if shipped else None))
        total = Decimal("0")
        for product_id in rng.sample(range(1, SIZES["products"] + 1), rng.randint(1, 4)):
            quantity = rng.randint(1, 3)
            total += prices[product_id] * quantity
            rows["order_items"].append((len(rows["order_items"]) + 1, order_id, product_id, quantity,
                                        str(prices[product_id])))
        if status != "PENDING":
            local = fake[customer_locale[customer_id]]
            if rng.random() < 0.65:
                method, card, iban = "card", local.credit_card_number(), None
            else:
                method, card, iban = "sepa", None, local.iban()
            rows["payments"].append((len(rows["payments"]) + 1, order_id, method, card, iban, str(total),
                                     ordered_at))

    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.name + ".building")
    building.unlink(missing_ok=True)
    with sqlite3.connect(building) as db:
        db.executescript(SCHEMA)
        for table, table_rows in rows.items():
            marks = ", ".join("?" * len(table_rows[0]))
            db.executemany(f"INSERT INTO {table} VALUES ({marks})", table_rows)  # noqa: S608 (our own names)
    db.close()
    building.replace(path)  # a scan never sees a half-written file
    return {table: len(table_rows) for table, table_rows in rows.items()}


class Command(BaseCommand):
    help = ("Build a demo shop database (generated, seeded) under the first RACINE_SQLITE_ALLOWED_DIRS folder, "
            "register it as the data source 'Demo shop' in the default workspace and scan it. Safe to re-run: "
            "nothing that exists is rebuilt unless --rebuild.")

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true",
                            help="Regenerate the database file and scan it again.")

    def handle(self, *args, rebuild: bool, **options):
        if not settings.RACINE_SQLITE_ALLOWED_DIRS:
            raise CommandError("RACINE_SQLITE_ALLOWED_DIRS is empty: there is no folder to put the demo in.")
        path = Path(settings.RACINE_SQLITE_ALLOWED_DIRS[0]).expanduser() / FILE_NAME
        built = False
        if rebuild or not path.exists():
            counts = build_demo_database(path)
            built = True
            self.stdout.write(f"Demo database written to {path}: "
                              + ", ".join(f"{count} {table}" for table, count in counts.items()) + ".")
        else:
            self.stdout.write(f"Demo database: {path} (exists; --rebuild regenerates it)")

        organization, _ = accounts_services.organization_ensure()
        workspace, _ = accounts_services.workspace_ensure(organization=organization,
                                                          name=accounts_services.DEFAULT_WORKSPACE_NAME)
        source = DataSource.objects.filter(workspace=workspace, name=SOURCE_NAME).first()
        if source is None:
            source = source_services.datasource_create(
                workspace=workspace, acting_user=SYSTEM, name=SOURCE_NAME, engine=DataSource.Engine.SQLITE,
                database=str(path))
            # What stewards say of a source is curation, on its own asset (catalog.source_assets).
            curation.asset_describe(asset=source_asset_ensure(data_source=source), acting_user=SYSTEM,
                                    description="A small web shop generated by `manage.py load_demo`: customers, "
                                                "addresses, orders, products and payments.")
            self.stdout.write(f"Data source {SOURCE_NAME!r} registered in workspace {workspace.name!r}.")
        else:
            if source.database != str(path):
                source = source_services.datasource_update(data_source=source, acting_user=SYSTEM, database=str(path))
            self.stdout.write(f"Data source {SOURCE_NAME!r}: exists (id {source.pk}).")

        scanned = source.scan_runs.filter(status=ScanRun.Status.SUCCEEDED).exists()
        if scanned and not built:
            self.stdout.write("Already scanned; `manage.py scan 'Demo shop'` scans it again.")
            return
        scan = services.scan_default(data_source=source, acting_user=SYSTEM)
        try:
            run = services.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)
        except services.ScanAlreadyRunning as exc:
            self.stdout.write(f"A scan of {SOURCE_NAME!r} is already queued or running"
                              f"{f' (run #{exc.run.pk})' if exc.run else ''}.")
            return
        run.refresh_from_db()
        if run.is_active:
            self.stdout.write(f"Scan queued (run #{run.pk}); a worker will run it. `manage.py scan_status` "
                              "follows it.")
        else:
            self.stdout.write(run_summary(run))
