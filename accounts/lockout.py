"""Login protection: temporary lockout after repeated failures, per username and per client address.

Why a backend and signals, and not a check in the login views: every password login in Django — the admin's
login page, DRF's api-auth login, any view added later, even ``authenticate()`` called from a shell — goes
through ``django.contrib.auth.authenticate()``. It asks the backends in ``AUTHENTICATION_BACKENDS`` in order
and stops at the first one that raises ``PermissionDenied``, then sends ``user_login_failed``. So
``LockoutBackend``, listed first, refuses a locked name or address before any password is checked, on every
path, and the ``user_login_failed`` receiver counts every failure whichever view caused it. A check in a form
or a view would protect only that form or view.

No user enumeration: counters are keyed on the username *as typed* (case-folded), whether or not such a user
exists, so an unknown name locks exactly like a real one, and the locked message is the same for both.
Counters live in the Django cache, which is Redis in production, so every web process sees the same counts.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from accounts import audit
from accounts.models import Organization

LOCKED_MESSAGE = ("Too many failed login attempts. Try again later, or ask an administrator to unlock the "
                  "account.")
DEFAULT_FAILURES = 5
DEFAULT_MINUTES = 15


@dataclass(frozen=True)
class Policy:
    failures: int
    minutes: int

    @property
    def seconds(self) -> int:
        return self.minutes * 60


def policy() -> Policy:
    organization = (Organization.objects.order_by("pk").only("lockout_failures", "lockout_minutes").first())
    if organization is None:
        return Policy(DEFAULT_FAILURES, DEFAULT_MINUTES)
    return Policy(max(1, organization.lockout_failures), max(1, organization.lockout_minutes))


def client_ip(request) -> str | None:
    # The same address the audit trail records: behind the configured proxy, the hop it appended to
    # X-Forwarded-For (REMOTE_ADDR would be the proxy's, and one lockout would then shut everyone out);
    # without a proxy, REMOTE_ADDR (a client-supplied X-Forwarded-For is ignored, so no per-attempt addresses).
    return audit.client_ip(request) if request is not None else None


def _subjects(request, username: str | None) -> list[tuple[str, str]]:
    subjects = []
    if username:
        subjects.append(("user", hashlib.sha256(username.casefold().encode()).hexdigest()))
    ip = client_ip(request)
    if ip:
        subjects.append(("ip", ip))
    return subjects


def _count_key(kind: str, ident: str) -> str:
    return f"login:failures:{kind}:{ident}"


def _lock_key(kind: str, ident: str) -> str:
    return f"login:locked:{kind}:{ident}"


def is_locked(*, request, username: str | None) -> bool:
    keys = [_lock_key(kind, ident) for kind, ident in _subjects(request, username)]
    return any(cache.get_many(keys).values()) if keys else False


def register_failure(*, request, username: str | None) -> list[str]:
    """Count a failed login; returns the kinds ("user", "ip") that this failure has just locked."""
    rules = policy()
    newly_locked = []
    for kind, ident in _subjects(request, username):
        key = _count_key(kind, ident)
        # The window opens at the first failure and is not extended by later ones: N failures within it lock.
        cache.add(key, 0, timeout=rules.seconds)
        try:
            count = cache.incr(key)
        except ValueError:  # the window expired between add() and incr()
            cache.set(key, 1, timeout=rules.seconds)
            count = 1
        # add() is atomic in every cache backend: of two racing failures only one starts the lockout.
        if count >= rules.failures and cache.add(_lock_key(kind, ident), True, timeout=rules.seconds):
            newly_locked.append(kind)
    return newly_locked


def register_success(*, request, username: str | None) -> None:
    # Only the username's counter: one successful login from an address must not wipe that address's count
    # of failures against *other* names (an attacker holding one valid account could otherwise reset it).
    if username:
        (kind, ident), *_ = _subjects(None, username)
        cache.delete(_count_key(kind, ident))


def unlock(*, username: str | None = None, ip: str | None = None) -> None:
    """Lift a lockout early (operators; tests)."""
    subjects = []
    if username:
        subjects += _subjects(None, username)
    if ip:
        subjects.append(("ip", ip))
    cache.delete_many([key for kind, ident in subjects for key in (_count_key(kind, ident),
                                                                     _lock_key(kind, ident))])


class LockoutBackend(BaseBackend):
    """Listed first in AUTHENTICATION_BACKENDS: refuses a locked username or address before any password check.

    It never authenticates anyone itself (returns None), so the following backends decide as usual.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if is_locked(request=request, username=username):
            # PermissionDenied stops authenticate() at once: no later backend checks the password, so a
            # correct password during a lockout neither logs in nor tells the caller it was correct.
            raise PermissionDenied(LOCKED_MESSAGE)
        return None

    def get_user(self, user_id):
        # Django's force_login() and login() without a backend record the *first* backend in the session;
        # loading the user as ModelBackend would keep those sessions working.
        return ModelBackend().get_user(user_id)


def _username_from(credentials: dict) -> str | None:
    username = credentials.get("username") or credentials.get(get_user_model().USERNAME_FIELD)
    return str(username)[:150] if username else None


@receiver(user_login_failed, dispatch_uid="racine_lockout_login_failed")
def _on_login_failed(sender, credentials, request=None, **kwargs):
    username = _username_from(credentials)
    was_locked = is_locked(request=request, username=username)
    newly_locked = register_failure(request=request, username=username)
    ip = client_ip(request)
    # actor stays empty: naming a user here would say whether the typed name exists.
    audit.record(event="login.failed", request=request,
                 extra={"username": username, "ip": ip, "reason": "locked_out" if was_locked else "invalid"})
    if newly_locked:
        audit.record(event="login.locked_out", request=request,
                     extra={"username": username, "ip": ip, "scope": newly_locked})


@receiver(user_logged_in, dispatch_uid="racine_lockout_logged_in")
def _on_logged_in(sender, request, user, **kwargs):
    register_success(request=request, username=user.get_username())
    audit.record(event="login.succeeded", actor=user, request=request, extra={"ip": client_ip(request)})
