"""Data sources: creation and changes (validated by the connectors' rules), connection settings, connection tests.

These services live in scanning rather than catalog because a source's connection settings are only valid if a
connector accepts them, and catalog may not import scanning.
"""
from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django_celery_beat.models import PeriodicTask
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from accounts import audit
from accounts.models import User, Workspace
from accounts.permissions import authorize, has_perm, workspace_allows
from catalog import crypto
from catalog.crypto import SecretUnreadable
from catalog.models import DataSource
from catalog.services import datasource_secret_read
from scanning.connectors import (
    ConnectionInfo,
    ConnectionSettings,
    ConnectorConfigError,
    ConnectorError,
    HostPolicy,
    connector_for,
)

logger = logging.getLogger("racine.scanning")

DATASOURCE_FIELDS = ("name", "engine", "host", "port", "database", "username", "options", "description")


class ConnectionTestFailed(Exception):
    """The source could not be reached or refused us; the message is safe to show (no secret in it)."""


def host_policy() -> HostPolicy:
    return HostPolicy(allow=tuple(settings.RACINE_TARGET_ALLOW), deny=tuple(settings.RACINE_TARGET_DENY))


def _resolved_below(path: str, roots) -> Path | None:
    """``path`` resolved (links followed) when it lies below one of ``roots``; None otherwise."""
    try:
        resolved = Path(path).expanduser().resolve()
    except (OSError, RuntimeError):
        return None
    if any(resolved.is_relative_to(Path(root).expanduser().resolve()) for root in roots):
        return resolved
    return None


def _sqlite_file_allowed(path: str) -> bool:
    """A SQLite source must sit below an allowed folder and must not be Racine's own database."""
    resolved = _resolved_below(path, settings.RACINE_SQLITE_ALLOWED_DIRS)
    if resolved is None:
        return False
    own = Path(str(settings.DATABASES["default"]["NAME"])).resolve()
    return not (resolved == own or resolved.name.startswith(own.name))


# Options that name a file on the worker: a CA bundle, read by the driver. Below the allowed folders only, or a
# source's settings could probe which files exist on the server.
_CA_FILE_OPTIONS = ("sslrootcert", "ssl_ca")
_SYSTEM_CA = ("sslrootcert", "system")  # libpq ≥ 16: the operating system's trust store; PyMySQL has no such word


def _check_ca_files(options) -> None:
    for key in _CA_FILE_OPTIONS:
        value = options.get(key)
        if value and (key, value) != _SYSTEM_CA and _resolved_below(value, settings.RACINE_TLS_CA_DIRS) is None:
            raise ConnectorConfigError(
                f"option {key!r}: CA files may only be read from the folders in RACINE_TLS_CA_DIRS")


def _addresses(host: str) -> set[str]:
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return set()
    # Every loopback address is this machine: 127.0.0.1, ::1 and "localhost" are one target.
    return {"loopback" if ipaddress.ip_address(address.split("%")[0]).is_loopback else address
            for address in found}


def _is_racine_database(engine: str, host: str, port: int | None, database: str) -> bool:
    """Does the target name Racine's own PostgreSQL database? Its tables hold every user's password hash and
    every source's encrypted secret: no steward may scan and sample them as a "data source"."""
    own = settings.DATABASES["default"]
    if engine != "postgresql" or "postgresql" not in own["ENGINE"]:
        return False
    if database != own["NAME"] or (port or 5432) != int(own.get("PORT") or 5432):
        return False  # cheap checks first: most sources differ here and cost no DNS look-up
    return bool(_addresses(host) & _addresses(own.get("HOST") or "localhost"))


def connection_settings(data_source: DataSource, *, password: str) -> ConnectionSettings:
    """The connector settings of a source. Raises ConnectorConfigError for settings no connector accepts."""
    options = {key: str(value) for key, value in (data_source.options or {}).items()}
    config = ConnectionSettings(
        engine=data_source.engine, host=data_source.host, port=data_source.port, database=data_source.database,
        username=data_source.username, password=password, options=options,
        statement_timeout_s=settings.RACINE_STATEMENT_TIMEOUT, connect_timeout_s=settings.RACINE_CONNECT_TIMEOUT)
    sqlite_path = None
    if config.engine == "sqlite":
        sqlite_path = config.database
    elif config.engine == "sqlalchemy":
        try:
            url = make_url(options["url"])
        except ArgumentError:
            raise ConnectorConfigError("options['url'] is not a valid SQLAlchemy URL") from None
        if url.password:
            raise ConnectorConfigError("put the password in the password field, not in the URL")
        if url.get_backend_name() == "sqlite":
            sqlite_path = url.database or ""
        elif _is_racine_database(url.get_backend_name(), url.host or "", url.port, url.database or ""):
            raise ConnectorConfigError("this is Racine's own database; it cannot be registered as a source")
    _check_ca_files(config.options)
    if sqlite_path is not None and not _sqlite_file_allowed(sqlite_path):
        raise ConnectorConfigError(
            "SQLite files may only be registered from the folders in RACINE_SQLITE_ALLOWED_DIRS")
    if _is_racine_database(config.engine, config.host, config.port, config.database):
        raise ConnectorConfigError("this is Racine's own database; it cannot be registered as a source")
    return config


