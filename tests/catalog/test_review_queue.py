"""The review queue in the admin (catalog.admin_review): suggestions grouped by source and table with their evidence in
words, decided one by one or in bulk through the catalog services — scoped, permission-checked, CSRF-protected
and audited — at a constant number of queries; the manual classification's typeahead on qualified names."""
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from catalog.models import AssetClassification
from tests.catalog.classification_factories import AssetClassificationFactory, asset_tree, builtin
from tests.catalog.factories import DataSourceFactory
from tests.support.factories import membership
from tests.support.personas import verified_client

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:catalog_assetclassification_review")
DECIDE = reverse("admin:catalog_assetclassification_decide")
EVIDENCE = {"match_share": 0.9667, "values_sampled": 200, "non_null": 180, "distinct": 41, "name_signal": "email",
            "validator": "email", "masked_examples": ["j***@e***.com", "a***@b***.org"],
            "reasons": ["97% of values valid (email)", "column name 'email'"],
            "alternatives": [{"classification": "PII.USERNAME", "confidence": 0.41}]}


def staff(world, persona):
    user = world.user(persona)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return verified_client(user)


def suggestions(workspace, *, table="customers", columns=("email", "contact"), source=None, confidence=0.9):
    source = source or DataSourceFactory(workspace=workspace, name=f"{workspace.name} {table} source")
    *_, cols = asset_tree(source, table=table, columns=dict.fromkeys(columns, "text"))
    return [AssetClassificationFactory(asset=cols[name], classification=builtin("PII.EMAIL"), evidence=EVIDENCE,
                                       confidence=confidence - index / 100)
            for index, name in enumerate(columns)]


def test_the_queue_groups_a_stewards_suggestions_by_source_and_table_with_evidence_in_words(world):
    client = staff(world, "steward")
    source = DataSourceFactory(workspace=world.workspace_a, name="HR database")
    mine = (suggestions(world.workspace_a, source=source, table="employees")
            + suggestions(world.workspace_a, source=source, table="payslips", columns=("iban",)))
    theirs = suggestions(world.workspace_b, table="partners")
    response = client.get(QUEUE)
    assert response.status_code == 200
    page = response.content.decode()
    assert response.context["count"] == len(mine)
    groups = response.context["groups"]
    assert [(group.source, group.table.name, len(group.rows)) for group in groups] == [
        ("HR database", "employees", 2), ("HR database", "payslips", 1)]
    assert "97% of the non-empty sampled values passed the “email” check." in page
    assert "200 values sampled, 180 not empty, 41 distinct." in page
    assert "The column&#x27;s name says “email”." in page and "j***@e***.com" in page
    assert "PII.USERNAME (41%)" in page
    assert "{&quot;" not in page and '{"' not in page  # no evidence as JSON
    assert f'id="suggestion-{theirs[0].pk}"' not in page and world.workspace_b.name not in page
    assert len(re.findall(r'name="decide" value="confirm:\d+"', page)) == len(mine)


def test_the_queue_sorts_by_confidence_and_filters_by_source(world):
    client = staff(world, "steward")
    low = suggestions(world.workspace_a, table="a", confidence=0.5)
    high = suggestions(world.workspace_a, table="b", confidence=0.95)
    shown = [row.pk for group in client.get(QUEUE, {"o": "-confidence"}).context["groups"] for row in group.rows]
    assert shown == [high[0].pk, high[1].pk, low[0].pk, low[1].pk]
    shown = [row.pk for group in client.get(QUEUE, {"o": "confidence"}).context["groups"] for row in group.rows]
    assert shown == [low[1].pk, low[0].pk, high[1].pk, high[0].pk]
    filtered = client.get(QUEUE, {"source": low[0].asset.data_source_id})
    assert [row.pk for group in filtered.context["groups"] for row in group.rows] == [low[0].pk, low[1].pk]


@pytest.mark.parametrize("query", [{"o": "bogus"}, {"source": "x"}, {"classification": "999999"}])
def test_a_bad_filter_is_a_400(world, query):
    assert staff(world, "steward").get(QUEUE, query).status_code == 400


