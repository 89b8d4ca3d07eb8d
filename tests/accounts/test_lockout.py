"""Who a lockout locks out (issue 9, item 5). Regression: five bad passwords for one user refused the correct
password of every other user from the same address for 15 minutes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import lockout
from accounts.models import AuditEvent, LoginFailure, Organization
from tests.accounts.test_login import attempt, form_errors
from tests.accounts.test_mfa import PASSWORD, StaffFactory
from tests.support.factories import OrganizationFactory

OFFICE = "198.51.100.7"
ELSEWHERE = "203.0.113.9"


@pytest.fixture
def policy(db):
    return OrganizationFactory(lockout_failures=5, lockout_address_accounts=4, lockout_minutes=15)


def fail(username: str, times: int = 1, ip: str = OFFICE) -> None:
    for _ in range(times):
        attempt(username, "wrong password", ip=ip)


def test_innocent_user_from_the_same_address_logs_in(policy):
    StaffFactory(username="alice")
    StaffFactory(username="bob")
    fail("alice", 5)

    assert form_errors(attempt("alice", PASSWORD)) == [lockout.LOCKED_MESSAGE]
    assert attempt("bob", PASSWORD).status_code == 302


def test_account_locked_from_one_address_still_logs_in_from_another(policy):
    StaffFactory(username="alice")
    fail("alice", 5)

    assert attempt("alice", PASSWORD, ip=ELSEWHERE).status_code == 302
    assert form_errors(attempt("alice", PASSWORD)) == [lockout.LOCKED_MESSAGE]


def test_fewer_failures_than_the_limit_leave_the_pair_open(policy):
    StaffFactory(username="alice")
    fail("alice", 4)

    assert attempt("alice", PASSWORD).status_code == 302


def test_failures_across_distinct_accounts_block_the_address(policy):
    StaffFactory(username="bob")
    fail("carol")
    fail("dave")
    fail("erin")
    assert attempt("bob", PASSWORD).status_code == 302  # three accounts: below the limit of four

    fail("frank")  # the fourth distinct account: credential stuffing

    assert form_errors(attempt("bob", PASSWORD)) == [lockout.LOCKED_MESSAGE]
    assert attempt("bob", PASSWORD, ip=ELSEWHERE).status_code == 302
    locked = AuditEvent.objects.filter(event="login.locked_out").get()
    assert locked.extra["scope"] == [lockout.ADDRESS] and locked.extra["ip"] == OFFICE


def test_many_failures_for_one_account_do_not_block_the_address(policy):
    StaffFactory(username="bob")
    fail("alice", 12)

    assert attempt("bob", PASSWORD).status_code == 302


def test_attempts_refused_by_a_lockout_are_not_counted(policy):
    StaffFactory(username="alice")
    fail("alice", 5)

    fail("alice", 3)  # refused before any password check

    assert LoginFailure.objects.count() == 5
    assert list(AuditEvent.objects.filter(event="login.failed").values_list("extra__reason", flat=True)
                .order_by("pk"))[5:] == ["locked_out"] * 3


def test_lockout_lifts_once_its_failures_are_older_than_the_window(policy):
    StaffFactory(username="alice")
    fail("alice", 5)
    LoginFailure.objects.update(created_at=timezone.now() - timedelta(minutes=15, seconds=1))

    assert attempt("alice", PASSWORD).status_code == 302


def test_expired_failures_are_dropped_as_new_ones_arrive(policy):
    fail("alice", 2)
    LoginFailure.objects.update(created_at=timezone.now() - timedelta(minutes=16))

    fail("bob")

    assert LoginFailure.objects.count() == 1


def test_unknown_names_count_towards_the_address_block(policy):
    StaffFactory(username="bob")
    for name in ("nobody1", "nobody2", "nobody3", "nobody4"):
        fail(name)

    assert form_errors(attempt("bob", PASSWORD)) == [lockout.LOCKED_MESSAGE]


def test_failures_are_kept_without_the_typed_name(policy):
    fail("alice")

    assert "alice" not in str(list(LoginFailure.objects.values()))


def test_address_threshold_is_set_and_audited_in_the_organization_admin(world):
    from tests.accounts.test_admin_audit import form_data

    client = world.client("superuser")
    organization = Organization.objects.get()
    url = reverse("admin:accounts_organization_change", args=[organization.pk])
    data = {**form_data(client, url), "mfa_required_roles": "[]"}

    refused = client.post(url, {**data, "lockout_address_accounts": 1}, format="multipart")
    accepted = client.post(url, {**data, "lockout_address_accounts": 50}, format="multipart")

    assert refused.status_code == 200 and "lockout_address_accounts" in refused.context["adminform"].form.errors
    assert accepted.status_code == 302
    event = AuditEvent.objects.get(event="organization.changed")
    assert event.changes["lockout_address_accounts"] == [20, 50]
    assert lockout.policy().address_accounts == 50


def _unlock_in_admin(client, user):
    return client.post(reverse("admin:accounts_user_changelist"),
                       {"action": "unlock_login", "_selected_action": [user.pk]}, format="multipart")


def test_a_superuser_unlocks_a_locked_account_from_the_users_admin(world):
    # The locked message tells the user to ask an administrator: the admin must offer the means.
    alice = StaffFactory(username="alice")
    fail("alice", 5)
    assert form_errors(attempt("alice", PASSWORD)) == [lockout.LOCKED_MESSAGE]

    response = _unlock_in_admin(world.client("superuser"), alice)

    assert response.status_code == 302
    assert attempt("alice", PASSWORD).status_code == 302
    event = AuditEvent.objects.get(event="login.unlocked")
    assert event.actor_label == "superuser" and event.object_id == str(alice.pk)
    assert event.extra == {"failures_forgotten": 5}


def test_staff_who_are_not_superusers_cannot_unlock(world):
    alice = StaffFactory(username="alice")
    fail("alice", 5)
    staff = world.users["workspace_admin"]
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])

    _unlock_in_admin(world.client("workspace_admin"), alice)

    assert form_errors(attempt("alice", PASSWORD)) == [lockout.LOCKED_MESSAGE]
    assert not AuditEvent.objects.filter(event="login.unlocked").exists()
