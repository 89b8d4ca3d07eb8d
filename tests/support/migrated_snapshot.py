"""Each test database copied from a snapshot of the migrated schema instead of migrated from zero.

Migrating the test database cost every pytest process about 3 s of CPU on SQLite, more on PostgreSQL, before its
first test, at every run. The first process that migrates takes a snapshot of the result, named after the
migrations it ran (:func:`migrations_key`: Django's version, the engine, and the content of every migration file
of every installed app); later processes, in this run or a later one, copy it:

- SQLite (the in-memory test database): a file in pytest's cache folder (under ``-p no:cacheprovider``, ``var/``),
  copied in with SQLite's backup API;
- PostgreSQL: a database ``test_<name>_migrated_<key>`` on the same server, the template of each worker's
  ``CREATE DATABASE``. Snapshots of other migrations (older keys) of the same database name are dropped.

After a copy, ``post_migrate`` is sent as ``migrate`` sends it even when nothing is left to apply: what it adds
from the code rather than the migrations (content types, permissions, the roles' groups, the built-in
classifications) is brought up to date, so a snapshot only goes stale through a migration file, which changes
its key. ``tests/test_migrations_from_zero.py`` still migrates a database from zero in every run and compares
it with the suite's.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import django
from django.db import DatabaseError
from django.db.backends.base.creation import BaseDatabaseCreation

SNAPSHOT_MARK = "_migrated_"


def migrations_key(vendor: str) -> str:
    """What the migrated schema depends on: Django's version, the engine and every migration file's content."""
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    digest = hashlib.sha256(f"{django.get_version()} {vendor}".encode())
    for config in sorted(apps.get_app_configs(), key=lambda config: config.label):
        module_name, _explicit = MigrationLoader.migrations_module(config.label)
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue  # an app without migrations
        folder = Path(module.__file__).parent
        for path in sorted(folder.glob("*.py")):
            digest.update(f"{config.label}/{path.name}".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _after_copy(creation: BaseDatabaseCreation, serialize: bool) -> None:
    """What ``create_test_db`` does after its ``migrate``, and ``migrate``'s own ``post_migrate``."""
    from django.core.management import call_command
    from django.core.management.sql import emit_post_migrate_signal

    alias = creation.connection.alias
    emit_post_migrate_signal(verbosity=0, interactive=False, db=alias)
    if serialize:
        creation.connection._test_serialized_contents = creation.serialize_db_to_string()
    call_command("createcachetable", database=alias)
    creation.connection.ensure_connection()


def _point_at(creation: BaseDatabaseCreation, name: str) -> None:
    from django.conf import settings

    creation.connection.close()
    settings.DATABASES[creation.connection.alias]["NAME"] = name
    creation.connection.settings_dict["NAME"] = name


class SqliteSnapshot:
    def __init__(self, creation: BaseDatabaseCreation, folder: Path):
        self.creation = creation
        self.path = folder / f"sqlite{SNAPSHOT_MARK}{migrations_key('sqlite')}.sqlite3"

    def exists(self) -> bool:
        return self.path.exists()

    def restore(self) -> str:
        name = self.creation._get_test_db_name()
        _point_at(self.creation, name)
        self.creation.connection.ensure_connection()
        source = sqlite3.connect(self.path)
        try:
            source.backup(self.creation.connection.connection)
        finally:
            source.close()
        return name

    def save(self) -> None:
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}")
        target = sqlite3.connect(partial)
        try:
            self.creation.connection.ensure_connection()
            self.creation.connection.connection.backup(target)
        finally:
            target.close()
        os.replace(partial, self.path)  # whole or not at all, for a process copying it at the same moment
        for stale in self.path.parent.glob(f"sqlite{SNAPSHOT_MARK}*"):
            if stale != self.path:
                stale.unlink(missing_ok=True)


class PostgresqlSnapshot:
    def __init__(self, creation: BaseDatabaseCreation):
        self.creation = creation
        self.prefix = f"test_{creation.connection.settings_dict['NAME']}{SNAPSHOT_MARK}"[:50]
        self.name = f"{self.prefix}{migrations_key('postgresql')}"

    def _existing(self) -> list[str]:
        with self.creation.connection._nodb_cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", [self.prefix])
            return [row[0] for row in cursor.fetchall()]

    def exists(self) -> bool:
        return self.name in self._existing()

    def restore(self) -> str:
        name = self.creation._get_test_db_name()
        quote = self.creation.connection.ops.quote_name
        with self.creation.connection._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quote(name)} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {quote(name)} TEMPLATE {quote(self.name)}")
        _point_at(self.creation, name)
        return name

    def save(self) -> None:
        connection = self.creation.connection
        quote = connection.ops.quote_name
        # A template may have no other session: this process's own (and its pool's) go first.
        connection.close()
        connection.close_pool()
        partial = f"{self.name}_{os.getpid()}"
        with self.creation.connection._nodb_cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {quote(partial)} TEMPLATE {quote(connection.settings_dict['NAME'])}")
            try:  # another worker may have renamed its copy first: the same migrations, keep that one
                cursor.execute(f"ALTER DATABASE {quote(partial)} RENAME TO {quote(self.name)}")
            except DatabaseError:
                cursor.execute(f"DROP DATABASE IF EXISTS {quote(partial)}")
        for stale in self._existing():
            if not stale.startswith(self.name):
                with self.creation.connection._nodb_cursor() as cursor, contextlib.suppress(DatabaseError):
                    cursor.execute(f"DROP DATABASE IF EXISTS {quote(stale)}")
        connection.ensure_connection()


def _snapshot_for(creation: BaseDatabaseCreation, folder: Path | None):
    vendor = creation.connection.vendor
    if vendor == "sqlite" and folder is not None and creation.is_in_memory_db(creation._get_test_db_name()):
        return SqliteSnapshot(creation, folder)
    if vendor == "postgresql":
        return PostgresqlSnapshot(creation)
    return None  # another engine, or a SQLite test database on disk: migrated as Django does


@contextlib.contextmanager
def test_databases_from_snapshots(folder: Path | None) -> Iterator[None]:
    """While the test databases are created (pytest-django's ``django_db_setup``): copied from a snapshot of the
    migrated schema when there is one for these migrations, else migrated and the snapshot taken."""
    migrate = BaseDatabaseCreation.create_test_db

    def create_test_db(self, verbosity=1, autoclobber=False, serialize=True, keepdb=False):
        snapshot = _snapshot_for(self, folder)
        if snapshot is None or keepdb:
            return migrate(self, verbosity, autoclobber, serialize, keepdb)
        if snapshot.exists():
            name = snapshot.restore()
            _after_copy(self, serialize)
            return name
        name = migrate(self, verbosity, autoclobber, serialize, keepdb)
        snapshot.save()
        return name

    BaseDatabaseCreation.create_test_db = create_test_db
    try:
        yield
    finally:
        BaseDatabaseCreation.create_test_db = migrate