def test_another_workspaces_source_is_not_a_filter_choice(world):
    theirs = suggestions(world.workspace_b)
    assert staff(world, "steward").get(QUEUE, {"source": theirs[0].asset.data_source_id}).status_code == 400


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(QUEUE).status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["steward", "analyst", "superuser"])
def test_the_queue_costs_the_same_queries_for_many_rows(world, persona):
    client = staff(world, persona)
    suggestions(world.workspace_a, table="first")
    _queries(client)  # the first request of a process fills caches (content types, the site's registry)
    few = _queries(client)
    for table in ("second", "third", "fourth"):
        suggestions(world.workspace_a, table=table, columns=("email", "contact", "backup_email", "manager"))
    assert _queries(client) == few


def _decide(client, value, **extra):
    return client.post(DECIDE, {"decide": value, "next": QUEUE, **extra}, format="multipart")


def _status(row) -> str:
    row.refresh_from_db()
    return row.status


def test_a_steward_confirms_rejects_and_changes_one_suggestion_each_audited(world):
    client = staff(world, "steward")
    confirm, reject, change = suggestions(world.workspace_a, columns=("email", "mail", "phone"))
    response = _decide(client, f"confirm:{confirm.pk}")
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert _decide(client, f"reject:{reject.pk}").status_code == 302
    phone = builtin("PII.PHONE")
    assert _decide(client, f"change:{change.pk}", **{f"to_{change.pk}": phone.pk}).status_code == 302
    assert (_status(confirm), _status(reject), _status(change)) == ("confirmed", "rejected", "rejected")
    changed_to = AssetClassification.objects.get(asset=change.asset, classification=phone)
    assert (changed_to.status, changed_to.source) == ("confirmed", "manual")
    steward = world.user("steward")
    events = {(event.event, event.object_id): event for event in AuditEvent.objects.filter(actor=steward)}
    assert {("asset_classification.confirmed", str(confirm.pk)), ("asset_classification.rejected", str(reject.pk)),
            ("asset_classification.rejected", str(change.pk)), ("asset_classification.changed", str(change.pk)),
            ("asset_classification.created", str(changed_to.pk))} <= set(events)
    assert events[("asset_classification.changed", str(change.pk))].changes == {
        "classification": ["PII.EMAIL", "PII.PHONE"]}
    page = client.get(QUEUE).content.decode()
    assert response.wsgi_request is not None and "suggestion-" not in page  # the queue is empty now


def test_bulk_decisions_take_the_ticked_rows(world):
    client = staff(world, "steward")
    rows = suggestions(world.workspace_a, columns=("a", "b", "c", "d"))
    response = client.post(DECIDE, {"decide": "confirm:selected", "next": QUEUE, "selected": [rows[0].pk, rows[1].pk],
                                    "note": "checked with HR"}, format="multipart", follow=True)
    assert "2 classifications confirmed." in response.content.decode()  # not "2 classifications: confirmed."
    assert [_status(row) for row in rows] == ["confirmed", "confirmed", "suggested", "suggested"]
    assert AuditEvent.objects.filter(event="asset_classification.confirmed").count() == 2
    _decide(client, "change:selected", selected=[rows[2].pk, rows[3].pk], to_selected=builtin("PII.PHONE").pk)
    assert AssetClassification.objects.filter(classification=builtin("PII.PHONE"), status="confirmed").count() == 2
    assert AuditEvent.objects.filter(event="asset_classification.changed").count() == 2


def test_nothing_ticked_or_no_classification_picked_changes_nothing_and_says_why(world):
    client = staff(world, "steward")
    (row,) = suggestions(world.workspace_a, columns=("email",))
    response = client.post(DECIDE, {"decide": "confirm:selected", "next": QUEUE}, format="multipart", follow=True)
    assert "Tick the suggestions to decide first." in response.content.decode()
    response = client.post(DECIDE, {"decide": f"change:{row.pk}", "next": QUEUE}, format="multipart", follow=True)
    assert "Pick the classification to change to." in response.content.decode()
    assert _status(row) == "suggested" and not AuditEvent.objects.filter(event__startswith="asset_classification")


