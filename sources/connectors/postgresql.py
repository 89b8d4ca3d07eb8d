"""PostgreSQL through psycopg 3, reading pg_catalog in bulk.

A scan sends seven statements whatever the number of tables: database, schemas, relations (tables, views,
materialized views, foreign and partitioned tables, with comments, row estimates and view definitions),
constraints (primary, unique, foreign keys), routines (functions and procedures with ``pg_get_functiondef``; not
those of an extension, nor C and internal ones, which have no SQL to read), triggers (not the internal ones that
enforce foreign keys), then every column through a server-side cursor, so memory holds one fetch of columns plus
the table list, never the whole column catalog. Needs PostgreSQL 12 or later.

The session is read-only and time-boxed from the first statement: the startup packet carries
``-c default_transaction_read_only=on -c statement_timeout=… -c lock_timeout=…``.

Authentication: libpq's ``require_auth`` (libpq ≥ 16; psycopg[binary] bundles a newer one) accepts only
SCRAM-SHA-256, MD5 or no password exchange at all (trust, certificates). A server that asks for the password in
clear (``password``), or for GSS / SSPI / OAuth, which no source setting configures, is refused before anything is
sent: a source's host can be typed by someone who must not learn its password. MD5 stays allowed: roles created
before PostgreSQL 14 still carry MD5 hashes, and the exchange sends a salted hash, never the password (a server
run by an attacker can try a dictionary on it offline, as it can on a SCRAM proof whose iteration count it picks).

The server's statement timeout is backed by a client-side one (:class:`BoundedConnection`): a server that accepts
the login and then never answers would otherwise hold the worker (a web worker, for a connection test) for ever.

The worker's own libpq environment never serves a source (:func:`fixed_params`): no password from ``PGPASSWORD``
or ``~/.pgpass`` (perhaps the password of Racine's own database), no client certificate from ``~/.postgresql``, no
Kerberos ticket through GSS encryption. A source's ``connect_timeout`` may shorten Racine's bound, not lengthen or
disable (``0``) it.

Racine's own database is recognised after connecting, before any other statement: ``system_identifier`` (fixed
when the cluster was created) and ``current_database()``.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import psycopg
from psycopg import sql

from .base import (
    SAMPLE_SEED,
    ConnectionInfo,
    ConnectionSettings,
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
    ProtectedDatabase,
    QueryTimeout,
    SourceUnavailable,
    TargetNotAllowed,
    describe,
)
from .filters import NO_FILTERS, Filters
from .names import qualified_name

# Password exchanges the client takes part in: never the cleartext one (see the module's docstring).
REQUIRE_AUTH = "scram-sha-256,md5,none"
# A path that cannot exist (below a file): libpq then reads no password file ("" would mean ~/.pgpass, and
# /dev/null draws a warning on stderr at every connection).
NO_PASSWORD_FILE = os.path.join(os.devnull, "no-password-file")


def fixed_params(settings: ConnectionSettings, requested_connect_timeout: str | None = None) -> dict:
    """libpq parameters of every connection to a PostgreSQL source, native or through SQLAlchemy, applied after the
    source's options so that none of them can override these."""
    bound = max(2, math.ceil(settings.connect_timeout_s))
    requested = int(requested_connect_timeout or 0)
    timeout_ms = max(1, int(settings.statement_timeout_s * 1000))
    return {
        "connect_timeout": min(requested, bound) if requested > 0 else bound,  # 0 would wait forever
        "require_auth": REQUIRE_AUTH,
        "options": (f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms}"
                    f" -c lock_timeout={timeout_ms} -c idle_in_transaction_session_timeout={timeout_ms * 2}"),
        # Set even when empty: libpq fills an absent password from PGPASSWORD, then from the password file.
        "password": settings.password,
        "passfile": NO_PASSWORD_FILE,
        "sslcertmode": "disable",  # no source setting names a client certificate: never send the worker's
        "gssencmode": "disable",
    }


