from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts import audit, services
from accounts.actors import SYSTEM
from accounts.models import AppendOnlyError, AuditEvent, Workspace
from config.request_id import _current
from tests.support.factories import AuditEventFactory, OrganizationFactory, UserFactory, WorkspaceFactory
from tests.support.personas import verified_client

pytestmark = pytest.mark.django_db


def test_record_takes_actor_ip_agent_and_request_id_from_request():
    user = UserFactory(username="alice")
    request = RequestFactory().get("/", HTTP_USER_AGENT="curl/8", REMOTE_ADDR="192.0.2.7")
    request.user = user
    token = _current.set("req-123")
    try:
        event = audit.record(event="secret.accessed", request=request, extra={"field": "password"})
    finally:
        _current.reset(token)
    assert (event.actor, event.actor_label, event.ip, event.user_agent, event.request_id) == (
        user, "alice", "192.0.2.7", "curl/8", "req-123")


def test_record_for_anonymous_request_labels_anonymous():
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.8")
    request.user = AnonymousUser()
    event = audit.record(event="login.failed", request=request, extra={"username": "mallory"})
    assert (event.actor, event.actor_label, event.extra) == (None, "anonymous", {"username": "mallory"})


def test_record_derives_workspace_and_target_from_object():
    workspace = WorkspaceFactory()
    event = audit.record(event="workspace.changed", obj=workspace)
    assert (event.workspace, event.content_type.model, event.object_id, event.object_repr) == (
        workspace, "workspace", str(workspace.pk), str(workspace))
    assert event.actor_label == audit.SYSTEM_ACTOR_LABEL


def test_diff_keeps_changed_fields_and_redacts_secrets():
    before = {"name": "crm", "password": "hunter2", "api_key": "k1", "host": "db", "comment": "x"}
    after = {"name": "crm2", "password": "hunter3", "api_key": "k1", "host": "db", "comment": "y"}
    assert audit.diff(before, after, redact=["comment"]) == {
        "name": ["crm", "crm2"], "password": ["***", "***"], "comment": ["***", "***"]}


def test_record_redacts_secret_names_and_model_audit_redact():
    workspace = WorkspaceFactory()
    Workspace.audit_redact = ["description"]
    try:
        event = audit.record(event="workspace.changed", obj=workspace,
                             changes={"description": ["a", "b"], "token": "rac_x", "name": ["a", "b"]},
                             extra={"client_secret": "s"})
    finally:
        del Workspace.audit_redact
    assert event.changes == {"description": ["***", "***"], "token": "***", "name": ["a", "b"]}
    assert event.extra == {"client_secret": "***"}


def test_snapshot_renders_foreign_keys_and_dates_as_json():
    workspace = WorkspaceFactory()
    snap = audit.snapshot(workspace, ["organization", "created_at", "name"])
    assert snap == {"organization": workspace.organization_id, "created_at": workspace.created_at.isoformat(),
                    "name": workspace.name}


def test_client_ip_uses_last_forwarded_hop_only_behind_proxy(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.4")
    settings.SECURE_PROXY_SSL_HEADER = None
    assert audit.client_ip(request) == "10.0.0.1"
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert audit.client_ip(request) == "198.51.100.4"


# --- append-only --------------------------------------------------------------------------------------------


def test_saved_event_cannot_be_saved_again():
    event = AuditEventFactory()
    event.event = "forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).event != "forged"


def test_event_cannot_be_deleted_by_instance_or_queryset():
    event = AuditEventFactory()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_events_cannot_be_updated_by_queryset():
    event = AuditEventFactory()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(event="forged")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["event"])
    assert AuditEvent.objects.get(pk=event.pk).event != "forged"


def test_deleting_actor_and_workspace_keeps_their_events():
    user = UserFactory(username="leaver")
    workspace = WorkspaceFactory()
    event = audit.record(event="workspace.changed", actor=user, obj=workspace)
    user_pk, workspace_pk = user.pk, workspace.pk
    services.user_delete(user=user, acting_user=SYSTEM)
    services.workspace_delete(workspace=workspace, acting_user=SYSTEM)
    event = AuditEvent.objects.get(pk=event.pk)
    assert (event.actor_id, event.actor_label, event.workspace_id) == (user_pk, "leaver", workspace_pk)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
@pytest.mark.parametrize("statement", ["UPDATE accounts_auditevent SET event = 'forged' WHERE id = %s",
                                       "DELETE FROM accounts_auditevent WHERE id = %s"])
