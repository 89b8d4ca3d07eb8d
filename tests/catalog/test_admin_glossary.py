"""The glossary and the tags in the back office (issue 13, items 2 and 6): term list with its filters, a term's
page (definition rendered as Markdown, words, relations, linked assets), writes through catalog.glossary and
catalog.curation (audited), import with a dry run and a confirmation, export — per role."""
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import curation, glossary
from catalog.models import GlossaryTerm, Tag
from tests.catalog.classification_factories import asset_tree
from tests.catalog.curation_factories import GlossaryTermFactory, TagFactory
from tests.catalog.factories import DataSourceFactory
from tests.support.personas import staff_client

CSV = ("name,definition,synonyms,parent,status\n"
       "Customer,A person who **buys**.,client;buyer,,approved\n"
       "Customer e-mail,Where we write to a customer.,,Customer,approved\n")


def _term_url(term):
    return reverse("admin:catalog_glossaryterm_change", args=[term.pk])


LIST = reverse("admin:catalog_glossaryterm_changelist")
IMPORT = reverse("admin:catalog_glossaryterm_import")


def _names(response) -> set[str]:
    return {term.name for term in response.context["cl"].result_list}


# --- the list ------------------------------------------------------------------------------------------------------

def test_the_term_list_filters_by_status_workspace_and_parent_and_searches(world):
    parent = GlossaryTermFactory(workspace=world.workspace_a, name="Customer")
    GlossaryTermFactory(workspace=world.workspace_a, name="Customer e-mail", parent=parent,
                        status=GlossaryTerm.Status.DRAFT)
    GlossaryTermFactory(workspace=world.workspace_b, name="Partner")
    client = staff_client(world, "superuser")
    assert _names(client.get(LIST)) == {"Customer", "Customer e-mail", "Partner"}
    assert _names(client.get(LIST, {"status__exact": "draft"})) == {"Customer e-mail"}
    assert _names(client.get(LIST, {"workspace": world.workspace_b.pk})) == {"Partner"}
    assert _names(client.get(LIST, {"parent": parent.pk})) == {"Customer e-mail"}
    assert _names(client.get(LIST, {"q": "e-mail"})) == {"Customer e-mail"}


@pytest.mark.parametrize(("persona", "listed"), [("steward", {"Ours"}), ("analyst", {"Ours"}),
                                                  ("auditor", {"Ours", "Theirs"}),
                                                  ("superuser", {"Ours", "Theirs"})])
def test_each_role_lists_the_terms_it_may_see(world, persona, listed):
    GlossaryTermFactory(workspace=world.workspace_a, name="Ours")
    GlossaryTermFactory(workspace=world.workspace_b, name="Theirs")
    response = staff_client(world, persona).get(LIST)
    assert response.status_code == 200
    assert _names(response) == listed
    assert ("Workspace B" in response.content.decode()) is ("Theirs" in listed)  # the workspace filter too


def test_an_outsider_gets_no_glossary_pages(world):
    term = GlossaryTermFactory(workspace=world.workspace_a)
    client = staff_client(world, "outsider")
    assert client.get(LIST).status_code == 403
    assert client.get(_term_url(term)).status_code in (403, 404)
    assert client.get(IMPORT).status_code == 403


# --- a term's page -------------------------------------------------------------------------------------------------

def test_a_terms_page_renders_the_definition_and_lists_the_linked_assets(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    *_, cols = asset_tree(source, columns={"email": "text"})
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Customer e-mail",
                               definition="Where we **write**. <script>alert(1)</script>",
                               synonyms=["mail", "courriel"])
    glossary.glossary_term_link(term=term, asset=cols["email"], acting_user=SYSTEM)
    html = staff_client(world, "steward").get(_term_url(term)).content.decode()
    preview = re.search(r'<div class="glossary-preview markdown">(.*?)</div>', html, re.S).group(1)
    assert "<strong>write</strong>" in preview and "<script" not in preview and "&lt;script&gt;" in preview
    assert "mail\ncourriel" in html  # one synonym a line in the form
    assets = re.search(r'id="term-assets".*?</fieldset>', html, re.S).group(0)
    column_url = reverse("admin:catalog_columnasset_change", args=[cols["email"].pk])
    assert f'href="{column_url}">{cols["email"].qualified_name}</a>' in assets


@pytest.mark.parametrize("persona", ["analyst", "auditor"])
def test_readers_see_a_terms_page_read_only_in_words(world, persona):
    term = GlossaryTermFactory(workspace=world.workspace_a, synonyms=["client", "buyer"])
    response = staff_client(world, persona).get(_term_url(term))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="_save"' not in html and "<textarea" not in html
    assert "client, buyer" in html and '["client"' not in html and "[&quot;client" not in html


