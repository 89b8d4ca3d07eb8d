"""Curation on the asset pages of the back office (issue 13, items 1, 3 and 6): the curation section (description
rendered safely, apart from the source's comment; owners with their type; tags; terms; certification), the "Edit
curation" page writing through asset_curation_set, the curation history in words, and the lists' action "Curate
selected assets…" calling assets_curate — each per role, at a constant number of queries, audited."""
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from accounts.roles import Role
from catalog import asset_curation, curation, services
from catalog.models import Asset, AssetCertification, AssetOwner, GlossaryTerm, Suggestion
from catalog.services import DetectedClassification
from catalog.suggestions import term_fingerprint
from tests.catalog.classification_factories import asset_tree, builtin
from tests.catalog.curation_factories import GlossaryTermFactory, TagFactory
from tests.catalog.factories import DataSourceFactory
from tests.catalog.test_suggestions import after_commit
from tests.support.factories import UserFactory, membership
from tests.support.personas import staff_client, verified_client

SCRIPT = "<script>window.curationPwned = 1</script>"


def _shop(workspace, name="Shop", columns=("email", "phone", "city")):
    source = DataSourceFactory(workspace=workspace, name=f"{name} {workspace.slug}")
    database, schema, table, cols = asset_tree(source, table="customers",
                                               columns=dict.fromkeys(columns, "text"))
    return table, cols


def _page(client, asset, status=200):
    response = client.get(reverse(f"admin:catalog_{asset.type}asset_change", args=[asset.pk]))
    assert response.status_code == status
    return response.content.decode()


def _section(html, key):
    found = re.search(rf'<section class="module asset-section" id="asset-{key}".*?</section>', html, re.S)
    return found.group(0) if found else ""


def _edit_url(asset):
    return reverse(f"admin:catalog_{asset.type}asset_curation", args=[asset.pk])


def _curate(world, table):
    """The table described, owned, tagged, linked to a term and certified, as a steward would."""
    steward = world.user("steward")
    tag = TagFactory(workspace=world.workspace_a, name="gold")
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Customer")
    asset_curation.asset_curation_set(
        asset=table, acting_user=steward, description=f"One row per **customer**.\n\n{SCRIPT}",
        owners=[{"owner_type": AssetOwner.OwnerType.BUSINESS, "user": steward}], tags=[tag], terms=[term],
        certification={"status": "certified", "note": "Checked by finance.",
                       "expires_at": timezone.now() + timedelta(days=30)})
    return tag, term


# --- the section on the asset page ---------------------------------------------------------------------------------

def test_the_curation_section_shows_the_description_rendered_safely_and_apart_from_the_source_comment(world):
    table, _ = _shop(world.workspace_a)
    Asset.objects.filter(pk=table.pk).update(source_description="COMMENT ON TABLE: customers <b>raw</b>")
    _curate(world, table)
    section = _section(_page(staff_client(world, "steward"), table), "curation")
    description = re.search(r'data-curation="description">(.*?)</div>', section, re.S).group(1)
    assert "<strong>customer</strong>" in description
    assert "<script" not in section and "&lt;script&gt;" in description  # shown as text, never run
    assert "Comment in the source" in section and "COMMENT ON TABLE: customers &lt;b&gt;raw&lt;/b&gt;" in section


def test_the_curation_section_shows_owners_by_type_tags_terms_and_certification(world):
    table, _ = _shop(world.workspace_a)
    _, term = _curate(world, table)
    group = Group.objects.create(name="Data platform")
    curation.asset_owner_add(asset=table, group=group, owner_type=AssetOwner.OwnerType.TECHNICAL, acting_user=SYSTEM)
    section = _section(_page(staff_client(world, "steward"), table), "curation")
    owners = re.search(r'data-curation="owners">(.*?)</dd>', section, re.S).group(1)
    assert re.search(r"Technical owner:</span> Data platform \(group\)", owners)
    assert re.search(r"Business owner:</span> steward", owners)
    assert "gold" in re.search(r'data-curation="tags">(.*?)</dd>', section, re.S).group(1)
    assert f'href="{reverse("admin:catalog_glossaryterm_change", args=[term.pk])}">Customer</a>' in section
    certification = re.search(r'data-curation="certification">(.*?)</dd>', section, re.S).group(1)
    assert "Certified" in certification and "by steward" in certification and "expires" in certification
    assert "Checked by finance." in certification


