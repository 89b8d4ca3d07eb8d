import csv
import io
from datetime import timedelta, timezone

import pytest
from django.urls import reverse

from accounts import audit
from accounts.models import AuditEvent
from tests.support.factories import AuditEventFactory
from tests.support.permission_matrix import PermissionMatrix, table


class TestAuditEventMatrix(PermissionMatrix):
    basename = "auditevent"
    expected = table(
        "list retrieve_a retrieve_b export",
        anonymous=           "401 401 401 401",
        outsider=            "403 403 403 403",
        analyst=             "403 403 403 403",
        steward=             "403 403 403 403",
        workspace_admin=     "200 200 404 200",
        auditor=             "200 200 200 200",
        other_workspace_user="403 403 403 403",
        staff_unverified=    "403 403 403 403",
        superuser=           "200 200 200 200",
    )
    visible = {"workspace_admin": "A", "auditor": "AB", "superuser": "AB"}

    def objects(self, world):
        return (AuditEventFactory(event="test.in_a", workspace=world.workspace_a),
                AuditEventFactory(event="test.in_b", workspace=world.workspace_b))


def _url(pk=None):
    return reverse("api:auditevent-detail", args=[pk]) if pk else reverse("api:auditevent-list")


@pytest.mark.parametrize("persona", ["workspace_admin", "auditor", "superuser"])
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_audit_events_cannot_be_changed_through_api(world, persona, method):
    event = AuditEventFactory(event="test.in_a", workspace=world.workspace_a)
    response = getattr(world.client(persona), method)(_url(event.pk), {"event": "forged"}, format="json")
    assert response.status_code in (403, 405)
    event.refresh_from_db()
    assert event.event == "test.in_a"
    post = world.client(persona).post(_url(), {"event": "forged"}, format="json")
    assert post.status_code in (403, 405)
    assert not AuditEvent.objects.filter(event="forged").exists()


def test_workspace_admin_export_contains_only_their_workspace(world):
    AuditEventFactory(event="test.in_b", workspace=world.workspace_b)
    AuditEventFactory(event="login.failed", workspace=None)
    response = world.client("workspace_admin").get(reverse("api:auditevent-export"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="audit-events.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows and {row["workspace"] for row in rows} == {str(world.workspace_a.pk)}


def test_export_applies_filters_and_neutralises_formulas(world):
    audit.record(event="test.formula", workspace=world.workspace_a, extra={}, obj=None)
    AuditEvent.objects.create(event="test.formula", workspace=world.workspace_a, object_repr="=HYPERLINK(1)")
    response = world.client("auditor").get(reverse("api:auditevent-export") + "?event=test.formula")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2
    assert "'=HYPERLINK(1)" in {row["object_repr"] for row in rows}


@pytest.mark.parametrize("query", ["?workspace={b}", "?event=membership.", "?object_type=accounts.membership",
                                   "?actor={other}", "?search=other_workspace_user"])
def test_audit_filters_never_reveal_other_workspace(world, query):
    url = _url() + query.format(b=world.workspace_b.pk, other=world.user("other_workspace_user").pk)
    response = world.client("workspace_admin").get(url)
    assert response.status_code == 200
    assert all(row["workspace"] == world.workspace_a.pk for row in response.json()["results"])


def test_filters_by_event_prefix_object_and_date_range(world):
    membership = world.memberships["analyst"]
    client = world.client("auditor")
    by_prefix = client.get(_url() + "?event=membership.").json()["results"]
    assert by_prefix and all(row["event"].startswith("membership.") for row in by_prefix)
    by_object = client.get(_url() + f"?object_type=accounts.membership&object_id={membership.pk}").json()
    assert [row["object_id"] for row in by_object["results"]] == [str(membership.pk)]
    future = client.get(_url() + "?created_at_after=2999-01-01T00:00:00Z").json()
    assert future["results"] == []


def test_date_range_takes_any_iso_offset_and_compares_in_utc(world):
    client = world.client("auditor")
    event = AuditEventFactory(event="token.created", workspace=world.workspace_a)
    # PostgreSQL refuses offsets beyond ±15:59 (this one was a 500); the bound is the event's instant, so it is in.
    at_odd_offset = event.created_at.astimezone(timezone(timedelta(hours=16, minutes=5))).isoformat()
    response = client.get(_url(), {"event": "token.created", "created_at_after": at_odd_offset})
    assert [row["id"] for row in response.json()["results"]] == [event.pk]
    too_early = client.get(_url(), {"created_at_before": "0001-01-01T00:00:00+16:00"})
    assert too_early.status_code == 400 and too_early.json()["errors"][0]["field"] == "created_at"


def test_login_failed_without_workspace_is_visible_to_auditors_only(world):
    AuditEventFactory(event="login.failed", workspace=None)
    assert client_events(world, "auditor", "login.failed") == 1
    assert client_events(world, "workspace_admin", "login.failed") == 0


def client_events(world, persona, event):
    return world.client(persona).get(_url() + f"?event={event}").json()["count"]
