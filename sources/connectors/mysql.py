"""MySQL and MariaDB through PyMySQL, reading information_schema in bulk.

The catalog root (the "database" object) is the server's catalog, which MySQL always names ``def``; the schemas
are MySQL databases (``mysql``, ``information_schema``, ``performance_schema`` and ``sys`` are left out). When
``ConnectionSettings.database`` is set only that schema is scanned.

A scan sends a constant number of statements: schemata, tables joined to views, key columns joined to table
constraints, routines (procedures and functions, their parameters gathered in the same statement), triggers,
then every column through an unbuffered cursor (``SSCursor``), so memory stays bounded. ``information_schema``
shows a routine's body (``ROUTINE_DEFINITION``) only to its definer and to accounts allowed to see every body
(``SHOW_ROUTINE``, or SELECT on ``mysql.proc`` / ``mysql.routines``), and a trigger only to accounts with the
TRIGGER privilege on its table: the scan reads what the account may see, and a routine whose body is hidden is
cataloged with ``definition_hidden`` (no ``SHOW CREATE``, which needs the same privileges, one statement a
routine).

Session: ``SET SESSION TRANSACTION READ ONLY`` and a server-side statement limit — MariaDB's
``max_statement_time`` (seconds, any statement) or MySQL's ``max_execution_time`` (milliseconds, SELECT only),
chosen from ``VERSION()``. The socket read timeout is a client-side backstop a little above it.

Authentication: a server may switch the client to ``mysql_clear_password`` or to the ``dialog`` plugin's
"Password:" prompt, and PyMySQL would then send the password as it is. Both are refused per connection
(``auth_plugin_map`` handlers that raise before writing anything), so a server run by whoever typed the host
learns nothing. So is the password itself in ``caching_sha2_password``'s full authentication and in
``sha256_password`` (in clear over TLS, else encrypted with a public key the server sends, which its operator can
decrypt) unless TLS verified the server's certificate; the fast path, a scramble, stays allowed. Left out of reach
of the handlers: a server greeting with ``sha256_password`` over TLS gets the password in PyMySQL's first answer,
so a source with ``ssl_ca`` should also set ``ssl_verify_cert``.

Racine's own database is recognised after connecting, before any catalog query: ``@@server_uuid``
(MariaDB has none: its host name, port and data folder) and the schema.

Sampling is reproducible: ``RAND(seed)`` with a constant seed gives the same sequence over the same rows read in
the same order (InnoDB reads a table in primary-key order). Tables estimated at most ``SMALL_TABLE_ROWS`` rows use
``ORDER BY RAND(seed) LIMIT n``. Larger ones use ``WHERE RAND(seed) < p LIMIT n`` with ``p`` about three times
``n / estimate``: a Bernoulli sample with no sort and no temporary table, whose scan stops as soon as ``n`` rows are
found, after reading about a third of the table. MySQL has no TABLESAMPLE: to bound that read on very large tables
``p`` is at least three times ``n / MAX_SAMPLED_ROWS``, so at most about ``MAX_SAMPLED_ROWS / 3`` rows are read —
then from the start of the table in key order, a bias the README states.
"""
from __future__ import annotations

import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

import pymysql
import pymysql.cursors
from pymysql import _auth
from sqlalchemy.dialects.mysql.base import MySQLDialect

from .base import (
    SAMPLE_SEED,
    ConnectionInfo,
    Connector,
    DatabaseIdentity,
    SchemaObject,
    batched,
    logger,
    routine_name,
    split_table_path,
    trigger_name,
)
from .errors import (
    AuthenticationFailed,
    ConnectorError,
    PermissionDenied,
    QueryTimeout,
    SourceUnavailable,
    TargetNotAllowed,
    describe,
)
from .filters import NO_FILTERS, Filters

SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
CATALOG = "def"

SCHEMATA_SQL = """
SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME
FROM information_schema.SCHEMATA
WHERE SCHEMA_NAME NOT IN %(system)s {only}
ORDER BY SCHEMA_NAME
"""