@pytest.mark.parametrize("value", ["approve:1", "confirm:", "confirm:1;2", ""])
def test_a_malformed_decision_is_a_400(world, value):
    assert _decide(staff(world, "steward"), value).status_code == 400


def test_an_analyst_can_read_the_queue_but_not_decide(world):
    client = staff(world, "analyst")
    (row,) = suggestions(world.workspace_a, columns=("email",))
    page = client.get(QUEUE)
    assert page.status_code == 200 and f'id="suggestion-{row.pk}"' in page.content.decode()
    assert 'name="decide"' not in page.content.decode()
    assert _decide(client, f"confirm:{row.pk}").status_code == 403
    assert _status(row) == "suggested" and not AuditEvent.objects.filter(event__startswith="asset_classification")


def test_the_queue_is_closed_to_a_user_with_no_grant_on_classifications(world):
    assert staff(world, "outsider").get(QUEUE).status_code == 403


def test_buttons_show_only_on_the_rows_the_user_may_decide(world):
    membership(world.user("steward"), world.workspace_b, "analyst")  # reads B, decides in A
    client = staff(world, "steward")
    (ours,) = suggestions(world.workspace_a, columns=("email",))
    (theirs,) = suggestions(world.workspace_b, columns=("email",))
    page = client.get(QUEUE).content.decode()
    assert f'id="suggestion-{theirs.pk}"' in page and f'value="confirm:{theirs.pk}"' not in page
    assert f'value="confirm:{ours.pk}"' in page and f'name="selected" value="{ours.pk}"' in page
    change_page = client.get(reverse("admin:catalog_assetclassification_change", args=[theirs.pk]))
    assert f'value="confirm:{theirs.pk}"' not in change_page.content.decode()


def test_a_steward_of_another_workspace_cannot_decide(world):
    client = staff(world, "other_workspace_user")
    (row,) = suggestions(world.workspace_a, columns=("email",))
    for value, extra in ((f"confirm:{row.pk}", {}), (f"change:{row.pk}", {f"to_{row.pk}": builtin("PII.PHONE").pk}),
                         ("reject:selected", {"selected": [row.pk]})):
        response = client.post(DECIDE, {"decide": value, "next": QUEUE, **extra}, format="multipart", follow=True)
        assert "Nothing was changed." in response.content.decode()
    assert _status(row) == "suggested" and AssetClassification.objects.count() == 1
    assert not AuditEvent.objects.filter(event__startswith="asset_classification")


def test_a_decision_without_the_csrf_token_is_refused(world):
    (row,) = suggestions(world.workspace_a, columns=("email",))
    client = Client(enforce_csrf_checks=True)
    client.cookies = staff(world, "steward").cookies
    assert client.get(QUEUE).status_code == 200
    assert client.post(DECIDE, {"decide": f"confirm:{row.pk}"}).status_code == 403
    assert _status(row) == "suggested"


def test_a_decision_returns_only_to_a_page_of_this_site(world):
    (row,) = suggestions(world.workspace_a, columns=("email",))
    response = staff(world, "steward").post(DECIDE, {"decide": f"confirm:{row.pk}", "next": "https://evil.example/"},
                                           format="multipart")
    assert response["Location"] == QUEUE


def test_a_classifications_page_shows_its_evidence_in_words_and_the_decision_buttons(world):
    client = staff(world, "steward")
    (row,) = suggestions(world.workspace_a, columns=("email",))
    page = client.get(reverse("admin:catalog_assetclassification_change", args=[row.pk])).content.decode()
    assert "97% of the non-empty sampled values passed the “email” check." in page and '{"' not in page
    assert f'value="change:{row.pk}"' in page and 'id="decision-form"' in page
    # The decision form is not nested in the change form (a browser would drop it).
    change_form = re.search(r'<form[^>]*id="assetclassification_form".*?</form>', page, flags=re.S).group(0)
    assert 'id="decision-form"' not in change_form


