"""Issue 15, the backup and restore drill of docs/operations.md, for real: a populated installation (a data source
whose password a real MariaDB user checks, a scan, the audit trail) is dumped with ``pg_dump``, restored with
``pg_restore`` into a new database, and Racine run against the copy (``manage.py`` in a process of its own):

- with the same encryption keys, ``check_secrets`` passes, a scan of the source succeeds (its password decrypted
  and accepted) and the audit trail is the original's, row for row;
- with other keys, ``check_secrets`` fails naming the source, a scan fails saying the secret cannot be decrypted,
  and the stored secret is left exactly as it was.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection
from psycopg import sql

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from scanning.models import ScanRun
from sources import crypto
from sources import services as source_services
from tests.support import target_dbs
from tests.support.celery_worker import skip_unless_postgresql_app_database
from tests.support.target_dbs import mysql_quote as q
from tests.support.target_dbs import run_scan, scan_workspace, schema_only_rule_set

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Dr1ll-Passw0rd-7c1e"
SOURCE = "backup drill"
AUDIT_COLUMNS = "id, event, actor_label, object_id, extract(epoch FROM created_at)::text, extra::text"


@pytest.fixture(scope="module")
def maria():
    with target_dbs.mysql_server() as (url, admin):
        schema, user = target_dbs.unique("racine_t_drill"), target_dbs.unique("racine_u")
        statements = [f"CREATE DATABASE {q(schema)} CHARACTER SET utf8mb4",
                      f"CREATE TABLE {q(schema)}.customers (id INT PRIMARY KEY, email VARCHAR(200))",
                      *target_dbs.mysql_user_statements(user, PASSWORD, schema)]
        with target_dbs.mysql_schemas(admin, statements, schemas=[schema], users=[user]):
            yield schema, user, url


@pytest.fixture
def restored(tmp_path):
    """A function that dumps the application database and restores it into a new one; yields its URL."""
    skip_unless_postgresql_app_database()
    db = connection.settings_dict
    server = f"postgresql://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    copies = []

    def backup_and_restore() -> str:
        dump = tmp_path / "racine.dump"
        subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", f"--dbname={server}/{db['NAME']}"],
                       check=True, capture_output=True, text=True)
        name = target_dbs.unique("racine_t_restored")
        with target_dbs.pg_server() as (url, admin):
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        copies.append(name)
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={server}/{name}", str(dump)],
                       check=True, capture_output=True, text=True)
        return f"{server}/{name}"

    yield backup_and_restore
    with target_dbs.pg_server() as (url, admin):
        for name in copies:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def manage(database_url: str, keys: list[str], *args: str) -> subprocess.CompletedProcess:
    """``manage.py *args`` against the restored database with ``keys``, without a broker (scans run in process)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CELERY_", "PYTEST"))}
    env.update({"DATABASE_URL": database_url, "RACINE_ENCRYPTION_KEYS": ",".join(keys), "DEBUG": "true",
                "RACINE_LOG_FORMAT": "text", "LOG_LEVEL": "WARNING"})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def restored_rows(database_url: str, query: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(database_url) as copy:
        return copy.execute(query).fetchall()


def populate(maria) -> list[tuple]:
    """A source whose password MariaDB checks, scanned once; returns the audit trail as rows."""
    schema, user, url = maria
    workspace = scan_workspace()
    source = source_services.datasource_create(workspace=workspace, acting_user=SYSTEM, name=SOURCE, engine="mysql",
                                        host=url.hostname, port=url.port or 3306, database=schema, username=user,
                                        password=PASSWORD)
    assert run_scan(source, rule_set=schema_only_rule_set(workspace)).status == ScanRun.Status.SUCCEEDED
    assert AuditEvent.objects.filter(event="datasource.created").exists()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {AUDIT_COLUMNS} FROM accounts_auditevent ORDER BY id")
        return cursor.fetchall()


def test_restore_with_the_same_keys_decrypts_secrets_scans_and_keeps_the_audit_trail(maria, restored):
    audit_trail = populate(maria)
    copy = restored()
    keys = list(settings.RACINE_ENCRYPTION_KEYS)

    checked = manage(copy, keys, "check_secrets")
    assert checked.returncode == 0, checked.stderr
    assert "The 1 stored data source secret decrypts" in checked.stdout
    [(secret,)] = restored_rows(copy, f"SELECT encrypted_secret FROM catalog_datasource WHERE name = '{SOURCE}'")
    assert crypto.decrypt(secret) == PASSWORD

    scanned = manage(copy, keys, "scan", SOURCE, "--wait")
    assert scanned.returncode == 0, scanned.stdout + scanned.stderr
    assert restored_rows(copy, "SELECT status FROM scanning_scanrun ORDER BY id") == [("succeeded",), ("succeeded",)]

    last_original = audit_trail[-1][0]
    assert restored_rows(copy, f"SELECT {AUDIT_COLUMNS} FROM accounts_auditevent WHERE id <= {last_original} "
                               "ORDER BY id") == audit_trail
    assert restored_rows(copy, f"SELECT count(*) FROM accounts_auditevent WHERE id > {last_original} "
                               "AND event = 'scan_run.requested'") == [(1,)]


def test_restore_with_other_keys_names_the_unreadable_sources_and_overwrites_nothing(maria, restored):
    populate(maria)
    copy = restored()
    other_keys = [Fernet.generate_key().decode()]
    stored = restored_rows(copy, "SELECT id, encrypted_secret FROM catalog_datasource ORDER BY id")

    checked = manage(copy, other_keys, "check_secrets")
    assert checked.returncode == 1
    assert f"1 of 1 data source secret cannot be decrypted with RACINE_ENCRYPTION_KEYS: '{SOURCE}'" in checked.stderr
    assert "nothing was changed" in checked.stderr

    scanned = manage(copy, other_keys, "scan", SOURCE, "--wait")
    assert scanned.returncode == 1
    [(error,)] = restored_rows(copy, "SELECT error FROM scanning_scanrun WHERE status = 'failed'")
    assert "cannot be decrypted" in error
    assert restored_rows(copy, "SELECT id, encrypted_secret FROM catalog_datasource ORDER BY id") == stored
