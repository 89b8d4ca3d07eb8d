"""The connector interface: settings, catalog objects, and the abstract :class:`Connector`."""
from __future__ import annotations

import hashlib
import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import unquote

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConnectorConfigError, ConnectorError, ProtectedDatabase
from .filters import Filters
from .names import qualified_name
from .network import HostPolicy, check_target_host

logger = logging.getLogger("racine.sources.connectors")

ENGINES = ("postgresql", "mysql", "sqlite", "sqlalchemy")

_BOOL = {"true", "false", "1", "0", "yes", "no"}


def _one_of(*choices: str):
    def check(value: str) -> bool:
        return value in choices
    return check


def _matches(pattern: str):
    regex = re.compile(pattern)
    return lambda value: regex.fullmatch(value) is not None


# MySQL client character sets a source may choose (``charset``, in its options or a SQLAlchemy URL). PyMySQL escapes
# parameters byte by byte, so sets whose multibyte characters may end in the byte 0x5c (a backslash: big5, cp932, gbk,
# gb18030, sjis) are left out: there an escaped quote can become a closing one. Names outside PyMySQL's table made it
# fail with an AttributeError; ucs2 / utf16 / utf32 are refused by the server as client sets.
MYSQL_CHARSETS = frozenset({
    "armscii8", "ascii", "binary", "cp1250", "cp1251", "cp1256", "cp1257", "cp850", "cp852", "cp866", "dec8",
    "eucjpms", "euckr", "gb2312", "geostd8", "greek", "hebrew", "hp8", "keybcs2", "koi8r", "koi8u", "latin1",
    "latin2", "latin5", "latin7", "macce", "macroman", "swe7", "tis620", "ujis", "utf8", "utf8mb3", "utf8mb4",
})

# Driver options a data source may set, per engine, each with its validator. Nothing else reaches a driver; the
# connectors also fix the parameters a driver would otherwise take from the worker's environment.
ALLOWED_OPTIONS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "postgresql": {
        "sslmode": _one_of("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
        "sslrootcert": _matches(r"[^\x00-\x1f]{1,4096}"),
        "connect_timeout": _matches(r"[0-9]{1,4}"),  # may shorten Racine's bound, never lengthen or disable it
        "application_name": _matches(r"[\x20-\x7e]{1,63}"),
    },
    "mysql": {
        "ssl_ca": _matches(r"[^\x00-\x1f]{1,4096}"),
        "ssl_verify_cert": lambda v: v.lower() in _BOOL,
        "charset": lambda value: value.lower() in MYSQL_CHARSETS,
    },
    "sqlite": {},
    "sqlalchemy": {
        "url": _matches(r"[^\x00-\x1f]{1,8192}"),
    },
})

# A SQLAlchemy URL's query string reaches the driver's connect() as keyword arguments, and many of them redirect or
# arm the connection: libpq's host / hostaddr / service override the host the policy checked, MySQL's local_infile
# lets the *server* read the worker's files, unix_socket / init_command / read_default_file / passfile / options
# open local sockets, run statements or unset the read-only session. Only these pass, per backend.
URL_QUERY_OPTIONS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "postgresql": {key: ALLOWED_OPTIONS["postgresql"][key] for key in ("sslmode", "connect_timeout",
                                                                       "application_name")},
    "mysql": {"charset": ALLOWED_OPTIONS["mysql"]["charset"]},
    "mariadb": {"charset": ALLOWED_OPTIONS["mysql"]["charset"]},
})


# The drivers Racine can hold to the native connectors' rules (libpq's require_auth, PyMySQL's per-connection auth
# plugins, psycopg's client-side answer timeout); another driver of these dialects might send the password in clear.
URL_DRIVERS: Mapping[str, frozenset[str]] = MappingProxyType({
    "postgresql": frozenset({"psycopg"}),
    "mysql": frozenset({"pymysql"}),
    "mariadb": frozenset({"pymysql"}),
})


