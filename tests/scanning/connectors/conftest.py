"""Fixtures for the connector tests: throwaway databases on the machine's real PostgreSQL and MariaDB.

Nothing here imports Django: the connectors are a pure-Python package.
"""
from __future__ import annotations

import uuid
from urllib.parse import urlparse

import pytest

from tests.support.services import require_mysql, require_postgres

PASSWORD = "s3cr3t-P@ss"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Override the project-wide cache reset: these tests never touch Django or its cache."""
    yield


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def pg_server():
    """(host, port, user) of the test PostgreSQL server, and an autocommit admin connection."""
    import psycopg

    url = urlparse(require_postgres())
    admin = psycopg.connect(host=url.hostname, port=url.port or 5432, user=url.username or "postgres",
                            password=url.password, dbname=(url.path.lstrip("/") or "postgres"), autocommit=True)
    yield url, admin
    admin.close()


@pytest.fixture(scope="module")
def pg_database(pg_server):
    """Create a database with its own name; yields a factory of settings for it and runs setup SQL."""
    import psycopg

    url, admin = pg_server
    name = unique("racine_t_conn")
    admin.execute(f'CREATE DATABASE "{name}"')
    conn = psycopg.connect(host=url.hostname, port=url.port or 5432, user=url.username or "postgres",
                           password=url.password, dbname=name, autocommit=True)
    try:
        yield name, conn, url
    finally:
        conn.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def mysql_server():
    import pymysql

    url = urlparse(require_mysql())
    admin = pymysql.connect(host=url.hostname, port=url.port or 3306, user=url.username or "root",
                            password=url.password or "", autocommit=True, charset="utf8mb4")
    yield url, admin
    admin.close()