@pytest.mark.parametrize(("persona", "editable"), [("steward", True), ("superuser", True), ("analyst", False),
                                                   ("auditor", False)])
def test_who_may_curate_gets_the_edit_link_and_readers_a_read_only_section(world, persona, editable):
    table, cols = _shop(world.workspace_a)
    for asset in (table, cols["email"]):  # a table and a column alike
        section = _section(_page(staff_client(world, persona), asset), "curation")
        assert ('id="edit-curation"' in section) is editable
        assert ("Read only" in section) is not editable


def test_an_asset_owner_without_a_role_that_changes_assets_curates_what_they_own(world):
    table, cols = _shop(world.workspace_a)
    analyst = world.user("analyst")
    curation.asset_owner_add(asset=table, user=analyst, owner_type=AssetOwner.OwnerType.BUSINESS,
                             acting_user=SYSTEM)
    client = staff_client(world, "analyst")
    assert 'id="edit-curation"' in _section(_page(client, table), "curation")
    assert 'id="edit-curation"' not in _section(_page(client, cols["email"]), "curation")
    assert client.get(_edit_url(table)).status_code == 200
    assert client.get(_edit_url(cols["email"])).status_code == 403


def test_another_workspace_sees_neither_the_asset_nor_its_curation_page(world):
    table, _ = _shop(world.workspace_a)
    client = staff_client(world, "other_workspace_user")
    assert client.get(reverse("admin:catalog_tableasset_change", args=[table.pk])).status_code in (302, 404)
    assert client.get(_edit_url(table)).status_code == 404


def test_an_outsider_gets_no_curation_page(world):
    table, _ = _shop(world.workspace_a)
    response = staff_client(world, "outsider").get(_edit_url(table))
    assert response.status_code in (403, 404)


def test_the_asset_page_costs_the_same_queries_with_one_or_many_owners_tags_and_terms(world):
    client = staff_client(world, "steward")
    few, _ = _shop(world.workspace_a, name="Few")
    many, _ = _shop(world.workspace_a, name="Many")
    members = [membership(UserFactory(), world.workspace_a, Role.ANALYST) for _ in range(6)]
    for asset, count in ((few, 1), (many, 6)):
        asset_curation.asset_curation_set(
            asset=asset, acting_user=SYSTEM, description="Described.",
            owners=[{"owner_type": "business", "user": member.user} for member in members[:count]],
            tags=TagFactory.create_batch(count, workspace=world.workspace_a),
            terms=GlossaryTermFactory.create_batch(count, workspace=world.workspace_a),
            certification={"status": "certified", "note": "", "expires_at": None})
    _page(client, few)

    def queries(asset):
        with CaptureQueriesContext(connection) as captured:
            html = _page(client, asset)
        return len(captured), html.count('class="curation-chip"'), html.count("<tr><td class=\"numeric\"><time")

    (one, chips_one, history_one), (six, chips_six, history_six) = queries(few), queries(many)
    assert (chips_one, chips_six) == (2, 12)
    assert history_six > history_one
    assert one == six


# --- the edit page -------------------------------------------------------------------------------------------------

def _form(asset, **changes):
    data = {"description": asset.description, "certification": "", "certification_note": "",
            "certification_expires_at": ""}
    data.update(changes)
    return data


