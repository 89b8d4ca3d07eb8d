"""The browsable API's login (/api-auth/login/) goes through the same second factor as the admin's (issue 11,
item 6): the password alone leaves every API page answering ``mfa_required``; the TOTP code opens them."""
from __future__ import annotations

import pytest
from django.test import Client

from accounts import lockout
from accounts.roles import Role
from tests.accounts.test_mfa import PASSWORD, StaffFactory, TOTPDeviceFactory, totp_code
from tests.support.factories import OrganizationFactory, UserFactory, WorkspaceFactory, membership

pytestmark = pytest.mark.django_db

LOGIN = "/api-auth/login/"
ME = "/api/v1/me/"  # every signed-in user may read it
VERIFY = "/accounts/mfa/verify/"


def log_in(client: Client, username: str, password: str = PASSWORD, next_url: str = ME):
    return client.post(LOGIN, {"username": username, "password": password, "next": next_url})


def test_password_then_totp_code_opens_the_api():
    staff = StaffFactory(username="alice")
    device = TOTPDeviceFactory(user=staff)
    client = Client()

    response = log_in(client, "alice")
    assert response.status_code == 302 and response["Location"] == f"{VERIFY}?next=%2Fapi%2Fv1%2Fme%2F"

    refused = client.get(ME, HTTP_ACCEPT="application/json")  # the password alone is not enough
    assert refused.status_code == 403 and refused.json()["code"] == "mfa_required"

    page = client.get(response["Location"])
    assert page.status_code == 200 and 'name="code"' in page.content.decode()
    verified = client.post(VERIFY, {"code": totp_code(device), "next": ME})
    assert verified.status_code == 302 and verified["Location"] == ME
    assert client.get(ME, HTTP_ACCEPT="application/json").status_code == 200


def test_a_wrong_code_keeps_the_api_closed():
    staff = StaffFactory(username="alice")
    TOTPDeviceFactory(user=staff)
    client = Client()
    log_in(client, "alice")

    response = client.post(VERIFY, {"code": "000000", "next": ME})

    assert response.status_code == 200 and response.context["form"].errors["code"]
    assert client.get(ME, HTTP_ACCEPT="application/json").json()["code"] == "mfa_required"


def test_staff_without_an_authenticator_is_sent_to_enrol():
    StaffFactory(username="alice")
    response = log_in(Client(), "alice")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/mfa/enrol/?next=")


def test_member_whose_role_requires_mfa_is_sent_to_verify():
    organization = OrganizationFactory(mfa_required_roles=[Role.DATA_STEWARD])
    steward = UserFactory(username="sam")
    membership(steward, WorkspaceFactory(organization=organization), Role.DATA_STEWARD)
    TOTPDeviceFactory(user=steward)

    response = log_in(Client(), "sam")

    assert response.status_code == 302 and response["Location"].startswith(f"{VERIFY}?next=")


def test_user_without_mfa_requirement_or_device_goes_straight_to_the_api():
    UserFactory(username="eve")
    client = Client()
    response = log_in(client, "eve")
    assert response.status_code == 302 and response["Location"] == ME
    assert client.get(ME, HTTP_ACCEPT="application/json").status_code == 200


def test_login_without_next_lands_on_the_api_root():
    UserFactory(username="eve")
    response = Client().post(LOGIN, {"username": "eve", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/api/v1/"


def test_login_page_of_a_logged_in_unverified_session_leads_to_the_second_factor():
    staff = StaffFactory(username="alice")
    TOTPDeviceFactory(user=staff)
    client = Client()
    client.force_login(staff)

    response = client.get(f"{LOGIN}?next={ME}")

    assert response.status_code == 302 and response["Location"] == f"{VERIFY}?next=%2Fapi%2Fv1%2Fme%2F"


def test_an_external_next_is_not_followed():
    UserFactory(username="eve")
    response = log_in(Client(), "eve", next_url="https://evil.example/")
    assert response.status_code == 302 and response["Location"] == "/api/v1/"


def test_wrong_password_is_refused_without_a_session():
    StaffFactory(username="alice")
    client = Client()
    response = log_in(client, "alice", password="wrong")
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_locked_out_attempt_says_so_on_the_api_login_too():
    OrganizationFactory(lockout_failures=2, lockout_address_accounts=4, lockout_minutes=15)
    StaffFactory(username="alice")
    client = Client(REMOTE_ADDR="198.51.100.9")
    for _ in range(2):
        log_in(client, "alice", password="wrong")
    response = log_in(client, "alice")
    assert list(response.context["form"].non_field_errors()) == [lockout.LOCKED_MESSAGE]