# How long past the statement timeout the client waits for any answer before it gives the connection up.
ANSWER_BACKSTOP_S = 15


class BoundedConnection(psycopg.Connection):
    """A psycopg connection whose every wait for the server ends after ``answer_timeout_s`` (psycopg raises its
    ``_WaitTimeout``, an OperationalError): the statement timeout is the server's to enforce, and a server run by
    whoever typed the host need not."""

    answer_timeout_s: float | None = None
    gave_up = False

    def wait(self, gen, interval=0.1, timeout=None):
        try:
            return super().wait(gen, interval=interval,
                                timeout=timeout if timeout is not None else self.answer_timeout_s)
        except psycopg.errors._WaitTimeout:
            # A statement is in flight and unanswered: the connection is unusable. Closed now, so that closing a
            # cursor or rolling back on the way out fails at once instead of waiting as long again.
            self.gave_up = True
            self.pgconn.finish()
            raise


def bounded_connect(settings: ConnectionSettings, *args, **params) -> BoundedConnection:
    conn = BoundedConnection.connect(*args, **params)
    conn.answer_timeout_s = settings.statement_timeout_s + ANSWER_BACKSTOP_S
    return conn


IDENTITY_SQL = "SELECT system_identifier::text, current_database() FROM pg_control_system()"
UNDEFINED_FUNCTION = "42883"  # a PostgreSQL-compatible server (not PostgreSQL itself) has no pg_control_system()


def identity_or_refuse(read: Callable[[], tuple[str, str]], sqlstate_of: Callable[[Exception], str | None],
                       errors: type[Exception] | tuple[type[Exception], ...]) -> DatabaseIdentity | None:
    """The server's identity through ``read()``; None from a server that is not PostgreSQL itself (it cannot be
    Racine's database). Any other failure refuses the source: it might be the protected database."""
    try:
        system_identifier, database = read()
    except errors as exc:
        if sqlstate_of(exc) == UNDEFINED_FUNCTION:
            return None
        raise ProtectedDatabase("cannot confirm that this is not Racine's own database "
                               f"(reading pg_control_system() failed: {type(exc).__name__})") from None
    return DatabaseIdentity(family="postgresql", server=system_identifier, database=database)


DATABASE_SQL = """
SELECT current_database(), shobj_description(d.oid, 'pg_database')
FROM pg_database d WHERE d.datname = current_database()
"""

SCHEMAS_SQL = r"""
SELECT n.oid, n.nspname, d.description, pg_get_userbyid(n.nspowner)
FROM pg_namespace n
LEFT JOIN pg_description d ON d.objoid = n.oid AND d.classoid = 'pg_namespace'::regclass AND d.objsubid = 0
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
ORDER BY n.nspname
"""

RELATIONS_SQL = """
SELECT c.oid, c.relnamespace, c.relname, c.relkind, c.reltuples::bigint, d.description,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
       c.relispartition, pg_get_userbyid(c.relowner)
FROM pg_class c
LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
WHERE c.relnamespace = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
ORDER BY c.relnamespace, c.relname
"""

CONSTRAINTS_SQL = """
SELECT con.conrelid, con.contype, con.conname,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.i),
       fn.nspname, fc.relname,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.i)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.contype IN ('p', 'u', 'f') AND c.relnamespace = ANY(%(schemas)s)
ORDER BY con.conrelid, con.contype, con.conname
"""

COLUMNS_SQL = """
SELECT a.attrelid, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_get_expr(ad.adbin, ad.adrelid), d.description, a.attidentity, a.attgenerated
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_description d ON d.objoid = a.attrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
WHERE c.relnamespace = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
  AND (%(relations)s::oid[] IS NULL OR a.attrelid = ANY(%(relations)s::oid[]))
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

ROUTINES_SQL = """
SELECT p.pronamespace, p.proname, p.prokind, l.lanname, pg_get_function_identity_arguments(p.oid),
       CASE WHEN p.prokind = 'f' THEN pg_get_function_result(p.oid) END, pg_get_functiondef(p.oid), d.description,
       pg_get_userbyid(p.proowner)