# Host, database and user name reach the server as they are (PostgreSQL's startup packet, MySQL's handshake). A line
# break there would start a new command for a line-based service on the target port (SMTP, memcached, ...): a
# connection test would become a way to speak those protocols.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def check_sqlalchemy_url(url: str) -> None:
    """Refuse a URL whose query parameters are outside ``URL_QUERY_OPTIONS``, whose driver is not in
    ``URL_DRIVERS`` for its dialect, or that names no host (a local socket, which the host policy never sees).
    SQLite has no host; its file is checked by the services."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConnectorConfigError("options['url'] is not a valid SQLAlchemy URL", field="options") from None
    backend = parsed.get_backend_name()
    drivers = URL_DRIVERS.get(backend)
    if drivers is not None and parsed.get_driver_name() not in drivers:
        raise ConnectorConfigError(
            f"options['url']: driver {parsed.get_driver_name()!r} is not allowed for dialect {backend!r}"
            f" (allowed: {', '.join(sorted(drivers))})", field="options")
    allowed = URL_QUERY_OPTIONS.get(backend, {})
    for key, value in parsed.query.items():
        if key not in allowed:
            raise ConnectorConfigError(
                f"options['url']: parameter {key!r} is not allowed for dialect {backend!r}"
                f" (allowed: {', '.join(sorted(allowed)) or 'none'})", field="options")
        if not isinstance(value, str) or not allowed[key](value):
            raise ConnectorConfigError(f"options['url']: invalid value for parameter {key!r}", field="options")
    for name in ("host", "database", "username"):
        if _CONTROL_CHARACTERS.search(getattr(parsed, name) or ""):
            raise ConnectorConfigError(f"options['url']: the {name} may not contain control characters",
                                       field="options")
    if backend != "sqlite" and not parsed.host:
        raise ConnectorConfigError("options['url'] must name a host (local sockets are not scanned)",
                                   field="options")


_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)([^@\s]*)(@)")


def redact_url(url: str) -> str:
    return _URL_PASSWORD.sub(r"\1***\3", url)


@dataclass(frozen=True, repr=False)
class ConnectionSettings:
    engine: str
    host: str = ""
    port: int | None = None
    database: str = ""  # PostgreSQL: the database; MySQL: limit the scan to this schema; SQLite: the file path
    username: str = ""
    password: str = field(default="", repr=False)
    options: Mapping[str, str] = field(default_factory=dict, hash=False)
    statement_timeout_s: float = 30
    connect_timeout_s: float = 10

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise ConnectorConfigError(f"unknown engine {self.engine!r}; expected one of {', '.join(ENGINES)}",
                                       field="engine")
        allowed = ALLOWED_OPTIONS[self.engine]
        options = dict(self.options or {})
        for key, value in options.items():
            if key not in allowed:
                raise ConnectorConfigError(
                    f"option {key!r} is not allowed for engine {self.engine!r}"
                    f" (allowed: {', '.join(sorted(allowed)) or 'none'})", field="options")
            if not isinstance(value, str) or not allowed[key](value):
                raise ConnectorConfigError(f"invalid value for option {key!r} of engine {self.engine!r}",
                                           field="options")
        object.__setattr__(self, "options", MappingProxyType(options))
        if self.engine == "sqlalchemy":
            if "url" not in options:
                raise ConnectorConfigError("engine 'sqlalchemy' needs options['url']", field="options")
            check_sqlalchemy_url(options["url"])
        for name in ("host", "database", "username"):
            if _CONTROL_CHARACTERS.search(getattr(self, name) or ""):
                raise ConnectorConfigError(f"{name} may not contain control characters (line breaks, tabs, NUL)",
                                           field=name)
        if self.engine in ("postgresql", "mysql") and not self.host:
            raise ConnectorConfigError(f"engine {self.engine!r} needs a host", field="host")
        if self.engine == "sqlite" and not self.database:
            raise ConnectorConfigError("engine 'sqlite' needs database (the file path)", field="database")
        if self.port is not None and not (isinstance(self.port, int) and 0 < self.port < 65536):
            raise ConnectorConfigError("port must be an integer between 1 and 65535", field="port")
        for name in ("statement_timeout_s", "connect_timeout_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value <= 86400:
                raise ConnectorConfigError(f"{name} must be a number of seconds in (0, 86400]")

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that must never appear in a message: the password, and the one inside a SQLAlchemy URL."""
        found = [self.password]
        match = _URL_PASSWORD.search(self.options.get("url", ""))
        if match:
            found.append(match.group(2))
            found.append(unquote(match.group(2)))
        return tuple(s for s in found if s)

    def __repr__(self) -> str:
        options = {k: (redact_url(v) if k == "url" else v) for k, v in self.options.items()}
        return (f"ConnectionSettings(engine={self.engine!r}, host={self.host!r}, port={self.port!r}, "
                f"database={self.database!r}, username={self.username!r}, password={'***' if self.password else ''!r}, "
                f"options={options!r}, statement_timeout_s={self.statement_timeout_s!r}, "
                f"connect_timeout_s={self.connect_timeout_s!r})")

    __str__ = __repr__


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class SchemaObject:
    """One database, schema, table, view, routine or column, as read from the source's catalog.

    A routine is a function, a procedure or a trigger, a child of its schema; its name says what it is apart from
    the tables beside it: ``order_total(p_order integer)`` for a function or procedure (PostgreSQL overloads a name),
    ``orders_audit on orders`` for a trigger (PostgreSQL names triggers per table). Its properties: ``kind``
    (function, procedure or trigger), ``language``, ``arguments``, ``returns``, ``definition`` (as the source
    gives it) and, for a trigger, ``table``, ``timing``, ``events`` and the ``function`` it runs.

    ``properties`` is JSON-serialisable; treat it as read-only. ``row_estimate`` is kept out of the fingerprint:
    estimates move without any schema change.
    """

    kind: str  # "database" | "schema" | "table" | "view" | "routine" | "column"
    path: tuple[str, ...]
    data_type: str = ""
    is_nullable: bool | None = None
    default: str | None = None
    description: str = ""
    ordinal: int | None = None
    row_estimate: int | None = field(default=None, compare=False)
    properties: Mapping[str, Any] = field(default_factory=dict, hash=False)

    KINDS: ClassVar[tuple[str, ...]] = ("database", "schema", "table", "view", "routine", "column")

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def parent_path(self) -> tuple[str, ...]:
        return self.path[:-1]

    @property
    def qualified_name(self) -> str:
        return qualified_name(self.path)

    @cached_property
    def _fingerprint(self) -> str:
        payload = [self.kind, list(self.path), self.data_type, self.is_nullable, self.default, self.description,
                   self.ordinal, self.properties]
        return hashlib.sha256(_canonical(payload).encode()).hexdigest()

    def fingerprint(self) -> str:
        """SHA-256 of kind, path, type, nullability, default, description, ordinal and properties."""
        return self._fingerprint


