"""/api/v1/suggestions/ under the permission matrix: members read the suggestions of the assets they see, who may
curate an asset decides its suggestions (accept applies them, dismiss keeps them from coming back), auditors read
everything; a decided suggestion answers 409, never 500."""
import pytest
from django.urls import reverse

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import curation
from catalog.models import Asset, GlossaryTerm, GlossaryTermAsset, Suggestion
from catalog.suggestions import term_fingerprint
from tests.catalog.curation_factories import GlossaryTermFactory
from tests.catalog.suggestion_factories import column_in, suggestion_in
from tests.support.permission_matrix import PermissionMatrix, table

pytestmark = pytest.mark.django_db


class TestSuggestionMatrix(PermissionMatrix):
    basename = "suggestion"
    expected = table(
        "list retrieve_a retrieve_b accept_a accept_b dismiss_a dismiss_b bulk",
        anonymous=           "401 401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403 403",
        analyst=             "200 200 404 403 404 403 404 403",
        steward=             "200 200 404 200 404 200 404 200",
        workspace_admin=     "200 200 404 200 404 200 404 200",
        auditor=             "200 200 200 403 403 403 403 403",
        other_workspace_user="200 404 200 404 200 404 200 404",
        staff_unverified=    "403 403 403 403 403 403 403 403",
        superuser=           "200 200 200 200 200 200 200 200",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB", "other_workspace_user": "B",
               "superuser": "AB"}

    def objects(self, world):
        return suggestion_in(world.workspace_a), suggestion_in(world.workspace_b)

    def payload(self, world, action):
        return {"ids": [Suggestion.objects.filter(asset__data_source__workspace=world.workspace_a).get().pk],
                "decision": "dismissed"}


def url(row=None, route="detail"):
    return reverse(f"api:suggestion-{route}", args=[row.pk] if row else [])


def test_accepting_a_description_writes_it_and_deciding_again_is_a_409(world):
    row = suggestion_in(world.workspace_a)
    client = world.client("steward")
    response = client.post(url(row, "accept"))
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert Asset.objects.get(pk=row.asset_id).description == row.description
    assert AuditEvent.objects.filter(event="asset.changed", object_id=str(row.asset_id), actor_label="steward").exists()
    again = client.post(url(row, "dismiss"))
    assert again.status_code == 409
    problem = again.json()
    assert problem["code"] == "already_decided" and "already accepted by steward" in problem["detail"]


def test_an_owner_decides_on_what_they_own_and_each_decision_is_audited(world):
    """The analyst reads suggestions, and decides those of an asset they own (as its curator); the decision is an
    audit row of its own, beside the change accepting made."""
    owned, other = suggestion_in(world.workspace_a), suggestion_in(world.workspace_a)
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Contact address")
    linked = Suggestion.objects.create(asset=owned.asset, kind="term", rule="lookalike", term=term,
                                       fingerprint=term_fingerprint(term.pk), reason="Same name and type.")
    analyst = world.user("analyst")
    curation.asset_owner_add(asset=owned.asset, user=analyst, owner_type="business", acting_user=SYSTEM)
    client = world.client("analyst")
    assert client.post(url(other, "dismiss")).status_code == 403
    assert client.post(url(owned, "accept")).status_code == 200
    assert client.post(url(linked, "accept")).status_code == 200
    assert list(GlossaryTermAsset.objects.filter(asset=owned.asset).values_list("term", "linked_by")) == [
        (term.pk, analyst.pk)]
    accepted = {row.extra["kind"]: row for row in AuditEvent.objects.filter(event="suggestion.accepted")}
    assert {row.actor for row in accepted.values()} == {analyst}
    assert accepted["term"].extra["term"] == "Contact address" and accepted["term"].extra["asset"] == owned.asset_id
    assert accepted["description"].changes == {"status": ["open", "accepted"]}
    assert AuditEvent.objects.filter(event="asset.term_linked", object_id=str(owned.asset_id), actor=analyst).exists()
    assert world.client("steward").post(url(other, "dismiss")).status_code == 200
    dismissed = AuditEvent.objects.get(event="suggestion.dismissed")
    assert (dismissed.actor, dismissed.extra["asset"], dismissed.changes) == (
        world.user("steward"), other.asset_id, {"status": ["open", "dismissed"]})
    assert Asset.objects.get(pk=other.asset_id).description == ""  # dismissing writes nothing on the asset


def test_accepting_a_term_deprecated_since_is_a_400(world):
    column = column_in(world.workspace_a)
    term = GlossaryTermFactory(workspace=world.workspace_a, status=GlossaryTerm.Status.DEPRECATED)
    row = Suggestion.objects.create(asset=column, kind="term", rule="lookalike", term=term,
                                    fingerprint=term_fingerprint(term.pk), reason="Same name and type.")
    response = world.client("steward").post(url(row, "accept"))
    assert response.status_code == 400 and "deprecated" in str(response.json())
    row.refresh_from_db()
    assert row.status == Suggestion.Status.OPEN


def test_bulk_is_all_or_none(world):
    first, second = suggestion_in(world.workspace_a), suggestion_in(world.workspace_a)
    client = world.client("steward")
    assert client.post(url(second, "dismiss")).status_code == 200
    response = client.post(url(route="bulk"), {"ids": [first.pk, second.pk], "decision": "accepted"},
                           format="json")
    assert response.status_code == 409 and "1 of these 2 suggestions were already decided" in response.json()["detail"]
    first.refresh_from_db()
    assert first.status == Suggestion.Status.OPEN
    response = client.post(url(route="bulk"), {"ids": [first.pk], "decision": "accepted"}, format="json")
    assert response.status_code == 200
    assert [item["status"] for item in response.json()["suggestions"]] == ["accepted"]


def test_bulk_refuses_a_bad_decision_and_hidden_ids(world):
    client = world.client("steward")
    mine, theirs = suggestion_in(world.workspace_a), suggestion_in(world.workspace_b)
    assert client.post(url(route="bulk"), {"ids": [mine.pk], "decision": "maybe"}, format="json").status_code == 400
    assert client.post(url(route="bulk"), {"ids": [mine.pk, theirs.pk], "decision": "dismissed"},
                       format="json").status_code == 404
    # An id no database integer holds is a 400 (SQLite raised OverflowError: a 500).
    assert client.post(url(route="bulk"), {"ids": [10**30], "decision": "dismissed"},
                       format="json").status_code == 400


def test_the_list_filters_by_asset_kind_and_status(world):
    first, second = suggestion_in(world.workspace_a), suggestion_in(world.workspace_a)
    client = world.client("steward")
    client.post(url(second, "dismiss"))
    ids = lambda **query: [item["id"] for item in client.get(url(route="list"), query).json()["results"]]  # noqa: E731
    assert ids(status="open") == [first.pk]
    assert ids(asset=second.asset_id) == [second.pk]
    assert ids(kind="term") == []
    assert client.get(url(route="list"), {"status": "maybe"}).status_code == 400


@pytest.mark.parametrize("query", ["/api/v1/suggestions/?asset=99999999999999999999999",
                                   "/api/v1/suggestions/?data_source=-99999999999999999999999",
                                   "/api/v1/property-definitions/?workspace=99999999999999999999999"])
def test_an_id_filter_past_a_database_integer_is_a_400(world, query):
    # SQLite raised OverflowError counting the page: a 500.
    response = world.client("steward").get(query)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == query.split("?")[1].split("=")[0]