def test_a_steward_edits_the_curation_through_the_service_and_each_change_is_audited(world):
    table, _ = _shop(world.workspace_a)
    tag = TagFactory(workspace=world.workspace_a, name="gold")
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Customer")
    client = staff_client(world, "steward")
    assert client.get(_edit_url(table)).status_code == 200
    expires = (timezone.localtime() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(_edit_url(table), format="multipart", data=_form(
        table, description="Customers, *one a row*.", owners_technical_users=[world.user("steward").pk],
        tags=[tag.pk], terms=[term.pk], certification="certified", certification_note="Reviewed.",
        certification_expires_at=expires))
    assert response.status_code == 302
    assert response["Location"].endswith("#asset-curation")
    table.refresh_from_db()
    assert table.description == "Customers, *one a row*."
    assert list(table.owners.values_list("user__username", "owner_type")) == [("steward", "technical")]
    assert list(table.tags.all()) == [tag] and list(table.glossary_terms.all()) == [term]
    assert AssetCertification.objects.get(asset=table).certified_by == world.user("steward")
    events = set(AuditEvent.objects.filter(object_id=str(table.pk), actor=world.user("steward"))
                 .values_list("event", flat=True))
    assert events == {"asset.changed", "asset.owner_added", "asset.tag_added", "asset.term_linked",
                      "asset.certified"}
    history = _section(_page(client, table), "curation-history")
    for said in ("added steward as technical owner", "added the tag gold", "linked the term Customer",
                 "certified until", "changed the description"):
        assert said in history, said
    assert "Reviewed." in history


def test_saving_the_form_unchanged_writes_nothing(world):
    table, _ = _shop(world.workspace_a)
    _curate(world, table)
    client = staff_client(world, "steward")
    before = AuditEvent.objects.count()
    form = client.get(_edit_url(table)).context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {name: ([str(v) for v in value] if isinstance(value, list) else value) for name, value in data.items()
            if value not in (None, [])}
    data["certification_expires_at"] = form["certification_expires_at"].field.widget.format_value(
        timezone.localtime(form.initial["certification_expires_at"]))  # as the browser's field sends it
    assert client.post(_edit_url(table), data, format="multipart").status_code == 302
    assert AuditEvent.objects.count() == before
    data["certification_note"] = "Checked again."  # the note alone: the expiry stays as stored, to the second
    expires_at = AssetCertification.objects.get(asset=table).expires_at
    assert client.post(_edit_url(table), data, format="multipart").status_code == 302
    changed = AuditEvent.objects.filter(event="asset.certified", object_id=str(table.pk)).latest("id")
    assert changed.changes == {"certification_note": ["Checked by finance.", "Checked again."]}
    assert AssetCertification.objects.get(asset=table).expires_at == expires_at


def test_a_refusal_of_the_service_shows_on_the_form_and_changes_nothing(world):
    table, _ = _shop(world.workspace_a)
    deprecated = GlossaryTermFactory(workspace=world.workspace_a, status=GlossaryTerm.Status.DEPRECATED)
    client = staff_client(world, "steward")
    response = client.post(_edit_url(table), format="multipart", data=_form(
        table, description="New.", certification="certified", certification_expires_at="2001-01-01T00:00"))
    assert response.status_code == 200
    assert "The expiry must be in the future." in response.content.decode()
    table.refresh_from_db()
    assert table.description == "" and not AssetCertification.objects.filter(asset=table).exists()
    # A deprecated term is not offered to link.
    assert deprecated.pk not in [term.pk for term in response.context["form"].fields["terms"].queryset]


@pytest.mark.parametrize("persona", ["analyst", "auditor"])
def test_readers_may_not_open_or_post_the_edit_page(world, persona):
    table, _ = _shop(world.workspace_a)
    client = staff_client(world, persona)
    assert client.get(_edit_url(table)).status_code == 403
    assert client.post(_edit_url(table), format="multipart", data=_form(table, description="Mine.")).status_code == 403
    table.refresh_from_db()
    assert table.description == ""


def test_the_edit_page_offers_only_the_assets_workspace(world):
    table, _ = _shop(world.workspace_a)
    TagFactory(workspace=world.workspace_b, name="Zq9theirs-tag")
    GlossaryTermFactory(workspace=world.workspace_b, name="Zq9theirs-term")
    html = staff_client(world, "superuser").get(_edit_url(table)).content.decode()
    assert "Zq9theirs" not in html and "other_workspace_user" not in html


# --- bulk curation from the lists ----------------------------------------------------------------------------------

def _bulk(client, assets, url_name="admin:catalog_columnasset_changelist", **fields):
    # As a browser posts the form: the owner type's select always sends its value.
    data = {"action": "curate_selected", "_selected_action": [asset.pk for asset in assets],
            "owner_type": "business", **fields}
    return client.post(reverse(url_name), data, format="multipart", follow=bool(fields.get("apply")))


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_bulk_action_shows_a_form_then_curates_the_selected_columns_in_one_audited_operation(world):
    _, cols = _shop(world.workspace_a)
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Contact", classification=builtin("PII.EMAIL"))
    client = staff_client(world, "steward")
    chosen = [cols["email"], cols["phone"]]
    form = _bulk(client, chosen)
    assert form.status_code == 200 and 'id="bulk-curation-form"' in form.content.decode()
    assert not AuditEvent.objects.filter(event__startswith="asset.").exists()
    response = _bulk(client, chosen, apply="yes", owner_users_add=[world.user("steward").pk],
                     owner_type="technical", terms_add=[term.pk], certification="certified")
    assert _messages(response) == ["2 assets curated: 2 owners added, 2 terms linked, 2 assets certified, "
                                   "2 classifications confirmed."]  # the term implies PII.EMAIL
    for column in chosen:
        assert list(column.owners.values_list("user__username", "owner_type")) == [("steward", "technical")]
        assert list(column.glossary_terms.all()) == [term]
    assert not cols["city"].owners.exists()
    bulk = AuditEvent.objects.get(event="asset.bulk_curated")
    assert bulk.extra["asset_ids"] == sorted(column.pk for column in chosen)
    assert bulk.extra["selection"]["admin"] == "columns"
    assert bulk.actor == world.user("steward")
    per_asset = AuditEvent.objects.filter(request_id=bulk.request_id).exclude(pk=bulk.pk)
    assert sorted(per_asset.values_list("event", flat=True)) == sorted(
        ["asset.owner_added", "asset.term_linked", "asset.certified"] * 2
        + ["asset_classification.created"] * 2)  # the term's classification confirmed on each column


def test_the_bulk_action_with_a_nul_in_its_query_string_is_refused_changing_nothing(world):
    # The list's query string is recorded as the selection: ``?o=%00`` (an ordering the list ignores) reached the
    # audit row as given, which PostgreSQL's jsonb refuses (a 500). Every admin page now refuses a NUL in its query
    # (accounts.admin_site), before the action runs.
    _, cols = _shop(world.workspace_a)
    client = staff_client(world, "steward")
    client.raise_request_exception = False
    data = {"action": "curate_selected", "_selected_action": [cols["email"].pk], "owner_type": "business",
            "apply": "yes", "certification": "certified"}
    response = client.post(reverse("admin:catalog_columnasset_changelist") + "?o=%00", data, format="multipart")
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(event="asset.bulk_curated").exists()
    assert not AssetCertification.objects.filter(asset=cols["email"]).exists()


def test_the_bulk_action_removes_and_reports_nothing_changed_when_nothing_did(world):
    _, cols = _shop(world.workspace_a)
    tag = TagFactory(workspace=world.workspace_a, name="legacy")
    client = staff_client(world, "steward")
    for column in cols.values():
        curation.asset_tag_add(asset=column, tag=tag, acting_user=SYSTEM)
    response = _bulk(client, list(cols.values()), apply="yes", tags_remove=[tag.pk])
    assert _messages(response) == ["3 assets curated: 3 tags removed."]
    response = _bulk(client, list(cols.values()), apply="yes", tags_remove=[tag.pk])
    assert _messages(response) == ["3 assets curated: nothing to change."]


def test_the_bulk_form_asks_for_something_to_change(world):
    _, cols = _shop(world.workspace_a)
    response = _bulk(staff_client(world, "steward"), [cols["email"]], apply="yes", owner_type="business")
    assert response.status_code == 200
    assert "Choose something to change" in response.content.decode()


def test_the_bulk_action_past_the_cap_says_so_and_changes_nothing(world, monkeypatch):
    monkeypatch.setattr(asset_curation, "MAX_BULK_ASSETS", 2)
    _, cols = _shop(world.workspace_a)
    response = _bulk(staff_client(world, "steward"), list(cols.values()), apply="yes", certification="certified")
    assert _messages(response) == ["At most 2 assets can be curated at once: narrow the selection with the "
                                   "filters."]
    assert not AssetCertification.objects.exists()


def test_assets_the_user_may_not_curate_are_refused_as_a_message_not_an_error_page(world):
    table, cols = _shop(world.workspace_a)
    analyst = world.user("analyst")
    curation.asset_owner_add(asset=cols["email"], user=analyst, owner_type="business", acting_user=SYSTEM)
    client = staff_client(world, "analyst")
    response = _bulk(client, [cols["email"], cols["phone"]], apply="yes", certification="certified")
    assert response.status_code == 200
    assert _messages(response) == ["You may not curate 1 of the 2 selected assets: nothing was changed."]
    assert not AssetCertification.objects.exists()
    response = _bulk(client, [cols["email"]], apply="yes", certification="deprecated")
    assert _messages(response) == ["1 asset curated: 1 asset deprecated."]


@pytest.mark.parametrize("persona", ["analyst", "auditor"])
def test_readers_are_not_offered_the_bulk_action(world, persona):
    _, cols = _shop(world.workspace_a)
    client = staff_client(world, persona)
    html = client.get(reverse("admin:catalog_columnasset_changelist")).content.decode()
    assert 'value="curate_selected"' not in html
    response = _bulk(client, [cols["email"]], apply="yes", certification="certified")
    assert not AssetCertification.objects.exists()
    assert response.status_code == 200


def test_the_bulk_form_offers_only_what_the_selection_s_workspace_holds(world):
    _, cols = _shop(world.workspace_a)
    TagFactory(workspace=world.workspace_b, name="Zq9theirs-tag")
    html = _bulk(staff_client(world, "superuser"), [cols["email"]]).content.decode()
    assert "Zq9theirs" not in html and "other_workspace_user" not in html


def test_the_history_reads_in_words_after_bulk_curation_detection_and_withdrawn_suggestions(world):
    """No event name, field name or JSON on the page: each row of an asset's history is a sentence."""
    table, cols = _shop(world.workspace_a)
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Contact", classification=builtin("PII.EMAIL"))
    Suggestion.objects.create(asset=cols["email"], kind="term", rule="lookalike", term=term,
                              fingerprint=term_fingerprint(term.pk), reason="Same name and type.")
    client = staff_client(world, "steward")
    with after_commit():
        _bulk(client, [cols["email"], cols["phone"]], apply="yes", terms_add=[term.pk], certification="certified",
              certification_note="Reviewed.")
    services.asset_classifications_record_scan(scope=table, results={cols["city"].pk: DetectedClassification(
        classification_id=builtin("PII.PHONE").pk, confidence=0.9, evidence={"reasons": ["pattern"]})})

    def history(asset) -> list[str]:
        rows = re.findall(r"<tr><td.*?</tr>", _section(_page(client, asset), "curation-history"), re.S)
        return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]

    email = history(cols["email"])
    assert sorted(row.split(" steward ", 1)[-1] for row in email if " steward " in row) == [
        "certified — Reviewed.", "linked the term Contact, which confirmed PII.EMAIL on it"]
    assert [row.split(" system ", 1)[-1] for row in email if " system " in row] == [
        "withdrew 1 open suggestion that this curation made moot — curated since"]
    assert [row.split(" system ", 1)[-1] for row in history(table)] == ["detection suggested 1 classification"]
    for row in [*email, *history(table)]:
        assert not re.search(r"[{}\[\]_]|asset\.|suggestion\.|classification\.", row), row


