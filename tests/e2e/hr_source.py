"""A real PostgreSQL source for the browser tests: an HR table and a customer table holding personal data shaped
like the real thing (accented names, French mobiles and social security numbers, German IBANs, Luhn-valid card
numbers), from a fixed seed."""
from __future__ import annotations

import datetime
import random
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import ParseResult

from stdnum import iban, luhn
from stdnum.fr import nir

from tests.support.target_dbs import pg_database, pg_server

ROWS = 60
FIRST = ["Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Giulia", "Hugo", "Inès", "Jonas", "Karim", "Léa",
         "Marc", "Nadia", "Olivier", "Pauline", "Quentin", "Rosa", "Sami", "Théo"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "Bertrand", "Roux", "Vincent", "Fournier", "Girard"]
DEPARTMENTS = ["Finance", "Sales", "Logistics", "Human resources", "IT", "Legal"]
CITIES = ["Lyon", "Nantes", "Lille", "Bordeaux", "Grenoble", "Rennes", "Dijon"]

SCHEMA = """
CREATE TABLE employees (
    id serial PRIMARY KEY, full_name text NOT NULL, work_email varchar(255), mobile varchar(30),
    date_of_birth date, nir varchar(15), salary_iban varchar(34), department varchar(40), hired_on date);
CREATE TABLE customers (
    id serial PRIMARY KEY, full_name text, email varchar(255), phone varchar(30), card_number varchar(19),
    city varchar(60), signed_up_on date);
COMMENT ON TABLE employees IS 'Staff records (HR)';
"""


def _people(rnd: random.Random):
    """Employees and customers with the shapes real ones have: accented names, French mobiles and social security
    numbers, German IBANs, Luhn-valid card numbers."""

    def digits(n):
        return "".join(rnd.choice("0123456789") for _ in range(n))

    def person(i):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        ascii_first = first.replace("é", "e").replace("è", "e")
        return first, last, f"{ascii_first.lower()}.{last.lower()}{i}"

    def phone():
        return f"+33 6 {rnd.randint(10, 99)} {rnd.randint(10, 99)} {rnd.randint(10, 99)} {rnd.randint(10, 99)}"

    employees, customers = [], []
    for i in range(ROWS):
        first, last, handle = person(i)
        nir_base = (f"{rnd.choice('12')}{rnd.randint(50, 99):02d}{rnd.randint(1, 12):02d}{rnd.randint(1, 95):02d}"
                    f"{rnd.randint(1, 999):03d}{rnd.randint(1, 999):03d}")
        bban = digits(18)
        employees.append((f"{first} {last}", f"{handle}@racine-corp.example", phone(),
                          datetime.date(1960, 1, 1) + datetime.timedelta(days=rnd.randint(0, 15000)),
                          nir_base + nir.calc_check_digits(nir_base),
                          "DE" + iban.calc_check_digits("DE00" + bban) + bban, rnd.choice(DEPARTMENTS),
                          datetime.date(2010, 1, 1) + datetime.timedelta(days=rnd.randint(0, 5000))))
        first, last, handle = person(i)
        card = "4" + digits(14)
        customers.append((f"{first} {last}", f"{handle}@mail{i % 4}.example", phone(),
                          card + luhn.calc_check_digit(card), rnd.choice(CITIES),
                          datetime.date(2019, 1, 1) + datetime.timedelta(days=rnd.randint(0, 2000))))
    return employees, customers


@contextmanager
def hr_database(extra_sql: str = "") -> Iterator[tuple[ParseResult, str, object]]:
    """A PostgreSQL database of its own (racine_stewardday_src_…) with the HR and customer tables, and what
    ``extra_sql`` adds; dropped after. Yields (URL of the server, database name, autocommit connection)."""
    with pg_server() as (url, admin), pg_database(admin, url, prefix="racine_stewardday_src") as (name, conn):
        conn.execute(SCHEMA + extra_sql)
        employees, customers = _people(random.Random(20261207))
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO employees (full_name, work_email, mobile, date_of_birth, nir, salary_iban, "
                            "department, hired_on) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", employees)
            cur.executemany("INSERT INTO customers (full_name, email, phone, card_number, city, signed_up_on) "
                            "VALUES (%s, %s, %s, %s, %s, %s)", customers)
        conn.execute("ANALYZE")
        yield url, name, conn
