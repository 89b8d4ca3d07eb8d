"""Every migration applies to an empty database, and the result is the schema the suite runs on.

The suite's own test databases are copied from a snapshot of the migrated schema once one exists
(tests.support.migrated_snapshot), so without this test no run would migrate from zero any more. A database of its
own (a SQLite file, or a PostgreSQL database beside the test database) is migrated here by ``manage.py migrate``,
as an installation migrates, and compared with the test database: the same tables, columns, constraints and
applied migrations.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

ALIAS = "from_zero"
ROOT = Path(__file__).resolve().parents[1]


def database_url(settings_dict: dict) -> str:
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    return (f"postgres://{settings_dict['USER'] or 'postgres'}@{settings_dict['HOST'] or '127.0.0.1'}:"
            f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}")


@contextlib.contextmanager
def empty_database(tmp_path) -> Iterator[BaseDatabaseWrapper]:
    """A connection to an empty database of the test database's engine, closed (and the database dropped) at exit.
    Not one of ``connections``: a database test may connect only to the databases it declared before it began."""
    settings_dict = {**connection.settings_dict, "TEST": {**connection.settings_dict["TEST"]}}
    quote = connection.ops.quote_name
    if connection.vendor == "sqlite":
        settings_dict["NAME"] = str(tmp_path / "from_zero.sqlite3")
    else:
        settings_dict["NAME"] = f"{connection.settings_dict['NAME']}_{ALIAS}"[:63]
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quote(settings_dict['NAME'])} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {quote(settings_dict['NAME'])}")
    database = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias=ALIAS)
    # SQLite finds this out in a transaction.atomic() of its alias, which only works for one of ``connections``;
    # the same library answers the same.
    database.features.supports_json_field = connection.features.supports_json_field
    try:
        yield database
    finally:
        database.close()
        if connection.vendor != "sqlite":
            database.close_pool()
            with connection._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {quote(settings_dict['NAME'])} WITH (FORCE)")


def schema(database: BaseDatabaseWrapper) -> dict:
    """Tables → their columns (name, type, null) and constraints (columns and kind; names vary by engine)."""
    tables = {}
    with database.cursor() as cursor:
        for table in database.introspection.table_names(cursor):
            columns = sorted((column.name, column.type_code, column.null_ok)
                             for column in database.introspection.get_table_description(cursor, table))
            constraints = sorted(
                # An expression index lists None for its expressions' columns.
                (tuple(column or "(expression)" for column in info["columns"] or ()), bool(info["primary_key"]),
                 bool(info["unique"]),
                 tuple(info["foreign_key"] or ()), bool(info["check"]), bool(info["index"]))
                for info in database.introspection.get_constraints(cursor, table).values())
            tables[table] = {"columns": columns, "constraints": constraints}
    return tables


def applied_migrations(database: BaseDatabaseWrapper) -> set[tuple[str, str]]:
    with database.cursor() as cursor:  # SQL: the ORM reaches a database only through ``connections``
        cursor.execute("SELECT app, name FROM django_migrations")
        return set(cursor.fetchall())


@pytest.mark.django_db
def test_every_migration_applies_from_zero_and_gives_the_suites_schema(tmp_path):
    with empty_database(tmp_path) as database:
        # As an installation migrates: its own process, the new database its default (a data migration may read
        # the default database whatever database migrate was given).
        environment = {**os.environ, "DATABASE_URL": database_url(database.settings_dict),
                       "RACINE_VAR_DIR": str(tmp_path), "DEBUG": "true"}  # development settings, as the suite's
        result = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT,
                                env=environment, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        migrated = schema(database)
        applied = applied_migrations(database)
    suites = schema(connection)
    suites_applied = applied_migrations(connection)
    tables = {model._meta.db_table for model in apps.get_models() if model._meta.managed and not model._meta.proxy}
    assert tables <= set(suites), sorted(tables - set(suites))
    assert applied == suites_applied
    assert set(migrated) == set(suites)
    for table, description in migrated.items():
        assert description == suites[table], table