def test_history_words_cover_every_curation_event():
    from catalog.admin_curation import curation_words

    def said(event, changes=None, extra=None):
        return curation_words(AuditEvent(event=event, changes=changes or {}, extra=extra or {}))

    assert said("asset.owner_added", {"owners": [None, "group:Finance (steward)"]}) == "added Finance (group) as " \
                                                                                      "steward"
    assert said("asset.owner_removed", {"owners": ["user:ann (business)", None]}) == "removed ann as business owner"
    assert said("asset.tag_removed", {"tags": ["gold", None]}) == "removed the tag gold"
    assert said("asset.term_linked", {"terms": [None, "E-mail"]}, {"classification": "PII.EMAIL"}) == (
        "linked the term E-mail, which confirmed PII.EMAIL on it")
    assert said("asset.term_unlinked", {"terms": ["E-mail", None]}) == "unlinked the term E-mail"
    assert said("asset.deprecated", {"certification_status": [None, "deprecated"]}) == "deprecated"
    assert said("asset.certification_ended", {"certification_status": ["deprecated", None]}) == (
        "ended its deprecation")
    assert said("asset.certification_expired", {"certification_status": ["certified", None]}) == (
        "its certification expired")
    assert said("asset.changed", {"description": ["", "x"]}) == "changed the description"
    assert said("asset.property_set", {"properties": [None, {"retention": "3 years"}]}, {"label": "Retention"}) == (
        "set Retention to 3 years")
    assert said("asset.property_set", {"properties": [{"personal": False}, {"personal": True}]},
                {"label": "Personal data"}) == "set Personal data to yes (was no)"
    assert said("asset.property_set", {"properties": [None, {"uses": ["billing", "marketing"]}]}) == (
        "set uses to billing, marketing")  # a row without the label: the property's name
    assert said("asset.property_cleared", {"properties": [{"tier": "gold"}, None]}, {"label": "Tier"}) == (
        "cleared Tier (was gold)")
    assert said("suggestion.withdrawn", extra={"count": 2, "reason": "curated since"}) == (
        "withdrew 2 open suggestions that this curation made moot")
    assert said("asset_classification.detected", extra={"suggested": 3, "updated": 4, "resuggested": 1,
                                                        "removed": 0}) == (
        "detection suggested 3 classifications, suggested again 1 classification")
    assert said("asset_classification.detected", extra={"updated": 4}) == "detection refreshed its suggestions"


