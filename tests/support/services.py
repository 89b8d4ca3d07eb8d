"""Reach the machine's real services from tests.

Outside CI a missing service skips the tests that need it, so a newcomer without PostgreSQL can still run the
suite. Under CI (``CI`` set) a missing service *fails* the test: CI runs on a machine that has them, and a green
run that silently skipped the integration tests would prove nothing.
"""
from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

POSTGRES_URL = os.environ.get("RACINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_URL = os.environ.get("RACINE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("RACINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in {"", "0", "false"}


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> str:
    """Return ``url`` when the service answers; otherwise skip (locally) or fail (under CI)."""
    if _reachable(url, default_port):
        return url
    message = f"{name} is not reachable at {url}"
    if running_in_ci():
        pytest.fail(f"{message}; CI requires it", pytrace=False)
    pytest.skip(message)


def require_postgres() -> str:
    return require_service("PostgreSQL", POSTGRES_URL, 5432)


def require_mysql() -> str:
    return require_service("MariaDB/MySQL", MYSQL_URL, 3306)


def require_redis() -> str:
    return require_service("Redis", REDIS_URL, 6379)
