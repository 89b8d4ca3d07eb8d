"""The second factor: codes (replay, throttling, backup codes), the HTML pages, and the OTP admin site."""
from __future__ import annotations

import io
import re
import time

import factory
import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.models import AuditEvent
from tests.support.factories import UserFactory

PASSWORD = "a long test passphrase"  # tests.support.factories.UserFactory's


class StaffFactory(UserFactory):
    is_staff = True


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = mfa.TOTP_DEVICE_NAME
    confirmed = True


def totp_code(device: TOTPDevice, steps: int = 0) -> str:
    """The code ``device`` shows ``steps`` time steps from now (the device accepts -1, 0 and +1)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps * device.step
    return f"{totp.token():0{device.digits}d}"


def session_request(user, path: str = "/"):
    """A request with a real session and django-otp's user fields, for calling the services directly."""
    from django.contrib.sessions.backends.db import SessionStore

    request = RequestFactory().post(path)
    request.session = SessionStore()
    request.user = user
    user.otp_device = None
    user.is_verified = lambda: user.otp_device is not None
    return request


def verified_login(client, user, device: TOTPDevice | None = None) -> TOTPDevice:
    """Log ``client`` in as ``user`` and verify the session through the real verify page."""
    device = device or TOTPDeviceFactory(user=user)
    client.force_login(user)
    response = client.post(reverse("accounts:mfa-verify"), {"code": totp_code(device, -1), "next": "/admin/"})
    assert response.status_code == 302, response.content
    return device


def events(name: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=name).order_by("pk"))


# --- Codes --------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_totp_code_used_twice_is_refused():
    user = UserFactory()
    device = TOTPDeviceFactory(user=user)
    code = totp_code(device)
    mfa.verify(request=session_request(user), user=user, code=code)

    with pytest.raises(mfa.InvalidCode):
        mfa.verify(request=session_request(user), user=user, code=code)
    device.refresh_from_db()
    assert device.last_t >= 0
    assert events("mfa.verified") and events("mfa.failed")[-1].extra["reason"] == "invalid_code"


@pytest.mark.django_db
def test_older_code_after_newer_one_is_refused():
    user = UserFactory()
    device = TOTPDeviceFactory(user=user)
    mfa.verify(request=session_request(user), user=user, code=totp_code(device, 0))

    with pytest.raises(mfa.InvalidCode):
        mfa.verify(request=session_request(user), user=user, code=totp_code(device, -1))


@pytest.mark.django_db
def test_wrong_code_throttles_the_device_even_for_the_right_code():
    user = UserFactory()
    device = TOTPDeviceFactory(user=user)
    assert device.throttling_enabled  # django-otp's ThrottlingMixin is active (OTP_TOTP_THROTTLE_FACTOR > 0)
    with pytest.raises(mfa.InvalidCode):
        mfa.verify(request=session_request(user), user=user, code="000000" if totp_code(device) != "000000"
                   else "111111")

    with pytest.raises(mfa.TooManyAttempts):
        mfa.verify(request=session_request(user), user=user, code=totp_code(device))
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # the failure survived the refusal (no rollback)


