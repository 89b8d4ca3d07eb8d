"""Login protection: temporary lockouts after repeated failures, per (account, address) pair and per address.

Why a backend and signals, and not a check in the login views: every password login in Django — the admin's
login page, DRF's api-auth login, any view added later, even ``authenticate()`` called from a shell — goes
through ``django.contrib.auth.authenticate()``. It asks the backends in ``AUTHENTICATION_BACKENDS`` in order
and stops at the first one that raises ``PermissionDenied``, then sends ``user_login_failed``. So
``LockoutBackend``, listed first, refuses a locked attempt before any password is checked, on every path, and
the ``user_login_failed`` receiver counts every failure whichever view caused it. A check in a form or a view
would protect only that form or view.

What is locked: ``Organization.lockout_failures`` failures for one account from one address lock that *pair*.
The same account from another address, and other accounts from the same address, still log in: colleagues
behind one office address do not lock each other out, and nobody can lock a user out of their account from
elsewhere. An address is blocked for every account only when its failures span
``Organization.lockout_address_accounts`` distinct accounts — credential stuffing, not a mistyped password.
Both count the failures of the last ``lockout_minutes``; a lockout lifts once the failures that caused it are
older. Attempts refused by a lockout never reach the password check and are not counted.

No user enumeration: failures are keyed on the username *as typed* (case-folded), whether or not such a user
exists, so an unknown name locks exactly like a real one, and the locked message is the same for both.

Failures are rows in the database (``LoginFailure``), not cache counters: the lockout is decided from the
database that holds the passwords, so it holds when the cache (Redis) is unreachable or restarted empty, and
with the cache down it refuses exactly the pairs and addresses under attack — everyone else logs in.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from accounts import audit
from accounts.models import LoginFailure, Organization

LOCKED_MESSAGE = ("Too many failed login attempts. Try again later, or ask an administrator to unlock the "
                  "account.")
DEFAULT_FAILURES = 5
DEFAULT_ADDRESS_ACCOUNTS = 20
DEFAULT_MINUTES = 15
ACCOUNT_FROM_ADDRESS = "account_address"
ADDRESS = "address"


@dataclass(frozen=True)
class Policy:
    failures: int
    address_accounts: int
    minutes: int

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.minutes)


def policy() -> Policy:
    organization = (Organization.objects.order_by("pk")
                    .only("lockout_failures", "lockout_address_accounts", "lockout_minutes").first())
    if organization is None:
        return Policy(DEFAULT_FAILURES, DEFAULT_ADDRESS_ACCOUNTS, DEFAULT_MINUTES)
    # Rows saved before the form's validators existed may hold 0; one account must never block an address.
    return Policy(max(1, organization.lockout_failures), max(2, organization.lockout_address_accounts),
                  max(1, organization.lockout_minutes))


def client_ip(request) -> str | None:
    # The same address the audit trail records: behind the configured proxy, the hop it appended to
    # X-Forwarded-For (REMOTE_ADDR would be the proxy's, and one lockout would then shut everyone out);
    # without a proxy, REMOTE_ADDR (a client-supplied X-Forwarded-For is ignored, so no per-attempt addresses).
    return audit.client_ip(request) if request is not None else None


def account_key(username: str | None) -> str:
    return hashlib.sha256(username.casefold().encode()).hexdigest() if username else ""


def locked_scopes(*, request, username: str | None, rules: Policy | None = None) -> list[str]:
    """The lockouts that refuse this attempt: ``ACCOUNT_FROM_ADDRESS`` and/or ``ADDRESS`` (none: go ahead)."""
    rules = rules or policy()
    ip = client_ip(request)
    recent = LoginFailure.objects.filter(created_at__gte=timezone.now() - rules.window)
    scopes = []
    if username and recent.filter(account=account_key(username), ip=ip).count() >= rules.failures:
        scopes.append(ACCOUNT_FROM_ADDRESS)
    if ip and recent.filter(ip=ip).values("account").distinct().count() >= rules.address_accounts:
        scopes.append(ADDRESS)
    return scopes


def is_locked(*, request, username: str | None) -> bool:
    return bool(locked_scopes(request=request, username=username))


def register_failure(*, request, username: str | None) -> list[str]:
    """Record a refused password; returns the lockouts now in force for this account and address."""
    rules, now = policy(), timezone.now()
    # Failures older than the window count for nothing any more: drop them as new ones arrive.
    LoginFailure.objects.filter(created_at__lt=now - rules.window).delete()
    LoginFailure.objects.create(account=account_key(username), ip=client_ip(request), created_at=now)
    return locked_scopes(request=request, username=username, rules=rules)


def register_success(*, request, username: str | None) -> None:
    # Only this pair's failures: a successful login from an address must not wipe that address's failures
    # against *other* names (an attacker holding one valid account could otherwise reset them).
    LoginFailure.objects.filter(account=account_key(username), ip=client_ip(request)).delete()


def unlock(*, username: str | None = None, ip: str | None = None) -> int:
    """Lift lockouts early (``services.login_unlock``; tests): every failure of ``username``, and/or every failure
    from ``ip``. Returns how many failures were forgotten."""
    scope = Q(pk__in=[])
    if username:
        scope |= Q(account=account_key(username))
    if ip:
        scope |= Q(ip=ip)
    deleted, _ = LoginFailure.objects.filter(scope).delete()
    return deleted


class LockoutBackend(BaseBackend):
    """Listed first in AUTHENTICATION_BACKENDS: refuses a locked attempt before any password check.

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
    # An attempt refused by a lockout checked no password: counting it would only stretch the lockout.
    locked = [] if was_locked else register_failure(request=request, username=username)
    ip = client_ip(request)
    # actor stays empty: naming a user here would say whether the typed name exists.
    audit.record(event="login.failed", request=request,
                 extra={"username": username, "ip": ip, "reason": "locked_out" if was_locked else "invalid"})
    if locked:
        audit.record(event="login.locked_out", request=request,
                     extra={"username": username, "ip": ip, "scope": locked})


@receiver(user_logged_in, dispatch_uid="racine_lockout_logged_in")
def _on_logged_in(sender, request, user, **kwargs):
    register_success(request=request, username=user.get_username())
    audit.record(event="login.succeeded", actor=user, request=request, extra={"ip": client_ip(request)})
