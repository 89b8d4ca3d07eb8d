"""The stock Django admins Racine keeps (users, groups, the organization, API tokens) bypass the services, so they
audit their own saves. Regressions: a superuser could make anyone a superuser, hand out model-level permissions,
lower the organization's lockout and retention policies and bring a revoked API token back to life from the admin,
and none of it reached the audit trail."""
from datetime import timedelta

from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.authentication import api_token_create, api_token_revoke
from accounts.models import ApiToken, AuditEvent, Organization, User


def form_data(client, url) -> dict:
    """The admin form's current values, as the browser would post them back."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or field.disabled:
            continue
        if hasattr(value, "all"):
            value = [item.pk for item in value.all()]
        elif isinstance(value, (list, tuple)):
            value = [getattr(item, "pk", item) for item in value]
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = value
    return data


def test_making_a_user_superuser_in_the_admin_is_audited(world):
    client, target = world.client("superuser"), world.user("analyst")
    url = reverse("admin:accounts_user_change", args=[target.pk])
    data = {**form_data(client, url), "is_superuser": "on", "is_staff": "on",
            "date_joined_0": "2024-01-01", "date_joined_1": "00:00:00"}
    data.pop("date_joined", None)
    data.pop("last_login", None)

    response = client.post(url, data, format="multipart")

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(pk=target.pk).is_superuser
    event = AuditEvent.objects.get(event="user.changed", object_id=str(target.pk))
    assert event.changes["is_superuser"] == [False, True]
    assert event.changes["is_staff"] == [False, True]
    assert event.actor_id == world.user("superuser").pk


def test_model_level_permission_granted_in_the_user_admin_is_audited(world):
    client, target = world.client("superuser"), world.user("analyst")
    url = reverse("admin:accounts_user_change", args=[target.pk])
    permission = Permission.objects.get(content_type__app_label="accounts", codename="view_auditevent")
    data = {**form_data(client, url), "user_permissions": [permission.pk],
            "date_joined_0": "2024-01-01", "date_joined_1": "00:00:00"}
    data.pop("date_joined", None)
    data.pop("last_login", None)

    response = client.post(url, data, format="multipart")

    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(event="user.changed", object_id=str(target.pk))
    assert event.changes["user_permissions"] == [[], ["accounts.view_auditevent"]]


def test_password_set_in_the_admin_is_audited_without_the_password(world):
    client, target = world.client("superuser"), world.user("analyst")
    url = reverse("admin:auth_user_password_change", args=[target.pk])
    secret = "A-very-long-new-passphrase-42"

    response = client.post(url, {"password1": secret, "password2": secret, "usable_password": "true"},
                           format="multipart")

    assert response.status_code == 302
    event = AuditEvent.objects.get(event="user.password_changed", object_id=str(target.pk))
    assert secret not in str(event.changes) + str(event.extra)


def test_user_deleted_in_the_admin_is_audited(world):
    client, target = world.client("superuser"), world.user("outsider")
    url = reverse("admin:accounts_user_delete", args=[target.pk])

    response = client.post(url, {"post": "yes"}, format="multipart")

    assert response.status_code == 302
    assert not User.objects.filter(pk=target.pk).exists()
    event = AuditEvent.objects.get(event="user.deleted", object_id=str(target.pk))
    assert event.changes["username"] == ["outsider", None]


def test_permission_added_to_a_group_in_the_admin_is_audited(world):
    client = world.client("superuser")
    group = Group.objects.create(name="Readers")
    permission = Permission.objects.get(content_type__app_label="accounts", codename="view_auditevent")
    url = reverse("admin:auth_group_change", args=[group.pk])

    response = client.post(url, {"name": "Readers", "permissions": [permission.pk]}, format="multipart")

    assert response.status_code == 302
    event = AuditEvent.objects.get(event="group.changed", object_id=str(group.pk))
    assert event.changes["permissions"] == [[], ["accounts.view_auditevent"]]


def test_organization_policy_change_in_the_admin_is_audited(world):
    client = world.client("superuser")
    organization = Organization.objects.get()
    url = reverse("admin:accounts_organization_change", args=[organization.pk])
    data = {**form_data(client, url), "lockout_failures": 1000, "audit_retention_days": 1}
    data["mfa_required_roles"] = "[]"

    response = client.post(url, data, format="multipart")

    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(event="organization.changed")
    assert event.changes["lockout_failures"][1] == 1000
    assert event.changes["audit_retention_days"][1] == 1
    assert event.actor_id == world.user("superuser").pk


def test_revoked_token_cannot_be_revived_in_the_admin(world):
    api_token, _ = api_token_create(user=world.user("analyst"), name="ci", scope="write", acting_user=SYSTEM,
                                    expires_at=timezone.now() + timedelta(days=1))
    api_token_revoke(api_token=api_token, acting_user=SYSTEM)
    url = reverse("admin:accounts_apitoken_change", args=[api_token.pk])

    response = world.client("superuser").post(url, {"revoked_at_0": "", "revoked_at_1": ""}, format="multipart")

    assert response.status_code == 403
    assert ApiToken.objects.get(pk=api_token.pk).revoked_at is not None


def test_token_revoked_from_the_admin_action_is_audited_and_not_deleted(world):
    api_token, _ = api_token_create(user=world.user("analyst"), name="ci", scope="write", acting_user=SYSTEM,
                                    expires_at=timezone.now() + timedelta(days=1))
    url = reverse("admin:accounts_apitoken_changelist")

    response = world.client("superuser").post(
        url, {"action": "revoke_selected", "_selected_action": [api_token.pk]}, format="multipart")

    assert response.status_code == 302
    assert ApiToken.objects.get(pk=api_token.pk).revoked_at is not None
    assert AuditEvent.objects.filter(event="token.revoked", object_id=str(api_token.pk)).count() == 1
    delete_url = reverse("admin:accounts_apitoken_delete", args=[api_token.pk])
    assert world.client("superuser").post(delete_url, {"post": "yes"}, format="multipart").status_code == 403
