"""Any other SQLAlchemy dialect, through the inspector's multi-table reflection.

Per schema: table names, view names, materialized view names, then ``get_multi_columns`` (tables and views),
``get_multi_pk_constraint``, ``get_multi_foreign_keys`` and ``get_multi_table_comment`` — a handful of statements
per schema whatever the number of tables — plus one ``get_view_definition`` per view (the inspector has no bulk
form). Unlike the native connectors, the dialect returns a whole schema's columns at once, so memory grows with
the largest schema.

Read-only and time-boxed where the dialect is known: SQLite opens the file with ``mode=ro`` and a progress-handler
deadline; PostgreSQL gets the same startup options as the native connector; MySQL/MariaDB the same session
statements. Other dialects rely on the account's privileges (use a read-only account) and report
``read_only=False`` / ``statement_timeout_s=None`` from ``test_connection``.

PostgreSQL and MySQL/MariaDB URLs get the native connectors' protections: only drivers that can refuse the
cleartext password exchange (``URL_DRIVERS``), with it refused, and Racine's own database recognised by identity
right after connecting.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.engine.reflection import ObjectKind
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError, SQLAlchemyError

from .base import (
    SAMPLE_SEED,
    ConnectionInfo,
    Connector,
    DatabaseIdentity,
    SchemaObject,
    batched,
    logger,
    split_table_path,
)
from .errors import (
    AuthenticationFailed,
    ConnectorConfigError,
    ConnectorError,
    QueryTimeout,
    SourceUnavailable,
    TargetNotAllowed,
    describe,
)
from .filters import NO_FILTERS, Filters
from .mysql import CLEARTEXT_REFUSED, MARIADB_IDENTITY_SQL, MYSQL_IDENTITY_SQL
from .postgresql import IDENTITY_SQL, bounded_connect, fixed_params, identity_or_refuse
from .sqlite import SAMPLE_KEY_FUNCTION, open_read_only

SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys", "temp"}

# A reproducible pseudo-random order per dialect (the same data, the same sample: see the native connectors);
# other dialects read the first rows, which is reproducible too but not spread over the table.
SAMPLE_ORDER = {"postgresql": "md5(CAST(s AS text))", "mysql": f"rand({SAMPLE_SEED})",
                "mariadb": f"rand({SAMPLE_SEED})"}


class SQLAlchemyConnector(Connector):
    engine = "sqlalchemy"

    def __init__(self, settings, **kw):
        super().__init__(settings, **kw)
        try:
            url = make_url(settings.options["url"])
        except ArgumentError:
            raise ConnectorConfigError("options['url'] is not a valid SQLAlchemy URL") from None
        if settings.password:
            url = url.set(password=settings.password)
        if settings.username and not url.username:
            url = url.set(username=settings.username)
        self.url = url
        self.dialect_name = url.get_backend_name()
        if self.dialect_name == "sqlite":
            self.database_name = Path(url.database or "memory").stem
        else:
            self.database_name = url.database or self.dialect_name
        self._engine: sa.Engine | None = None
        self._conn: sa.Connection | None = None
        self._deadline = float("inf")
        self.read_only_enforced = self.dialect_name in ("sqlite", "postgresql", "mysql", "mariadb")

    # -- connection ------------------------------------------------------------------------------------------
    def _make_engine(self) -> sa.Engine:
        s, url = self.settings, self.url
        kwargs: dict = {"poolclass": sa.pool.NullPool}
        timeout_ms = max(1, int(s.statement_timeout_s * 1000))
        addresses: list[str] = []
        if self.dialect_name == "sqlite":
            def creator():
                conn = open_read_only(url.database, s.connect_timeout_s)
                conn.set_progress_handler(lambda: 1 if time.monotonic() > self._deadline else 0, 10_000)
                return conn
            kwargs["creator"] = creator
        elif url.host:
            # Connect to the addresses that were checked: the driver resolving the name again could get another
            # answer (DNS rebinding) and reach a host the policy refused.
            addresses = self._check_host(url.host, url.port)
            if self.dialect_name in ("mysql", "mariadb"):
                url = url.set(host=addresses[0])
        if self.dialect_name == "postgresql":
            kwargs["connect_args"] = {**fixed_params(s, url.query.get("connect_timeout")),
                                      "password": url.password or "",  # the source's, or one in a URL given here
                                      "host": ",".join([url.host] * len(addresses)), "hostaddr": ",".join(addresses)}
        elif self.dialect_name in ("mysql", "mariadb"):
            # As the native connector: the greeting and login under the connect timeout, statements under the
            # statement timeout's backstop (set once connected).
            connect_timeout = max(1, int(s.connect_timeout_s))
            kwargs["connect_args"] = {"auth_plugin_map": CLEARTEXT_REFUSED, "local_infile": False,
                                      "connect_timeout": connect_timeout, "read_timeout": connect_timeout}
        engine = sa.create_engine(url, **kwargs)
        if self.dialect_name == "postgresql":
            @sa.event.listens_for(engine, "do_connect")
            def _bounded(dialect, record, cargs, cparams):
                return bounded_connect(s, *cargs, **cparams)  # the native connector's client-side backstop
        if self.dialect_name in ("mysql", "mariadb"):
            @sa.event.listens_for(engine, "connect")
            def _session(dbapi_conn, record):
                dbapi_conn._read_timeout = int(s.statement_timeout_s) + 15
                cur = dbapi_conn.cursor()
                cur.execute("SELECT VERSION()")
                mariadb = "mariadb" in str(cur.fetchone()[0]).lower()
                cur.execute("SET SESSION TRANSACTION READ ONLY")
                if mariadb:
                    cur.execute(f"SET SESSION max_statement_time = {float(s.statement_timeout_s)}")
                else:
                    cur.execute(f"SET SESSION max_execution_time = {timeout_ms}")
                cur.close()

        @sa.event.listens_for(engine, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):
            self._count(statement)
        return engine

    def _connect(self) -> sa.Connection:
        if self._conn is not None:
            return self._conn
        logger.debug("connecting to %r", self.settings)
        try:
            self._engine = self._make_engine()
            self._conn = self._engine.connect()
            self._check_identity(self._conn)
        except TargetNotAllowed:
            self.close()
            raise
        except (ArgumentError, NoSuchModuleError) as exc:
            raise ConnectorConfigError(describe(exc, self.settings.secrets)) from None
        except SQLAlchemyError as exc:
            text = describe(exc, self.settings.secrets)
            if "auth" in text.lower() or "access denied" in text.lower():
                raise AuthenticationFailed(text) from None
            raise SourceUnavailable(text) from None
        return self._conn

    def _check_identity(self, conn: sa.Connection) -> None:
        """Racine's own database is refused by identity, as by the native connectors."""
        identity = None
        if self.dialect_name == "postgresql" and self._protects("postgresql"):
            def read():
                try:
                    return tuple(conn.exec_driver_sql(IDENTITY_SQL).one())
                finally:
                    conn.rollback()  # a failed read must not leave the session in an aborted transaction

            def sqlstate(exc):
                orig = getattr(exc, "orig", None)
                return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
            identity = identity_or_refuse(read, sqlstate, SQLAlchemyError)
        elif self.dialect_name in ("mysql", "mariadb") and self._protects("mysql"):
            query = MARIADB_IDENTITY_SQL if conn.dialect.is_mariadb else MYSQL_IDENTITY_SQL
            identity = DatabaseIdentity(family="mysql", server=str(conn.exec_driver_sql(query).scalar()),
                                        database=self.url.database or "")
        if identity is not None:
            self._refuse_protected(identity)

    @contextmanager
    def _errors(self):
        self._deadline = time.monotonic() + self.settings.statement_timeout_s
        try:
            yield
        except (OperationalError, DBAPIError) as exc:
            text = describe(exc, self.settings.secrets)
            lowered = text.lower()
            if "interrupted" in lowered or "timeout" in lowered or "cancel" in lowered:
                raise QueryTimeout(text) from None
            if isinstance(exc, OperationalError) and exc.connection_invalidated:
                raise SourceUnavailable(text) from None
            raise ConnectorError(text) from None
        except SQLAlchemyError as exc:
            raise ConnectorError(describe(exc, self.settings.secrets)) from None
        finally:
            self._deadline = float("inf")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- interface -------------------------------------------------------------------------------------------
    def test_connection(self) -> ConnectionInfo:
        conn = self._connect()
        with self._errors():
            conn.exec_driver_sql("SELECT 1").scalar()
            version = ".".join(str(p) for p in (conn.dialect.server_version_info or ()))
            user = self.url.username or ""
            read_only = self.read_only_enforced
            if self.dialect_name == "postgresql":
                user, setting = conn.exec_driver_sql(
                    "SELECT current_user, current_setting('transaction_read_only')").one()
                read_only = setting == "on"
            elif self.dialect_name == "sqlite":
                read_only = bool(conn.exec_driver_sql("PRAGMA query_only").scalar())
        return ConnectionInfo(engine=f"sqlalchemy+{self.dialect_name}", server_version=version, current_user=user,
                              database=self.database_name, read_only=read_only,
                              statement_timeout_s=self.settings.statement_timeout_s if self.read_only_enforced
                              else None)

    def iter_schema(self, *, include: Filters | None = None, batch_size: int | None = None
                    ) -> Iterator[list[SchemaObject]]:
        return batched(self._objects(include or NO_FILTERS), batch_size or self.batch_size)

    @staticmethod
    def _optional(call, default):
        try:
            return call()
        except NotImplementedError:
            return default

    def _objects(self, filters: Filters) -> Iterator[SchemaObject]:
        db = self.database_name
        conn = self._connect()
        yield SchemaObject(kind="database", path=(db,))
        with self._errors():
            inspector = sa.inspect(conn)
            schemas = [s for s in inspector.get_schema_names()
                       if s not in SYSTEM_SCHEMAS and not s.startswith("pg_") and filters.schema_ok(s)]
        for schema in schemas:
            yield SchemaObject(kind="schema", path=(db, schema))
        for schema in schemas:
            with self._errors():
                yield from self._schema_objects(inspector, db, schema, filters)

    def _schema_objects(self, inspector, db: str, schema: str, filters: Filters) -> Iterator[SchemaObject]:
        def get(mapping, name, default):
            return mapping.get((schema, name), mapping.get((None, name), default))

        tables = [t for t in inspector.get_table_names(schema=schema) if filters.table_ok(schema, t)]
        views = [v for v in inspector.get_view_names(schema=schema) if filters.table_ok(schema, v)]
        matviews = [v for v in self._optional(lambda: inspector.get_materialized_view_names(schema=schema), [])
                    if filters.table_ok(schema, v)]
        if not (tables or views or matviews):
            return
        columns = inspector.get_multi_columns(schema=schema, kind=ObjectKind.ANY)
        pks = inspector.get_multi_pk_constraint(schema=schema)
        fks = inspector.get_multi_foreign_keys(schema=schema)
        comments = self._optional(lambda: inspector.get_multi_table_comment(schema=schema, kind=ObjectKind.ANY), {})

        pk_columns: dict[str, set[str]] = {}
        table_set = set(tables)
        relations = sorted(table_set | set(views) | set(matviews))
        for name in relations:
            if name not in table_set:
                definition = self._optional(partial(inspector.get_view_definition, name, schema=schema), None)
                self._table_hints[(schema, name)] = ("view", None)
                yield SchemaObject(kind="view", path=(db, schema, name),
                                   description=(get(comments, name, {}) or {}).get("text") or "",
                                   properties={"materialized": name in matviews,
                                               "view_definition": definition or ""})
                continue
            table = name
            pk = list(get(pks, table, {}).get("constrained_columns") or [])
            pk_columns[table] = set(pk)
            foreign = [{"columns": list(fk["constrained_columns"]),
                        "referred_path": [db, fk.get("referred_schema") or schema, fk["referred_table"]],
                        "referred_columns": list(fk["referred_columns"])}
                       | ({"name": fk["name"]} if fk.get("name") else {})
                       for fk in get(fks, table, [])]
            self._table_hints[(schema, table)] = ("table", None)
            yield SchemaObject(kind="table", path=(db, schema, table),
                               description=(get(comments, table, {}) or {}).get("text") or "",
                               properties={"primary_key": pk, "foreign_keys": foreign})
        dialect = inspector.dialect
        column_ok = filters.column_ok if filters.filters_columns else None
        for table in relations:
            for ordinal, col in enumerate(get(columns, table, []), start=1):
                if column_ok is not None and not column_ok(col["name"]):
                    continue
                try:
                    data_type = col["type"].compile(dialect=dialect)
                except Exception:  # a type the dialect cannot render (NullType for an undeclared SQLite type)
                    data_type = "" if isinstance(col["type"], sa.types.NullType) else str(col["type"])
                properties: dict = {"primary_key": col["name"] in pk_columns.get(table, ())}
                if col.get("autoincrement") is True:
                    properties["auto_increment"] = True
                default = col.get("default")
                yield SchemaObject(kind="column", path=(db, schema, table, col["name"]), data_type=data_type,
                                   is_nullable=col.get("nullable"), default=None if default is None else str(default),
                                   description=col.get("comment") or "", ordinal=ordinal, properties=properties)

    def sample_table(self, table_path: Sequence[str], columns: Sequence[str], limit: int, *,
                     not_null: str | None = None, share: float = 1.0) -> dict[str, list]:
        columns = list(columns)
        if not columns or limit <= 0:
            return {c: [] for c in columns}
        schema, table = split_table_path(table_path, self.database_name)
        conn = self._connect()
        # qualified through an alias: SQLite would read an unknown bare "name" as the string 'name'
        target = sa.table(table, *(sa.column(c) for c in columns), schema=schema).alias("s")
        query = sa.select(*(target.c[c] for c in columns)).limit(int(limit))
        if not_null is not None:
            query = query.where(target.c[not_null].is_not(None))
        if self.dialect_name == "sqlite":
            query = query.order_by(getattr(sa.func, SAMPLE_KEY_FUNCTION)(*(target.c[c] for c in columns)))
        elif self.dialect_name in SAMPLE_ORDER:
            query = query.order_by(sa.text(SAMPLE_ORDER[self.dialect_name]))
        with self._errors():
            rows = conn.execute(query).fetchall()
        result: dict[str, list] = {c: [] for c in columns}
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                result[column].append(bytes(value) if isinstance(value, (bytearray, memoryview)) else value)
        return result
