"""A protected database (Racine's own) is recognised by the identity its server reports, right after connecting and
before any catalog query, on the native connectors and on the SQLAlchemy route; its neighbours are not."""
from __future__ import annotations

import pytest

from sources.connectors import ConnectionSettings, DatabaseIdentity, HostPolicy, TargetNotAllowed, connector_for
from sources.connectors.mysql import server_identity
from sources.connectors.postgresql import IDENTITY_SQL

from .conftest import unique

pytestmark = pytest.mark.integration


def _refused(settings: ConnectionSettings, protected: DatabaseIdentity) -> bool:
    with connector_for(settings, policy=HostPolicy(protected=(protected,))) as connector:
        try:
            connector.test_connection()
        except TargetNotAllowed as exc:
            assert "Racine's own database" in str(exc)
            assert connector.queries_executed <= (1 if settings.engine == "postgresql" else 4)  # nothing read
            return True
    return False


def test_postgresql_database_is_recognised_by_system_identifier_and_name(pg_database):
    name, conn, url = pg_database
    system_identifier, database = conn.execute(IDENTITY_SQL).fetchone()
    protected = DatabaseIdentity(family="postgresql", server=system_identifier, database=database)
    user = url.username or "postgres"
    native = ConnectionSettings(engine="postgresql", host=url.hostname, port=url.port or 5432, database=name,
                                username=user)
    generic = ConnectionSettings(engine="sqlalchemy", options={
        "url": f"postgresql+psycopg://{user}@{url.hostname}:{url.port or 5432}/{name}"})
    neighbour = ConnectionSettings(engine="postgresql", host=url.hostname, port=url.port or 5432,
                                   database="postgres", username=user)
    assert _refused(native, protected)
    assert _refused(generic, protected)
    assert not _refused(neighbour, protected)  # same server, another database


def test_mysql_server_is_recognised_with_its_schema_or_without_one(mysql_server):
    url, admin = mysql_server
    with admin.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        mariadb = "mariadb" in cursor.fetchone()[0].lower()
        protected = server_identity(cursor, mariadb=mariadb, schema="racine_own")
    user, port = url.username or "root", url.port or 3306

    def native(schema):
        return ConnectionSettings(engine="mysql", host=url.hostname, port=port, database=schema, username=user)

    assert _refused(native("racine_own"), protected)
    assert _refused(native(""), protected)  # no schema: every schema of the server would be read
    assert not _refused(native(unique("racine_t_other")), protected)
    generic = ConnectionSettings(engine="sqlalchemy", options={
        "url": f"mysql+pymysql://{user}@{url.hostname}:{port}"})  # no schema: the whole server
    with pytest.raises(TargetNotAllowed, match="Racine's own database"), \
            connector_for(generic, policy=HostPolicy(protected=(protected,))) as connector:
        connector.test_connection()