def routine_name(name: str, arguments: str) -> str:
    """The catalog name of a function or procedure: its name and arguments, as the source lists them."""
    return f"{name}({arguments})"


def trigger_name(name: str, table: str) -> str:
    """The catalog name of a trigger: its name and the table it fires on."""
    return f"{name} on {table}"


@dataclass(frozen=True)
class DatabaseIdentity:
    """Who a database server and database are, as the server itself says (not as a host name spells it).

    ``server``: PostgreSQL's ``system_identifier`` (fixed at initdb, shared by a cluster's databases and its
    physical replicas); MySQL's ``@@server_uuid``; MariaDB, which has none, its host name, port and data folder.
    ``database``: PostgreSQL's ``current_database()``; MySQL's schema, where ``""`` means every schema.
    """

    family: str  # "postgresql" | "mysql"
    server: str
    database: str

    def reaches(self, protected: DatabaseIdentity) -> bool:
        """Would a connection with this identity read ``protected``'s tables?"""
        if (self.family, self.server) != (protected.family, protected.server):
            return False
        # A MySQL source without a schema scans every schema of the server; PostgreSQL sees one database.
        return self.database == protected.database or (self.family == "mysql" and not self.database)


@dataclass(frozen=True)
class ConnectionInfo:
    engine: str
    server_version: str
    current_user: str
    database: str
    read_only: bool  # the session refuses writes (confirmed by asking the server, not assumed)
    statement_timeout_s: float | None  # as the server reports it for this session, None if not enforceable

    @property
    def server(self) -> str:
        """The product and its version, for people: "PostgreSQL 15.20 (Debian 15.20-0+deb12u1)", not the bare
        version string the server reports."""
        if self.engine == "mysql" and "mariadb" in self.server_version.lower():
            product = "MariaDB"
        else:
            product = SERVER_PRODUCTS.get(self.engine, self.engine.removeprefix("sqlalchemy+"))
        return f"{product} {self.server_version}".strip()


SERVER_PRODUCTS = {"postgresql": "PostgreSQL", "mysql": "MySQL", "sqlite": "SQLite"}


def batched(objects: Iterable[SchemaObject], size: int) -> Iterator[list[SchemaObject]]:
    batch: list[SchemaObject] = []
    for obj in objects:
        batch.append(obj)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# Sampling: at most this many sparse columns of one table get a query of their own for non-null values.
MAX_TOPPED_UP_COLUMNS = 16
# The seed of every engine's seeded sampling (TABLESAMPLE … REPEATABLE, RAND(seed)): the same data, the same sample.
SAMPLE_SEED = 1729


def sample_key(*values) -> int:
    """A stable pseudo-random sort key for a row's values (SQLite's ``racine_sample_key``): the order depends on the
    data only, not on where rows are stored or on the process (``hash()`` is salted per process)."""
    digest = hashlib.blake2b(repr(values).encode("utf-8", "surrogatepass"), digest_size=8,
                             salt=SAMPLE_SEED.to_bytes(8, "big"))
    return int.from_bytes(digest.digest(), "big", signed=True)


@dataclass(frozen=True)
class SampledValues:
    """``rows``: one row sample, values per column aligned by row, None included (what a profile measures).
    ``values``: per column, what detection judges: the row sample's values, or for a sparse column the non-null
    values read for it alone."""

    rows: dict[str, list]
    values: dict[str, list]


