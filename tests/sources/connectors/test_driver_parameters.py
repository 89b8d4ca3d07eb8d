"""What reaches the drivers beyond a source's own settings: nothing of the worker's environment, no timeout longer
than Racine's (and a client-side one behind the server's), no character set that changes how parameters are
escaped, and only the addresses the host policy checked — natively and through a SQLAlchemy URL."""
from __future__ import annotations

import contextlib
import json
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import sources.connectors.postgresql as postgresql_connector
from sources.connectors import (
    ConnectionSettings,
    ConnectorConfigError,
    ConnectorError,
    QueryTimeout,
    SourceUnavailable,
    connector_for,
)
from tests.support import target_dbs
from tests.support.dead_services import black_hole

FAKE_SERVER = Path(__file__).parents[2] / "integration" / "fake_auth_server.py"
CANARY = "Worker-Env-Canary-41f"


@pytest.fixture
def md5_server(tmp_path):
    """(port, record file) of a fake PostgreSQL server asking for an MD5 password; killed (by pid) at the end."""
    record = tmp_path / "received.jsonl"
    process = subprocess.Popen([sys.executable, str(FAKE_SERVER), "postgresql-md5", str(record)],
                               stdout=subprocess.PIPE, text=True)
    try:
        yield int(process.stdout.readline()), record
    finally:
        process.kill()
        process.wait(timeout=10)


def _postgresql_source(engine: str, port: int, *, statement_timeout_s: float = 30,
                       **options) -> ConnectionSettings:
    timeouts = {"connect_timeout_s": 2, "statement_timeout_s": statement_timeout_s}
    if engine == "postgresql":
        return ConnectionSettings(engine="postgresql", host="127.0.0.1", port=port, database="shop",
                                  username="scanner", options=options, **timeouts)
    query = "&".join(f"{key}={value}" for key, value in options.items())
    return ConnectionSettings(engine="sqlalchemy", options={
        "url": f"postgresql+psycopg://scanner@127.0.0.1:{port}/shop" + (f"?{query}" if query else "")}, **timeouts)


def _recorded(record: Path) -> list[str]:
    """The fake server's lines; it writes one once the client has gone, which may be a moment after the test.
    The file exists (opened for appending) before its line is written: wait for a whole line, not for the file."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = record.read_text() if record.exists() else ""
        if text.endswith("\n"):
            return text.splitlines()
        time.sleep(0.05)
    return []


@pytest.mark.parametrize("engine", ["postgresql", "sqlalchemy"])
@pytest.mark.parametrize("leak", ["PGPASSWORD", "PGPASSFILE"])
def test_a_source_without_a_password_gets_none_from_the_workers_environment(engine, leak, md5_server, tmp_path,
                                                                             monkeypatch):
    # The worker's libpq environment may hold the password of Racine's own database; a steward's source with no
    # password of its own, pointed at a server of theirs (or at another database of Racine's server), got it.
    if leak == "PGPASSWORD":
        monkeypatch.setenv("PGPASSWORD", CANARY)
    else:
        passfile = tmp_path / "pgpass"
        passfile.write_text(f"*:*:*:*:{CANARY}\n")
        passfile.chmod(0o600)
        monkeypatch.setenv("PGPASSFILE", str(passfile))
    port, record = md5_server
    with connector_for(_postgresql_source(engine, port)) as connector, pytest.raises(ConnectorError):
        connector.test_connection()
    answers = [json.loads(line)["answer"] for line in _recorded(record)]
    assert answers and all(answer == "" for answer in answers)  # asked, and sent no password hash back


def _test_connection_within(settings: ConnectionSettings, *, seconds: float) -> list[BaseException] | None:
    """The connector errors of one connection test run in a thread, or None if it still runs after ``seconds``."""
    outcome: list[BaseException] = []

    def connect():
        with connector_for(settings) as connector:
            try:
                connector.test_connection()
            except ConnectorError as exc:
                outcome.append(exc)

    attempt = threading.Thread(target=connect, daemon=True)
    attempt.start()
    attempt.join(timeout=seconds)
    return None if attempt.is_alive() else outcome


@pytest.mark.parametrize("engine", ["postgresql", "sqlalchemy"])
@pytest.mark.parametrize("requested", ["0", "30"])
def test_a_connect_timeout_option_cannot_disable_or_lengthen_racines_bound(engine, requested):
    with black_hole() as port:
        outcome = _test_connection_within(_postgresql_source(engine, port, connect_timeout=requested),
                                          seconds=10)  # the bound is 2 s
    assert outcome is not None, f"connect_timeout={requested} held the connection past Racine's bound"
    assert len(outcome) == 1 and isinstance(outcome[0], SourceUnavailable)


def _pg_message(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("!I", len(payload) + 4) + payload


@contextlib.contextmanager
def silent_after_login():
    """A loopback port whose PostgreSQL server lets every client in (trust) and then never answers a statement."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve():
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                held.append(conn)
                while True:
                    (length,) = struct.unpack("!I", conn.recv(4, socket.MSG_WAITALL))
                    body = conn.recv(length - 4, socket.MSG_WAITALL)
                    if struct.unpack("!I", body[:4])[0] not in (80877103, 80877104):  # TLS / GSS requests
                        break
                    conn.sendall(b"N")
                conn.sendall(_pg_message(b"R", struct.pack("!I", 0)) + _pg_message(b"S", b"server_version\x0016.4\x00")
                             + _pg_message(b"K", struct.pack("!II", 1, 2)) + _pg_message(b"Z", b"I"))

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize("engine", ["postgresql", "sqlalchemy"])
def test_a_server_that_never_answers_a_statement_is_given_up_client_side(engine, monkeypatch):
    # The statement timeout is enforced by the server; a server run by whoever typed the host ignores it, and the
    # connection test (a web worker) or the scan waited for ever.
    monkeypatch.setattr(postgresql_connector, "ANSWER_BACKSTOP_S", 1)
    with silent_after_login() as port:
        outcome = _test_connection_within(_postgresql_source(engine, port, statement_timeout_s=1), seconds=15)
    assert outcome is not None, "the connection test still waits for an answer"
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectorError), outcome
    if engine == "postgresql":
        assert isinstance(outcome[0], QueryTimeout) and "did not answer" in str(outcome[0])


