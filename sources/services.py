"""Data sources: creation and changes (validated by the connectors' rules), connection settings, connection tests,
and their secrets (every read audited, rotation to the newest key).

``acting_user`` is required: ``accounts.actors.SYSTEM`` for tasks and commands, which is not checked; a user's
grant is checked through ``accounts.permissions`` before anything changes, so the API, the admin and commands share
one rule.
"""
from __future__ import annotations

import logging
import math
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, connections, transaction
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from accounts import audit, writes
from accounts.actors import SYSTEM, SystemActor, user_or_none
from accounts.models import User, Workspace
from accounts.permissions import authorize, has_perm, workspace_allows
from config.cache_guard import guarded
from core.events import record_event
from sources import crypto
from sources.connectors import (
    AuthenticationFailed,
    ConnectionInfo,
    ConnectionSettings,
    ConnectorConfigError,
    ConnectorError,
    DatabaseIdentity,
    HostPolicy,
    SourceUnavailable,
    TargetNotAllowed,
    connector_for,
    is_local,
    resolve,
)
from sources.connectors.errors import ProtectedDatabase, redact
from sources.connectors.mysql import server_identity
from sources.connectors.postgresql import IDENTITY_SQL
from sources.crypto import SecretUnreadable
from sources.models import DataSource
from sources.openlineage import namespaces_validated

logger = logging.getLogger("racine.sources")

DATASOURCE_FIELDS = ("name", "engine", "host", "port", "database", "username", "options", "openlineage_namespaces")
# Where the secret is sent: changing any of these without the right to read the secret drops the secret, or the
# new target (a server the caller runs) would receive it.
SECRET_TARGET_FIELDS = ("engine", "host", "port", "database", "username", "options")


class ConnectionTestFailed(Exception):
    """The source could not be reached or refused us; the message is safe to show (no secret in it)."""


class ConnectionTestBusy(Exception):
    """The caller already has a connection test in flight; the message says so and how long it may last."""


# What a caller without the right to read the secret learns of a failed connection: the same words whether the port
# was closed, filtered, spoke another protocol or refused the credentials, so a test is no port scanner.
CANNOT_CONNECT = "cannot connect to the source (a workspace admin can see the reason)"
# A failed test answers a caller without the right to read the secret no sooner than this many seconds past the
# connect timeout (itself at least 2 s, libpq's minimum): a refused port answers at once and a filtered or silent one
# after the connect timeout, so the time of the answer would tell them apart where the words do not.
FAILURE_ANSWER_SLACK_S = 1.0
# What a failed run records instead: every reader of the run sees these words, a workspace admin too, so they say
# where the reason is to be found.
RUN_CANNOT_CONNECT = ("cannot connect to the source (the reason is in the worker's log; a workspace admin can see it "
                      "by testing the source's connection)")

_own_identities: dict[tuple, tuple[DatabaseIdentity, ...]] = {}


def own_database_identities() -> tuple[DatabaseIdentity, ...]:
    """Racine's own database as its server names it (read once per process and database settings). The
    connectors refuse a target with this identity right after connecting, whatever host spelling, port forward or
    DNS name led there. SQLite is protected by file identity instead (``_sqlite_file_allowed``)."""
    connection = connections["default"]
    if connection.vendor not in ("postgresql", "mysql"):
        return ()
    own = connection.settings_dict
    key = (connection.vendor, own["NAME"], own.get("HOST"), own.get("PORT"))
    if key not in _own_identities:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute(IDENTITY_SQL)
                    system_identifier, database = cursor.fetchone()
                    identity = DatabaseIdentity(family="postgresql", server=str(system_identifier),
                                                database=database)
                else:
                    identity = server_identity(cursor, mariadb=connection.mysql_is_mariadb, schema=str(own["NAME"]))
        except DatabaseError:
            # Only the host-spelling check protects the database then: say so loudly, try again next time.
            logger.exception("cannot read the identity of Racine's own database")
            return ()
        _own_identities[key] = (identity,)
    return _own_identities[key]


def host_policy() -> HostPolicy:
    """Production (DEBUG off) refuses targets on this machine unless RACINE_TARGET_ALLOW names them; Racine's
    own database is refused whatever the mode."""
    return HostPolicy(allow=tuple(settings.RACINE_TARGET_ALLOW), deny=tuple(settings.RACINE_TARGET_DENY),
                      allow_local=settings.RACINE_TARGET_ALLOW_LOCAL, protected=own_database_identities())


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
    if resolved == own or resolved.name.startswith(own.name):  # the file, or its -wal / -shm / -journal
        return False
    try:  # the same file under another name: a hard link
        return not (own.exists() and resolved.exists() and os.path.samefile(resolved, own))
    except OSError:
        return False


