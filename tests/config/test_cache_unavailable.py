"""With the cache (Redis) down, the API keeps serving and logins keep their lockout (issue 9, item 4).

Regression: every authenticated API call was a 500 (DRF's throttles read their history from the cache), and so
was every login (lockout counters and the login rate limit). Throttles now fail open with a logged error and a
metric; the lockout is kept in the database, so it still refuses exactly the account and address under attack.
"""
from __future__ import annotations

import logging
import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts import lockout
from config import cache_guard
from tests.accounts.test_mfa import PASSWORD, StaffFactory, TOTPDeviceFactory, totp_code
from tests.support.dead_services import dead_port
from tests.support.factories import OrganizationFactory, UserFactory

ME = "/api/v1/me/"
ADMIN_LOGIN = "/admin/login/"
DOWN_KINDS = ["closed", "black_hole"]


@pytest.fixture(params=DOWN_KINDS)
def cache_down(request, cache_at):
    """The Django cache pointed at a Redis that refuses connections, or at one that accepts and never answers."""
    with dead_port(request.param) as port:
        cache_at(f"redis://127.0.0.1:{port}/0")
        yield request.param


def decisions_without_cache(purpose: str) -> float:
    # From the counter itself: REGISTRY.get_sample_value() would run every registered collector, Racine's
    # database-counted ones included, whose reads of the (dead) cache would be logged first.
    return next((sample.value for family in cache_guard.DECISIONS_WITHOUT_CACHE.collect()
                 for sample in family.samples
                 if sample.name.endswith("_total") and sample.labels == {"purpose": purpose}), 0.0)


def login(username: str, password: str, ip: str = "198.51.100.7"):
    return Client(REMOTE_ADDR=ip).post(ADMIN_LOGIN, {"username": username, "password": password, "next": "/admin/"})


@pytest.mark.django_db
def test_authenticated_api_calls_are_served_and_the_outage_logged_and_counted(cache_down, caplog):
    client = APIClient()
    client.force_login(UserFactory())
    before = decisions_without_cache("api_throttle_user")

    with caplog.at_level(logging.ERROR, logger="config.cache_guard"):
        first = client.get(ME)
    started = time.monotonic()
    second = client.get(ME)
    second_took = time.monotonic() - started

    assert first.status_code == second.status_code == 200
    assert decisions_without_cache("api_throttle_user") == before + 2
    assert [record.message for record in caplog.records
            if record.name == "config.cache_guard"][0].startswith("cache unreachable, api_throttle_user")
    # The failure is remembered: the next request does not wait for a silent cache's timeout again.
    assert second_took < 0.4


@pytest.mark.django_db
def test_login_lockout_holds_for_the_account_under_attack_only(cache_down):
    OrganizationFactory(lockout_failures=3)
    StaffFactory(username="alice")
    StaffFactory(username="bob")
    for _ in range(3):
        assert login("alice", "wrong password").status_code == 200

    refused = login("alice", PASSWORD)

    assert list(refused.context["form"].non_field_errors()) == [lockout.LOCKED_MESSAGE]
    assert login("bob", PASSWORD).status_code == 302
    assert login("alice", PASSWORD, ip="203.0.113.9").status_code == 302
    assert decisions_without_cache("login_rate") > 0


@pytest.mark.django_db
def test_second_factor_is_checked_without_the_cache(cache_down):
    user = StaffFactory()
    device = TOTPDeviceFactory(user=user)
    client = APIClient()
    client.force_login(user)

    wrong = client.post("/api/v1/mfa/verify/", {"code": "000000" if totp_code(device) != "000000" else "111111"})
    right = client.post("/api/v1/mfa/verify/", {"code": totp_code(device)})

    assert wrong.status_code == 400 and wrong.json()["code"] == "validation_error"
    # django-otp's per-device throttle, kept in the database, still applies: right after a failure it waits.
    assert right.status_code == 429 and right.json()["code"] == "mfa_throttled"


def test_the_cache_is_tried_again_after_the_pause(monkeypatch):
    calls = []

    def failing():
        calls.append("tried")
        raise ConnectionError("down")

    monkeypatch.setattr(cache_guard, "RETRY_AFTER_S", 0.05)
    try:
        assert cache_guard.guarded("test", failing, fallback="open") == "open"
        assert cache_guard.guarded("test", failing, fallback="open") == "open"  # within the pause: not tried
        time.sleep(0.06)
        assert cache_guard.guarded("test", lambda: "closed", fallback="open") == "closed"
    finally:
        cache_guard.retry_now()

    assert calls == ["tried"]
