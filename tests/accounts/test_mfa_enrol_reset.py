"""Enrolling a second factor needs a recent password check, on the page and the API; an administrator can reset
a lost device (admin action, API, ``manage.py reset_mfa``), audited, ending the owner's sessions.

Regression: staff without a device could enrol an authenticator with nothing but a session, at any time after
login, so a stolen or unattended session was enough to bind the attacker's phone to the account."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import mfa
from accounts.models import AuditEvent
from tests.accounts.test_mfa import PASSWORD, StaffFactory, TOTPDeviceFactory, totp_code
from tests.accounts.test_mfa_api import bearer_client
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

ENROL = "accounts:mfa-enrol"


def logged_in(client, user, *, password_checked_minutes_ago: int | None):
    """``client`` logged in as ``user``, its last password check that many minutes ago (None: never)."""
    client.force_login(user)
    session = client.session
    if password_checked_minutes_ago is None:
        session.pop(mfa.SESSION_PASSWORD_CHECKED_AT, None)
    else:
        when = timezone.now() - timedelta(minutes=password_checked_minutes_ago)
        session[mfa.SESSION_PASSWORD_CHECKED_AT] = when.isoformat()
    session.save()
    return client


def event_names(prefix: str = "mfa.") -> list[str]:
    return list(AuditEvent.objects.filter(event__startswith=prefix).order_by("pk").values_list("event", flat=True))


# --- Enrolment page ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("minutes_ago", [None, 11])
def test_enrol_page_without_a_recent_password_check_asks_for_the_password(client, minutes_ago):
    logged_in(client, StaffFactory(), password_checked_minutes_ago=minutes_ago)

    response = client.get(reverse(ENROL))

    body = response.content.decode()
    assert response.status_code == 200 and 'type="password"' in body and "mfa-qr" not in body
    assert "Enter your password again" in body  # not "needs your password from the last 10 minutes"
    assert not TOTPDevice.objects.exists() and event_names() == []


def test_login_through_the_admin_counts_as_the_password_check(client):
    user = StaffFactory()
    client.post(reverse("admin:login"), {"username": user.username, "password": PASSWORD})

    response = client.get(reverse(ENROL))

    assert response.status_code == 200 and "mfa-qr" in response.content.decode()


def test_enrol_page_password_then_code_enrols_and_audits_each_step(client, settings):
    settings.RACINE_MFA_ENROL_PASSWORD_MAX_AGE = 10
    user = StaffFactory()
    logged_in(client, user, password_checked_minutes_ago=11)

    checked = client.post(reverse(ENROL), {"password": PASSWORD, "next": "/admin/"})
    assert checked.status_code == 302 and checked["Location"].startswith(reverse(ENROL))
    page = client.get(checked["Location"])
    assert "mfa-qr" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    confirmed = client.post(reverse(ENROL), {"code": totp_code(device), "next": "/admin/"})

    assert confirmed.status_code == 200 and len(confirmed.context["codes"]) == 10
    assert event_names() == ["mfa.password_confirmed", "mfa.enrolment_started", "mfa.enrolled",
                             "mfa.backup_codes_generated"]
    enrolled = AuditEvent.objects.get(event="mfa.enrolled")
    assert enrolled.actor_id == user.pk and enrolled.extra["password_checked_at"]


def test_enrol_page_wrong_password_is_refused_and_counts_as_a_failed_login(client):
    logged_in(client, StaffFactory(), password_checked_minutes_ago=None)

    response = client.post(reverse(ENROL), {"password": "not the password"})

    assert response.status_code == 200 and "The password is not correct." in response.content.decode()
    assert not TOTPDevice.objects.exists()
    assert event_names("login.failed") == ["login.failed"] and event_names() == []


def test_enrol_page_code_after_the_check_expired_asks_for_the_password_again(client):
    user = StaffFactory()
    logged_in(client, user, password_checked_minutes_ago=0)
    client.get(reverse(ENROL))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    logged_in(client, user, password_checked_minutes_ago=30)

    response = client.post(reverse(ENROL), {"code": totp_code(device)})

    assert response.status_code == 200 and 'type="password"' in response.content.decode()
    assert not mfa.has_device(user)


# --- Enrolment API ----------------------------------------------------------------------------------------
def api_session(user, *, password_checked_minutes_ago: int | None) -> APIClient:
    return logged_in(APIClient(), user, password_checked_minutes_ago=password_checked_minutes_ago)


@pytest.mark.parametrize("minutes_ago", [None, 11])
def test_api_enrol_without_a_recent_password_check_is_403(minutes_ago):
    client = api_session(StaffFactory(), password_checked_minutes_ago=minutes_ago)

    response = client.post(reverse("api:mfa-totp-enrol"))

    assert response.status_code == 403 and response.json()["code"] == "password_check_required"
    assert not TOTPDevice.objects.exists()


def test_api_enrol_with_the_password_is_allowed_and_the_wrong_one_is_400():
    user = StaffFactory()
    client = api_session(user, password_checked_minutes_ago=None)

    wrong = client.post(reverse("api:mfa-totp-enrol"), {"password": "not the password"}, format="json")
    assert wrong.status_code == 400 and "password" in str(wrong.json())
    started = client.post(reverse("api:mfa-totp-enrol"), {"password": PASSWORD}, format="json")

    assert started.status_code == 201 and started.json()["secret"]
    assert event_names() == ["mfa.password_confirmed", "mfa.enrolment_started"]


def test_api_confirm_needs_the_check_too():
    user = StaffFactory()
    client = api_session(user, password_checked_minutes_ago=0)
    client.post(reverse("api:mfa-totp-enrol"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    session = client.session
    session[mfa.SESSION_PASSWORD_CHECKED_AT] = (timezone.now() - timedelta(hours=1)).isoformat()
    session.save()

    refused = client.post(reverse("api:mfa-totp-confirm"), {"code": totp_code(device)}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "password_check_required"
    confirmed = client.post(reverse("api:mfa-totp-confirm"), {"code": totp_code(device), "password": PASSWORD},
                            format="json")

    assert confirmed.status_code == 200 and mfa.has_device(user)


# --- Reset of a lost device -------------------------------------------------------------------------------
@pytest.fixture
def victim(client):
    """A staff user with an authenticator, backup codes and a live session (``client``)."""
    user = StaffFactory(username="victim")
    TOTPDeviceFactory(user=user)
    StaticDevice.objects.create(user=user, name=mfa.BACKUP_DEVICE_NAME)
    client.force_login(user)
    return user


def assert_reset(victim, client, actor_label: str):
    assert not TOTPDevice.objects.filter(user=victim).exists()
    assert not StaticDevice.objects.filter(user=victim).exists()
    event = AuditEvent.objects.get(event="mfa.reset")
    assert event.actor_label == actor_label and event.object_id == str(victim.pk)
    assert len(event.extra["devices"]) == 2 and event.extra["sessions_ended"] == 1
    # Logged out: the admin sends the old session to the login page.
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("admin:login"))


def assert_not_reset(victim):
    assert TOTPDevice.objects.filter(user=victim).exists() and StaticDevice.objects.filter(user=victim).exists()
    assert not AuditEvent.objects.filter(event="mfa.reset").exists()


def reset_in_admin(admin_client, victim):
    return admin_client.post(reverse("admin:accounts_user_changelist"),
                             {"action": "reset_second_factor", "_selected_action": [victim.pk]}, format="multipart")


def test_admin_action_by_a_superuser_resets_audits_and_logs_out(world, victim, client):
    response = reset_in_admin(world.client("superuser"), victim)

    assert response.status_code == 302
    assert_reset(victim, client, "superuser")
    assert world.client("superuser").get(reverse("admin:index")).status_code == 200  # their own session stays


@pytest.mark.parametrize("persona", ["workspace_admin", "auditor"])
def test_admin_action_is_not_offered_to_staff_who_may_only_view_users(world, victim, persona):
    world.users[persona].is_staff = True
    world.users[persona].save(update_fields=["is_staff"])
    admin_client = world.client(persona)

    page = admin_client.get(reverse("admin:accounts_user_changelist"))
    reset_in_admin(admin_client, victim)

    assert page.status_code == 200 and "reset_second_factor" not in page.content.decode()
    assert_not_reset(victim)


def test_admin_action_by_staff_with_the_change_user_permission_but_not_superuser_is_refused(world, victim):
    staff = world.users["workspace_admin"]
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    staff.user_permissions.add(Permission.objects.get(codename="change_user", content_type__app_label="accounts"))

    response = reset_in_admin(world.client("workspace_admin"), victim)

    assert response.status_code == 302
    assert_not_reset(victim)


def test_api_reset_by_a_superuser_resets_audits_and_logs_out(world, victim, client):
    response = world.client("superuser").post(reverse("api:user-reset-mfa", args=[victim.pk]))

    assert response.status_code == 204
    assert_reset(victim, client, "superuser")


def test_api_reset_with_a_superuser_token_is_refused(world, victim):
    response = bearer_client(world.users["superuser"]).post(reverse("api:user-reset-mfa", args=[victim.pk]))

    assert response.status_code == 403 and response.json()["code"] == "mfa_required"
    assert_not_reset(victim)


def test_reset_mfa_command_resets_as_the_system(victim, client):
    out = io.StringIO()

    call_command("reset_mfa", "victim", stdout=out)

    assert "2 devices removed, 1 session ended" in out.getvalue()
    assert_reset(victim, client, "system")


def test_reset_mfa_command_for_an_unknown_user_fails():
    UserFactory(username="someone")
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("reset_mfa", "nobody", stdout=io.StringIO())


def test_after_a_reset_the_next_login_enrols_again(world, victim, client):
    reset_in_admin(world.client("superuser"), victim)
    client.post(reverse("admin:login"), {"username": "victim", "password": PASSWORD})

    to_enrol = client.get(reverse("admin:index"))

    assert to_enrol["Location"].startswith(reverse(ENROL))
    assert "mfa-qr" in client.get(to_enrol["Location"]).content.decode()


def test_a_superuser_cannot_reset_their_own_second_factor(world):
    superuser = world.users["superuser"]
    client = world.client("superuser")

    by_api = client.post(reverse("api:user-reset-mfa", args=[superuser.pk]))
    in_admin = reset_in_admin(client, superuser)

    assert by_api.status_code == 400 and in_admin.status_code == 302
    assert mfa.has_device(superuser) and not AuditEvent.objects.filter(event="mfa.reset").exists()