# Options that name a file on the worker: a CA bundle, read by the driver. Below the allowed folders only, or a
# source's settings could probe which files exist on the server.
_CA_FILE_OPTIONS = ("sslrootcert", "ssl_ca")
_SYSTEM_CA = ("sslrootcert", "system")  # libpq ≥ 16: the operating system's trust store; PyMySQL has no such word


def _check_ca_files(options) -> None:
    for key in _CA_FILE_OPTIONS:
        value = options.get(key)
        if value and (key, value) != _SYSTEM_CA and _resolved_below(value, settings.RACINE_TLS_CA_DIRS) is None:
            raise ConnectorConfigError(
                f"option {key!r}: CA files may only be read from the folders in RACINE_TLS_CA_DIRS", field="options")


def _addresses(host: str) -> set[str]:
    try:
        found = resolve(host, None)
    except ConnectorError:
        return set()
    # Every address of this machine is one target: 127.0.0.1, 127.1, ::1, 0.0.0.0, ::ffff:127.0.0.1, localhost,
    # its own host name and its interfaces' addresses.
    return {"this machine" if is_local(address) else str(address) for address in found}


_FAMILIES = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}


def _is_racine_database(engine: str, host: str, port: int | None, database: str) -> bool:
    """Does the target, as typed, name Racine's own database? Its tables hold every user's password hash and
    every source's encrypted secret: no steward may scan and sample them as a "data source". This catches the
    obvious spellings at registration; the connectors recognise the database by identity when they connect."""
    connection = connections["default"]
    own = connection.settings_dict
    family = _FAMILIES.get(engine)
    if family is None or family != connection.vendor:
        return False
    default_port = _DEFAULT_PORTS[family]
    if (port or default_port) != int(own.get("PORT") or default_port):
        return False
    # PostgreSQL reads one database; a MySQL source without a schema reads all of them.
    if database != own["NAME"] and not (family == "mysql" and not database):
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
            raise ConnectorConfigError("options['url'] is not a valid SQLAlchemy URL", field="options") from None
        if url.password:
            raise ConnectorConfigError("put the password in the password field, not in the URL", field="options")
        if url.get_backend_name() == "sqlite":
            sqlite_path = url.database or ""
        elif _is_racine_database(url.get_backend_name(), url.host or "", url.port, url.database or ""):
            raise ConnectorConfigError("this is Racine's own database; it cannot be registered as a source")
    _check_ca_files(config.options)
    if sqlite_path is not None and not _sqlite_file_allowed(sqlite_path):
        raise ConnectorConfigError(
            "SQLite files may only be registered from the folders in RACINE_SQLITE_ALLOWED_DIRS",
            field="database" if config.engine == "sqlite" else "options")
    if _is_racine_database(config.engine, config.host, config.port, config.database):
        raise ConnectorConfigError("this is Racine's own database; it cannot be registered as a source")
    return config


def validate_settings(source: DataSource) -> None:
    """The model's rules and the connectors' (allowed options, host required, SQLite folders), as a Django
    ValidationError; the admin's form runs it before saving."""
    source.full_clean()
    try:
        source.openlineage_namespaces = namespaces_validated(source.openlineage_namespaces)
    except ValidationError as exc:
        raise ValidationError({"openlineage_namespaces": exc.messages}) from None
    try:
        connection_settings(source, password="")
    except ConnectorConfigError as exc:
        raise ValidationError({exc.field or NON_FIELD_ERRORS: [str(exc)]}) from None


# What the catalog above follows (its asset of the source, catalog.source_assets): recorded in the transaction of the
# change, delivered through the outbox (core.events).
CREATED_EVENT, RENAMED_EVENT = "datasource.created", "datasource.renamed"


@transaction.atomic
def datasource_create(*, workspace: Workspace, acting_user: User | SystemActor, password: str = "",
                      **fields) -> DataSource:
    """Register a source. Its description, owners, tags and certification are curation, on its catalog asset."""
    with writes.creating(DataSource, acting_user=acting_user, event="datasource.created",
                         allowed=lambda: workspace_allows(acting_user, "sources.add_datasource", workspace),
                         values={"workspace": workspace, "created_by": user_or_none(acting_user)},
                         fields=fields, editable=DATASOURCE_FIELDS) as source:
        source.encrypted_secret = crypto.encrypt(password)
        validate_settings(source)
    record_event(CREATED_EVENT, source, {"data_source": source.pk, "name": source.name})
    return source


def _may_keep_secret(data_source: DataSource, acting_user: User | SystemActor) -> bool:
    return acting_user is SYSTEM or has_perm(acting_user, "view_secret", data_source)


