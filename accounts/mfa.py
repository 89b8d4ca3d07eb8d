"""The second factor: TOTP devices with static backup codes (django-otp), who must use one, and its life cycle.

Every code goes through ``_check_code``, which locks the device row and calls the device's own
``verify_token``: that is where django-otp refuses a TOTP code at or below ``last_t`` (a replay) and where its
``ThrottlingMixin`` doubles the wait after each failure. On top of the per-device throttle a per-user counter in
the cache caps failures across devices and processes (Redis in production), so guessing backup codes and TOTP
codes in turn does not reset the budget. When the cache is unreachable that budget is skipped (logged and counted,
``config.cache_guard``) and the per-device throttle, kept in the database, still doubles the wait.

A session counts as verified when django-otp's session key names one of the user's confirmed devices
(``django_otp.login``); we also note *when* it was verified, because disabling the second factor needs a
verification of the last few minutes.

Enrolling needs a recent password check (``settings.RACINE_MFA_ENROL_PASSWORD_MAX_AGE`` minutes): a password
login notes its time in the session, and so does re-entering the password (``confirm_password``). Without it a
stolen session of someone with no device yet could bind the attacker's authenticator to the account.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import django_otp
import qrcode
import qrcode.image.svg
from django.apps import apps
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import audit
from accounts.models import Organization, User
from config.cache_guard import guarded

BACKUP_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"
# Disabling the second factor is the most valuable thing a stolen, unattended session could do.
FRESH_VERIFICATION = timedelta(minutes=5)
SESSION_VERIFIED_AT = "racine_mfa_verified_at"
SESSION_PASSWORD_CHECKED_AT = "racine_password_checked_at"
USER_FAILURE_LIMIT = 10
USER_FAILURE_WINDOW = timedelta(minutes=15)
TOTP_CODE = re.compile(r"^\d{6}$")


class MfaError(Exception):
    code = "mfa_error"
    message = "The second factor could not be checked."

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message


class InvalidCode(MfaError):
    code = "invalid_code"
    message = "The code is not valid."


class TooManyAttempts(MfaError):
    code = "mfa_throttled"
    message = "Too many wrong codes; wait before trying again."

    def __init__(self, wait_seconds: int):
        super().__init__()
        self.wait_seconds = max(1, int(wait_seconds))


class AlreadyEnrolled(MfaError):
    code = "mfa_already_enrolled"
    message = "An authenticator is already set up; disable it before enrolling another."


class NotEnrolled(MfaError):
    code = "mfa_not_enrolled"
    message = "No authenticator is set up yet."


class VerificationRequired(MfaError):
    code = "mfa_required"
    message = "Verify your second factor first."


class FreshVerificationRequired(MfaError):
    code = "fresh_verification_required"
    message = "Enter a current code: this change needs a verification from the last five minutes."


class PasswordCheckRequired(MfaError):
    code = "password_check_required"
    message = "Enter your password again: setting up an authenticator needs a recent password check."


class InvalidPassword(MfaError):
    code = "invalid_password"
    message = "The password is not correct."


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    otpauth_url: str
    secret: str
    qr_svg: str


# --- Policy -----------------------------------------------------------------------------------------------
def mfa_required_for(user: User) -> bool:
    """Whether ``user`` must have a verified second factor for the admin and session API use.

    Staff and superusers always do (they reach the admin); others when one of their workspace roles is in
    ``Organization.mfa_required_roles``.
    """
    if user is None or not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    cached = getattr(user, "_racine_mfa_required", None)
    if cached is not None:
        return cached
    organization = Organization.objects.order_by("pk").only("mfa_required_roles").first()
    roles = set(organization.mfa_required_roles or []) if organization else set()
    required = bool(roles) and _membership_model().objects.filter(user=user, role__in=roles).exists()
    user._racine_mfa_required = required  # asked on every API request; the user object lives one request
    return required


def _membership_model():
    return apps.get_model("accounts", "Membership")


def is_verified(user: User) -> bool:
    """True when the request's user was verified by one of their devices in this session.

    django-otp's middleware installs ``is_verified`` only on session users; a user from another authentication
    path (a test's forced authentication, a future scheme) has no such method and counts as unverified.
    """
    check = getattr(user, "is_verified", None)
    if callable(check):
        return bool(check())
    return getattr(user, "otp_device", None) is not None


def totp_device_for(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=confirmed).order_by("pk").first()


def has_device(user: User) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def backup_codes_remaining(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def _session_time(request, key: str) -> datetime | None:
    raw = _http_request(request).session.get(key)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def verified_at(request) -> datetime | None:
    return _session_time(request, SESSION_VERIFIED_AT)


def recently_verified(request) -> bool:
    when = verified_at(request)
    return (when is not None and is_verified(request.user)
            and timezone.now() - when <= FRESH_VERIFICATION)


# --- Password check before enrolment ----------------------------------------------------------------------
def password_check_max_age() -> timedelta:
    return timedelta(minutes=settings.RACINE_MFA_ENROL_PASSWORD_MAX_AGE)


def password_checked_at(request) -> datetime | None:
    return _session_time(request, SESSION_PASSWORD_CHECKED_AT)


def recent_password_check(request) -> bool:
    when = password_checked_at(request)
    return when is not None and timezone.now() - when <= password_check_max_age()


def _note_password_check(http_request) -> None:
    http_request.session[SESSION_PASSWORD_CHECKED_AT] = timezone.now().isoformat()


@receiver(user_logged_in, dispatch_uid="racine_mfa_password_checked")
def _on_logged_in(sender, request, user, **kwargs):
    # Every login path Racine offers checks the password (the admin's and DRF's login pages); the session keeps
    # when, so an enrolment right after login needs no second password prompt.
    if request is not None and hasattr(request, "session"):
        _note_password_check(request)


def confirm_password(*, request, user: User, password: str) -> None:
    """Check ``user``'s password again and note the check in the session.

    Through ``authenticate()``, like a login: a locked account is refused and a wrong password counts towards
    the lockout (and is audited as ``login.failed``), so this prompt is no way around login protection.
    """
    http_request = _http_request(request)
    checked = authenticate(http_request, username=user.get_username(), password=password or "")
    if checked is None or checked.pk != user.pk:
        raise InvalidPassword()
    _note_password_check(http_request)
    audit.record(event="mfa.password_confirmed", actor=user, request=http_request)


def _require_recent_password_check(request) -> datetime:
    if not recent_password_check(request):
        minutes = int(password_check_max_age().total_seconds() // 60)
        raise PasswordCheckRequired(f"Enter your password again: setting up an authenticator needs a password "
                                    f"check from the last {minutes} minutes.")
    return password_checked_at(request)


# --- Enrolment --------------------------------------------------------------------------------------------
def qr_svg(data: str) -> str:
    """The QR code as an inline ``<svg>`` element: drawn here, so the secret never leaves the server."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return image.to_string(encoding="unicode")


@transaction.atomic
def totp_enrol_start(*, request, user: User) -> Enrolment:
    """An unconfirmed TOTP device for ``user`` (the same one until it is confirmed, so a reload shows the
    same QR code), with what an authenticator app needs to add it. Needs a recent password check; every
    showing of the secret is audited."""
    if has_device(user):
        raise AlreadyEnrolled()
    password_checked = _require_recent_password_check(request)
    device = totp_device_for(user, confirmed=False)
    created = device is None
    if created:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    audit.record(event="mfa.enrolment_started", actor=user, obj=device, request=_http_request(request),
                 extra={"device": device.persistent_id, "new_device": created,
                        "password_checked_at": password_checked.isoformat()})
    url = device.config_url
    secret = re.search(r"secret=([A-Z2-7=]+)", url).group(1).rstrip("=")
    return Enrolment(device=device, otpauth_url=url, secret=secret, qr_svg=qr_svg(url))


def totp_enrol_confirm(*, request, user: User, code: str) -> list[str]:
    """Confirm the pending device with a first code; the session is verified by it.

    Returns the new backup codes; they are shown this once and stored only as single-use tokens. Needs a recent
    password check, like the start.
    """
    if has_device(user):
        raise AlreadyEnrolled()
    password_checked = _require_recent_password_check(request)
    device = totp_device_for(user, confirmed=False)
    if device is None:
        raise NotEnrolled("Start the enrolment first.")
    _check_code(request=request, user=user, device=device, code=code)
    with transaction.atomic():
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        device.confirmed = True
        codes = _replace_backup_codes(user)
        audit.record(event="mfa.enrolled", actor=user, obj=device, request=_http_request(request),
                     extra={"device": device.persistent_id, "password_checked_at": password_checked.isoformat()})
        audit.record(event="mfa.backup_codes_generated", actor=user, request=_http_request(request),
                     extra={"count": len(codes)})
    _login_device(request, device)
    return codes


# --- Verification -----------------------------------------------------------------------------------------
def verify(*, request, user: User, code: str) -> None:
    """Verify the session with a TOTP code or a backup code (each backup code works once)."""
    code = normalize_code(code)
    if TOTP_CODE.match(code):
        device = totp_device_for(user)
    else:
        # Routing by shape keeps a mistyped TOTP code from counting against the backup codes' throttle.
        device = StaticDevice.objects.devices_for_user(user, confirmed=True).first()
    if device is None:
        if not has_device(user):
            raise NotEnrolled()
        _count_failure(request=request, user=user, reason="no_backup_codes")
        raise InvalidCode()
    _check_code(request=request, user=user, device=device, code=code)
    audit.record(event="mfa.verified", actor=user, obj=device, request=_http_request(request),
                 extra={"device": device.persistent_id})
    _login_device(request, device)


def normalize_code(code: str | None) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _check_code(*, request, user: User, device, code: str) -> None:
    """Raise unless ``code`` is accepted by ``device``; count and audit a failure.

    The failure increment must survive, so no exception is raised inside the transaction that holds the
    device row: django-otp commits its throttle counter there.
    """
    code = normalize_code(code)
    wait = _user_wait_seconds(user)
    if wait:
        raise TooManyAttempts(wait)
    with transaction.atomic():
        # Row lock: two concurrent requests with the same code cannot both pass the last_t check.
        locked = type(device).objects.select_for_update().get(pk=device.pk)
        allowed, info = locked.verify_is_allowed()
        accepted = allowed and bool(code) and locked.verify_token(code)
    if not allowed:
        audit.record(event="mfa.failed", actor=user, obj=device, request=_http_request(request),
                     extra={"reason": "throttled"})
        locked_until = (info or {}).get("locked_until")
        raise TooManyAttempts((locked_until - timezone.now()).total_seconds() if locked_until else 1)
    if not accepted:
        _count_failure(request=request, user=user, reason="invalid_code", device=device)
        raise InvalidCode()
    guarded("mfa_failures", lambda: cache.delete(_failure_key(user)), fallback=False)


def _count_failure(*, request, user: User, reason: str, device=None) -> None:
    guarded("mfa_failures", lambda: _increment_failures(user), fallback=None)
    audit.record(event="mfa.failed", actor=user, obj=device, request=_http_request(request),
                 extra={"reason": reason})


def _increment_failures(user: User) -> None:
    key = _failure_key(user)
    timeout = int(USER_FAILURE_WINDOW.total_seconds())
    cache.add(key, 0, timeout=timeout)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)


