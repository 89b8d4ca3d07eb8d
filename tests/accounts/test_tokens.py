"""API tokens at rest and in use: no usable secret stored, expiry, revocation, scope, create_token."""
from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.authentication import api_token_create, api_token_revoke, token_with_user
from accounts.models import ApiToken, AuditEvent
from tests.support.factories import OrganizationFactory, UserFactory

ME = "/api/v1/me/"


def make_token(user, *, scope=ApiToken.Scope.WRITE, days: int = 1) -> tuple[ApiToken, str]:
    return api_token_create(user=user, name="ci", scope=scope, acting_user=user,
                            expires_at=timezone.now() + timedelta(days=days))


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.mark.django_db
def test_token_table_row_holds_no_usable_secret():
    user = UserFactory()
    api_token, secret = make_token(user)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table} WHERE id = %s", [api_token.pk])
        row = cursor.fetchone()
    stored = [str(value) for value in row if value is not None]

    assert secret not in stored and not any(secret in value for value in stored)
    for value in stored:
        for candidate in (value, f"rac_{api_token.prefix}_{value}"):
            assert bearer(candidate).get(ME).status_code == 401, candidate
    assert bearer(secret).get(ME).status_code == 200  # the secret itself works, so the 401s mean something


@pytest.mark.django_db
def test_expired_token_is_401():
    api_token, secret = make_token(UserFactory())
    ApiToken.objects.filter(pk=api_token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = bearer(secret).get(ME)

    assert response.status_code == 401 and response.json()["code"] == "invalid_token"


@pytest.mark.django_db
def test_revoked_token_is_401():
    user = UserFactory()
    api_token, secret = make_token(user)
    api_token_revoke(api_token=api_token, acting_user=user)

    assert bearer(secret).get(ME).status_code == 401


@pytest.mark.django_db
def test_token_of_deactivated_user_is_401():
    user = UserFactory()
    _, secret = make_token(user)
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert bearer(secret).get(ME).status_code == 401


@pytest.mark.django_db
def test_token_use_records_last_used_at():
    api_token, secret = make_token(UserFactory())

    bearer(secret).get(ME)

    api_token.refresh_from_db()
    assert api_token.last_used_at is not None


@pytest.mark.django_db
def test_read_scope_token_unsafe_method_is_403():
    _, secret = make_token(UserFactory(), scope=ApiToken.Scope.READ)

    response = bearer(secret).post("/api/v1/tokens/", {"name": "x", "scope": "read",
                                                       "expires_at": timezone.now() + timedelta(days=1)})

    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


@pytest.mark.django_db
def test_revoke_twice_records_one_event():
    user = UserFactory()
    api_token, _ = make_token(user)

    api_token_revoke(api_token=api_token, acting_user=user)
    api_token_revoke(api_token=api_token, acting_user=user)

    assert AuditEvent.objects.filter(event="token.revoked").count() == 1


@pytest.mark.django_db
def test_create_beyond_organization_lifetime_is_refused():
    OrganizationFactory(max_token_lifetime_days=7)

    with pytest.raises(ValidationError):
        make_token(UserFactory(), days=8)
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_create_token_command_prints_working_token_once():
    user = UserFactory(username="svc")
    out = StringIO()

    call_command("create_token", "--user", "svc", "--name", "etl", "--scope", "read", "--days", "30", stdout=out)

    secret = next(line for line in out.getvalue().splitlines() if line.startswith("rac_"))
    assert bearer(secret).get(ME).status_code == 200
    api_token = ApiToken.objects.get(user=user)
    assert api_token.scope == "read" and api_token.secret_hash != secret
    event = AuditEvent.objects.get(event="token.created")
    assert event.actor is None and event.extra["prefix"] == api_token.prefix


@pytest.mark.django_db
def test_create_token_command_beyond_lifetime_fails():
    OrganizationFactory(max_token_lifetime_days=30)
    UserFactory(username="svc")

    with pytest.raises(CommandError, match="at most 30 days"):
        call_command("create_token", "--user", "svc", "--name", "etl", "--scope", "write", "--days", "31",
                     stdout=StringIO())


@pytest.mark.django_db
def test_create_token_command_unknown_user_fails():
    with pytest.raises(CommandError, match="No user"):
        call_command("create_token", "--user", "nobody", "--name", "x", "--scope", "read", "--days", "1",
                     stdout=StringIO())


@pytest.mark.django_db
def test_token_look_up_reads_what_select_related_reads_in_one_statement():
    user = UserFactory()
    api_token, _ = make_token(user)
    expected = ApiToken.objects.select_related("user").get(prefix=api_token.prefix)
    with CaptureQueriesContext(connection) as queries:
        found = token_with_user(api_token.prefix)
        assert found.user.username == user.username  # the user comes with the token, no second statement
    assert len(queries) == 1
    fields = ApiToken._meta.concrete_fields
    assert {f.attname: getattr(found, f.attname) for f in fields} == {f.attname: getattr(expected, f.attname)
                                                                      for f in fields}
    user_fields = type(user)._meta.concrete_fields
    assert {f.attname: getattr(found.user, f.attname) for f in user_fields} == {
        f.attname: getattr(expected.user, f.attname) for f in user_fields}
    assert not found._state.adding and found.user._state.db == expected.user._state.db
    assert token_with_user("0" * 10) is None