def split_table_path(path: Sequence[str], database: str) -> tuple[str, str]:
    """``(schema, table)`` from a ``(database, schema, table)`` or ``(schema, table)`` path."""
    path = tuple(path)
    if len(path) == 3:
        if path[0] != database:
            raise ConnectorError(f"table {qualified_name(path)} is not in database {database!r}")
        return path[1], path[2]
    if len(path) == 2:
        return path[0], path[1]
    raise ConnectorError(f"expected a (database, schema, table) path, got {path!r}")


class Connector(ABC):
    """One source database. Not thread-safe: one connector per worker task; use it as a context manager."""

    engine: ClassVar[str]
    default_batch_size: ClassVar[int] = 1000

    def __init__(self, settings: ConnectionSettings, *, policy: HostPolicy | None = None,
                 batch_size: int | None = None):
        if settings.engine != self.engine:
            raise ConnectorConfigError(f"{type(self).__name__} cannot use engine {settings.engine!r}")
        self.settings = settings
        self.policy = policy or HostPolicy()
        self.batch_size = batch_size or self.default_batch_size
        self.queries_executed = 0  # every statement sent to the source, catalog or data
        # row estimates and kinds seen by iter_schema, used by sample_table to choose a strategy
        self._table_hints: dict[tuple[str, str], tuple[str, int | None]] = {}

    # -- helpers for subclasses --------------------------------------------------------------------------------
    def _check_host(self, host: str, port: int | None) -> list[str]:
        return check_target_host(host, port, allow=self.policy.allow, deny=self.policy.deny,
                                 allow_local=self.policy.allow_local)

    def _protects(self, family: str) -> bool:
        """Is there a protected database of this family, so that the identity of the target must be read?"""
        return any(identity.family == family for identity in self.policy.protected)

    def _refuse_protected(self, identity: DatabaseIdentity) -> None:
        """Called right after connecting, before any catalog query or sample."""
        if any(identity.reaches(protected) for protected in self.policy.protected):
            raise ProtectedDatabase("this is Racine's own database; it cannot be read as a data source")

    def _count(self, sql: str) -> None:
        self.queries_executed += 1
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s query #%d: %s", self.engine, self.queries_executed, " ".join(str(sql).split())[:200])

    # -- the interface -----------------------------------------------------------------------------------------
    @abstractmethod
    def test_connection(self) -> ConnectionInfo: ...

    @abstractmethod
    def iter_schema(self, *, include: Filters | None = None, batch_size: int | None = None
                    ) -> Iterator[list[SchemaObject]]:
        """Batches of catalog objects; a parent is always yielded before its children."""

    @abstractmethod
    def sample_table(self, table_path: Sequence[str], columns: Sequence[str], limit: int, *,
                     not_null: str | None = None, share: float = 1.0) -> dict[str, list]:
        """At most ``limit`` rows' values per column, read by one query, in a pseudo-random order that is the same
        on every call against the same data (see ``sample_values``). With ``not_null`` (one of ``columns``) only
        rows where that column holds a value; ``share`` is the part of the rows expected to hold one, so that a
        bounded sample of a large table still finds ``limit`` of them."""

    def sample_values(self, table_path: Sequence[str], columns: Sequence[str], limit: int) -> SampledValues:
        """A table's sample for detection and profiling: one row sample (``sample_table``) and, for up to
        ``MAX_TOPPED_UP_COLUMNS`` sparse columns (fewer than half of the sampled rows hold a value) of a table
        that has more rows than were sampled, one more query each for ``limit`` non-null values, so that a column
        that is 95% NULL is judged on ``limit`` values too. The sparsest columns are topped up first."""
        columns = list(columns)
        rows = self.sample_table(table_path, columns, limit)
        values = dict(rows)
        sampled = len(rows[columns[0]]) if columns else 0
        hint = self._table_hints.get(tuple(table_path)[-2:])
        more_rows = sampled >= limit or (hint is not None and hint[1] is not None and hint[1] > sampled)
        if sampled and more_rows:
            present = {column: sum(value is not None for value in rows[column]) for column in columns}
            sparse = sorted((column for column in columns if present[column] < min(limit, sampled) / 2),
                            key=lambda column: present[column])
            for column in sparse[:MAX_TOPPED_UP_COLUMNS]:
                share = max(present[column], 0.5) / sampled  # none seen: assume half a row in the sample had one
                found = self.sample_table(table_path, [column], limit, not_null=column, share=share)[column]
                if len(found) > present[column]:
                    values[column] = found
        return SampledValues(rows=rows, values=values)

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.settings!r}>"