def test_a_past_expiry_is_an_error_beside_the_expiry_field(world):
    # Regression: the service's refusal named its own argument (expires_at), which no field of the form carries: the
    # message went to the top of the form, away from the field to correct.
    table, _ = _shop(world.workspace_a)
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = staff_client(world, "steward").post(_edit_url(table), format="multipart", data=_form(
        table, certification="certified", certification_expires_at=past))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"certification_expires_at": ["The expiry must be in the future."]}
    assert not AssetCertification.objects.filter(asset=table).exists()


def test_the_edit_page_lays_its_fields_out_as_the_admin_does_and_says_why_a_list_is_empty(world):
    # Regression: the page did not load the admin's form styles (labels ran into their fields), and an empty list of
    # users, tags or terms was an empty box: a superuser who is no workspace's member could not tell why.
    from tests.support.factories import WorkspaceFactory

    empty = WorkspaceFactory(name="Fresh", slug="fresh")
    table, _ = _shop(empty)
    admin_user = UserFactory(username="chief", is_staff=True, is_superuser=True)
    page = verified_client(admin_user).get(_edit_url(table)).content.decode()
    assert "admin/css/forms.css" in page
    assert '<div class="flex-container"><label for="id_description">Description:</label>' in page
    assert 'data-missing="members"' in page and "No user is a member of Fresh yet" in page
    assert reverse("admin:accounts_membership_changelist") in page
    assert 'data-missing="tags"' in page and f'{reverse("admin:catalog_tag_add")}?workspace={empty.pk}' in page
    assert 'data-missing="terms"' in page
    assert f'{reverse("admin:catalog_glossaryterm_add")}?workspace={empty.pk}' in page

    # Where there are members, tags and terms, nothing is said to be missing.
    stocked, _ = _shop(world.workspace_a)
    TagFactory(workspace=world.workspace_a)
    GlossaryTermFactory(workspace=world.workspace_a)
    page = staff_client(world, "steward").get(_edit_url(stocked)).content.decode()
    assert "data-missing" not in page and "Users: the members of" in page
