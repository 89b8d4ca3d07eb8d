"""Fixtures for the connector tests: throwaway databases on the machine's real PostgreSQL and MariaDB.

Nothing here imports Django: the connectors are a pure-Python package.
"""
from __future__ import annotations

import pytest

from tests.support import target_dbs
from tests.support.target_dbs import unique

PASSWORD = "s3cr3t-P@ss"

__all__ = ["PASSWORD", "unique"]


@pytest.fixture(scope="module")
def pg_server():
    """(host, port, user) of the test PostgreSQL server, and an autocommit admin connection."""
    with target_dbs.pg_server() as server:
        yield server


@pytest.fixture(scope="module")
def pg_database(pg_server):
    """Create a database with its own name; yields (name, autocommit connection, server URL)."""
    url, admin = pg_server
    with target_dbs.pg_database(admin, url, "racine_t_conn") as (name, conn):
        yield name, conn, url


@pytest.fixture(scope="module")
def mysql_server():
    with target_dbs.mysql_server() as server:
        yield server
