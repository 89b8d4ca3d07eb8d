"""A connection test names the server's product with its version (issue 11, item 8: "connected to 15.20 (Debian…)"
did not say PostgreSQL)."""
import pytest

from sources.connectors.base import ConnectionInfo


def info(engine: str, version: str) -> ConnectionInfo:
    return ConnectionInfo(engine=engine, server_version=version, current_user="racine", database="shop",
                          read_only=True, statement_timeout_s=60)


@pytest.mark.parametrize(("engine", "version", "expected"), [
    ("postgresql", "15.20 (Debian 15.20-0+deb12u1)", "PostgreSQL 15.20 (Debian 15.20-0+deb12u1)"),
    ("mysql", "8.0.36", "MySQL 8.0.36"),
    ("mysql", "10.11.6-MariaDB-0+deb12u1", "MariaDB 10.11.6-MariaDB-0+deb12u1"),
    ("sqlite", "3.40.1", "SQLite 3.40.1"),
    ("sqlalchemy+mssql", "15.0.2000", "mssql 15.0.2000"),
])
def test_server_names_product_and_version(engine, version, expected):
    assert info(engine, version).server == expected