def test_postgresql_trigger_refuses_raw_update_and_delete(statement):
    event = AuditEventFactory()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).event == event.event


# --- retention ------------------------------------------------------------------------------------------------


def _aged(days: int) -> AuditEvent:
    return AuditEventFactory(created_at=timezone.now() - timedelta(days=days))


def test_prune_deletes_only_events_older_than_retention():
    OrganizationFactory(audit_retention_days=30)
    old, recent = _aged(31), _aged(29)
    assert services.audit_events_prune() == 1
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert AuditEvent.objects.filter(pk=recent.pk).exists()
    pruned = AuditEvent.objects.get(event="audit.pruned")
    assert pruned.extra["deleted"] == 1 and pruned.extra["retention_days"] == 30


def test_prune_command_dry_run_deletes_nothing(capsys):
    OrganizationFactory(audit_retention_days=10)
    old = _aged(11)
    call_command("prune_audit_events", "--dry-run")
    assert "1 audit events would be deleted" in capsys.readouterr().out
    assert AuditEvent.objects.filter(pk=old.pk).exists()
    call_command("prune_audit_events")
    assert "1 audit events deleted" in capsys.readouterr().out
    assert not AuditEvent.objects.filter(pk=old.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_postgresql_prune_setting_does_not_outlive_its_transaction():
    OrganizationFactory(audit_retention_days=1)
    _aged(2)
    assert services.audit_events_prune() == 1
    survivor = AuditEventFactory()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_auditevent WHERE id = %s", [survivor.pk])


def test_prune_task_uses_organization_retention():
    from accounts.tasks import audit_events_prune_task

    OrganizationFactory(audit_retention_days=5)
    _aged(6)
    assert audit_events_prune_task.delay().get() == 1


# --- admin ------------------------------------------------------------------------------------------------------


def _staff_client(world, persona):
    user = world.user(persona)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return verified_client(user)


def test_admin_audit_event_pages_are_read_only(world):
    client = _staff_client(world, "auditor")
    event = AuditEventFactory(event="test.in_a", workspace=world.workspace_a)
    assert client.get(reverse("admin:accounts_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_auditevent_change", args=[event.pk])).status_code == 200
    assert client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:accounts_auditevent_change", args=[event.pk]),
                       {"event": "forged"}, format="multipart").status_code == 403
    assert client.post(reverse("admin:accounts_auditevent_delete", args=[event.pk]),
                       {"post": "yes"}, format="multipart").status_code == 403
    superuser = verified_client(world.user("superuser"))
    assert superuser.post(reverse("admin:accounts_auditevent_delete", args=[event.pk]),
                          {"post": "yes"}, format="multipart").status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).event == "test.in_a"


def test_admin_changelists_show_only_the_workspace_admins_rows(world):
    client = _staff_client(world, "workspace_admin")
    AuditEventFactory(event="test.in_b", workspace=world.workspace_b, object_repr="secret-b-object")
    memberships = client.get(reverse("admin:accounts_membership_changelist")).content.decode()
    assert "other_workspace_user" not in memberships and "analyst" in memberships
    workspaces = client.get(reverse("admin:accounts_workspace_changelist")).content.decode()
    assert "Workspace A" in workspaces and "Workspace B" not in workspaces
    events = client.get(reverse("admin:accounts_auditevent_changelist")).content.decode()
    assert "secret-b-object" not in events
    other = world.memberships["other_workspace_user"]
    response = client.get(reverse("admin:accounts_membership_change", args=[other.pk]))
    assert response.status_code == 302  # Django's admin answers "does not exist" by redirecting to the index


def test_admin_membership_change_goes_through_service_and_audit(world):
    client = _staff_client(world, "workspace_admin")
    membership = world.memberships["analyst"]
    response = client.post(reverse("admin:accounts_membership_change", args=[membership.pk]),
                           {"role": "data_owner"}, format="multipart")
    assert response.status_code == 302, response.content[:500]
    membership.refresh_from_db()
    assert membership.role == "data_owner"
    event = AuditEvent.objects.get(event="membership.changed")
    assert (event.actor_label, event.changes) == ("workspace_admin", {"role": ["analyst", "data_owner"]})


def test_admin_steward_without_membership_rights_cannot_change_memberships(world):
    client = _staff_client(world, "steward")
    membership = world.memberships["analyst"]
    response = client.post(reverse("admin:accounts_membership_change", args=[membership.pk]),
                           {"role": "workspace_admin"}, format="multipart")
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role == "analyst"
