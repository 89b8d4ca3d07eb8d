"""Database connectors: read a source's catalog in bulk and sample column values, read-only and time-boxed.

Pure Python (no Django). One class per engine behind :class:`Connector`; :func:`connector_for` picks it::

    settings = ConnectionSettings(engine="postgresql", host="db", database="shop", username="scan", password=...)
    with connector_for(settings) as connector:
        connector.test_connection()
        for batch in connector.iter_schema(include=Filters(exclude_schemas=("tmp_*",))):
            ...
        sample = connector.sample_values(("shop", "public", "orders"), ["email"], limit=100)
"""
from __future__ import annotations

from .base import (
    ALLOWED_OPTIONS,
    ConnectionInfo,
    ConnectionSettings,
    Connector,
    DatabaseIdentity,
    SampledValues,
    SchemaObject,
)
from .errors import (
    AuthenticationFailed,
    ConnectorConfigError,
    ConnectorError,
    PermissionDenied,
    QueryTimeout,
    SourceUnavailable,
    TargetNotAllowed,
)
from .filters import Filters
from .generic import SQLAlchemyConnector
from .mysql import MySQLConnector
from .names import parse_qualified_name, qualified_name
from .network import HostPolicy, check_target_host, is_local, resolve
from .postgresql import PostgresConnector
from .sqlite import SQLiteConnector

__all__ = [
    "ALLOWED_OPTIONS", "AuthenticationFailed", "ConnectionInfo", "ConnectionSettings", "Connector",
    "ConnectorConfigError", "ConnectorError", "DatabaseIdentity", "Filters", "HostPolicy", "PermissionDenied",
    "QueryTimeout", "SampledValues", "SchemaObject", "SourceUnavailable", "TargetNotAllowed", "check_target_host",
    "connector_for", "is_local", "parse_qualified_name", "qualified_name", "resolve",
]

_CONNECTORS: dict[str, type[Connector]] = {
    "postgresql": PostgresConnector,
    "mysql": MySQLConnector,
    "sqlite": SQLiteConnector,
    "sqlalchemy": SQLAlchemyConnector,
}


def connector_for(settings: ConnectionSettings, *, policy: HostPolicy | None = None,
                  batch_size: int | None = None) -> Connector:
    """The connector for ``settings.engine``. Nothing connects until the first call that needs the source."""
    try:
        connector = _CONNECTORS[settings.engine]
    except KeyError:  # ConnectionSettings already refuses unknown engines
        raise ConnectorConfigError(f"unknown engine {settings.engine!r}") from None
    return connector(settings, policy=policy, batch_size=batch_size)