def secret_target_changes(data_source: DataSource, fields: dict) -> list[str]:
    """The settings among ``fields`` that change where ``data_source``'s secret is sent, sorted."""
    return sorted(name for name in SECRET_TARGET_FIELDS
                  if name in fields and fields[name] != getattr(data_source, name))


@transaction.atomic
def datasource_update(*, data_source: DataSource, acting_user: User | SystemActor, password: str | None = None,
                      **fields) -> DataSource:
    """Change a source; ``password=None`` keeps the stored secret, ``""`` clears it.

    A change of where the secret goes (``SECRET_TARGET_FIELDS``) drops the stored secret unless the caller may
    read it or enters a password in the same change: otherwise a steward could point the source at a server of
    theirs and have the next connection test hand it the password."""
    retargeted = secret_target_changes(data_source, fields)  # against the stored values: before they change
    name = data_source.name
    with writes.changing(data_source, acting_user=acting_user, event="datasource.changed",
                         allowed=lambda: has_perm(acting_user, "change", data_source),
                         fields=fields, editable=DATASOURCE_FIELDS):
        drop_secret = (password is None and bool(retargeted) and data_source.has_secret
                       and not _may_keep_secret(data_source, acting_user))
        if password is not None:
            data_source.encrypted_secret = crypto.encrypt(password)
        elif drop_secret:
            data_source.encrypted_secret = ""
        validate_settings(data_source)
    if drop_secret:
        audit.record(event="datasource.secret_dropped", actor=acting_user, obj=data_source,
                     extra={"changed": retargeted})
    if data_source.name != name:
        record_event(RENAMED_EVENT, data_source, {"data_source": data_source.pk, "name": [name, data_source.name]})
    return data_source


@transaction.atomic
def datasource_delete(*, data_source: DataSource, acting_user: User | SystemActor) -> None:
    writes.delete(data_source, acting_user=acting_user, event="datasource.deleted",
                  allowed=lambda: has_perm(acting_user, "delete", data_source))


def datasource_secret_read(*, data_source: DataSource, acting_user: User | SystemActor, purpose: str) -> str:
    """The decrypted secret, for a connector. Every read is in the audit trail, with its purpose."""
    authorize(acting_user, lambda: has_perm(acting_user, "view_secret", data_source)
             or has_perm(acting_user, "test_connection", data_source))
    audit.record(event="datasource.secret_accessed", actor=acting_user, obj=data_source,
                 extra={"purpose": purpose})
    return crypto.decrypt(data_source.encrypted_secret)


def datasource_secrets_rotate() -> int:
    """Re-encrypt every stored secret with the newest key; returns how many were rewritten."""
    rotated = 0
    for source in DataSource.objects.exclude(encrypted_secret="").only("pk", "encrypted_secret").iterator():
        with transaction.atomic():
            fresh = crypto.rotate(source.encrypted_secret)
            DataSource.objects.filter(pk=source.pk).update(encrypted_secret=fresh)
            audit.record(event="datasource.secret_rotated", obj=source)
        rotated += 1
    return rotated


def datasource_secrets_unreadable() -> tuple[int, list[DataSource]]:
    """(how many stored secrets there are, the sources whose secret no configured key decrypts). Reads only:
    after a restore with the wrong keys, nothing is rewritten."""
    stored, unreadable = 0, []
    sources = (DataSource.objects.exclude(encrypted_secret="").select_related("workspace")
               .only("pk", "name", "encrypted_secret", "workspace__name").order_by("pk"))
    for source in sources.iterator():
        stored += 1
        try:
            crypto.decrypt(source.encrypted_secret)
        except SecretUnreadable:
            unreadable.append(source)
    return stored, unreadable


def open_connector(data_source: DataSource, *, acting_user: User | SystemActor, purpose: str,
                   batch_size: int | None = None):
    """A connector for the source, its secret read (and audited) for ``purpose``. Nothing connects yet."""
    password = datasource_secret_read(data_source=data_source, acting_user=acting_user, purpose=purpose)
    return connector_for(connection_settings(data_source, password=password), policy=host_policy(),
                         batch_size=batch_size)


def connection_failure_message(exc: Exception, *, detailed: bool, cannot_connect: str = CANNOT_CONNECT) -> str:
    """The reason of a failed connection, in full only for callers who may read the secret. Everyone else
    gets the network policy's refusal as such (it is the answer to what they typed, not a probe of the network)
    and one message for everything else."""
    if detailed:
        return str(exc)
    if isinstance(exc, TargetNotAllowed):
        return "the network policy does not allow this target"
    if isinstance(exc, ConnectorConfigError):
        return str(exc)  # the source's own settings (an option, a missing host): nothing learnt from the network
    return cannot_connect


