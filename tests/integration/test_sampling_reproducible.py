"""Issue 12 item 5, "deterministic, representative sampling", on the machine's real PostgreSQL and MariaDB.

The same database registered twice and scanned twice gives the same classifications with the same evidence (the
sample is the same, not only the verdict), and a column that is 97% NULL is judged on a full sample of its values:
its e-mail addresses hide behind an opaque name (``c7``), so only its values can classify it, and a random sample
of rows would show it about three of them.
"""
from __future__ import annotations

import random

import pytest

from accounts.actors import SYSTEM
from catalog.models import AssetClassification
from scanning.models import ScanRun
from sources import services
from sources.connectors import parse_qualified_name
from tests.support import target_dbs
from tests.support.target_dbs import mysql_quote, run_scan, scan_workspace

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ROWS = 3000
SPARSE_EVERY = 33  # one row in 33 holds an address in c7: 91 of 3,000
CITIES = ["Lyon", "Porto", "Gdansk", "Leeds", "Turin", "Ghent", "Malmo", "Brno", "Cork", "Split"]


def _rows() -> list[tuple]:
    rnd = random.Random(5)
    rows = []
    for i in range(1, ROWS + 1):
        sparse = f"member{i}.{rnd.choice('abcdefgh')}@mail{i % 7}.example.org" if i % SPARSE_EVERY == 0 else None
        rows.append((i, sparse, f"{rnd.randint(100, 999)}-{rnd.randint(10, 99)}",
                     rnd.choice(CITIES), f"user{i}@shop{i % 5}.example.com"))
    return rows


@pytest.fixture(scope="module")
def pg_target():
    with target_dbs.pg_server() as (url, admin), target_dbs.pg_database(admin, url, "racine_t_sample") as (name, conn):
        conn.execute("CREATE TABLE members (id integer PRIMARY KEY, c7 text, code text, city text, email text)")
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO members VALUES (%s, %s, %s, %s, %s)", _rows())
        conn.execute("ANALYZE members")
        yield {"engine": "postgresql", "host": url.hostname, "port": url.port or 5432, "database": name,
               "username": url.username or "postgres"}


@pytest.fixture(scope="module")
def mariadb_target():
    password = "sample-Pa55"
    with target_dbs.mysql_server() as (url, admin):
        schema, user = target_dbs.unique("racine_t_sample"), target_dbs.unique("racine_u")
        statements = [
            f"CREATE DATABASE {mysql_quote(schema)} CHARACTER SET utf8mb4",
            f"CREATE TABLE {mysql_quote(schema)}.members (id INT PRIMARY KEY, c7 VARCHAR(100), code VARCHAR(10), "
            "city VARCHAR(40), email VARCHAR(100)) ENGINE=InnoDB",
            *target_dbs.mysql_user_statements(user, password, schema),
        ]
        with target_dbs.mysql_schemas(admin, statements, schemas=[schema], users=[user]):
            with admin.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {mysql_quote(schema)}.members VALUES (%s, %s, %s, %s, %s)", _rows())
                cursor.execute(f"ANALYZE TABLE {mysql_quote(schema)}.members")
            yield {"engine": "mysql", "host": url.hostname, "port": url.port or 3306, "database": schema,
                   "username": user, "password": password}


def _classifications(source) -> dict[str, tuple]:
    """column name → (classification, confidence, evidence but the run's id) of the source's scan results."""
    return {parse_qualified_name(row.asset.qualified_name)[-1]: (
                row.classification.name, row.confidence, {k: v for k, v in row.evidence.items() if k != "run"})
            for row in AssetClassification.objects.filter(asset__data_source=source)
            .select_related("asset", "classification")}


@pytest.mark.parametrize("target", ["pg_target", "mariadb_target"])
def test_two_scans_of_the_same_database_give_the_same_classifications_and_evidence(target, request):
    fields = request.getfixturevalue(target)
    workspace = scan_workspace()
    found = []
    for name in ("first", "second"):
        source = services.datasource_create(workspace=workspace, acting_user=SYSTEM, name=f"{target} {name}",
                                            **fields)
        run = run_scan(source)
        assert run.status == ScanRun.Status.SUCCEEDED, run.error
        found.append(_classifications(source))
    first, second = found
    assert first == second
    # The sparse column was judged on a full sample of its values, not on the three a row sample would hold.
    classification, _, evidence = first["c7"]
    assert classification == "PII.EMAIL"
    assert evidence["non_null"] == evidence["values_sampled"] == ROWS // SPARSE_EVERY, evidence
    assert first["email"][0] == "PII.EMAIL"
