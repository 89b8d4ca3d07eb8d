"""What a data steward met trying issue 13's curation for the first time on `make run` (new-user pass 22): the
glossary import's missing file and unknown stewards said plainly, the bulk form's empty lists saying why, the
home's suggestions with a link to them, the suggestion list without an empty link, a decision's message in words
of its own, /api/v1/assets/bulk/ opened in a browser showing how to use it instead of a 405, and search
results whose names wrap between their parts."""
import html
import json
import re

import pytest
from django.urls import reverse

from accounts.actors import SYSTEM
from catalog import asset_curation, glossary
from catalog.admin_assets import asset_url
from catalog.models import Asset, Suggestion
from tests.catalog.classification_factories import asset_tree
from tests.catalog.curation_factories import GlossaryTermFactory, TagFactory
from tests.catalog.factories import DataSourceFactory
from tests.catalog.search_support import index_everything
from tests.catalog.suggestion_factories import suggestion_in
from tests.support import openapi
from tests.support.factories import UserFactory
from tests.support.personas import PERSONAS, staff_client

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:catalog_glossaryterm_import")
BULK = "/api/v1/assets/bulk/"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _columns(workspace):
    source = DataSourceFactory(workspace=workspace, name=f"Shop {workspace.slug}")
    return asset_tree(source, table="customers", columns={"email": "text", "phone": "text"})[3]


# --- the glossary import ---------------------------------------------------------------------------------------

def test_the_import_without_a_file_marks_the_file_row_and_asks_for_the_file(world):
    html = staff_client(world, "steward").post(IMPORT, {"workspace": world.workspace_a.pk, "format": ""},
                                         format="multipart").content.decode()
    row = re.search(r'<div class="form-row([^"]*)">(?:(?!<div class="form-row).)*?name="file"', html, re.S)
    # The error sat between the workspace and the file, in a row not marked: it read as the workspace's.
    assert row is not None and "errors" in row.group(1)
    assert "Choose the file to import." in row.group(0) and "This field is required." not in html


def test_a_steward_who_is_not_a_member_is_refused_saying_how_to_make_them_one(world):
    UserFactory(username="newcomer")
    with pytest.raises(glossary.ImportRejected) as rejected:
        glossary.glossary_import(workspace=world.workspace_a, data="name,stewards\nCustomer,newcomer\n", fmt="csv",
                                 acting_user=SYSTEM)
    [error] = rejected.value.errors
    assert (error["row"], error["column"]) == (1, "stewards")
    assert error["message"] == (f"newcomer is not a member of {world.workspace_a.name}: give them a role there first "
                                "(Memberships in the admin, or manage.py grant_role).")


# --- the bulk curation form -------------------------------------------------------------------------------------

def _bulk_form(client, assets) -> str:
    data = {"action": "curate_selected", "_selected_action": [asset.pk for asset in assets]}
    return client.post(reverse("admin:catalog_columnasset_changelist"), data, format="multipart").content.decode()


def test_the_bulk_form_says_why_a_list_is_empty_and_where_to_fill_it(world):
    cols = _columns(world.workspace_a)
    html = _bulk_form(staff_client(world, "steward"), cols.values())
    # The workspace has members (the personas) but no tag and no term yet: two empty boxes said nothing.
    assert 'data-missing="tags"' in html and reverse("admin:catalog_tag_add") in html
    assert 'data-missing="terms"' in html and reverse("admin:catalog_glossaryterm_import") in html
    assert 'data-missing="members"' not in html and "Tick several with Ctrl" in html
    TagFactory(workspace=world.workspace_a, name="gdpr")
    GlossaryTermFactory(workspace=world.workspace_a, name="Contact")
    filled = _bulk_form(staff_client(world, "steward"), cols.values())
    assert 'data-missing="tags"' not in filled and 'data-missing="terms"' not in filled


# --- suggestions -------------------------------------------------------------------------------------------------