def test_a_steward_changes_a_term_through_the_service_audited(world):
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Customer")
    related = GlossaryTermFactory(workspace=world.workspace_a, name="Client")
    GlossaryTermFactory(workspace=world.workspace_b, name="Zq9theirs")
    client = staff_client(world, "steward")
    page = client.get(_term_url(term)).content.decode()
    assert "Zq9theirs" not in page
    response = client.post(_term_url(term), {
        "name": "Customer", "status": "approved", "definition": "Who buys.", "synonyms": "buyer\nshopper",
        "abbreviations": "", "parent": "", "related_terms": [related.pk], "stewards": [world.user("steward").pk],
        "classification": "", "_save": "Save"}, format="multipart")
    assert response.status_code == 302, response.content.decode()[:2000]
    term.refresh_from_db()
    assert term.synonyms == ["buyer", "shopper"] and term.definition == "Who buys."
    assert list(term.related_terms.all()) == [related]
    event = AuditEvent.objects.filter(event="glossary_term.changed", object_id=str(term.pk)).order_by("id")
    changed = {name for row in event for name in row.changes}
    assert {"definition", "synonyms", "related_terms", "stewards"} <= changed


def test_a_term_cannot_be_made_its_own_ancestor_in_the_form(world):
    parent = GlossaryTermFactory(workspace=world.workspace_a, name="Customer")
    child = GlossaryTermFactory(workspace=world.workspace_a, name="Customer e-mail", parent=parent)
    response = staff_client(world, "steward").post(_term_url(parent), {
        "name": "Customer", "status": "approved", "definition": "", "synonyms": "", "abbreviations": "",
        "parent": child.pk, "_save": "Save"}, format="multipart")
    assert response.status_code == 200
    assert "cannot be above itself" in response.content.decode()
    parent.refresh_from_db()
    assert parent.parent_id is None


def test_a_tags_page_lists_the_assets_it_is_on_and_says_how_to_tag_when_none(world):
    """The tag list's count of assets led nowhere: the tag's page now names them, with links."""
    source = DataSourceFactory(workspace=world.workspace_a)
    *_, cols = asset_tree(source, columns={"email": "text", "phone": "text"})
    tag, unused = TagFactory(workspace=world.workspace_a, name="gold"), TagFactory(workspace=world.workspace_a)
    curation.asset_tag_add(asset=cols["email"], tag=tag, acting_user=SYSTEM)
    client = staff_client(world, "analyst")
    html = client.get(reverse("admin:catalog_tag_change", args=[tag.pk])).content.decode()
    assets = re.search(r'id="tag-assets".*?</fieldset>', html, re.S).group(0)
    column_url = reverse("admin:catalog_columnasset_change", args=[cols["email"].pk])
    assert "Assets tagged" in assets and f'href="{column_url}">{cols["email"].qualified_name}</a>' in assets
    assert cols["phone"].qualified_name not in assets
    html = client.get(reverse("admin:catalog_tag_change", args=[unused.pk])).content.decode()
    assert "No asset carries this tag yet" in re.search(r'id="tag-assets".*?</fieldset>', html, re.S).group(0)


def test_a_steward_adds_and_deletes_a_tag_through_the_service(world):
    client = staff_client(world, "steward")
    response = client.post(reverse("admin:catalog_tag_add"), {"workspace": world.workspace_a.pk, "name": "gold",
                                                              "description": "Trusted.", "_save": "Save"},
                           format="multipart")
    assert response.status_code == 302
    tag = Tag.objects.get(name="gold")
    assert AuditEvent.objects.filter(event="tag.created", object_id=str(tag.pk)).exists()
    response = client.post(reverse("admin:catalog_tag_delete", args=[tag.pk]), {"post": "yes"},
                           format="multipart")
    assert response.status_code == 302 and not Tag.objects.exists()
    assert AuditEvent.objects.filter(event="tag.deleted").exists()


def test_an_analyst_may_not_add_tags_or_terms(world):
    client = staff_client(world, "analyst")
    TagFactory(workspace=world.workspace_a)
    assert client.get(reverse("admin:catalog_tag_add")).status_code == 403
    assert client.get(reverse("admin:catalog_glossaryterm_add")).status_code == 403
    assert client.get(reverse("admin:catalog_tag_changelist")).status_code == 200


# --- import and export ---------------------------------------------------------------------------------------------

def _upload(client, content: str, name="glossary.csv", workspace=None, world=None):
    return client.post(IMPORT, {"workspace": workspace or world.workspace_a.pk,
                                "file": SimpleUploadedFile(name, content.encode()), "format": ""},
                       format="multipart")


