"""A fake database server, run as its own process, that asks every client for its password in clear text (or, as
``postgresql-md5``, for its MD5 hash) and writes down what the client sends back.

    python tests/integration/fake_auth_server.py postgresql|postgresql-md5|mysql|mysql-dialog RECORD_FILE
    python tests/integration/fake_auth_server.py mysql-sha2-full RECORD_FILE PUBLIC_KEY_PEM

It listens on a free loopback port, prints that port on the first line of stdout, and serves until killed. For
each connection it appends to RECORD_FILE one JSON line: ``{"greeting": hex, "answer": hex}`` — what the client
sent before the password request (PostgreSQL's startup packet; MySQL's handshake response, which holds only a
scramble) and everything it sent after it (where a cleartext password would be). Only the standard library: this
file is the attacker's server, not part of Racine.
"""
from __future__ import annotations

import json
import socket
import struct
import sys
from pathlib import Path

SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


def read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client closed")
        data += chunk
    return data


def read_rest(conn: socket.socket) -> bytes:
    """Whatever the client sends until it closes or stays silent for two seconds."""
    conn.settimeout(2)
    data = b""
    try:
        while chunk := conn.recv(65536):
            data += chunk
    except (TimeoutError, OSError):
        pass
    return data


def postgresql(conn: socket.socket, request: bytes = struct.pack("!II", 8, 3)) -> tuple[bytes, bytes]:
    """``request``: the authentication request, by default AuthenticationCleartextPassword."""
    while True:
        (length,) = struct.unpack("!I", read_exactly(conn, 4))
        body = read_exactly(conn, length - 4)
        (code,) = struct.unpack("!I", body[:4])
        if code in (SSL_REQUEST, GSSENC_REQUEST):
            conn.sendall(b"N")  # no TLS, no GSS encryption: go on in the clear
            continue
        greeting = body
        break
    conn.sendall(b"R" + request)
    answer = read_rest(conn)
    if answer:
        message = b"SFATAL\x00C28P01\x00Mpassword authentication failed\x00\x00"
        conn.sendall(b"E" + struct.pack("!I", len(message) + 4) + message)
    return greeting, answer


def mysql_packet(sequence: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([sequence]) + payload


def read_mysql_packet(conn: socket.socket) -> tuple[int, bytes]:
    header = read_exactly(conn, 4)
    length = int.from_bytes(header[:3], "little")
    return header[3], read_exactly(conn, length)


def mysql_handshake(conn: socket.socket, plugin: bytes = b"mysql_native_password") -> tuple[int, bytes]:
    """Send the greeting (v10: PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH | PLUGIN_AUTH_LENENC_CLIENT_DATA, no
    SSL) naming ``plugin``; return the client's answer and its sequence number."""
    capabilities = 0x00000200 | 0x00008000 | 0x00080000 | 0x00200000
    salt = b"abcdefghijklmnopqrst"
    handshake = (b"\x0a" + b"8.0.99-fake\x00" + struct.pack("<I", 1) + salt[:8] + b"\x00"
                 + struct.pack("<H", capabilities & 0xFFFF) + b"\x21" + struct.pack("<H", 2)
                 + struct.pack("<H", capabilities >> 16) + bytes([len(salt) + 1]) + b"\x00" * 10
                 + salt[8:] + b"\x00" + plugin + b"\x00")
    conn.sendall(mysql_packet(0, handshake))
    return read_mysql_packet(conn)


def mysql_sha2_full(conn: socket.socket, public_key: bytes) -> tuple[bytes, bytes]:
    """caching_sha2_password: refuse the fast path's scramble ("perform full authentication"), hand out our own RSA
    public key when asked for the server's, and record what comes back (the password, encrypted for that key)."""
    sequence, greeting = mysql_handshake(conn, b"caching_sha2_password")
    conn.sendall(mysql_packet(sequence + 1, b"\x01\x04"))
    conn.settimeout(2)
    answer = b""
    try:
        sequence, request = read_mysql_packet(conn)
        answer += request
        if request == b"\x02":
            conn.sendall(mysql_packet(sequence + 1, b"\x01" + public_key))
            answer += read_mysql_packet(conn)[1]
    except (ConnectionError, OSError):
        pass
    return greeting, answer


def mysql(conn: socket.socket, switch_to: bytes) -> tuple[bytes, bytes]:
    sequence, greeting = mysql_handshake(conn)
    # AuthSwitchRequest to a plugin that gets the password as it is
    conn.sendall(mysql_packet(sequence + 1, b"\xfe" + switch_to))
    answer = read_rest(conn)
    if answer:
        conn.sendall(mysql_packet(sequence + 3, b"\xff" + struct.pack("<H", 1045) + b"#28000Access denied"))
    return greeting, answer


def serve(engine: str, record_file: str, *extra: str) -> None:
    handle = {"postgresql": postgresql,
              # AuthenticationMD5Password with a salt: a client that has a password answers with its salted hash
              "postgresql-md5": lambda conn: postgresql(conn, struct.pack("!II", 12, 5) + b"salt"),
              "mysql": lambda conn: mysql(conn, b"mysql_clear_password\x00"),
              # MariaDB's PAM "dialog": a prompt, flag 0x04 = password input, answered with the password in clear
              "mysql-dialog": lambda conn: mysql(conn, b"dialog\x00\x04Password: "),
              "mysql-sha2-full": lambda conn: mysql_sha2_full(conn, Path(extra[0]).read_bytes())}[engine]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        with conn:
            try:
                greeting, answer = handle(conn)
            except (ConnectionError, OSError):
                continue
        with open(record_file, "a") as record:
            record.write(json.dumps({"greeting": greeting.hex(), "answer": answer.hex()}) + "\n")


if __name__ == "__main__":
    serve(*sys.argv[1:])
