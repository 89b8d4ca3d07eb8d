"""The outbox's admin page: operators (superusers, or users granted core.view_event / core.retry_event) list the
dead letters and send them again, audited; stewards and viewers without the retry grant cannot."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.urls import reverse

from accounts.models import AuditEvent
from core.events import record_event
from core.models import Event
from tests.catalog.factories import DataSourceFactory
from tests.scanning.test_admin import staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_letter():
    with transaction.atomic():
        event = record_event("thing.happened", DataSourceFactory(), {"n": 1})
    Event.objects.filter(pk=event.pk).update(status=Event.Status.DEAD, attempts=6, last_error="ValueError: nope")
    return event


def operator(world, persona, *codenames):
    user = world.user(persona)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="core", codename__in=codenames))
    return staff(world, persona)


def retry(client, event):
    return client.post(reverse("admin:core_event_changelist"),
                       {"action": "retry_dead_letters", "_selected_action": [event.pk]})


def test_a_superuser_lists_dead_letters_and_retries_them_audited(world, dead_letter):
    client = staff(world, "superuser")
    page = client.get(reverse("admin:core_event_changelist"), {"status__exact": "dead"})
    assert page.status_code == 200 and "thing.happened" in page.content.decode()
    detail = client.get(reverse("admin:core_event_change", args=[dead_letter.pk]))
    assert detail.status_code == 200 and "ValueError: nope" in detail.content.decode()
    assert retry(client, dead_letter).status_code == 302
    dead_letter.refresh_from_db()
    assert (dead_letter.status, dead_letter.attempts) == (Event.Status.PENDING, 0)
    audit = AuditEvent.objects.get(event="event.retried")
    assert audit.actor == world.user("superuser") and audit.object_id == str(dead_letter.pk)


def test_an_operator_needs_the_retry_grant_to_retry(world, dead_letter):
    viewer = operator(world, "auditor", "view_event")
    assert viewer.get(reverse("admin:core_event_changelist")).status_code == 200
    retry(viewer, dead_letter)
    dead_letter.refresh_from_db()
    assert dead_letter.status == Event.Status.DEAD  # the action is not offered to a viewer
    assert not AuditEvent.objects.filter(event="event.retried").exists()

    retrier = operator(world, "workspace_admin", "view_event", "retry_event")
    retry(retrier, dead_letter)
    dead_letter.refresh_from_db()
    assert dead_letter.status == Event.Status.PENDING


@pytest.mark.parametrize("persona", ["steward", "workspace_admin", "auditor"])
def test_workspace_roles_do_not_see_the_outbox(world, dead_letter, persona):
    client = staff(world, persona)
    assert client.get(reverse("admin:core_event_changelist")).status_code == 403
    assert client.get(reverse("admin:core_event_change", args=[dead_letter.pk])).status_code in (302, 403)
    retry(client, dead_letter)
    dead_letter.refresh_from_db()
    assert dead_letter.status == Event.Status.DEAD


def test_the_retry_service_refuses_a_user_without_the_grant(world, dead_letter):
    from django.core.exceptions import PermissionDenied

    from core.events import dead_letters_retry

    with pytest.raises(PermissionDenied):
        dead_letters_retry(events=[dead_letter], acting_user=world.user("steward"))