TABLES_SQL = """
SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.TABLE_TYPE, t.ENGINE, t.TABLE_ROWS, t.AUTO_INCREMENT, t.TABLE_COMMENT,
       v.VIEW_DEFINITION
FROM information_schema.TABLES t
LEFT JOIN information_schema.VIEWS v ON v.TABLE_SCHEMA = t.TABLE_SCHEMA AND v.TABLE_NAME = t.TABLE_NAME
WHERE t.TABLE_SCHEMA IN %(schemas)s AND t.TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED')
ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME
"""

CONSTRAINTS_SQL = """
SELECT k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, c.CONSTRAINT_TYPE, k.COLUMN_NAME,
       k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.TABLE_CONSTRAINTS c
  ON c.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND c.TABLE_SCHEMA = k.TABLE_SCHEMA
 AND c.TABLE_NAME = k.TABLE_NAME AND c.CONSTRAINT_NAME = k.CONSTRAINT_NAME
WHERE k.TABLE_SCHEMA IN %(schemas)s AND c.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, c.CONSTRAINT_TYPE, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
"""

COLUMNS_SQL = """
SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE,
       EXTRA, COLUMN_COMMENT, CHARACTER_SET_NAME, COLLATION_NAME
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA IN %(schemas)s
ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION
"""

ROUTINES_SQL = """
SELECT r.ROUTINE_SCHEMA, r.ROUTINE_NAME, r.ROUTINE_TYPE, r.ROUTINE_BODY, r.ROUTINE_DEFINITION, r.DTD_IDENTIFIER,
       r.ROUTINE_COMMENT, r.DEFINER,
       (SELECT GROUP_CONCAT(CONCAT_WS(' ', IF(r.ROUTINE_TYPE = 'PROCEDURE', p.PARAMETER_MODE, NULL),
                                      p.PARAMETER_NAME, p.DTD_IDENTIFIER)
                            ORDER BY p.ORDINAL_POSITION SEPARATOR ', ')
        FROM information_schema.PARAMETERS p
        WHERE p.SPECIFIC_SCHEMA = r.ROUTINE_SCHEMA AND p.SPECIFIC_NAME = r.SPECIFIC_NAME
          AND p.ROUTINE_TYPE = r.ROUTINE_TYPE AND p.ORDINAL_POSITION > 0)
FROM information_schema.ROUTINES r
WHERE r.ROUTINE_SCHEMA IN %(schemas)s
ORDER BY r.ROUTINE_SCHEMA, r.ROUTINE_NAME, r.ROUTINE_TYPE
"""

TRIGGERS_SQL = """
SELECT TRIGGER_SCHEMA, EVENT_OBJECT_TABLE, TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORIENTATION,
       ACTION_STATEMENT, DEFINER
FROM information_schema.TRIGGERS
WHERE TRIGGER_SCHEMA IN %(schemas)s
ORDER BY TRIGGER_SCHEMA, EVENT_OBJECT_TABLE, TRIGGER_NAME
"""

HINT_SQL = """
SELECT TABLE_TYPE, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s
"""

CR_AUTH_PLUGIN_CANNOT_LOAD = 2059  # also what CleartextRefused raises
# access denied, no password plugin, client too old, password expired, auth plugin refused
AUTH_ERRORS = {1045, 1698, 1251, 1862, CR_AUTH_PLUGIN_CANNOT_LOAD}
UNAVAILABLE_ERRORS = {1040, 1053, 1129, 1130, 2002, 2003, 2005, 2006, 2013, 2055}
TIMEOUT_ERRORS = {1317, 1969, 3024, 1205}  # interrupted, MariaDB/MySQL statement timeout, lock wait timeout
DENIED_ERRORS = {1044, 1142, 1143, 1227, 1792, 1290}  # 1792: write in a READ ONLY transaction

SMALL_TABLE_ROWS = 100_000
MAX_SAMPLED_ROWS = 2_000_000
OVERSAMPLE = 3.0

MYSQL_IDENTITY_SQL = "SELECT @@server_uuid"
MARIADB_IDENTITY_SQL = "SELECT CONCAT_WS(':', @@hostname, @@port, @@datadir)"


