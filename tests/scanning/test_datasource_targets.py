"""Racine's own database can never be registered as a data source: its tables hold every user's password hash
and every source's encrypted secret, and a scan samples values."""
import os
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.actors import SYSTEM
from sources import services
from tests.support.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_own_postgresql_database_is_refused_under_any_host_spelling():
    if connection.vendor != "postgresql":
        pytest.skip("the application database is not PostgreSQL here (CI runs this on PostgreSQL)")
    own = connection.settings_dict
    workspace = WorkspaceFactory()
    for host in ("127.0.0.1", "localhost", own["HOST"] or "localhost"):
        with pytest.raises(ValidationError, match="Racine's own database"):
            services.datasource_create(workspace=workspace, acting_user=SYSTEM, name=f"own via {host}",
                                       engine="postgresql", host=host, port=int(own["PORT"] or 5432),
                                       database=own["NAME"], username="postgres")
    with pytest.raises(ValidationError, match="Racine's own database"):
        services.datasource_create(workspace=workspace, acting_user=SYSTEM, name="own via sqlalchemy",
                                   engine="sqlalchemy",
                                   options={"url": f"postgresql+psycopg://postgres@127.0.0.1:{own['PORT'] or 5432}"
                                                   f"/{own['NAME']}"})


def test_another_database_on_the_same_server_is_allowed():
    if connection.vendor != "postgresql":
        pytest.skip("the application database is not PostgreSQL here (CI runs this on PostgreSQL)")
    source = services.datasource_create(workspace=WorkspaceFactory(), acting_user=SYSTEM, name="neighbour",
                                        engine="postgresql", host="127.0.0.1",
                                        port=int(connection.settings_dict["PORT"] or 5432), database="postgres",
                                        username="postgres")
    assert source.pk


def test_own_sqlite_database_is_refused_even_inside_an_allowed_folder(settings):
    if connection.vendor != "sqlite":
        pytest.skip("the application database is not SQLite here")
    own = Path(str(settings.DATABASES["default"]["NAME"]))
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(own.parent)]
    with pytest.raises(ValidationError, match="RACINE_SQLITE_ALLOWED_DIRS"):
        services.datasource_create(workspace=WorkspaceFactory(), acting_user=SYSTEM, name="own", engine="sqlite",
                                   database=str(own))


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_a_hard_link_to_the_own_sqlite_database_is_refused(settings, tmp_path):
    own = tmp_path / "racine.sqlite3"
    own.write_bytes(b"SQLite format 3\x00")
    (tmp_path / "sources").mkdir()
    os.link(own, tmp_path / "sources" / "innocent.db")
    settings.DATABASES = {**settings.DATABASES, "default": {**settings.DATABASES["default"], "NAME": str(own)}}
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path / "sources")]
    with pytest.raises(ValidationError, match="RACINE_SQLITE_ALLOWED_DIRS"):
        services.datasource_create(workspace=WorkspaceFactory(), acting_user=SYSTEM, name="linked", engine="sqlite",
                                   database=str(tmp_path / "sources" / "innocent.db"))


@pytest.mark.parametrize("engine, option", [("postgresql", "sslrootcert"), ("mysql", "ssl_ca")])
def test_a_ca_file_outside_the_allowed_folders_is_refused(settings, tmp_path, engine, option):
    settings.RACINE_TLS_CA_DIRS = [str(tmp_path / "certs")]
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "corp-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    workspace = WorkspaceFactory()
    for path in ("/etc/passwd", str(tmp_path / "certs" / ".." / "elsewhere.pem")):
        with pytest.raises(ValidationError, match="RACINE_TLS_CA_DIRS"):
            services.datasource_create(workspace=workspace, acting_user=SYSTEM, name=f"tls {path}", engine=engine,
                                       host="db.example.com", database="shop", username="scan",
                                       options={option: path})
    allowed = services.datasource_create(workspace=workspace, acting_user=SYSTEM, name="tls ok", engine=engine,
                                         host="db.example.com", database="shop", username="scan",
                                         options={option: str(tmp_path / "certs" / "corp-ca.pem")})
    assert allowed.options[option].endswith("corp-ca.pem")


def test_the_system_trust_store_is_always_allowed_for_postgresql(settings):
    settings.RACINE_TLS_CA_DIRS = []
    source = services.datasource_create(workspace=WorkspaceFactory(), acting_user=SYSTEM, name="system ca",
                                        engine="postgresql", host="db.example.com", database="shop",
                                        username="scan", options={"sslmode": "verify-full", "sslrootcert": "system"})
    assert source.options["sslrootcert"] == "system"


def test_system_is_a_file_name_for_mysql_not_a_trust_store(settings):
    settings.RACINE_TLS_CA_DIRS = []
    with pytest.raises(ValidationError, match="RACINE_TLS_CA_DIRS"):
        services.datasource_create(workspace=WorkspaceFactory(), acting_user=SYSTEM, name="mysql system",
                                   engine="mysql", host="db.example.com", database="shop", username="scan",
                                   options={"ssl_ca": "system"})
