"""Connector errors. Messages are built by us from redacted driver text: they never carry a password."""
from __future__ import annotations

from collections.abc import Iterable


class ConnectorError(Exception):
    """Base class of every error a connector raises."""

    retryable = False


class ConnectorConfigError(ConnectorError):
    """The settings are invalid (unknown engine or option, missing field). Fix the data source, do not retry.
    ``field`` names the data source's field at fault, when one is (a form or the API shows the message there)."""

    def __init__(self, message: str = "", *, field: str | None = None):
        super().__init__(message)
        self.field = field


class TargetNotAllowed(ConnectorConfigError):
    """The target host is refused by the network policy (cloud metadata, link-local, deny list, allow list)."""


class ProtectedDatabase(TargetNotAllowed):
    """The target is Racine's own database (recognised by identity), or may be and cannot be told apart."""


class SourceUnavailable(ConnectorError):
    """Connection refused, unreachable host, network timeout, server shutting down: retry later."""

    retryable = True


class AuthenticationFailed(ConnectorError):
    """The server refused the credentials."""


class PermissionDenied(ConnectorError):
    """Connected, but the account may not read this object (or tried to write in the read-only session)."""


class QueryTimeout(ConnectorError):
    """A statement ran past ``statement_timeout_s`` and the server cancelled it."""

    retryable = True


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-empty secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def describe(exc: BaseException, secrets: Iterable[str]) -> str:
    """One line naming a driver exception, safe to log and to show."""
    message = " ".join(str(exc).split())
    return redact(f"{type(exc).__name__}: {message}", secrets)
