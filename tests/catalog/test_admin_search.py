"""The admin header's search (catalog.search, tested in depth by tests/catalog/test_search.py): only in the user's
scope, removed ones left out, ranked, paginated, in a constant number of queries, and a short or missing query
answered with a hint, not an error. Factories write past the services that index, so each test indexes what it
made (``index_everything``)."""
import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.admin_search import PAGE_SIZE
from catalog.models import Asset
from tests.catalog.classification_factories import asset_tree
from tests.catalog.factories import DataSourceFactory
from tests.catalog.search_support import index_everything

pytestmark = pytest.mark.django_db

URL = reverse("asset-search")


@pytest.fixture
def steward(world):
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    return world.client("steward")


def _found(response) -> list[str]:
    return [row["asset"].qualified_name for row in response.context["results"]]


def test_finds_by_name_and_qualified_name_in_the_users_scope_only(world, steward):
    hr = DataSourceFactory(workspace=world.workspace_a, name="HR", database="hr")
    _, _, employees, columns = asset_tree(hr, table="employees", columns={"email": "text", "salary": "numeric"})
    columns["salary"].sensitivity = Asset.Sensitivity.CONFIDENTIAL
    columns["salary"].save(update_fields=["sensitivity"])
    crm = DataSourceFactory(workspace=world.workspace_b, name="CRM", database="crm")
    asset_tree(crm, table="employees", columns={"email": "text"})  # another workspace's: never found
    index_everything()

    response = steward.get(URL, {"q": "EMPLOYEES"})
    assert response.status_code == 200
    assert _found(response) == ["hr.public.employees", "hr.public.employees.email", "hr.public.employees.salary"]
    page = response.content.decode()
    assert f'href="{reverse("admin:catalog_tableasset_change", args=[employees.pk])}"' in page
    assert "CRM" not in page and "crm." not in page

    found = steward.get(URL, {"q": "salary"})
    assert _found(found) == ["hr.public.employees.salary"]
    row = found.content.decode().split('id="search-results"')[1]
    assert "Column" in row and "HR" in row and "Confidential" in row


def test_exact_names_come_first_and_removed_assets_are_left_out(world, steward):
    source = DataSourceFactory(workspace=world.workspace_a, database="shop")
    asset_tree(source, table="email_log", columns={"sent_at": "timestamp"})
    _, _, _, columns = asset_tree(source, table="customers", columns={"email": "text", "old_email": "text"})
    columns["old_email"].removed_at = timezone.now()
    columns["old_email"].save(update_fields=["removed_at"])
    index_everything()
    assert _found(steward.get(URL, {"q": "email"})) == [
        "shop.public.customers.email", "shop.public.email_log", "shop.public.email_log.sent_at"]


@pytest.mark.parametrize("query", ["", "   ", "e"])
def test_an_empty_or_short_query_asks_for_more(steward, query):
    response = steward.get(URL, {"q": query})
    assert response.status_code == 200
    assert response.context["page"] is None
    text = response.content.decode()
    assert ("Type at least 2 characters" in text) == bool(query.strip())
    assert "at least 2 characters" in text


def test_an_over_long_query_is_refused_with_a_message(steward):
    response = steward.get(URL, {"q": "x" * 201})
    assert response.status_code == 200 and response.context["page"] is None
    assert "at most 200 characters" in response.content.decode()


def test_pages_in_constant_queries(world, steward):
    source = DataSourceFactory(workspace=world.workspace_a, database="wide")
    asset_tree(source, table="people", columns={f"name_{index}": "text" for index in range(3)})
    index_everything()
    steward.get(URL, {"q": "name"})  # warm the per-process caches (content types, grants)
    with CaptureQueriesContext(connection) as few:
        assert len(_found(steward.get(URL, {"q": "name"}))) == 3
    asset_tree(source, table="people", columns={f"name_{index}": "text" for index in range(PAGE_SIZE + 10)})
    index_everything()
    with CaptureQueriesContext(connection) as many:
        response = steward.get(URL, {"q": "name"})
    assert len(_found(response)) == PAGE_SIZE
    assert len(many) == len(few)
    assert _found(steward.get(URL, {"q": "name", "page": "2"})) == [
        # Names starting with the query, the shorter first, then by qualified name.
        f"wide.public.people.name_{index}" for index in sorted(range(PAGE_SIZE + 10),
                                                               key=lambda index: (len(str(index)), str(index)))
    ][PAGE_SIZE:]
    assert steward.get(URL, {"q": "name", "page": "bogus"}).status_code == 200  # the first page