class CleartextRefused:
    """PyMySQL auth-plugin handler for the plugins that would send the password as it is: refuse, send nothing.
    PyMySQL builds one per plugin use with the connection and calls ``authenticate`` before anything is written
    (for ``dialog`` too, before any prompt)."""

    def __init__(self, connection):
        self.connection = connection

    def authenticate(self, packet):
        raise pymysql.err.OperationalError(
            CR_AUTH_PLUGIN_CANNOT_LOAD, "the server asked for the password in clear text; Racine refuses to send it")


def _server_verified(connection) -> bool:
    """Is the session on TLS whose server certificate was checked against the source's CA?"""
    return bool(connection._secure and connection.ctx is not None and connection.ctx.verify_mode == ssl.CERT_REQUIRED)


FULL_AUTHENTICATION = b"\x04"  # caching_sha2_password: the scramble was not enough, send the password


class FullAuthenticationToVerifiedServersOnly:
    """PyMySQL auth-plugin handler for ``caching_sha2_password``: its fast path (a scramble) as PyMySQL does it;
    the full authentication (the password itself) only to a server whose certificate was verified."""

    def __init__(self, connection):
        self.connection = connection

    def authenticate(self, packet):
        conn = self.connection
        if conn.password and packet.is_auth_switch_request():  # switched to this plugin: the fast path first
            conn.salt = packet.read_all().removesuffix(b"\0")
            packet = _auth._roundtrip(conn, _auth.scramble_caching_sha2(conn.password, conn.salt))
        if (conn.password and packet.is_extra_auth_data() and packet.get_bytes(1) == FULL_AUTHENTICATION
                and not _server_verified(conn)):
            raise pymysql.err.OperationalError(
                CR_AUTH_PLUGIN_CANNOT_LOAD, "the server asked for caching_sha2_password's full authentication (the "
                "password itself) on a connection whose server certificate was not verified; Racine refuses to send "
                "it (verify the server with ssl_ca and ssl_verify_cert, or let the account log in once elsewhere)")
        return _auth.caching_sha2_password_auth(conn, packet)


class PasswordToVerifiedServersOnly:
    """PyMySQL auth-plugin handler for ``sha256_password``, which always sends the password itself."""

    def __init__(self, connection):
        self.connection = connection

    def authenticate(self, packet):
        if self.connection.password and not _server_verified(self.connection):
            raise pymysql.err.OperationalError(
                CR_AUTH_PLUGIN_CANNOT_LOAD, "the server asked for sha256_password (the password itself) on a "
                "connection whose server certificate was not verified; Racine refuses to send it")
        return _auth.sha256_password_auth(self.connection, packet)


CLEARTEXT_REFUSED = {"mysql_clear_password": CleartextRefused, "dialog": CleartextRefused,
                     "caching_sha2_password": FullAuthenticationToVerifiedServersOnly,
                     "sha256_password": PasswordToVerifiedServersOnly}


def server_identity(cursor, *, mariadb: bool, schema: str) -> DatabaseIdentity:
    """The identity of the server a DB-API cursor is connected to (one statement)."""
    cursor.execute(MARIADB_IDENTITY_SQL if mariadb else MYSQL_IDENTITY_SQL)
    return DatabaseIdentity(family="mysql", server=str(cursor.fetchone()[0]), database=schema)

_preparer = MySQLDialect().identifier_preparer


def quote_identifier(name: str) -> str:
    """Backtick-quote ``name`` (inner backticks doubled) with SQLAlchemy's MySQL identifier preparer."""
    return _preparer.quote_identifier(name)