@pytest.mark.parametrize("charset", ["gbk", "big5", "sjis", "cp932", "gb18030", "ucs2", "utf16", "nonsense"])
def test_mysql_charset_is_a_known_character_set_that_escapes_safely(charset):
    # Unknown names made PyMySQL fail with an AttributeError (a 500); in the multibyte sets refused here a
    # character may end in a backslash byte, which defeats PyMySQL's byte-wise escaping of parameters.
    with pytest.raises(ConnectorConfigError, match="charset"):
        ConnectionSettings(engine="mysql", host="db.example", options={"charset": charset})
    with pytest.raises(ConnectorConfigError, match="charset"):
        ConnectionSettings(engine="sqlalchemy", options={"url": f"mysql+pymysql://u@db.example/x?charset={charset}"})


def test_mysql_charset_names_are_case_insensitive(mysql_server):
    url, _ = mysql_server
    settings = ConnectionSettings(engine="mysql", host=url.hostname, port=url.port or 3306,
                                  username=url.username or "root", password=url.password or "",
                                  options={"charset": "UTF8MB4"})
    with connector_for(settings) as connector:
        assert connector.test_connection().read_only


@pytest.fixture
def rebinding_name(monkeypatch):
    """A name whose first DNS answer is 127.0.0.1 and whose later look-ups fail, as a rebinding attacker's name
    would answer with another address after the policy's check."""
    real = socket.getaddrinfo
    answered: set = set()  # ports asked about: one first answer per source

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "rebind.invalid":
            return real(host, port, *args, **kwargs)
        if str(port) in answered:  # psycopg asks with the port as text
            raise socket.gaierror(socket.EAI_NONAME, "second answer differs")
        answered.add(str(port))
        return real("127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return "rebind.invalid"


@pytest.fixture(params=["postgresql", "mysql"])
def server_url(request):
    """A SQLAlchemy URL of the test PostgreSQL or MariaDB server, with ``{host}`` for the host."""
    if request.param == "postgresql":
        with target_dbs.pg_server() as (url, _):
            yield f"postgresql+psycopg://{url.username or 'postgres'}@{{host}}:{url.port or 5432}/postgres"
    else:
        with target_dbs.mysql_server() as (url, _):
            yield f"mysql+pymysql://{url.username or 'root'}@{{host}}:{url.port or 3306}/"


def test_a_sqlalchemy_url_connects_to_the_address_the_policy_checked(rebinding_name, server_url):
    settings = ConnectionSettings(engine="sqlalchemy", options={"url": server_url.format(host=rebinding_name)})
    with connector_for(settings) as connector:
        assert connector.test_connection().read_only


@pytest.fixture
def sha2_full_auth_server(tmp_path):
    """(port, record file, private key) of a fake MySQL server that answers caching_sha2_password's fast path with
    "perform full authentication" and hands out its own RSA public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "public.pem"
    pem.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    record = tmp_path / "received.jsonl"
    process = subprocess.Popen([sys.executable, str(FAKE_SERVER), "mysql-sha2-full", str(record), str(pem)],
                               stdout=subprocess.PIPE, text=True)
    try:
        yield int(process.stdout.readline()), record, key
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("engine", ["mysql", "sqlalchemy"])
def test_mysql_full_authentication_sends_no_password_to_an_unverified_server(engine, sha2_full_auth_server):
    # caching_sha2_password's full authentication encrypts the password with a public key the server sends: its
    # operator decrypts it. Like the cleartext plugins, refused unless TLS verified the server.
    port, record, key = sha2_full_auth_server
    if engine == "mysql":
        settings = ConnectionSettings(engine="mysql", host="127.0.0.1", port=port, username="scanner",
                                      password=CANARY, connect_timeout_s=5)
    else:
        settings = ConnectionSettings(engine="sqlalchemy", password=CANARY, connect_timeout_s=5,
                                      options={"url": f"mysql+pymysql://scanner@127.0.0.1:{port}/shop"})
    with connector_for(settings) as connector, pytest.raises(ConnectorError, match="full authentication"):
        connector.test_connection()
    answers = [bytes.fromhex(json.loads(line)["answer"]) for line in _recorded(record)]
    assert answers == [b""]  # not even the request for the server's key