def test_the_home_links_the_waiting_suggestions_in_words_too(world):
    client = staff_client(world, "steward")
    assert 'id="suggestions-link"' not in client.get(reverse("admin:index")).content.decode()
    suggestion_in(world.workspace_a)
    html = client.get(reverse("admin:index")).content.decode()
    link = re.search(r'<a href="([^"]+)" id="suggestions-link">See them</a>', html)
    assert link is not None and link.group(1).startswith(reverse("admin:catalog_suggestion_changelist"))


def test_the_suggestion_list_has_no_link_inside_a_link(world):
    row = suggestion_in(world.workspace_a, description="Where we **write** to them.")
    html = staff_client(world, "steward").get(reverse("admin:catalog_suggestion_changelist")).content.decode()
    asset_cell = re.search(r'<t[hd] class="field-asset_shown">(.*?)</t[hd]>', html, re.S).group(1)
    # Django made the first column the row's link; with the asset's own link inside, browsers split the two into
    # an empty link to the suggestion (nothing to click) and the asset's.
    assert asset_cell.count("<a ") == 1 and asset_url(row.asset) in asset_cell
    suggested = re.search(r'<t[hd] class="field-suggested">(.*?)</t[hd]>', html, re.S).group(1)
    assert reverse("admin:catalog_suggestion_change", args=[row.pk]) in suggested


@pytest.mark.parametrize(("verb", "expected"), [
    ("accept", "Suggestion accepted: {asset} is described as suggested."),
    ("dismiss", "Suggestion dismissed on {asset}: it will not be offered again."),
])
def test_a_decision_s_message_is_a_sentence_not_the_suggested_markdown(world, verb, expected):
    row = suggestion_in(world.workspace_a, description="The customer's **given name**, " + "long " * 300)
    response = staff_client(world, "steward").post(reverse("admin:catalog_suggestion_decide"),
                                             {"decide": f"{verb}:{row.pk}", "next": asset_url(row.asset)},
                                             format="multipart", follow=True)
    said = [str(message) for message in response.context["messages"]]
    assert said == [expected.format(asset=row.asset.title)]


def test_accepting_a_term_says_which_term_is_linked(world):
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Contact")
    row = suggestion_in(world.workspace_a, kind=Suggestion.Kind.TERM, rule=Suggestion.Rule.IMPLIED_CLASSIFICATION,
                        term=term, description="", fingerprint="")
    response = staff_client(world, "steward").post(reverse("admin:catalog_suggestion_decide"),
                                             {"decide": f"accept:{row.pk}", "next": asset_url(row.asset)},
                                             format="multipart", follow=True)
    assert [str(message) for message in response.context["messages"]] == [
        f"Suggestion accepted: the term “Contact” is linked to {row.asset.title}."]


# --- /api/v1/assets/bulk/ in a browser -----------------------------------------------------------------------------

def test_the_bulk_endpoint_in_a_browser_says_how_to_use_it_with_an_example_body_that_works(world):
    cols = _columns(world.workspace_a)
    tag = TagFactory(workspace=world.workspace_a, name="gdpr")
    client = world.client("steward")
    response = client.get(BULK, HTTP_ACCEPT=BROWSER)
    page = response.content.decode()
    # It was a "405 Method not allowed" above a form of one asset's curation (description, owners as a list…).
    assert response.status_code == 200 and "not allowed" not in page
    assert "Curate many assets at once" in page and f"{asset_curation.MAX_BULK_ASSETS}" in page
    form = page[page.index(f'<form action="{BULK}" method="POST"'):]
    body = re.search(r'<textarea[^>]*name="_content"[^>]*>(.*?)</textarea>', form, re.S).group(1)
    example = json.loads(html.unescape(body))
    assert example["tags"] == {"add": [tag.pk]} and len(example["assets"]) == 1
    assert Asset.objects.get(pk=example["assets"][0]).data_source.workspace == world.workspace_a
    # That body, posted, tags the one asset.
    done = client.post(BULK, example, format="json")
    assert done.status_code == 200 and done.json()["changed"] == 1 and cols
    options = client.options(BULK).json()
    assert {"assets", "filters", "owners", "tags", "terms"} <= set(options["actions"]["POST"])
    assert "description" not in options["actions"]["POST"]