def test_only_for_verified_staff(world):
    assert world.client("anonymous").get(URL, {"q": "email"}).status_code == 302  # to the login
    unverified = world.client("staff_unverified").get(URL, {"q": "email"})
    assert unverified.status_code == 302 and "/accounts/mfa/" in unverified["Location"]


def test_the_header_carries_the_search_box(steward):
    page = steward.get(reverse("admin:index")).content.decode()
    assert f'action="{URL}"' in page and 'name="q"' in page


def test_finds_by_a_synonym_and_says_why(world, steward):
    from accounts.actors import SYSTEM
    from catalog import glossary
    from tests.catalog.curation_factories import GlossaryTermFactory

    source = DataSourceFactory(workspace=world.workspace_a, database="crm")
    _, _, _, columns = asset_tree(source, table="contacts", columns={"mail_addr": "text"})
    index_everything()
    term = GlossaryTermFactory(workspace=world.workspace_a, name="E-mail address", synonyms=["courriel"])
    glossary.glossary_term_link(term=term, asset=columns["mail_addr"], acting_user=SYSTEM)
    response = steward.get(URL, {"q": "courriel"})
    assert _found(response) == ["crm.public.contacts.mail_addr"]
    assert 'synonym "courriel" of term "E-mail address"' in html.unescape(response.content.decode())


def test_a_query_with_nothing_to_search_says_so(steward):
    response = steward.get(URL, {"q": "!!!"})
    assert response.status_code == 200 and response.context["page"] is None
    assert "Type letters or digits" in response.content.decode()


def _facet(response, name: str) -> dict[str, tuple[int, bool]]:
    """A facet of the page as ``{label: (count, selected)}``."""
    facet = next((shown for shown in response.context["facets"] if shown["name"] == name), None)
    return {} if facet is None else {value["label"]: (value["count"], value["selected"]) for value in facet["values"]}


def test_facets_beside_the_results_narrow_them_link_by_link(world, steward):
    """The API's facets on the admin page: counted among the results, each value a link adding its filter (and the
    chosen one a link dropping it); a value out of sight is said under the box, not a 500."""
    from accounts.actors import SYSTEM
    from catalog import curation
    from tests.catalog.curation_factories import TagFactory

    source = DataSourceFactory(workspace=world.workspace_a, name="Shop", database="shop")
    _, _, customers, columns = asset_tree(source, table="customers", columns={"email": "text", "email_ok": "bool"})
    asset_tree(source, table="email_log", columns={"sent_at": "timestamp"})
    gdpr = TagFactory(workspace=world.workspace_a, name="gdpr")
    curation.asset_tag_add(asset=columns["email"], tag=gdpr, acting_user=SYSTEM)
    index_everything()

    response = steward.get(URL, {"q": "email"})
    assert sorted(_found(response)) == ["shop.public.customers.email", "shop.public.customers.email_ok",
                                        "shop.public.email_log", "shop.public.email_log.sent_at"]
    assert _facet(response, "type") == {"Column": (3, False), "Table": (1, False)}
    assert _facet(response, "tag") == {"gdpr": (1, False)}
    page = response.content.decode()
    assert 'id="search-facets"' in page and "Narrow the results" in page
    assert "term" not in {shown["name"] for shown in response.context["facets"]}  # a facet without values: not shown

    link = next(value["url"] for shown in response.context["facets"] if shown["name"] == "tag"
                for value in shown["values"])
    assert link == f"?q=email&tag={gdpr.pk}"
    narrowed = steward.get(URL + link)
    assert _found(narrowed) == ["shop.public.customers.email"]
    assert _facet(narrowed, "tag") == {"gdpr": (1, True)}
    text = narrowed.content.decode()
    assert "✓ gdpr" in text and "Clear the filters" in text and 'href="?q=email"' in text
    dropped = next(value["url"] for shown in narrowed.context["facets"] if shown["name"] == "tag"
                   for value in shown["values"])
    assert dropped == "?q=email"  # clicking the chosen value again drops it

    # Two values of one facet add up; the page links keep the filters (the page number goes).
    both = steward.get(URL, {"q": "email", "type": ["column", "table"], "page": "1"})
    assert len(_found(both)) == 4 and both.context["page_query"] == "q=email&type=column&type=table"

    other = TagFactory(workspace=world.workspace_b, name="secret")
    refused = steward.get(URL, {"q": "email", "tag": str(other.pk)})
    assert refused.status_code == 200 and refused.context["page"] is None
    assert f"Tag: Unknown value: {other.pk}." in refused.content.decode()
    assert "secret" not in refused.content.decode()
