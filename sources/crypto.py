"""Encryption of connector secrets at rest: Fernet with MultiFernet, so keys rotate.

``RACINE_ENCRYPTION_KEYS`` lists keys newest first. New secrets are encrypted with the first key; every key
decrypts. To rotate: put a new key first, run ``manage.py rotate_encryption_keys``, then drop the old key.
"""
from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """A stored secret could not be decrypted with any configured key (a key was dropped too early)."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError):
        raise ImproperlyConfigured("RACINE_ENCRYPTION_KEYS holds a key that is not a Fernet key "
                                   "(32 url-safe base64-encoded bytes)") from None


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.RACINE_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("the stored secret cannot be decrypted with the configured keys") from None


def rotate(token: str) -> str:
    """The same secret re-encrypted with the newest key."""
    if not token:
        return ""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("the stored secret cannot be decrypted with the configured keys") from None
