"""Login protection: lockout per (account, address) and per address on every login path, no user enumeration, rate
limit. The policy itself (who is and is not locked out) is tested in test_lockout.py."""
from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import lockout
from accounts.models import AuditEvent
from tests.accounts.test_mfa import PASSWORD, StaffFactory
from tests.support.factories import OrganizationFactory

ADMIN_LOGIN = "/admin/login/"
API_LOGIN = "/api-auth/login/"


@pytest.fixture
def policy(db):
    return OrganizationFactory(lockout_failures=3, lockout_address_accounts=4, lockout_minutes=15)


def attempt(username: str, password: str, *, ip: str = "198.51.100.7", url: str = ADMIN_LOGIN):
    return Client(REMOTE_ADDR=ip).post(url, {"username": username, "password": password, "next": "/admin/"})


def form_errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def test_unknown_user_and_wrong_password_get_identical_responses(policy):
    StaffFactory(username="alice")

    unknown = attempt("mallory", "wrong password 1", ip="198.51.100.1")
    wrong = attempt("alice", "wrong password 1", ip="198.51.100.2")

    assert unknown.status_code == wrong.status_code == 200
    assert form_errors(unknown) == form_errors(wrong) != []


def test_nth_failure_for_an_account_from_an_address_locks_it_even_with_right_password(policy):
    StaffFactory(username="alice")
    for _ in range(3):
        attempt("alice", "wrong password", ip="198.51.100.1")

    response = attempt("alice", PASSWORD, ip="198.51.100.1")

    assert response.status_code == 200 and form_errors(response) == [lockout.LOCKED_MESSAGE]
    assert "_auth_user_id" not in response.client.session


def test_lockout_message_is_the_same_for_an_unknown_username(policy):
    StaffFactory(username="alice")
    for name in ("alice", "mallory"):
        for _ in range(3):
            attempt(name, "wrong password", ip="198.51.100.1")

    existing = attempt("alice", "wrong password", ip="198.51.100.1")
    unknown = attempt("mallory", "wrong password", ip="198.51.100.1")

    assert form_errors(existing) == form_errors(unknown) == [lockout.LOCKED_MESSAGE]


def test_fewer_failures_than_the_limit_do_not_lock(policy):
    StaffFactory(username="alice")
    for _ in range(2):
        attempt("alice", "wrong password")

    assert attempt("alice", PASSWORD).status_code == 302


def test_successful_login_resets_the_failures_of_its_account_and_address(policy):
    StaffFactory(username="alice")
    for _ in range(2):
        attempt("alice", "wrong password", ip="198.51.100.1")
    assert attempt("alice", PASSWORD, ip="198.51.100.1").status_code == 302

    for _ in range(2):
        attempt("alice", "wrong password", ip="198.51.100.1")

    assert attempt("alice", PASSWORD, ip="198.51.100.1").status_code == 302


def test_lockout_applies_to_drf_login_and_direct_authenticate(policy):
    user = StaffFactory(username="alice")
    for _ in range(3):
        attempt("alice", "wrong password", ip="198.51.100.1")
    same_address = RequestFactory().post("/", REMOTE_ADDR="198.51.100.1")

    api_login = attempt("alice", PASSWORD, ip="198.51.100.1", url=API_LOGIN)

    assert api_login.status_code == 200 and "_auth_user_id" not in api_login.client.session
    assert authenticate(same_address, username="alice", password=PASSWORD) is None
    lockout.unlock(username="alice")
    assert authenticate(same_address, username="alice", password=PASSWORD) == user


def test_failures_on_the_drf_login_count_towards_the_lockout(policy):
    StaffFactory(username="alice")
    for _ in range(3):
        attempt("alice", "wrong password", ip="198.51.100.1", url=API_LOGIN)

    assert form_errors(attempt("alice", PASSWORD, ip="198.51.100.1")) == [lockout.LOCKED_MESSAGE]


def test_login_events_are_audited_with_username_and_address(policy):
    user = StaffFactory(username="alice")
    for _ in range(3):
        attempt("mallory", "wrong password", ip="198.51.100.60")
    attempt("alice", PASSWORD, ip="198.51.100.61")

    failed = AuditEvent.objects.filter(event="login.failed").order_by("pk")
    assert failed.count() == 3
    assert failed[0].extra["username"] == "mallory" and failed[0].extra["ip"] == "198.51.100.60"
    assert failed[0].actor is None and str(failed[0].ip) == "198.51.100.60"
    locked = AuditEvent.objects.get(event="login.locked_out")
    assert locked.extra["scope"] == [lockout.ACCOUNT_FROM_ADDRESS]
    assert AuditEvent.objects.get(event="login.succeeded").actor == user
    assert "password" not in str(list(AuditEvent.objects.values_list("extra", flat=True)))


def test_password_in_a_failed_attempt_never_reaches_the_trail(policy):
    attempt("alice", "hunter2-secret-guess")

    assert "hunter2" not in str(list(AuditEvent.objects.values("extra", "changes")))


def test_login_posts_beyond_the_rate_get_429(db, settings):
    settings.RACINE_LOGIN_RATE = "2/minute"
    client = Client(REMOTE_ADDR="198.51.100.90")
    for _ in range(2):
        assert client.post(ADMIN_LOGIN, {"username": "u", "password": "p"}).status_code == 200

    throttled = client.post(ADMIN_LOGIN, {"username": "u", "password": "p"})

    assert throttled.status_code == 429 and int(throttled["Retry-After"]) >= 1
    assert Client(REMOTE_ADDR="198.51.100.91").post(ADMIN_LOGIN, {"username": "u", "password": "p"}
                                                    ).status_code == 200


def test_login_page_get_is_not_rate_limited(db, settings):
    settings.RACINE_LOGIN_RATE = "1/minute"
    client = Client()

    assert [client.get(reverse("admin:login")).status_code for _ in range(3)] == [200, 200, 200]
