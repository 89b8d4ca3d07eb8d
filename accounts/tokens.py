"""The API token format: ``rac_<prefix>_<secret>``; the database keeps the prefix and a SHA-256 of the whole.

A token carries 256 bits of randomness, so a fast hash is enough: nobody can brute-force it, and a slow
password hash would cost every API request tens of milliseconds.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "rac"
PREFIX_LENGTH = 10


def generate() -> tuple[str, str]:
    """A new token and its look-up prefix."""
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    return f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}", prefix


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def split(token: str) -> str | None:
    """The look-up prefix of a well-formed token, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(parts[1]) != PREFIX_LENGTH or not parts[2]:
        return None
    return parts[1]


def matches(token: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(token), stored_digest)