def validate_settings(source: DataSource) -> None:
    """The model's rules and the connectors' (allowed options, host required, SQLite folders), as a Django
    ValidationError; the admin's form runs it before saving."""
    source.full_clean()
    try:
        connection_settings(source, password="")
    except ConnectorConfigError as exc:
        raise ValidationError({"options" if "option" in str(exc) else "__all__": [str(exc)]}) from None


@transaction.atomic
def datasource_create(*, workspace: Workspace, acting_user: User | None, password: str = "", owners=(),
                      **fields) -> DataSource:
    authorize(acting_user, lambda: workspace_allows(acting_user, "catalog.add_datasource", workspace))
    unknown = set(fields) - set(DATASOURCE_FIELDS)
    if unknown:
        raise TypeError(f"unknown data source fields: {', '.join(sorted(unknown))}")
    source = DataSource(workspace=workspace, created_by=acting_user, **fields)
    source.encrypted_secret = crypto.encrypt(password)
    validate_settings(source)
    source.save()
    if owners:
        source.owners.set(owners)
    audit.record_created(event="datasource.created", actor=acting_user, obj=source)
    return source


@transaction.atomic
def datasource_update(*, data_source: DataSource, acting_user: User | None, password: str | None = None,
                      owners=None, **fields) -> DataSource:
    """Change a source; ``password=None`` keeps the stored secret, ``""`` clears it."""
    authorize(acting_user, lambda: has_perm(acting_user, "change", data_source))
    unknown = set(fields) - set(DATASOURCE_FIELDS)
    if unknown:
        raise TypeError(f"unknown data source fields: {', '.join(sorted(unknown))}")
    with audit.record_changes(event="datasource.changed", actor=acting_user, obj=data_source):
        for name, value in fields.items():
            setattr(data_source, name, value)
        if password is not None:
            data_source.encrypted_secret = crypto.encrypt(password)
        validate_settings(data_source)
        data_source.save()
    if owners is not None:
        data_source.owners.set(owners)
    return data_source


@transaction.atomic
def datasource_delete(*, data_source: DataSource, acting_user: User | None) -> None:
    authorize(acting_user, lambda: has_perm(acting_user, "delete", data_source))
    audit.record_deleted(event="datasource.deleted", actor=acting_user, obj=data_source)
    # The scans go with the source (cascade), but their beat entries would stay behind and keep ticking.
    PeriodicTask.objects.filter(racine_scan__data_source=data_source).delete()
    data_source.delete()


def open_connector(data_source: DataSource, *, acting_user: User | None, purpose: str, batch_size: int | None = None):
    """A connector for the source, its secret read (and audited) for ``purpose``. Nothing connects yet."""
    password = datasource_secret_read(data_source=data_source, acting_user=acting_user, purpose=purpose)
    return connector_for(connection_settings(data_source, password=password), policy=host_policy(),
                         batch_size=batch_size)


def datasource_test_connection(*, data_source: DataSource, acting_user: User | None) -> ConnectionInfo:
    """Connect, confirm the session is read-only, and report the server. Authorised before any connection."""
    authorize(acting_user, lambda: has_perm(acting_user, "test_connection", data_source))
    try:
        with open_connector(data_source, acting_user=acting_user, purpose="connection test") as connector:
            info = connector.test_connection()
    except (ConnectorError, SecretUnreadable) as exc:
        # A secret no configured key decrypts is the operator's problem to fix (a key dropped too early), not
        # a server error: the caller gets the same "ok: false" answer as for an unreachable source.
        with transaction.atomic():
            audit.record(event="datasource.connection_tested", actor=acting_user, obj=data_source,
                         extra={"ok": False, "error": type(exc).__name__})
        raise ConnectionTestFailed(str(exc)) from None
    with transaction.atomic():
        audit.record(event="datasource.connection_tested", actor=acting_user, obj=data_source,
                     extra={"ok": True, "server_version": info.server_version})
    return info


def connection_info_dict(info: ConnectionInfo) -> dict:
    return asdict(info)
