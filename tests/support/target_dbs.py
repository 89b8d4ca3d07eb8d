"""Throwaway target databases on the machine's real PostgreSQL and MariaDB, for connector and scan tests.

Context managers rather than fixtures, so that any test package (the pure-Python connector tests, the Django
integration tests) can build its own fixtures on them. Each database or schema gets a unique name and is dropped
on exit, even when the test fails. Nothing here imports Django.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import ParseResult, urlparse

from accounts.actors import SYSTEM
from tests.support.services import require_mysql, require_postgres


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def pg_connect(url: ParseResult, dbname: str | None = None, **kw):
    import psycopg

    return psycopg.connect(host=url.hostname, port=url.port or 5432, user=url.username or "postgres",
                           password=url.password, dbname=dbname or (url.path.lstrip("/") or "postgres"), **kw)


@contextmanager
def pg_server() -> Iterator[tuple[ParseResult, object]]:
    """(parsed URL, autocommit admin connection) of the test PostgreSQL server; skips or fails when it is down."""
    url = urlparse(require_postgres())
    admin = pg_connect(url, autocommit=True)
    try:
        yield url, admin
    finally:
        admin.close()


@contextmanager
def pg_database(admin, url: ParseResult, prefix: str = "racine_t") -> Iterator[tuple[str, object]]:
    """A new database (unique name) and an autocommit connection to it; dropped (with FORCE) on exit."""
    name = unique(prefix)
    admin.execute(f'CREATE DATABASE "{name}"')
    conn = pg_connect(url, name, autocommit=True)
    try:
        yield name, conn
    finally:
        conn.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def mysql_server() -> Iterator[tuple[ParseResult, object]]:
    """(parsed URL, autocommit admin connection) of the test MariaDB/MySQL server."""
    import pymysql

    url = urlparse(require_mysql())
    admin = pymysql.connect(host=url.hostname, port=url.port or 3306, user=url.username or "root",
                            password=url.password or "", autocommit=True, charset="utf8mb4")
    try:
        yield url, admin
    finally:
        admin.close()


def mysql_quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@contextmanager
def mysql_schemas(admin, statements: list[str], *, schemas: list[str], users: list[str] = ()) -> Iterator[None]:
    """Run ``statements`` (which create ``schemas`` and ``users``); drop them all on exit. Users are names; each
    is dropped at both hosts ``%`` and ``localhost``."""
    try:
        with admin.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
        yield
    finally:
        with admin.cursor() as cur:
            for name in schemas:
                cur.execute(f"DROP DATABASE IF EXISTS {mysql_quote(name)}")
            for user in users:
                for host in ("%", "localhost"):
                    cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")


def mysql_user_statements(user: str, password: str, schema: str) -> list[str]:
    """A read-only user with ``password`` on ``schema``, at both hosts a local client may come from."""
    statements = []
    for host in ("%", "localhost"):
        statements += [f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'",
                       f"GRANT SELECT, SHOW VIEW ON {mysql_quote(schema)}.* TO '{user}'@'{host}'"]
    return statements


# -- scanning a target through Racine's services (Django; imported lazily so the helpers above stay Django-free) --

def scan_workspace(name: str = "Scan tests"):
    from accounts.services import organization_ensure, workspace_ensure

    organization, _ = organization_ensure()
    return workspace_ensure(organization=organization, name=name)[0]


def run_scan(source, *, rule_set=None, acting_user=SYSTEM):
    """Request a run of the source's default scan and let eager Celery execute it (on commit, as in production);
    returns the run, reloaded."""
    from django.test import TestCase

    from scanning import services
    from scanning.models import ScanRun

    scan = services.scan_default(data_source=source, rule_set=rule_set, acting_user=acting_user)
    # Outside a transaction (transactional tests) on_commit runs at once; inside the test's transaction the
    # callbacks are captured and run here, including the detection step that the scan enqueues on commit.
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = services.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=acting_user)
    run.refresh_from_db()
    return run


def schema_only_rule_set(workspace):
    """A rule set that reads the schema and skips sampling (detection is tested on its own)."""
    from scanning import services
    from scanning.models import ScanRuleSet

    existing = ScanRuleSet.objects.filter(workspace=workspace, name="schema only").first()
    return existing or services.rule_set_create(workspace=workspace, acting_user=SYSTEM, name="schema only",
                                                detection_enabled=False)


def catalog_rows(source) -> list[tuple]:
    """The source's assets as comparable rows: (type, qualified name, parent's qualified name, data type,
    nullability, what matters of the properties), sorted by qualified name."""
    from catalog.models import Asset

    rows = []
    # What the scan read: the source's own asset (catalog.source_assets), the root its databases hang from, is not.
    scanned = Asset.objects.filter(data_source=source).exclude(type=Asset.Type.SOURCE)
    for asset in scanned.select_related("parent").order_by("qualified_name"):
        props = asset.properties
        if asset.type == Asset.Type.TABLE:
            extra = {"pk": props["primary_key"],
                     "fk": [(fk["columns"], fk["referred_path"], fk["referred_columns"])
                            for fk in props["foreign_keys"]]}
        elif asset.type == Asset.Type.VIEW:
            extra = {"materialized": props.get("materialized"), "definition": bool(props.get("view_definition"))}
        elif asset.type == Asset.Type.COLUMN:
            extra = {"pk": props["primary_key"]}
        else:
            extra = {}
        parent = asset.parent if asset.parent and asset.parent.type != Asset.Type.SOURCE else None
        rows.append((asset.type, asset.qualified_name, parent.qualified_name if parent else None,
                     asset.data_type, asset.is_nullable, extra))
    return rows


def expected_rows(spec: list[tuple]) -> list[tuple]:
    """``catalog_rows`` shape from (type, path, data type, nullability, extra) tuples, names made canonical."""
    from sources.connectors import qualified_name

    return sorted(((kind, qualified_name(path), qualified_name(path[:-1]) if len(path) > 1 else None, data_type,
                    nullable, extra) for kind, path, data_type, nullable, extra in spec), key=lambda row: row[1])