def _user_wait_seconds(user: User) -> int:
    failures = guarded("mfa_failures", lambda: cache.get(_failure_key(user)), fallback=None) or 0
    if failures >= USER_FAILURE_LIMIT:
        return int(USER_FAILURE_WINDOW.total_seconds())
    return 0


def _failure_key(user: User) -> str:
    return f"mfa:failures:{user.pk}"


def _login_device(request, device) -> None:
    http_request = _http_request(request)
    # A new session key once the session is worth more: a fixed (planted) session id gains nothing.
    http_request.session.cycle_key()
    django_otp.login(http_request, device)  # also sets otp_device on the user DRF and Django share
    http_request.session[SESSION_VERIFIED_AT] = timezone.now().isoformat()


# --- Backup codes and disabling ---------------------------------------------------------------------------
def backup_codes_regenerate(*, request, user: User) -> list[str]:
    """New backup codes replacing the old ones; only from a verified session."""
    if not has_device(user):
        raise NotEnrolled()
    if not is_verified(request.user):
        raise VerificationRequired()
    with transaction.atomic():
        codes = _replace_backup_codes(user)
        audit.record(event="mfa.backup_codes_generated", actor=user, request=_http_request(request),
                     extra={"count": len(codes)})
    return codes


def _replace_backup_codes(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME,
                                                   defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def disable(*, request, user: User, code: str | None = None) -> None:
    """Remove every device of ``user``. Needs a verification of the last five minutes, or a current code."""
    if not has_device(user):
        raise NotEnrolled()
    if code:
        verify(request=request, user=user, code=code)
    elif not recently_verified(request):
        raise FreshVerificationRequired()
    with transaction.atomic():
        remove_devices(user)
        audit.record(event="mfa.disabled", actor=user, request=_http_request(request))
    http_request = _http_request(request)
    http_request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
    http_request.session.pop(SESSION_VERIFIED_AT, None)
    request.user.otp_device = None


def remove_devices(user: User) -> list[str]:
    """Delete every TOTP and backup-code device of ``user`` (confirmed or not); returns their persistent ids.

    A session verified by one of them stops counting as verified: django-otp finds no device for its id.
    """
    devices = [*TOTPDevice.objects.filter(user=user), *StaticDevice.objects.filter(user=user)]
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    cache.delete(_failure_key(user))
    return [device.persistent_id for device in devices]


def _http_request(request):
    """Django's request under a DRF one: the session and django-otp's state live there."""
    return getattr(request, "_request", request)