class MySQLConnector(Connector):
    engine = "mysql"

    def __init__(self, settings, **kw):
        super().__init__(settings, **kw)
        self._conn: pymysql.connections.Connection | None = None
        self.is_mariadb = False
        self.server_version = ""

    # -- connection ------------------------------------------------------------------------------------------
    def _translate(self, exc: BaseException, connecting: bool = False) -> ConnectorError:
        s = self.settings
        text = describe(exc, s.secrets)
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in AUTH_ERRORS:
            return AuthenticationFailed(f"MySQL refused the credentials: {text}")
        if code in TIMEOUT_ERRORS or (code == 2013 and not connecting and "timed out" in text):
            return QueryTimeout(f"statement cancelled after {s.statement_timeout_s}s: {text}")
        # Anything else before a session exists (a lost link, a peer that does not speak MySQL) means no MySQL
        # server could be reached there, whatever the driver's class for it.
        if code in UNAVAILABLE_ERRORS or connecting:
            return SourceUnavailable(f"cannot reach MySQL at {s.host}:{s.port or 3306}: {text}")
        if code in DENIED_ERRORS:
            return PermissionDenied(text)
        return ConnectorError(text)

    def _connect(self) -> pymysql.connections.Connection:
        if self._conn is not None and self._conn.open:
            return self._conn
        s = self.settings
        port = s.port or 3306
        addresses = self._check_host(s.host, port)
        ssl = None
        if "ssl_ca" in s.options:
            ssl = {"ca": s.options["ssl_ca"]}
        verify = s.options.get("ssl_verify_cert", "").lower() in ("true", "1", "yes")
        logger.debug("connecting to %r", s)
        try:
            conn = pymysql.connect(
                host=addresses[0], port=port, user=s.username or None, password=s.password,
                charset=s.options.get("charset", "utf8mb4").lower(), autocommit=True,
                connect_timeout=max(1, int(s.connect_timeout_s)),
                # PyMySQL reads the greeting and the login exchange under the read timeout: bounded by the
                # connect timeout, a port that accepts and stays silent fails as fast as a closed one.
                read_timeout=max(1, int(s.connect_timeout_s)), write_timeout=int(s.statement_timeout_s) + 15,
                ssl=ssl, ssl_verify_cert=verify if ssl else None, local_infile=False,
                client_flag=0, program_name="racine-scanner", auth_plugin_map=CLEARTEXT_REFUSED)
        except pymysql.MySQLError as exc:
            raise self._translate(exc, connecting=True) from None
        except OSError as exc:
            raise SourceUnavailable(f"cannot reach MySQL at {s.host}:{port}: {describe(exc, s.secrets)}") from None
        # Statements get the statement timeout's backstop; PyMySQL applies a new read timeout at its next read.
        conn._read_timeout = int(s.statement_timeout_s) + 15
        self._conn = conn
        try:
            with conn.cursor() as cur:
                self._count("SELECT VERSION()")
                cur.execute("SELECT VERSION()")
                self.server_version = cur.fetchone()[0]
                self.is_mariadb = "mariadb" in self.server_version.lower()
                self._count("SET SESSION TRANSACTION READ ONLY")
                cur.execute("SET SESSION TRANSACTION READ ONLY")
                # GROUP_CONCAT stops at group_concat_max_len (1,024 bytes by default): a routine's longer
                # parameter list (ROUTINES_SQL) would be cut, and its name with it.
                if self.is_mariadb:
                    statement = "SET SESSION max_statement_time = %s, group_concat_max_len = 65536"
                    value = float(s.statement_timeout_s)
                else:
                    statement = "SET SESSION max_execution_time = %s, group_concat_max_len = 65536"
                    value = int(s.statement_timeout_s * 1000)
                self._count(statement)
                cur.execute(statement, (value,))
                if self._protects("mysql"):
                    self._count(MARIADB_IDENTITY_SQL if self.is_mariadb else MYSQL_IDENTITY_SQL)
                    self._refuse_protected(server_identity(cur, mariadb=self.is_mariadb, schema=s.database))
        except pymysql.MySQLError as exc:
            self.close()
            raise self._translate(exc) from None
        except TargetNotAllowed:
            self.close()
            raise
        return conn

    @contextmanager
    def _errors(self):
        try:
            yield
        except pymysql.MySQLError as exc:
            raise self._translate(exc) from None

    def _fetchall(self, query: str, params=None) -> list[tuple]:
        conn = self._connect()
        with self._errors(), conn.cursor() as cur:
            self._count(query)
            cur.execute(query, params)  # params None: no %-formatting of the query text
            return list(cur.fetchall())

    def close(self) -> None:
        if self._conn is not None:
            with suppress(pymysql.MySQLError):
                self._conn.close()
            self._conn = None

    # -- interface -------------------------------------------------------------------------------------------
    def test_connection(self) -> ConnectionInfo:
        self._connect()
        read_only_var = "@@session.tx_read_only" if self.is_mariadb else "@@session.transaction_read_only"
        timeout_var = "@@session.max_statement_time" if self.is_mariadb else "@@session.max_execution_time / 1000"
        ((user, read_only, timeout),) = self._fetchall(f"SELECT CURRENT_USER(), {read_only_var}, {timeout_var}")
        return ConnectionInfo(engine=self.engine, server_version=self.server_version, current_user=user,
                              database=CATALOG, read_only=bool(int(read_only)),
                              statement_timeout_s=float(timeout) or None)

    def iter_schema(self, *, include: Filters | None = None, batch_size: int | None = None
                    ) -> Iterator[list[SchemaObject]]:
        return batched(self._objects(include or NO_FILTERS), batch_size or self.batch_size)

    def _objects(self, filters: Filters) -> Iterator[SchemaObject]:
        yield SchemaObject(kind="database", path=(CATALOG,), properties={})
        only = "AND SCHEMA_NAME = %(only)s" if self.settings.database else ""
        schemas: list[str] = []
        for name, charset, collation in self._fetchall(SCHEMATA_SQL.format(only=only), {
                "system": SYSTEM_SCHEMAS, "only": self.settings.database}):
            if filters.schema_ok(name):
                schemas.append(name)
                yield SchemaObject(kind="schema", path=(CATALOG, name),
                                   properties={"charset": charset, "collation": collation})
        if not schemas:
            return
        params = {"schemas": tuple(schemas)}

        tables = [row for row in self._fetchall(TABLES_SQL, params) if filters.table_ok(row[0], row[1])]
        primary: dict[tuple[str, str], list[str]] = {}
        unique: dict[tuple[str, str], dict[str, list[str]]] = {}
        foreign: dict[tuple[str, str], dict[str, dict]] = {}
        for schema, table, name, ctype, column, ref_schema, ref_table, ref_column in self._fetchall(
                CONSTRAINTS_SQL, params):
            key = (schema, table)
            if ctype == "PRIMARY KEY":
                primary.setdefault(key, []).append(column)
            elif ctype == "UNIQUE":
                unique.setdefault(key, {}).setdefault(name, []).append(column)
            else:
                fk = foreign.setdefault(key, {}).setdefault(name, {
                    "name": name, "columns": [], "referred_path": [CATALOG, ref_schema, ref_table],
                    "referred_columns": []})
                fk["columns"].append(column)
                fk["referred_columns"].append(ref_column)

        kept: set[tuple[str, str]] = set()
        for schema, table, table_type, engine, rows, _auto_increment, comment, view_definition in tables:
            key = (schema, table)
            kept.add(key)
            if table_type == "VIEW":
                self._table_hints[key] = ("view", None)
                yield SchemaObject(kind="view", path=(CATALOG, schema, table), properties={
                    "materialized": False, "view_definition": view_definition or ""})
                continue
            estimate = int(rows) if rows is not None else None
            self._table_hints[key] = ("table", estimate)
            properties: dict = {"engine": engine, "primary_key": primary.get(key, []),
                                "foreign_keys": list(foreign.get(key, {}).values())}
            if key in unique:
                properties["unique"] = list(unique[key].values())
            if table_type == "SYSTEM VERSIONED":
                properties["system_versioned"] = True
            yield SchemaObject(kind="table", path=(CATALOG, schema, table), description=comment or "",
                               row_estimate=estimate, properties=properties)
        del tables, foreign, unique
        yield from self._routines(params, filters)
        pk_columns = {key: set(cols) for key, cols in primary.items()}
        del primary
        yield from self._columns(params, kept, pk_columns, filters)

    def _routines(self, params, filters: Filters) -> Iterator[SchemaObject]:
        """Procedures, functions and triggers: one statement each kind, whatever their number."""
        for (schema, name, routine_type, body, definition, returns, comment, definer,
             arguments) in self._fetchall(ROUTINES_SQL, params):
            arguments = arguments or ""
            properties = {"kind": routine_type.lower(), "language": body.lower(), "arguments": arguments,
                          "definition": definition or "", "owner": definer}
            if definition is None:
                properties["definition_hidden"] = True
            if returns:
                properties["returns"] = returns
            yield SchemaObject(kind="routine", path=(CATALOG, schema, routine_name(name, arguments)),
                               description=comment or "", properties=properties)
        for schema, table, name, timing, event, orientation, statement, definer in self._fetchall(
                TRIGGERS_SQL, params):
            if not filters.table_ok(schema, table):
                continue
            yield SchemaObject(kind="routine", path=(CATALOG, schema, trigger_name(name, table)), properties={
                "kind": "trigger", "language": "sql", "table": table, "timing": timing, "events": [event],
                "for_each": orientation.lower(), "definition": statement or "", "owner": definer})

    def _columns(self, params, kept, pk_columns, filters: Filters) -> Iterator[SchemaObject]:
        conn = self._connect()
        column_ok = filters.column_ok if filters.filters_columns else None
        with self._errors(), conn.cursor(pymysql.cursors.SSCursor) as cur:
            self._count(COLUMNS_SQL)
            cur.execute(COLUMNS_SQL, params)
            while rows := cur.fetchmany(2000):
                for (schema, table, name, ordinal, default, nullable, column_type, extra, comment, charset,
                     collation) in rows:
                    key = (schema, table)
                    if key not in kept or (column_ok is not None and not column_ok(name)):
                        continue
                    extra = (extra or "").lower()
                    properties: dict = {"primary_key": name in pk_columns.get(key, ())}
                    if "auto_increment" in extra:
                        properties["auto_increment"] = True
                    if "generated" in extra:
                        properties["generated"] = "stored" if "stored" in extra or "persistent" in extra \
                            else "virtual"
                    if charset:
                        properties["charset"] = charset
                        properties["collation"] = collation
                    if default == "NULL" and self.is_mariadb:  # MariaDB spells a NULL default as the text NULL
                        default = None
                    yield SchemaObject(kind="column", path=(CATALOG, schema, table, name), data_type=column_type,
                                       is_nullable=nullable == "YES", default=default, description=comment or "",
                                       ordinal=int(ordinal), properties=properties)

    def sample_table(self, table_path: Sequence[str], columns: Sequence[str], limit: int, *,
                     not_null: str | None = None, share: float = 1.0) -> dict[str, list]:
        columns = list(columns)
        if not columns or limit <= 0:
            return {c: [] for c in columns}
        schema, table = split_table_path(table_path, CATALOG)
        hint = self._table_hints.get((schema, table))
        if hint is None:
            found = self._fetchall(HINT_SQL, (schema, table))
            if not found:
                raise ConnectorError(f"no table {schema}.{table}")
            table_type, rows = found[0]
            hint = ("view" if table_type == "VIEW" else "table", int(rows) if rows is not None else None)
            self._table_hints[(schema, table)] = hint  # a sparse column's own sample needs it again
        kind, estimate = hint
        select = ", ".join(quote_identifier(c) for c in columns)
        target = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        conditions = [f"{quote_identifier(not_null)} IS NOT NULL"] if not_null is not None else []
        limit = int(limit)
        if kind == "table" and estimate is not None and estimate * share > SMALL_TABLE_ROWS:
            probability = min(1.0, max(OVERSAMPLE * limit / (estimate * share), OVERSAMPLE * limit / MAX_SAMPLED_ROWS))
            conditions.append(f"RAND({SAMPLE_SEED}) < {probability:.9f}")
            order = ""
        else:
            order = f" ORDER BY RAND({SAMPLE_SEED})"
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        # no parameters: PyMySQL leaves the text alone (a '%' in a name is safe)
        rows = self._fetchall(f"SELECT {select} FROM {target}{where}{order} LIMIT {limit}")
        result: dict[str, list] = {c: [] for c in columns}
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                result[column].append(bytes(value) if isinstance(value, (bytearray, memoryview)) else value)
        return result