def run_failure_message(exc: Exception, *, run_id: int, secrets: tuple[str, ...]) -> str:
    """What a failed run records of its source's error. Everyone who can see the run reads it, so a failure to
    reach or log in to the source reads as a connection test reads to a caller who may not see the secret —
    otherwise a steward could point a source anywhere and scan it to learn which ports answer. The full reason
    goes to the worker's log; what went wrong once connected (a denied table, a timeout) stays precise."""
    refused_by_policy = isinstance(exc, TargetNotAllowed) and not isinstance(exc, ProtectedDatabase)
    if isinstance(exc, SourceUnavailable | AuthenticationFailed) or refused_by_policy:
        # The policy's refusal names the addresses the host resolved to and the allow / deny entries: an internal
        # DNS oracle for whoever reads the run. A connection test shows it only to who may read the secret.
        logger.warning("run %s could not connect to its source: %s", run_id, redact(str(exc), secrets))
        return connection_failure_message(exc, detailed=False, cannot_connect=RUN_CANNOT_CONNECT)
    return redact(str(exc), secrets)


def connection_test_slot_seconds() -> int:
    """How long a user's connection-test slot lasts at most: well past the longest test (a connect timeout per
    address the host resolves to, then a few statements under the statement timeout), so that a test still running
    keeps its slot, and a web process killed mid-test frees the user again after this time."""
    return 3 * (settings.RACINE_CONNECT_TIMEOUT + settings.RACINE_STATEMENT_TIMEOUT)


@contextmanager
def connection_test_slot(user: User | SystemActor) -> Iterator[None]:
    """At most one connection test in flight per user: each holds a web worker and a socket for up to the connect
    and statement timeouts, so a user with many parallel requests pointed at silent hosts could otherwise take
    every worker. The slot is a cache key with an expiry (``cache.add`` is atomic on Redis). Without the cache the
    test runs, like the API throttles (``config.cache_guard``, logged and counted): a slot is a speed bump, and
    refusing every test while Redis is down would take away the tool that diagnoses the outage's effects."""
    if user is SYSTEM:  # a management command
        yield
        return
    key, token, timeout = f"racine:connection-test:{user.pk}", secrets.token_hex(16), connection_test_slot_seconds()
    if not guarded("connection_test_slot", lambda: cache.add(key, token, timeout), fallback=True):
        raise ConnectionTestBusy(f"A connection test of yours is still running: wait for its answer (at most "
                                 f"{timeout} s), then try again. One test per user runs at a time.")
    try:
        yield
    finally:
        # Only our own slot: after its expiry another test may hold the key.
        guarded("connection_test_slot", lambda: cache.get(key) == token and cache.delete(key), fallback=False)


def datasource_test_connection(*, data_source: DataSource, acting_user: User | SystemActor) -> ConnectionInfo:
    """Connect, confirm the session is read-only, and report the server. Authorised before any connection; one
    test per user at a time (:func:`connection_test_slot`, else :class:`ConnectionTestBusy`)."""
    authorize(acting_user, lambda: has_perm(acting_user, "test_connection", data_source))
    with connection_test_slot(acting_user):
        return _test_connection(data_source, acting_user)


def failure_answer_floor_s() -> float:
    """The least time a failed connection test takes for a caller who gets :data:`CANNOT_CONNECT`."""
    return max(2, math.ceil(settings.RACINE_CONNECT_TIMEOUT)) + FAILURE_ANSWER_SLACK_S


def _test_connection(data_source: DataSource, acting_user: User | SystemActor) -> ConnectionInfo:
    started = time.monotonic()
    try:
        with open_connector(data_source, acting_user=acting_user, purpose="connection test") as connector:
            info = connector.test_connection()
    except (ConnectorError, SecretUnreadable) as exc:
        # A secret no configured key decrypts is the operator's problem to fix (a key dropped too early), not
        # a server error: the caller gets the same "ok: false" answer as for an unreachable source.
        logger.info("connection test of data source %s failed: %s", data_source.pk, exc)
        with transaction.atomic():
            audit.record(event="datasource.connection_tested", actor=acting_user, obj=data_source,
                         extra={"ok": False, "error": type(exc).__name__})
        message = connection_failure_message(exc, detailed=_may_keep_secret(data_source, acting_user))
        if message == CANNOT_CONNECT:
            time.sleep(max(0.0, started + failure_answer_floor_s() - time.monotonic()))
        raise ConnectionTestFailed(message) from None
    with transaction.atomic():
        audit.record(event="datasource.connection_tested", actor=acting_user, obj=data_source,
                     extra={"ok": True, "server_version": info.server_version})
    return info


def connection_info_dict(info: ConnectionInfo) -> dict:
    return asdict(info)