def test_the_home_links_to_the_queue(world):
    suggestions(world.workspace_a, columns=("email",))
    page = staff(world, "steward").get(reverse("admin:index")).content.decode()
    assert f'href="{QUEUE}" id="review-queue-link"' in page


def _autocomplete(client, term):
    response = client.get(reverse("admin:autocomplete"), {"term": term, "app_label": "catalog",
                                                          "model_name": "assetclassification",
                                                          "field_name": "asset"})
    return response.status_code, [result["text"] for result in response.json()["results"]] if (
        response.status_code == 200) else []


def test_the_manual_classifications_typeahead_finds_assets_the_user_may_classify_by_qualified_name(world):
    *_, ours = asset_tree(DataSourceFactory(workspace=world.workspace_a), table="employees",
                          columns={"national_insurance_no": "text"})
    *_, theirs = asset_tree(DataSourceFactory(workspace=world.workspace_b), table="payroll",
                            columns={"national_insurance_no": "text"})
    status, found = _autocomplete(staff(world, "steward"), "national_ins")
    assert status == 200 and found == [ours["national_insurance_no"].qualified_name]
    assert _autocomplete(staff(world, "analyst"), "national_ins")[0] == 403
    add = staff(world, "steward").get(reverse("admin:catalog_assetclassification_add")).content.decode()
    assert "admin-autocomplete" in add and 'name="asset"' in add
    assert theirs["national_insurance_no"].qualified_name not in add


def test_a_manual_classification_is_saved_from_the_typeahead_choice(world):
    *_, ours = asset_tree(DataSourceFactory(workspace=world.workspace_a), columns={"iban": "text"})
    response = staff(world, "steward").post(reverse("admin:catalog_assetclassification_add"), {
        "asset": ours["iban"].pk, "classification": builtin("FINANCIAL.IBAN").pk, "decision_note": ""},
        format="multipart")
    assert response.status_code == 302
    row = AssetClassification.objects.get(asset=ours["iban"])
    assert (row.status, row.source) == ("confirmed", "manual")


def test_a_columns_page_has_the_decision_buttons_and_a_decision_comes_back_to_it(world):
    client = staff(world, "steward")
    (row,) = suggestions(world.workspace_a, columns=("email",))
    column_page = reverse("admin:catalog_columnasset_change", args=[row.asset_id])
    page = client.get(column_page).content.decode()
    assert f'value="confirm:{row.pk}"' in page and f'name="to_{row.pk}"' in page
    # The decision form is not nested in the asset's change form (a browser would drop it).
    change_form = re.search(r'<form[^>]*id="columnasset_form".*?</form>', page, flags=re.S).group(0)
    assert 'id="decision-form"' not in change_form and 'id="decision-form"' in page
    response = client.post(DECIDE, {"decide": f"change:{row.pk}", f"to_{row.pk}": builtin("PII.PHONE").pk,
                                    "next": column_page}, format="multipart")
    assert response["Location"] == column_page
    assert _status(row) == "rejected"
    assert 'data-classification="PII.PHONE" data-status="confirmed"' in client.get(column_page).content.decode()
    analyst_page = staff(world, "analyst").get(column_page).content.decode()
    assert 'name="decide"' not in analyst_page and 'id="decision-form"' not in analyst_page


def test_pages_of_the_queue_and_a_page_past_the_end(world, monkeypatch):
    monkeypatch.setattr("catalog.admin_review.PAGE_SIZE", 2)
    client = staff(world, "steward")
    rows = suggestions(world.workspace_a, columns=("a", "b", "c", "d", "e"))  # confidence falls a to e

    def shown(page):
        response = client.get(QUEUE, {"p": page})
        return response.context["count"], [row.pk for group in response.context["groups"] for row in group.rows]

    assert shown(1) == (5, [rows[0].pk, rows[1].pk])
    assert shown(3) == (5, [rows[4].pk])
    assert shown(99) == shown(3) and shown("x") == shown(1)
    assert 'p=2">Next' in client.get(QUEUE).content.decode()