def test_an_import_shows_its_dry_run_then_applies_it_on_confirmation(world):
    GlossaryTermFactory(workspace=world.workspace_a, name="Customer", definition="A person who **buys**.",
                        synonyms=["client", "buyer"])
    client = staff_client(world, "steward")
    dry = _upload(client, CSV.replace(",approved\nCustomer e-mail", ",draft\nCustomer e-mail"), world=world)
    html = dry.content.decode()
    assert dry.status_code == 200
    assert re.search(r'data-action="update"><td>1</td><th scope="row">Customer</th>\s*<td>updated</td>'
                     r"\s*<td>status</td>", html)
    assert re.search(r'data-action="create"><td>2</td><th scope="row">Customer e-mail</th>', html)
    assert "1 created, 1 updated, 0 unchanged. Nothing has been written yet." in html
    assert not GlossaryTerm.objects.filter(name="Customer e-mail").exists()  # the dry run wrote nothing
    token = dry.context["token"]
    done = client.post(IMPORT, {"confirm": token}, format="multipart", follow=True)
    assert [str(m) for m in done.context["messages"]] == [
        "Glossary imported into Workspace A: 1 term created, 1 updated, 0 unchanged."]
    assert GlossaryTerm.objects.get(name="Customer e-mail").parent.name == "Customer"
    assert AuditEvent.objects.filter(event="glossary.imported", actor=world.user("steward")).count() == 1
    again = client.post(IMPORT, {"confirm": token}, format="multipart", follow=True)  # applied once only
    assert "no longer waiting" in str(list(again.context["messages"])[0])


def test_a_bad_file_lists_every_problem_with_row_and_column_and_imports_nothing(world):
    bad = ("name,definition,parent,status,stewards\n"
           "Customer,ok,Nobody,approved,\n"
           ",no name,,approved,\n"
           "Order,ok,,final,ghost\n")
    response = _upload(staff_client(world, "steward"), bad, world=world)
    html = response.content.decode()
    rows = re.findall(r"<tr><td>(\w+)</td><td>([\w—]+)</td><td>(.*?)</td></tr>", html)
    assert [(row, column) for row, column, _ in rows] == [("1", "parent"), ("2", "name"), ("3", "status"),
                                                          ("3", "stewards")]
    assert "nothing was imported" in html
    assert not GlossaryTerm.objects.exists()


def test_a_json_import_and_a_file_that_is_neither(world):
    client = staff_client(world, "steward")
    document = json.dumps({"terms": [{"name": "Invoice", "synonyms": ["bill"]}]})
    dry = _upload(client, document, name="terms.json", world=world)
    assert "1 created, 0 updated, 0 unchanged" in dry.content.decode()
    odd = _upload(client, document, name="terms.txt", world=world)
    assert "Name the format" in odd.content.decode()


@pytest.mark.parametrize("persona", ["analyst", "auditor"])
def test_readers_may_not_import(world, persona):
    client = staff_client(world, persona)
    assert client.get(IMPORT).status_code == 403
    assert 'class="glossary-import-link"' not in client.get(LIST).content.decode()


def test_a_steward_may_not_import_into_another_workspace(world):
    response = _upload(staff_client(world, "steward"), CSV, workspace=world.workspace_b.pk, world=world)
    assert "Select a valid choice" in response.content.decode()
    assert not GlossaryTerm.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_the_selected_terms_export_as_a_file_the_import_reads_back(world, fmt):
    parent = GlossaryTermFactory(workspace=world.workspace_a, name="Customer", synonyms=["client"])
    child = GlossaryTermFactory(workspace=world.workspace_a, name="Customer e-mail", parent=parent)
    GlossaryTermFactory(workspace=world.workspace_b, name="Theirs")
    response = staff_client(world, "steward").post(LIST, {"action": f"export_glossary_{fmt}",
                                                    "_selected_action": [parent.pk, child.pk]}, format="multipart")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="glossary.{fmt}"'
    content = response.content.decode()
    rows = glossary.PARSERS[fmt](content)
    assert [(row["name"], row["parent"], row["synonyms"]) for row in rows] == [
        ("Customer", "", ["client"]), ("Customer e-mail", "Customer", [])]
    plan = glossary.glossary_import(workspace=world.workspace_a, data=content, fmt=fmt, acting_user=SYSTEM,
                                    dry_run=True)
    assert plan.count("unchanged") == 2



@pytest.mark.parametrize("url", [reverse("admin:catalog_glossaryterm_changelist") + "?workspace=",
                                 reverse("admin:catalog_glossaryterm_changelist") + "?parent=",
                                 reverse("admin:catalog_tableasset_changelist") + "?data_source="])
@pytest.mark.parametrize("value", ["²", "1" * 30])
def test_an_admin_filter_given_a_digit_int_cannot_read_or_a_huge_id_lists_unfiltered(world, url, value):
    # str.isdigit() took "²", which int() refused, and 10**30 overflowed SQLite's integer: both were 500s.
    response = staff_client(world, "steward").get(url + value)
    assert response.status_code in (200, 302), response.status_code


def test_the_stewards_field_says_whom_it_offers(world):
    # A superuser who is no workspace's member saw an empty Stewards box and no reason for it.
    page = staff_client(world, "steward").get(reverse("admin:catalog_glossaryterm_add")).content.decode()
    assert "Members of the term's workspace: a workspace admin gives users a role there under Memberships." in page