@pytest.mark.django_db
def test_failures_beyond_per_user_limit_are_refused(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # isolate the per-user counter from the device's back-off
    user = UserFactory()
    device = TOTPDeviceFactory(user=user)
    right = totp_code(device)
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    for _ in range(mfa.USER_FAILURE_LIMIT):
        with pytest.raises(mfa.InvalidCode):
            mfa.verify(request=session_request(user), user=user, code=wrong)

    with pytest.raises(mfa.TooManyAttempts):
        mfa.verify(request=session_request(user), user=user, code=right)


@pytest.mark.django_db
def test_backup_code_works_once():
    user = UserFactory()
    TOTPDeviceFactory(user=user)
    request = session_request(user)
    user.otp_device = TOTPDevice.objects.get(user=user)
    codes = mfa.backup_codes_regenerate(request=request, user=user)

    mfa.verify(request=session_request(user), user=user, code=codes[0].upper())
    with pytest.raises(mfa.InvalidCode):
        mfa.verify(request=session_request(user), user=user, code=codes[0])
    assert mfa.backup_codes_remaining(user) == mfa.BACKUP_CODE_COUNT - 1


@pytest.mark.django_db
def test_backup_codes_regenerate_without_verified_session_is_refused():
    user = UserFactory()
    TOTPDeviceFactory(user=user)

    with pytest.raises(mfa.VerificationRequired):
        mfa.backup_codes_regenerate(request=session_request(user), user=user)
    assert not StaticToken.objects.exists()


@pytest.mark.django_db
def test_enrol_confirm_creates_ten_backup_codes_and_verifies_the_session():
    user = UserFactory()
    request = session_request(user)
    mfa.confirm_password(request=request, user=user, password=PASSWORD)
    enrolment = mfa.totp_enrol_start(request=request, user=user)
    assert enrolment.qr_svg.startswith("<svg") and enrolment.otpauth_url.startswith("otpauth://totp/")

    codes = mfa.totp_enrol_confirm(request=request, user=user, code=totp_code(enrolment.device))

    assert len(codes) == 10 and len(set(codes)) == 10
    assert user.is_verified() and request.session[mfa.SESSION_VERIFIED_AT]
    assert TOTPDevice.objects.get(user=user).confirmed
    assert StaticDevice.objects.get(user=user).token_set.count() == 10
    mfa_events = AuditEvent.objects.filter(event__startswith="mfa.").order_by("pk")
    assert [e.event for e in mfa_events] == ["mfa.password_confirmed", "mfa.enrolment_started", "mfa.enrolled",
                                             "mfa.backup_codes_generated"]


@pytest.mark.django_db
def test_enrol_start_with_a_confirmed_device_is_refused():
    user = UserFactory()
    TOTPDeviceFactory(user=user)

    with pytest.raises(mfa.AlreadyEnrolled):
        mfa.totp_enrol_start(request=session_request(user), user=user)


@pytest.mark.django_db
def test_disable_without_recent_verification_or_code_is_refused():
    user = UserFactory()
    TOTPDeviceFactory(user=user)

    with pytest.raises(mfa.FreshVerificationRequired):
        mfa.disable(request=session_request(user), user=user)
    assert mfa.has_device(user)


@pytest.mark.django_db
def test_disable_with_current_code_removes_every_device():
    user = UserFactory()
    device = TOTPDeviceFactory(user=user)
    StaticDevice.objects.create(user=user, name="Backup codes")

    mfa.disable(request=session_request(user), user=user, code=totp_code(device))

    assert not TOTPDevice.objects.filter(user=user).exists() and not StaticDevice.objects.filter(user=user).exists()
    assert events("mfa.disabled")


@pytest.mark.django_db
def test_disable_after_stale_verification_needs_a_code(client):
    user = UserFactory()
    verified_login(client, user)
    session = client.session
    session[mfa.SESSION_VERIFIED_AT] = "2000-01-01T00:00:00+00:00"
    session.save()

    response = client.post(reverse("accounts:mfa-disable"), {})

    assert response.status_code == 200 and mfa.has_device(user)
    assert "last five minutes" in response.content.decode()


# --- Pages ------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_disable_page_right_after_verification_needs_no_code(client):
    user = UserFactory()
    verified_login(client, user)

    response = client.post(reverse("accounts:mfa-disable"), {})

    assert response.status_code == 302 and not mfa.has_device(user)


@pytest.mark.django_db
def test_enrol_page_draws_qr_code_inline_without_script(client):
    client.force_login(StaffFactory())

    response = client.get(reverse("accounts:mfa-enrol"))

    body = response.content.decode()
    assert response.status_code == 200 and "<svg" in body and "Racine" in body
    assert not re.search(r"<script(?![^>]*\bsrc=)", body)  # the CSP allows no inline script
    assert "https://" not in body.split("<svg", 1)[1].split("</svg>", 1)[0]  # no external QR service


@pytest.mark.django_db
def test_verify_page_with_offsite_next_redirects_home(client):
    user = StaffFactory()
    device = TOTPDeviceFactory(user=user)
    client.force_login(user)

    response = client.post(reverse("accounts:mfa-verify"),
                           {"code": totp_code(device), "next": "https://evil.example/"})

    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


@pytest.mark.django_db
def test_verify_page_with_wrong_code_shows_error(client):
    user = StaffFactory()
    device = TOTPDeviceFactory(user=user)
    client.force_login(user)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"

    response = client.post(reverse("accounts:mfa-verify"), {"code": wrong})

    assert response.status_code == 200 and "not valid" in response.content.decode()


@pytest.mark.django_db
def test_status_page_backup_codes_regenerate_shows_ten_codes(client):
    user = UserFactory()
    verified_login(client, user)

    response = client.post(reverse("accounts:mfa-backup-codes"))

    assert response.status_code == 200
    assert len(re.findall(r"<li><code>[a-z2-7]{8}</code></li>", response.content.decode())) == 10


# --- The OTP admin site -----------------------------------------------------------------------------------
def admin_urls() -> list[str]:
    """The index, and every admin's list and app page (an admin without pages, the asset typeahead's, has none)."""
    urls = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        if not model_admin.get_urls():
            continue
        urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
        urls.append(reverse("admin:app_list", args=[model._meta.app_label]))
    return sorted(set(urls))


def test_admin_site_is_otp_admin_site_named_admin():
    from django_otp.admin import OTPAdminSite

    assert isinstance(admin.site, OTPAdminSite) and admin.site.name == "admin"


@pytest.mark.django_db
@pytest.mark.parametrize("superuser", [False, True])
def test_unverified_staff_with_device_every_admin_page_redirects_to_verify(client, superuser):
    user = StaffFactory(is_superuser=superuser)
    TOTPDeviceFactory(user=user)
    client.force_login(user)

    for url in admin_urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:mfa-verify")), url


@pytest.mark.django_db
def test_unverified_staff_without_device_every_admin_page_redirects_to_enrol(client):
    client.force_login(StaffFactory(is_superuser=True))

    for url in admin_urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:mfa-enrol")), url


@pytest.mark.django_db
def test_verified_superuser_every_admin_page_opens(client):
    verified_login(client, StaffFactory(is_superuser=True))

    for url in admin_urls():
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_unverified_staff_logout_logs_out(client):
    client.force_login(StaffFactory())

    response = client.post(reverse("admin:logout"))

    assert response.status_code == 200 and "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_admin_login_page_shows_racine_branding(client):
    response = client.get(reverse("admin:login"))

    body = response.content.decode()
    assert response.status_code == 200 and "Racine" in body and "Django administration" not in body


@pytest.mark.django_db
def test_bootstrap_admin_first_login_enrols_then_opens_admin(client, monkeypatch):
    monkeypatch.setenv("RACINE_ADMIN_USERNAME", "admin")
    monkeypatch.setenv("RACINE_ADMIN_PASSWORD", PASSWORD)
    call_command("bootstrap", "--no-input", "--skip-migrate", stdout=io.StringIO())

    login = client.post(reverse("admin:login"), {"username": "admin", "password": PASSWORD,
                                                 "next": reverse("admin:index")})
    assert login.status_code == 302 and login["Location"] == reverse("admin:index")
    to_enrol = client.get(reverse("admin:index"))
    assert to_enrol.status_code == 302 and to_enrol["Location"].startswith(reverse("accounts:mfa-enrol"))
    page = client.get(to_enrol["Location"])
    assert page.status_code == 200 and "<svg" in page.content.decode()

    device = TOTPDevice.objects.get(user__username="admin", confirmed=False)
    confirmed = client.post(to_enrol["Location"], {"code": totp_code(device), "next": reverse("admin:index")})
    assert confirmed.status_code == 200 and len(confirmed.context["codes"]) == 10

    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db
def test_device_admin_never_shows_a_second_factors_secret_even_to_a_superuser(client):
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    admin_user = UserFactory(is_staff=True, is_superuser=True)
    verified_login(client, admin_user)
    victim = UserFactory()
    device = TOTPDeviceFactory(user=victim)
    backup = StaticDevice.objects.create(user=victim, name="backup")
    StaticToken.objects.create(device=backup, token="k7p2x9q4")
    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200
    assert device.key not in page.content.decode() and "qrcode" not in page.content.decode()
    listing = client.get(reverse("admin:otp_totp_totpdevice_changelist")).content.decode()
    assert "qrcode" not in listing
    assert client.get(reverse("admin:otp_totp_totpdevice_config", args=[device.pk])).status_code == 403
    static_page = client.get(reverse("admin:otp_static_staticdevice_change", args=[backup.pk])).content.decode()
    assert "k7p2x9q4" not in static_page


@pytest.mark.django_db
@pytest.mark.parametrize(("throttle_factor", "failures", "expected"), [
    (30, 1, r"Too many wrong codes: wait about (29|30) s, then try again\."),  # the device's back-off
    (0, mfa.USER_FAILURE_LIMIT, r"Too many wrong codes: wait about 15 minutes, then try again\."),  # per user
])
def test_verify_page_says_how_long_to_wait_in_one_sentence(client, settings, throttle_factor, failures, expected):
    settings.OTP_TOTP_THROTTLE_FACTOR = throttle_factor
    user = StaffFactory()
    device = TOTPDeviceFactory(user=user)
    client.force_login(user)
    right = totp_code(device)
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    for _ in range(failures):
        client.post(reverse("accounts:mfa-verify"), {"code": wrong})

    response = client.post(reverse("accounts:mfa-verify"), {"code": right})

    assert response.status_code == 200 and re.search(expected, response.content.decode())


@pytest.mark.django_db
def test_admin_index_names_the_second_factor_apps_readably(client):
    verified_login(client, StaffFactory(is_superuser=True))

    html = client.get(reverse("admin:index")).content.decode()

    assert "Second factor: authenticator apps" in html and "Second factor: backup codes" in html
    assert "Otp_totp" not in html and "Otp_static" not in html
