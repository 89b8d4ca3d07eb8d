"""A SQLAlchemy URL's query string reaches the driver's connect() as keyword arguments: parameters that redirect
the connection (libpq's host / hostaddr / service), arm it (MySQL's local_infile lets the *server* read the
worker's files; init_command, read_default_file) or use a local socket must be refused before anything connects."""
from __future__ import annotations

import pytest

from sources.connectors import ConnectionSettings, ConnectorConfigError, HostPolicy, connector_for


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://u@10.0.0.5/db?host=169.254.169.254",
    "postgresql+psycopg://u@10.0.0.5/db?hostaddr=127.0.0.1",
    "postgresql+psycopg://u@10.0.0.5/db?service=other",
    "postgresql+psycopg://u@10.0.0.5/db?passfile=/etc/shadow",
    "postgresql+psycopg://u@10.0.0.5/db?options=-c%20default_transaction_read_only%3Doff",
    "postgresql+psycopg://u@10.0.0.5/db?sslmode=require&sslmode=disable",
    "mysql+pymysql://u@10.0.0.5/db?local_infile=1",
    "mysql+pymysql://u@10.0.0.5/db?unix_socket=/var/run/mysqld/mysqld.sock",
    "mysql+pymysql://u@10.0.0.5/db?init_command=SET%20SESSION%20TRANSACTION%20READ%20WRITE",
    "mysql+pymysql://u@10.0.0.5/db?read_default_file=/etc/mysql/my.cnf",
    "sqlite:////tmp/x.db?uri=true",
])
def test_sqlalchemy_url_with_driver_parameter_outside_allow_list_is_refused(url):
    with pytest.raises(ConnectorConfigError, match="option"):
        ConnectionSettings(engine="sqlalchemy", options={"url": url})


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://postgres@/racine",
    "postgresql+psycopg://postgres@:5432/racine",
    "mysql+pymysql://root@/db",
])
def test_sqlalchemy_url_without_host_is_refused(url):
    # No host means a local Unix socket: the host policy would never be consulted.
    with pytest.raises(ConnectorConfigError, match="host"):
        ConnectionSettings(engine="sqlalchemy", options={"url": url})


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://u@db.example/x?sslmode=verify-full&application_name=racine",
    "mysql+pymysql://u@db.example/x?charset=utf8mb4",
    "sqlite:////tmp/x.db",
])
def test_sqlalchemy_url_with_allowed_parameters_is_accepted(url):
    assert ConnectionSettings(engine="sqlalchemy", options={"url": url}).options["url"] == url


def test_sqlalchemy_url_host_in_query_cannot_bypass_the_deny_list():
    with pytest.raises(ConnectorConfigError):
        settings = ConnectionSettings(
            engine="sqlalchemy", options={"url": "postgresql+psycopg://u@10.0.0.5/db?host=127.0.0.1"},
            connect_timeout_s=1)
        with connector_for(settings, policy=HostPolicy(deny=("127.0.0.0/8",))) as connector:
            connector.test_connection()
