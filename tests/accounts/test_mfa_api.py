"""/api/v1/mfa/… and the MFA gate on session API use."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.authentication import api_token_create
from accounts.models import ApiToken, AuditEvent
from accounts.roles import Role
from tests.accounts.test_mfa import StaffFactory, TOTPDeviceFactory, totp_code
from tests.support.factories import OrganizationFactory, UserFactory, WorkspaceFactory, membership
from tests.support.permission_matrix import PermissionMatrix, table

ME = "/api/v1/me/"


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def bearer_client(user, scope: str = ApiToken.Scope.WRITE) -> APIClient:
    _, secret = api_token_create(user=user, name="t", scope=scope, acting_user=user,
                                 expires_at=timezone.now() + timedelta(days=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


# --- The gate ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_staff_session_without_mfa_gets_mfa_required():
    response = session_client(StaffFactory()).get(ME)

    assert response.status_code == 403 and response.json()["code"] == "mfa_required"


@pytest.mark.django_db
def test_staff_session_after_api_verify_is_allowed():
    user = StaffFactory()
    device = TOTPDeviceFactory(user=user)
    client = session_client(user)

    verified = client.post(reverse("api:mfa-verify"), {"code": totp_code(device)})

    assert verified.status_code == 200 and verified.json()["verified"] is True
    assert client.get(ME).status_code == 200


@pytest.mark.django_db
def test_role_listed_in_mfa_required_roles_session_gets_mfa_required():
    organization = OrganizationFactory(mfa_required_roles=[Role.DATA_STEWARD])
    user = UserFactory()
    membership(user, WorkspaceFactory(organization=organization), Role.DATA_STEWARD)

    response = session_client(user).get(ME)

    assert response.status_code == 403 and response.json()["code"] == "mfa_required"


@pytest.mark.django_db
def test_role_not_listed_in_mfa_required_roles_session_is_allowed():
    organization = OrganizationFactory(mfa_required_roles=[Role.DATA_STEWARD])
    user = UserFactory()
    membership(user, WorkspaceFactory(organization=organization), Role.ANALYST)

    assert session_client(user).get(ME).status_code == 200


@pytest.mark.django_db
def test_staff_token_request_is_not_asked_for_mfa():
    # django-otp never wraps token users: no is_verified() on them. The gate must not call it, nor refuse.
    response = bearer_client(StaffFactory(is_superuser=True)).get(ME)

    assert response.status_code == 200


@pytest.mark.django_db
def test_forced_authentication_of_staff_without_device_gets_mfa_required():
    client = APIClient()
    client.force_authenticate(StaffFactory())  # not a session and not a token: the gate fails closed

    response = client.get(ME)

    assert response.status_code == 403 and response.json()["code"] == "mfa_required"


@pytest.mark.django_db
def test_anonymous_gets_401_not_mfa_required():
    response = APIClient().get(ME)

    assert response.status_code == 401


# --- Endpoints --------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_status_for_unverified_staff_is_reachable():
    user = StaffFactory()
    TOTPDeviceFactory(user=user)

    response = session_client(user).get(reverse("api:mfa-list"))

    assert response.status_code == 200
    assert response.json() == {"enrolled": True, "verified": False, "required": True, "backup_codes_remaining": 0}


@pytest.mark.django_db
def test_enrol_then_confirm_returns_backup_codes_and_verifies_session():
    user = StaffFactory()
    client = session_client(user)

    started = client.post(reverse("api:mfa-totp-enrol"))
    assert started.status_code == 201
    body = started.json()
    assert body["otpauth_url"].startswith("otpauth://totp/Racine") and body["qr_svg"].startswith("<svg")
    device = user.totpdevice_set.get(confirmed=False)

    confirmed = client.post(reverse("api:mfa-totp-confirm"), {"code": totp_code(device)})

    assert confirmed.status_code == 200 and len(confirmed.json()["backup_codes"]) == 10
    assert client.get(ME).status_code == 200
    assert AuditEvent.objects.filter(event="mfa.enrolled", actor=user).exists()


@pytest.mark.django_db
def test_enrol_with_confirmed_device_is_409():
    user = StaffFactory()
    TOTPDeviceFactory(user=user)

    response = session_client(user).post(reverse("api:mfa-totp-enrol"))

    assert response.status_code == 409 and response.json()["code"] == "mfa_already_enrolled"


@pytest.mark.django_db
def test_verify_replayed_code_is_400():
    user = StaffFactory()
    device = TOTPDeviceFactory(user=user)
    code = totp_code(device)
    assert session_client(user).post(reverse("api:mfa-verify"), {"code": code}).status_code == 200

    replay = session_client(user).post(reverse("api:mfa-verify"), {"code": code})

    assert replay.status_code == 400 and replay.json()["errors"][0]["code"] == "invalid_code"


@pytest.mark.django_db
def test_verify_after_wrong_code_is_429_with_retry_after():
    user = StaffFactory()
    device = TOTPDeviceFactory(user=user)
    client = session_client(user)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    assert client.post(reverse("api:mfa-verify"), {"code": wrong}).status_code == 400

    response = client.post(reverse("api:mfa-verify"), {"code": totp_code(device)})

    assert response.status_code == 429 and response.json()["code"] == "mfa_throttled"
    assert int(response["Retry-After"]) >= 1
    assert AuditEvent.objects.filter(event="mfa.failed", actor=user).count() == 2


@pytest.mark.django_db
def test_backup_codes_regenerate_from_unverified_session_is_mfa_required():
    user = StaffFactory()
    TOTPDeviceFactory(user=user)

    response = session_client(user).post(reverse("api:mfa-backup-codes"))

    assert response.status_code == 403 and response.json()["code"] == "mfa_required"


@pytest.mark.django_db
def test_backup_codes_regenerate_from_verified_session_returns_ten():
    user = StaffFactory()
    device = TOTPDeviceFactory(user=user)
    client = session_client(user)
    client.post(reverse("api:mfa-verify"), {"code": totp_code(device)})

    response = client.post(reverse("api:mfa-backup-codes"))

    assert response.status_code == 200 and len(response.json()["backup_codes"]) == 10
    assert AuditEvent.objects.filter(event="mfa.backup_codes_generated", actor=user).exists()


@pytest.mark.django_db
def test_disable_right_after_verify_is_204_and_gate_closes_again():
    user = StaffFactory()
    device = TOTPDeviceFactory(user=user)
    client = session_client(user)
    client.post(reverse("api:mfa-verify"), {"code": totp_code(device)})

    response = client.post(reverse("api:mfa-disable"), {})

    assert response.status_code == 204
    assert client.get(ME).json()["code"] == "mfa_required"
    assert AuditEvent.objects.filter(event="mfa.disabled", actor=user).exists()


@pytest.mark.django_db
def test_disable_from_unverified_session_without_code_is_403():
    user = StaffFactory()
    TOTPDeviceFactory(user=user)

    response = session_client(user).post(reverse("api:mfa-disable"), {})

    assert response.status_code == 403 and response.json()["code"] == "fresh_verification_required"
    assert user.totpdevice_set.exists()


@pytest.mark.django_db
def test_token_cannot_enrol_or_verify():
    user = UserFactory()
    client = bearer_client(user)

    assert client.post(reverse("api:mfa-totp-enrol")).json()["code"] == "session_required"
    assert client.post(reverse("api:mfa-verify"), {"code": "123456"}).json()["code"] == "session_required"


@pytest.mark.django_db
def test_token_status_reports_not_a_verified_session():
    response = bearer_client(UserFactory()).get(reverse("api:mfa-list"))

    assert response.status_code == 200 and response.json()["verified"] is False



# --- Permission matrix ------------------------------------------------------------------------------------
class TestMfaMatrix(PermissionMatrix):
    """Every logged-in persona reaches its own second factor, verified or not (these endpoints are how a
    session gets verified). Verified personas already hold a device, so enrolling again is a conflict; the
    unverified staff persona has none, so it may start enrolling but has nothing to verify or disable."""

    basename = "mfa"
    expected = table(
        "list totp_enrol totp_confirm verify backup_codes disable",
        anonymous=           "401 401 401 401 401 401",
        outsider=            "200 409 409 400 200 403",
        analyst=             "200 409 409 400 200 403",
        steward=             "200 409 409 400 200 403",
        workspace_admin=     "200 409 409 400 200 403",
        auditor=             "200 409 409 400 200 403",
        other_workspace_user="200 409 409 400 200 403",
        staff_unverified=    "200 201 409 409 409 409",
        superuser=           "200 409 409 400 200 403",
    )

    def payload(self, world, action):
        # Never a valid code: this matrix is about who reaches what, the code paths have their own tests.
        return {"code": "zzzzzzzz"} if action in ("verify", "totp_confirm") else {}
