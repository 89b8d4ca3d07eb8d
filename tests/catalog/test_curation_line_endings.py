"""The stewards' texts keep one line ending (issue 13, new-user pass): a browser posts a textarea's lines ending in
CRLF, an API client in LF; the curation services store LF either way, so the admin and the API store the same text
and saving the same text again changes (and audits) nothing."""
import json
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import asset_curation, curation, glossary, services
from catalog.markdown import text_with_newlines
from catalog.models import AssetCertification, GlossaryTerm, Tag
from tests.catalog.classification_factories import asset_tree
from tests.catalog.curation_factories import GlossaryTermFactory, TagFactory
from tests.catalog.factories import DataSourceFactory
from tests.support.personas import staff_client

TYPED = "Customers.\r\n\r\n- one a row\r\n- kept for 5 years\rend"
STORED = "Customers.\n\n- one a row\n- kept for 5 years\nend"


def _table(world):
    _, _, table, _ = asset_tree(DataSourceFactory(workspace=world.workspace_a), table="customers",
                                columns={"email": "text"})
    return table


def test_the_helper_turns_crlf_and_cr_into_lf_and_leaves_the_rest():
    assert text_with_newlines(TYPED) == STORED
    assert text_with_newlines("") == ""
    assert text_with_newlines("a\n\nb\t ") == "a\n\nb\t "


def test_a_description_saved_from_the_admin_is_stored_with_lf(world):
    table = _table(world)
    url = reverse("admin:catalog_tableasset_curation", args=[table.pk])
    response = staff_client(world).post(url, {"description": TYPED, "certification": "", "certification_note": "",
                                        "certification_expires_at": ""}, format="multipart")
    assert response.status_code == 302
    table.refresh_from_db()
    assert table.description == STORED


def test_the_admin_and_the_api_store_the_same_description_and_the_second_save_audits_nothing(world):
    table = _table(world)
    response = world.client("steward").patch(reverse("api:assetcuration-curation", args=[table.pk]),
                                             {"description": STORED}, format="json")
    assert response.status_code == 200
    admin_client = staff_client(world)  # its login is audited
    before = AuditEvent.objects.count()
    url = reverse("admin:catalog_tableasset_curation", args=[table.pk])
    admin_client.post(url, {"description": TYPED, "certification": "", "certification_note": "",
                             "certification_expires_at": ""}, format="multipart")
    table.refresh_from_db()
    assert table.description == STORED
    assert AuditEvent.objects.count() == before


def test_the_asset_edit_of_the_api_stores_lf(world):
    table = _table(world)
    response = world.client("steward").patch(reverse("api:asset-detail", args=[table.pk]),
                                             json.dumps({"description": TYPED}), content_type="application/json")
    assert response.status_code == 200, response.content
    table.refresh_from_db()
    assert table.description == STORED
    services.asset_update(asset=table, description=TYPED, acting_user=world.user("steward"))
    assert not AuditEvent.objects.filter(event="asset.changed", object_id=str(table.pk)).count() > 1


def test_services_store_lf_for_every_curation_text(world):
    table = _table(world)
    asset_curation.asset_curation_set(asset=table, description=TYPED, acting_user=SYSTEM,
                                      certification={"status": "certified", "note": TYPED,
                                                     "expires_at": timezone.now() + timedelta(days=3)})
    table.refresh_from_db()
    assert table.description == STORED
    assert AssetCertification.objects.get(asset=table).note == STORED
    tag = curation.tag_create(workspace=world.workspace_a, name="gold", description=TYPED, acting_user=SYSTEM)
    assert Tag.objects.get(pk=tag.pk).description == STORED
    curation.tag_update(tag=tag, description="a\r\nb", acting_user=SYSTEM)
    assert Tag.objects.get(pk=tag.pk).description == "a\nb"
    term = glossary.glossary_term_create(workspace=world.workspace_a, name="Customer", definition=TYPED,
                                         acting_user=SYSTEM)
    assert GlossaryTerm.objects.get(pk=term.pk).definition == STORED
    glossary.glossary_term_update(term=term, definition="x\r\ny", acting_user=SYSTEM)
    assert GlossaryTerm.objects.get(pk=term.pk).definition == "x\ny"


def test_bulk_certification_notes_are_stored_with_lf(world):
    table = _table(world)
    asset_curation.assets_curate(assets=type(table).objects.filter(pk=table.pk), acting_user=SYSTEM,
                                 certification={"status": "certified", "note": TYPED, "expires_at": None})
    assert AssetCertification.objects.get(asset=table).note == STORED


def test_a_term_definition_from_the_admin_form_is_stored_with_lf(world):
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Customer")
    response = staff_client(world).post(reverse("admin:catalog_glossaryterm_change", args=[term.pk]), {
        "name": "Customer", "status": "approved", "definition": TYPED, "synonyms": "", "abbreviations": "",
        "parent": "", "stewards": [], "classification": "", "_save": "Save"}, format="multipart")
    assert response.status_code == 302, response.content.decode()[:2000]
    term.refresh_from_db()
    assert term.definition == STORED


def test_an_imported_definition_with_crlf_is_stored_with_lf_and_reimports_unchanged(world):
    data = 'name,definition\r\nCustomer,"Who buys.\r\nOr may."\r\n'
    glossary.glossary_import(workspace=world.workspace_a, data=data, fmt="csv", acting_user=SYSTEM)
    assert GlossaryTerm.objects.get(name="Customer").definition == "Who buys.\nOr may."
    again = glossary.glossary_import(workspace=world.workspace_a, data=data, fmt="csv", acting_user=SYSTEM,
                                     dry_run=True)
    assert again.count("unchanged") == 1


def test_a_tag_description_typed_in_the_admin_is_stored_with_lf(world):
    tag = TagFactory(workspace=world.workspace_a, name="gold")
    response = staff_client(world).post(reverse("admin:catalog_tag_change", args=[tag.pk]),
                                  {"name": "gold", "description": TYPED, "_save": "Save"}, format="multipart")
    assert response.status_code == 302, response.content.decode()[:2000]
    tag.refresh_from_db()
    assert tag.description == STORED