def _json_get(client, monkeypatch):
    # The schema check reads GET /assets/bulk/ as GET /assets/{id}/ (its path template matches "bulk"), whose
    # answers have no 405: there is no GET operation here to check the 405 against.
    with monkeypatch.context() as patch:
        patch.setattr(openapi, "check_response", lambda response: None)
        return client.get(BULK, HTTP_ACCEPT="application/json")


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_gets_the_bulk_endpoint_s_page(world, persona, monkeypatch):
    _columns(world.workspace_a)
    client = world.client(persona)
    page = client.get(BULK, HTTP_ACCEPT=BROWSER)
    json_answer = _json_get(client, monkeypatch)
    # An outsider (a member of no workspace) may not curate anything: 403, as its POST is.
    expected = {"anonymous": 401, "staff_unverified": 403, "outsider": 403}.get(persona)
    if expected:
        assert (page.status_code, json_answer.status_code) == (expected, expected)
        return
    # Every signed-in user reads how to use it (writing is checked per asset on POST); other clients keep the 405.
    assert (page.status_code, json_answer.status_code) == (200, 405)
    body = re.search(r'<textarea[^>]*name="_content"[^>]*>(.*?)</textarea>', page.content.decode(), re.S)
    example = body is not None and bool(json.loads(html.unescape(body.group(1)) or "{}").get("assets"))
    # The example names an asset only to who may curate one (in workspace A, its steward and admin); the others'
    # form shows the fields empty.
    assert example == (persona in {"steward", "workspace_admin", "superuser"})


# --- the admin's search page -------------------------------------------------------------------------------------

def test_search_results_break_qualified_names_between_their_parts_not_inside_one(world):
    source = DataSourceFactory(workspace=world.workspace_a, name="Shop", database="shop")
    asset_tree(source, table="customer_orders", columns={"email": "text", "<b>oddity": "text"})
    index_everything()
    client = staff_client(world, "steward")
    page = client.get(reverse("asset-search"), {"q": "email"}).content.decode()
    # The name wrapped anywhere ("customer_order" / "s.email"); the asset lists break after the dots.
    assert ">shop.<wbr>public.<wbr>customer_orders.<wbr>email</a>" in page
    odd = client.get(reverse("asset-search"), {"q": "oddity"}).content.decode()
    assert "customer_orders.<wbr>&quot;&lt;b&gt;oddity&quot;</a>" in odd and "<b>oddity" not in odd


# --- list cells show Markdown as it reads --------------------------------------------------------------------------

def test_list_cells_show_a_markdown_text_as_it_reads_not_its_asterisks(world):
    """The tag list showed "Personal data under the **GDPR**." and the suggestion list the suggested description's
    asterisks: a list cell shows one line of the text as rendered, its markup gone and its characters escaped."""
    TagFactory(workspace=world.workspace_a, name="gdpr", description="Personal data under the **GDPR**.\n\n"
                                                                    "- see <script>x</script> & [policy](https://e.x)")
    suggestion_in(world.workspace_a, description="Where we **write** to them.")
    client = staff_client(world, "steward")
    tags = client.get(reverse("admin:catalog_tag_changelist")).content.decode()
    cell = re.search(r'<td class="field-description_shown">(.*?)</td>', tags, re.S).group(1)
    assert cell == "Personal data under the GDPR. see &lt;script&gt;x&lt;/script&gt; &amp; policy"
    suggestions = client.get(reverse("admin:catalog_suggestion_changelist")).content.decode()
    assert "Describe it as: Where we write to them." in suggestions and "**" not in suggestions