FROM pg_proc p
JOIN pg_language l ON l.oid = p.prolang
LEFT JOIN pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass AND d.objsubid = 0
WHERE p.pronamespace = ANY(%(schemas)s) AND p.prokind IN ('f', 'p') AND l.lanname NOT IN ('c', 'internal')
  AND NOT EXISTS (SELECT 1 FROM pg_depend e
                  WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')
ORDER BY p.pronamespace, p.proname, 5
"""

TRIGGERS_SQL = """
SELECT c.relnamespace, c.relname, t.tgname, t.tgtype, pg_get_triggerdef(t.oid), fn.nspname, p.proname,
       pg_get_function_identity_arguments(p.oid), d.description
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace fn ON fn.oid = p.pronamespace
LEFT JOIN pg_description d ON d.objoid = t.oid AND d.classoid = 'pg_trigger'::regclass AND d.objsubid = 0
WHERE c.relnamespace = ANY(%(schemas)s) AND NOT t.tgisinternal
ORDER BY c.relnamespace, c.relname, t.tgname
"""

HINT_SQL = """
SELECT c.relkind, c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s
"""

# A partitioned table has no rows of its own (reltuples -1): its estimate is the sum of its leaf partitions'.
PARTITIONED_ROWS_SQL = """
SELECT sum(greatest(p.reltuples, 0))::bigint FROM pg_partition_tree(%s::regclass) t JOIN pg_class p ON p.oid = t.relid
WHERE t.isleaf
"""

PROKINDS = {"f": "function", "p": "procedure"}
# pg_trigger.tgtype's bits (PostgreSQL's include/catalog/pg_trigger.h).
TRIGGER_ROW, TRIGGER_BEFORE, TRIGGER_INSTEAD = 1, 2, 64
TRIGGER_EVENTS = ((4, "INSERT"), (8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE"))

RELKINDS = {"r": ("table", {}), "p": ("table", {"partitioned": True}), "f": ("table", {"foreign": True}),
            "v": ("view", {"materialized": False}), "m": ("view", {"materialized": True})}

# Sampling, reproducible: the same data gives the same sample. Below ``SMALL_TABLE_ROWS`` (rows holding a value,
# when sampling one sparse column) the whole table is ordered by a hash of each row's address (a top-N heap sort);
# above it ``TABLESAMPLE … REPEATABLE (seed)`` reads a fraction of the table, then the same hash orders what it
# read: BERNOULLI (row-level, every page) up to ``SYSTEM_FROM_ROWS`` rows, SYSTEM (page-level, reads only the
# sampled pages) beyond, and for a sparse column's own sample. The fraction never exceeds ``MAX_SAMPLED_ROWS`` rows'
# worth of the table, so a billion-row table is never read whole.
SMALL_TABLE_ROWS = 100_000
SYSTEM_FROM_ROWS = 10_000_000
MAX_SAMPLED_ROWS = 2_000_000
OVERSAMPLE = 3.0

FETCH_ROWS = 5000


class PostgresConnector(Connector):
    engine = "postgresql"

    def __init__(self, settings, **kw):
        super().__init__(settings, **kw)
        self._conn: psycopg.Connection | None = None

    # -- connection ------------------------------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        s = self.settings
        port = s.port or 5432
        addresses = self._check_host(s.host, port)
        options = dict(s.options)
        requested_timeout = options.pop("connect_timeout", None)
        params = {
            "host": ",".join([s.host] * len(addresses)),
            "hostaddr": ",".join(addresses),  # connect to the addresses that were checked, not a new DNS answer
            "port": port,
            "dbname": s.database or "postgres",
            "user": s.username or None,
            "application_name": options.pop("application_name", "racine-scanner"),
            **options,  # sslmode, sslrootcert: allow-listed and validated by ConnectionSettings
            **fixed_params(s, requested_timeout),
        }
        logger.debug("connecting to %r", s)
        try:
            self._conn = bounded_connect(s, autocommit=True, **{k: v for k, v in params.items() if v is not None})
        except psycopg.OperationalError as exc:
            text = describe(exc, s.secrets)
            lowered = text.lower()
            if "authentication method requirement" in lowered:
                raise AuthenticationFailed("PostgreSQL asked for an authentication method Racine refuses (the "
                                           f"password in clear, GSS, SSPI or OAuth); nothing was sent: {text}"
                                           ) from None
            if ("password authentication failed" in lowered or "authentication failed" in lowered
                    or "no pg_hba.conf entry" in lowered or "password is required" in lowered
                    or "role" in lowered and "does not exist" in lowered):
                raise AuthenticationFailed(f"PostgreSQL refused the credentials: {text}") from None
            if "database" in lowered and "does not exist" in lowered:
                raise ConnectorError(f"PostgreSQL database not found: {text}") from None
            raise SourceUnavailable(f"cannot reach PostgreSQL at {s.host}:{port}: {text}") from None
        except psycopg.Error as exc:
            raise SourceUnavailable(f"cannot connect to PostgreSQL: {describe(exc, s.secrets)}") from None
        if self._protects("postgresql"):
            self._check_identity(self._conn)
        return self._conn

    def _check_identity(self, conn: psycopg.Connection) -> None:
        def read():
            self._count(IDENTITY_SQL)
            return conn.execute(IDENTITY_SQL).fetchone()

        try:
            identity = identity_or_refuse(read, lambda exc: getattr(exc, "sqlstate", None), psycopg.Error)
            if identity is not None:
                self._refuse_protected(identity)
        except TargetNotAllowed:
            self.close()
            raise

    @contextmanager
    def _errors(self):
        secrets = self.settings.secrets
        try:
            yield
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction) as exc:
            raise PermissionDenied(describe(exc, secrets)) from None
        except psycopg.OperationalError as exc:
            if self._conn is not None and self._conn.gave_up:
                self.close()
                raise QueryTimeout(f"PostgreSQL did not answer within {self.settings.statement_timeout_s}s (and "
                                   f"{ANSWER_BACKSTOP_S}s more): connection closed") from None
            if isinstance(exc, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable):
                raise QueryTimeout(f"statement cancelled after {self.settings.statement_timeout_s}s: "
                                   f"{describe(exc, secrets)}") from None
            raise SourceUnavailable(f"PostgreSQL connection lost: {describe(exc, secrets)}") from None
        except psycopg.Error as exc:
            raise ConnectorError(describe(exc, secrets)) from None

    def _fetchall(self, query, params=None) -> list[tuple]:
        conn = self._connect()
        with self._errors(), conn.cursor() as cur:
            self._count(query if isinstance(query, str) else query.as_string(conn))
            cur.execute(query, params)
            return cur.fetchall()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- interface -------------------------------------------------------------------------------------------
    def test_connection(self) -> ConnectionInfo:
        ((version, user, database, read_only, timeout_ms),) = self._fetchall(
            "SELECT current_setting('server_version'), current_user, current_database(),"
            " current_setting('transaction_read_only'),"
            " (SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout')")
        return ConnectionInfo(engine=self.engine, server_version=version, current_user=user, database=database,
                              read_only=read_only == "on", statement_timeout_s=(timeout_ms / 1000) or None)

    def iter_schema(self, *, include: Filters | None = None, batch_size: int | None = None
                    ) -> Iterator[list[SchemaObject]]:
        return batched(self._objects(include or NO_FILTERS), batch_size or self.batch_size)

    def _objects(self, filters: Filters) -> Iterator[SchemaObject]:
        ((database, db_comment),) = self._fetchall(DATABASE_SQL)
        yield SchemaObject(kind="database", path=(database,), description=db_comment or "")

        schemas: dict[int, str] = {}
        for oid, name, comment, owner in self._fetchall(SCHEMAS_SQL):
            if filters.schema_ok(name):
                schemas[oid] = name
                yield SchemaObject(kind="schema", path=(database, name), description=comment or "",
                                   properties={"owner": owner})
        if not schemas:
            return
        schema_oids = list(schemas)

        relations = []
        for oid, nsp, name, relkind, reltuples, comment, viewdef, is_partition, owner in self._fetchall(
                RELATIONS_SQL, {"schemas": schema_oids}):
            if filters.table_ok(schemas[nsp], name):
                relations.append((oid, schemas[nsp], name, relkind, reltuples, comment, viewdef, is_partition,
                                  owner))

        primary: dict[int, list[str]] = {}
        unique: dict[int, list[list[str]]] = {}
        foreign: dict[int, list[dict]] = {}
        for relid, contype, conname, cols, ref_schema, ref_table, ref_cols in self._fetchall(
                CONSTRAINTS_SQL, {"schemas": schema_oids}):
            if contype == "p":
                primary[relid] = list(cols)
            elif contype == "u":
                unique.setdefault(relid, []).append(list(cols))
            else:
                foreign.setdefault(relid, []).append({
                    "name": conname, "columns": list(cols),
                    "referred_path": [database, ref_schema, ref_table], "referred_columns": list(ref_cols)})

        paths: dict[int, tuple[str, str, str]] = {}
        for oid, schema, name, relkind, reltuples, comment, viewdef, is_partition, owner in relations:
            kind, extra = RELKINDS[relkind]
            estimate = int(reltuples) if reltuples is not None and reltuples >= 0 and relkind != "v" else None
            properties: dict = {"owner": owner, **extra}
            if kind == "table":
                properties["primary_key"] = primary.get(oid, [])
                properties["foreign_keys"] = foreign.get(oid, [])
                if oid in unique:
                    properties["unique"] = unique[oid]
                if is_partition:
                    properties["partition"] = True
            else:
                properties["view_definition"] = viewdef or ""
            paths[oid] = (database, schema, name)
            self._table_hints[(schema, name)] = (relkind, estimate)
            yield SchemaObject(kind=kind, path=(database, schema, name), description=comment or "",
                               row_estimate=estimate, properties=properties)
        del relations, foreign, unique
        yield from self._routines(database, schemas, filters)
        pk_columns = {oid: set(cols) for oid, cols in primary.items()}
        del primary

        restrict = list(paths) if filters.filters_tables else None
        column_ok = filters.column_ok if filters.filters_columns else None
        yield from self._columns(schema_oids, restrict, paths, pk_columns, column_ok)

    def _routines(self, database: str, schemas: dict[int, str], filters: Filters) -> Iterator[SchemaObject]:
        """Functions, procedures and triggers: one statement each kind, whatever their number."""
        for nsp, name, prokind, language, arguments, returns, definition, comment, owner in self._fetchall(
                ROUTINES_SQL, {"schemas": list(schemas)}):
            properties = {"kind": PROKINDS[prokind], "language": language, "arguments": arguments,
                          "definition": definition, "owner": owner}
            if returns is not None:
                properties["returns"] = returns
            yield SchemaObject(kind="routine", path=(database, schemas[nsp], routine_name(name, arguments)),
                               description=comment or "", properties=properties)
        for nsp, table, name, tgtype, definition, function_schema, function, arguments, comment in self._fetchall(
                TRIGGERS_SQL, {"schemas": list(schemas)}):
            if not filters.table_ok(schemas[nsp], table):
                continue
            timing = ("INSTEAD OF" if tgtype & TRIGGER_INSTEAD else "BEFORE" if tgtype & TRIGGER_BEFORE
                      else "AFTER")
            yield SchemaObject(kind="routine", path=(database, schemas[nsp], trigger_name(name, table)),
                               description=comment or "", properties={
                                   "kind": "trigger", "table": table, "timing": timing,
                                   "events": [event for bit, event in TRIGGER_EVENTS if tgtype & bit],
                                   "for_each": "row" if tgtype & TRIGGER_ROW else "statement",
                                   "function": qualified_name((database, function_schema,
                                                               routine_name(function, arguments))),
                                   "definition": definition})

    def _columns(self, schema_oids, restrict, paths, pk_columns, column_ok) -> Iterator[SchemaObject]:
        conn = self._connect()
        with self._errors(), conn.transaction(), conn.cursor(name="racine_columns") as cur:
            self._count(COLUMNS_SQL)
            cur.itersize = FETCH_ROWS
            cur.execute(COLUMNS_SQL, {"schemas": schema_oids, "relations": restrict})
            while rows := cur.fetchmany(FETCH_ROWS):
                for relid, attnum, name, data_type, nullable, default, comment, identity, generated in rows:
                    parent = paths.get(relid)
                    if parent is None or (column_ok is not None and not column_ok(name)):
                        continue
                    properties: dict = {"primary_key": name in pk_columns.get(relid, ())}
                    if identity:
                        properties["identity"] = "always" if identity == "a" else "by default"
                        properties["auto_increment"] = True
                    elif default and default.startswith("nextval("):
                        properties["auto_increment"] = True
                    if generated:
                        properties["generated"] = "stored"
                    yield SchemaObject(kind="column", path=(*parent, name), data_type=data_type,
                                       is_nullable=nullable, default=default, description=comment or "",
                                       ordinal=attnum, properties=properties)

    def sample_table(self, table_path: Sequence[str], columns: Sequence[str], limit: int, *,
                     not_null: str | None = None, share: float = 1.0) -> dict[str, list]:
        columns = list(columns)
        if not columns or limit <= 0:
            return {c: [] for c in columns}
        schema, table = split_table_path(table_path, self._database_name())
        hint = self._table_hints.get((schema, table))
        if hint is None:
            found = self._fetchall(HINT_SQL, (schema, table))
            if not found:
                raise ConnectorError(f"no table {schema}.{table}")
            relkind, reltuples = found[0]
            hint = (relkind, reltuples if reltuples is not None and reltuples >= 0 else None)
            self._table_hints[(schema, table)] = hint  # a sparse column's own sample needs it again
        relkind, estimate = hint
        target = sql.Identifier(schema, table)
        if relkind == "p" and estimate is None:
            estimate = self._fetchall(PARTITIONED_ROWS_SQL, (target.as_string(self._connect()),))[0][0]
            self._table_hints[(schema, table)] = (relkind, estimate)
        select = sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in columns)
        where = (sql.SQL(" WHERE s.{} IS NOT NULL").format(sql.Identifier(not_null)) if not_null is not None
                 else sql.SQL(""))
        limit = int(limit)
        stored = relkind in ("r", "p", "m")
        # A stable order: the row's address (no detoasting) for stored relations, its text for a view.
        order = sql.SQL(" ORDER BY md5(s.tableoid::text || s.ctid::text)" if stored else " ORDER BY md5(s::text)")
        sample = sql.SQL("")
        if relkind == "f":
            # a foreign table: TABLESAMPLE depends on the wrapper and sorting would pull everything: first rows
            order = sql.SQL("")
        elif stored and estimate is not None and estimate * share > SMALL_TABLE_ROWS:
            percent = min(100.0, 100.0 * OVERSAMPLE * limit / (estimate * share),
                          100.0 * MAX_SAMPLED_ROWS / estimate)
            method = "SYSTEM" if estimate > SYSTEM_FROM_ROWS or not_null is not None else "BERNOULLI"
            sample = sql.SQL(" TABLESAMPLE {} ({}) REPEATABLE ({})").format(
                sql.SQL(method), sql.Literal(round(percent, 6)), sql.Literal(SAMPLE_SEED))
        query = sql.SQL("SELECT {} FROM {} AS s{}{}{} LIMIT {}").format(
            select, target, sample, where, order, sql.Literal(limit))
        rows = self._fetchall(query)
        result: dict[str, list] = {c: [] for c in columns}
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                result[column].append(bytes(value) if isinstance(value, memoryview) else value)
        return result

    def _database_name(self) -> str:
        return self.settings.database or self._connect().info.dbname
