"""Suggestions in the back office: the "Suggestions" section of an asset's page (Accept / Dismiss for its curators,
the evidence for everyone who sees it), the list of open suggestions with bulk decisions, the home's count."""
import pytest
from django.urls import reverse

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import curation
from catalog.admin_assets import asset_url
from catalog.models import Asset, Suggestion
from tests.catalog.suggestion_factories import suggestion_in
from tests.support.personas import staff_client

pytestmark = pytest.mark.django_db


def test_the_asset_page_shows_suggestions_with_buttons_for_its_curators(world):
    row = suggestion_in(world.workspace_a, description="Where we **write** to them.")
    page = staff_client(world, "steward").get(asset_url(row.asset)).content.decode()
    assert 'id="asset-suggestions"' in page and "<strong>write</strong>" in page and row.reason in page
    assert f'value="accept:{row.pk}"' in page and f'value="dismiss:{row.pk}"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    read_only = staff_client(world, "analyst").get(asset_url(row.asset)).content.decode()
    assert row.reason in read_only and f'value="accept:{row.pk}"' not in read_only


def test_a_button_accepts_and_comes_back_to_the_page(world):
    row = suggestion_in(world.workspace_a)
    page = asset_url(row.asset)
    client = staff_client(world, "steward")
    response = client.post(reverse("admin:catalog_suggestion_decide"), {"decide": f"accept:{row.pk}", "next": page},
                           format="multipart")
    assert response.status_code == 302 and response["Location"] == page
    assert Asset.objects.get(pk=row.asset_id).description == row.description
    assert AuditEvent.objects.filter(event="suggestion.accepted", actor_label="steward").exists()
    again = client.post(reverse("admin:catalog_suggestion_decide"), {"decide": f"dismiss:{row.pk}", "next": page},
                        format="multipart", follow=True)
    assert "already accepted by steward" in again.content.decode()


def test_a_button_refuses_what_it_did_not_send_and_who_may_not_curate(world):
    row = suggestion_in(world.workspace_a)
    url = reverse("admin:catalog_suggestion_decide")
    assert staff_client(world, "steward").post(url, {"decide": "maybe:1"}, format="multipart").status_code == 400
    refused = staff_client(world, "analyst").post(url, {"decide": f"dismiss:{row.pk}"}, format="multipart",
                                                follow=True).content.decode()
    assert "You may not curate 1 of the 1 selected assets: nothing was changed." in refused
    row.refresh_from_db()
    assert row.status == Suggestion.Status.OPEN


def test_an_analyst_who_owns_the_asset_decides_its_suggestions_audited(world):
    row, other = suggestion_in(world.workspace_a), suggestion_in(world.workspace_a)
    analyst = world.user("analyst")
    curation.asset_owner_add(asset=row.asset, user=analyst, owner_type="business", acting_user=SYSTEM)
    client = staff_client(world, "analyst")
    assert f'value="dismiss:{row.pk}"' in client.get(asset_url(row.asset)).content.decode()
    assert f'value="dismiss:{other.pk}"' not in client.get(asset_url(other.asset)).content.decode()
    response = client.post(reverse("admin:catalog_suggestion_decide"), {"decide": f"dismiss:{row.pk}"},
                           format="multipart")
    assert response.status_code == 302
    dismissed = AuditEvent.objects.get(event="suggestion.dismissed")
    assert (dismissed.actor, dismissed.extra["asset"], dismissed.changes) == (
        analyst, row.asset_id, {"status": ["open", "dismissed"]})
    assert Suggestion.objects.get(pk=row.pk).status == Suggestion.Status.DISMISSED


def test_the_list_shows_open_suggestions_and_decides_in_bulk(world):
    rows = [suggestion_in(world.workspace_a) for _ in range(3)]
    theirs = suggestion_in(world.workspace_b)
    client = staff_client(world, "steward")
    listing = client.get(reverse("admin:catalog_suggestion_changelist")).content.decode()
    assert all(row.description in listing for row in rows) and theirs.description not in listing
    response = client.post(reverse("admin:catalog_suggestion_changelist"),
                           {"action": "dismiss_selected", "_selected_action": [row.pk for row in rows[:2]]},
                           format="multipart", follow=True)
    assert "2 suggestions dismissed." in response.content.decode()
    assert sorted(Suggestion.objects.filter(asset__data_source__workspace=world.workspace_a)
                  .values_list("status", flat=True)) == ["dismissed", "dismissed", "open"]
    still_open = client.get(reverse("admin:catalog_suggestion_changelist")).context["cl"].result_count
    assert still_open == 1


def test_the_home_counts_the_open_suggestions(world):
    suggestion_in(world.workspace_a)
    suggestion_in(world.workspace_b)
    page = staff_client(world, "steward").get(reverse("admin:index")).content.decode()
    assert 'id="panel-suggestions"' in page and 'data-count="suggestions">1</a>' in page
