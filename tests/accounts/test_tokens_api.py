"""/api/v1/tokens/: created only from an MFA-verified session, shown once, capped lifetime, own tokens only."""
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
from tests.support.personas import verified_client

LIST = "/api/v1/tokens/"


def token_body(days: float = 1, **overrides) -> dict:
    return {"name": "ci", "scope": "write",
            "expires_at": (timezone.now() + timedelta(days=days)).isoformat(), **overrides}


def verified_session(user) -> APIClient:
    """A session verified through the real API verify endpoint."""
    device = TOTPDeviceFactory(user=user)
    client = APIClient()
    client.force_login(user)
    assert client.post(reverse("api:mfa-verify"), {"code": totp_code(device)}).status_code == 200
    return client


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def own_token(user, scope=ApiToken.Scope.WRITE) -> tuple[ApiToken, str]:
    return api_token_create(user=user, name="existing", scope=scope, acting_user=user,
                            expires_at=timezone.now() + timedelta(days=1))


class TestApiTokenMatrix(PermissionMatrix):
    """Tokens belong to a user, not a workspace: A is the steward's token, B the other workspace user's.
    Each persona sees and revokes only its own; nobody (superusers included) reaches another user's."""

    basename = "apitoken"
    expected = table(
        "list create retrieve_a retrieve_b destroy_a destroy_b revoke_a revoke_b",
        anonymous=           "401 401 401 401 401 401 401 401",
        outsider=            "200 201 404 404 404 404 404 404",
        analyst=             "200 201 404 404 404 404 404 404",
        steward=             "200 201 200 404 204 404 200 404",
        workspace_admin=     "200 201 404 404 404 404 404 404",
        auditor=             "200 201 404 404 404 404 404 404",
        other_workspace_user="200 201 404 200 404 204 404 200",
        staff_unverified=    "403 403 403 403 403 403 403 403",
        superuser=           "200 201 404 404 404 404 404 404",
    )
    visible = {"steward": "A", "other_workspace_user": "B"}

    def objects(self, world):
        return own_token(world.user("steward"))[0], own_token(world.user("other_workspace_user"))[0]

    def payload(self, world, action):
        return token_body()


@pytest.mark.django_db
def test_create_from_unverified_session_is_mfa_required():
    client = APIClient()
    client.force_login(UserFactory())  # MFA not required for this user, but a token needs a verified session

    response = client.post(LIST, token_body())

    assert response.status_code == 403 and response.json()["code"] == "mfa_required"
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_create_from_unverified_staff_session_is_mfa_required():
    user = StaffFactory()
    TOTPDeviceFactory(user=user)
    client = APIClient()
    client.force_login(user)

    response = client.post(LIST, token_body())

    assert response.status_code == 403 and response.json()["code"] == "mfa_required"


@pytest.mark.django_db
def test_create_with_a_token_is_refused():
    user = UserFactory()
    _, secret = own_token(user)

    response = bearer(secret).post(LIST, token_body())

    assert response.status_code == 403 and response.json()["code"] == "mfa_required"
    assert ApiToken.objects.count() == 1


@pytest.mark.django_db
def test_create_from_verified_session_shows_secret_once():
    user = UserFactory()
    client = verified_session(user)

    created = client.post(LIST, token_body(scope="read"))

    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("rac_") and created.json()["scope"] == "read"
    listed = client.get(LIST).json()["results"]
    assert [row["prefix"] for row in listed] == [created.json()["prefix"]] and "token" not in listed[0]
    assert "token" not in client.get(reverse("api:apitoken-detail", args=[created.json()["id"]])).json()
    assert bearer(secret).get("/api/v1/me/").json()["username"] == user.username
    assert AuditEvent.objects.filter(event="token.created", actor=user).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", [
    {"name": "ci", "scope": "write"},  # no expiry
    token_body(days=-1),
    token_body(days=8),
    token_body(scope="admin"),
], ids=["no-expiry", "past", "beyond-lifetime", "unknown-scope"])
def test_create_with_invalid_expiry_or_scope_is_400(body):
    OrganizationFactory(max_token_lifetime_days=7)
    client = verified_session(UserFactory())

    response = client.post(LIST, body)

    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_create_at_the_lifetime_cap_is_allowed():
    OrganizationFactory(max_token_lifetime_days=7)

    response = verified_session(UserFactory()).post(LIST, token_body(days=6.99))

    assert response.status_code == 201


@pytest.mark.django_db
def test_update_of_a_token_is_405():
    user = UserFactory()
    api_token, _ = own_token(user)
    client = verified_session(user)

    response = client.patch(reverse("api:apitoken-detail", args=[api_token.pk]), {"scope": "write"})

    assert response.status_code == 405


@pytest.mark.django_db
def test_revoke_by_delete_makes_token_401_and_is_audited():
    user = UserFactory()
    api_token, secret = own_token(user)
    client = verified_session(user)

    assert client.delete(reverse("api:apitoken-detail", args=[api_token.pk])).status_code == 204

    assert bearer(secret).get("/api/v1/me/").status_code == 401
    event = AuditEvent.objects.get(event="token.revoked")
    assert event.actor == user and event.extra["prefix"] == api_token.prefix


@pytest.mark.django_db
def test_write_token_revokes_itself_with_post_revoke():
    user = UserFactory()
    api_token, secret = own_token(user)

    response = bearer(secret).post(reverse("api:apitoken-revoke", args=[api_token.pk]))

    assert response.status_code == 200 and response.json()["revoked_at"]
    assert bearer(secret).get(LIST).status_code == 401


@pytest.mark.django_db
def test_read_token_cannot_revoke():
    user = UserFactory()
    api_token, secret = own_token(user, scope=ApiToken.Scope.READ)

    response = bearer(secret).delete(reverse("api:apitoken-detail", args=[api_token.pk]))

    assert response.status_code == 403
    api_token.refresh_from_db()
    assert api_token.revoked_at is None


@pytest.mark.django_db
def test_write_token_cannot_do_more_than_its_user():
    organization = OrganizationFactory()
    workspace = WorkspaceFactory(organization=organization)
    analyst = UserFactory()
    membership(analyst, workspace, Role.ANALYST)
    _, secret = own_token(analyst, scope=ApiToken.Scope.WRITE)
    admin_client = verified_client(UserFactory(is_staff=True, is_superuser=True))
    detail = reverse("api:workspace-detail", args=[workspace.pk])
    assert admin_client.patch(detail, {"description": "by admin"}).status_code == 200  # the write exists

    assert bearer(secret).get(detail).status_code == 200
    assert bearer(secret).patch(detail, {"description": "by token"}).status_code == 403
    workspace.refresh_from_db()
    assert workspace.description == "by admin"
