"""Session 22's attack pass on curation, owners, the glossary, bulk curation and search (docs/security.md): each
test failed before its fix, but those marked xfail, which name where the fix belongs."""
from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from accounts.actors import SYSTEM
from catalog import curation, glossary
from catalog.markdown import render_markdown
from catalog.models import Asset, AssetOwner, AssetSearchDocument, GlossaryTerm
from catalog.selectors import asset_curatable_list
from tests.catalog.factories import AssetFactory
from tests.catalog.test_review_queue import staff

pytestmark = pytest.mark.django_db


def _curation(asset: Asset) -> str:
    return reverse("api:assetcuration-curation", args=[asset.pk])


# --- owners: a group opens an asset to its members in the asset's workspace only ----------------------------------


def test_an_owning_group_gives_curation_only_to_its_members_in_the_assets_workspace(world):
    """Groups are organization-wide and any group may be named owner. A steward of B naming the auditors' group
    made every auditor — read-only, and a member of A only — a curator of B's asset (its description, owners,
    tags, terms, certification), where naming an auditor user is refused as not a member of B."""
    asset = AssetFactory(data_source__workspace=world.workspace_b, type=Asset.Type.TABLE)
    auditor = world.user("auditor")
    auditors = Group.objects.get(user=auditor)
    with pytest.raises(ValidationError):  # the user alone is refused as an owner
        curation.asset_owner_add(asset=asset, user=auditor, owner_type=AssetOwner.OwnerType.STEWARD,
                                 acting_user=world.user("other_workspace_user"))
    response = world.client("other_workspace_user").patch(
        _curation(asset), {"owners": [{"group": auditors.pk, "owner_type": "steward"}]}, format="json")
    assert response.status_code == 200, response.content[:300]

    assert not curation.may_curate(auditor, asset)
    assert not asset_curatable_list(user=auditor).filter(pk=asset.pk).exists()
    response = world.client("auditor").patch(_curation(asset), {"description": "the auditor's words"},
                                             format="json")
    assert response.status_code == 403, response.content[:300]
    asset.refresh_from_db()
    assert asset.description == ""

    # A member of the asset's workspace curates it through the group, as the owners' rule says.
    analyst_group = Group.objects.create(name="Finance analysts")
    world.user("analyst").groups.add(analyst_group)
    own = AssetFactory(data_source__workspace=world.workspace_a, type=Asset.Type.TABLE)
    curation.asset_owner_add(asset=own, group=analyst_group, owner_type=AssetOwner.OwnerType.BUSINESS,
                             acting_user=SYSTEM)
    response = world.client("analyst").patch(_curation(own), {"description": "ours"}, format="json")
    assert response.status_code == 200, response.content[:300]


# --- glossary: a term's words are bounded wherever they come from --------------------------------------------------


def test_an_imported_term_has_no_more_synonyms_than_the_api_allows(world):
    """The API takes at most 100 synonyms or abbreviations per term; an import (admin, ``manage.py glossary``)
    took 120,000 in a 1.3 MB JSON file, and on PostgreSQL every link to that term then failed (a 500: the linked
    asset's search document passed PostgreSQL's 1 MB bound), as did every refresh of a linked asset."""
    steward = world.user("steward")
    many = json.dumps([{"name": "Customer", "synonyms": [f"w{n:06d}" for n in range(120_000)]}])
    with pytest.raises(glossary.ImportRejected) as rejected:
        glossary.glossary_import(workspace=world.workspace_a, data=many, fmt="json", acting_user=steward)
    assert rejected.value.errors[0]["row"] == 1 and rejected.value.errors[0]["column"] == "synonyms"
    assert "At most 100" in rejected.value.errors[0]["message"]
    assert not GlossaryTerm.objects.filter(name="Customer").exists()
    csv_file = "name,abbreviations\nClient," + ";".join(f"a{n}" for n in range(101))
    with pytest.raises(glossary.ImportRejected) as rejected:
        glossary.glossary_import(workspace=world.workspace_a, data=csv_file, fmt="csv", acting_user=steward)
    assert rejected.value.errors[0]["column"] == "abbreviations"
    with pytest.raises(ValidationError) as refused:
        glossary.glossary_term_create(workspace=world.workspace_a, name="Buyer", acting_user=steward,
                                      synonyms=[f"s{n}" for n in range(101)])
    assert "synonyms" in refused.value.message_dict

    # The bound itself is linkable: a term of 100 synonyms is linked, and found by them.
    words = [f"w{n:06d}" for n in range(100)]
    glossary.glossary_import(workspace=world.workspace_a, data=json.dumps([{"name": "Customer", "synonyms": words}]),
                             fmt="json", acting_user=steward)
    term = GlossaryTerm.objects.get(workspace=world.workspace_a, name="Customer")
    asset = AssetFactory(data_source__workspace=world.workspace_a, type=Asset.Type.COLUMN, name="cust_ref")
    response = world.client("steward").patch(_curation(asset), {"terms": [term.pk]}, format="json")
    assert response.status_code == 200, response.content[:300]
    found = world.client("steward").get(reverse("api:search-list"), {"q": "w000099"}).json()["results"]
    assert [item["id"] for item in found] == [asset.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's tsvector is bounded; FTS5's is not")
def test_linking_many_wordy_terms_to_one_asset_is_not_a_server_error(world):
    """40 terms of 100 synonyms of 200 characters (distinct words) linked to one column: its search document's
    lexemes add up to 1.6 MB, and PostgreSQL refuses it ("string is too long for tsvector")."""
    steward = world.user("steward")
    counter = iter(range(10**7))
    terms = []
    for n in range(40):
        synonyms = [" ".join(f"x{next(counter):06d}" for _ in range(25))[:200] for _ in range(100)]
        terms.append(glossary.glossary_term_create(workspace=world.workspace_a, name=f"Wordy {n}", synonyms=synonyms,
                                                   acting_user=steward))
    asset = AssetFactory(data_source__workspace=world.workspace_a, type=Asset.Type.COLUMN, name="wordy")
    client = world.client("steward")
    client.raise_request_exception = False
    response = client.post(reverse("api:assetcuration-bulk"),
                           {"assets": [asset.pk], "terms": {"add": [term.pk for term in terms]}}, format="json")
    assert response.status_code == 200, response.content[:300]
    # Still searchable: its document holds the words of its terms, up to the bound.
    document = AssetSearchDocument.objects.get(asset=asset)
    assert document.name_words == "wordy"
    with connection.cursor() as cursor:
        cursor.execute("SELECT length(document) FROM catalog_assetsearchdocument WHERE asset_id = %s", [asset.pk])
        assert cursor.fetchone()[0] > 1_000


# --- Markdown: a table's cells are bounded by what the text spells -----------------------------------------------


def test_a_short_text_cannot_render_a_huge_table():
    """A table's rows are completed with empty cells up to its header's columns: a 10,000-character definition (a
    header of 1,000 columns, 2,000 lines of ``|``) rendered 65,536 cells — 670 kB of HTML and seconds of CPU per
    rendering, and the glossary's API list renders every term's definition (10 such terms: a minute)."""
    columns = 1_000
    text = ("|" + "a|" * columns + "\n|" + "-|" * columns + "\n" + "|\n" * 2_000)[:10_000]
    html = render_markdown(text)
    assert len(html) < 3 * len(text)  # the cells' HTML is what cost the time: bounded, with no clock to read
    # Tables as people write them are still tables, a long one included.
    table = "| name | meaning |\n|---|:-:|\n" + "".join(f"| c{n} | the {n}th |\n" for n in range(300))
    assert render_markdown(table).count("<td") == 600
    assert render_markdown("a | b\n--|--\n1 | 2").count("<td") == 2


# --- certification: an expiry every page can show -----------------------------------------------------------------


@pytest.mark.parametrize("how", ["one", "bulk"])
def test_a_certification_expiry_is_within_a_century(world, how):
    """An expiry of 9999-12-31T23:59:59Z was taken; with a TIME_ZONE east of UTC (an operator's setting, e.g.
    Europe/Paris) it is past year 9999 there, so the asset's admin page and curation page were a 500 for everyone
    and its API curation a 400 to every reader."""
    asset = AssetFactory(data_source__workspace=world.workspace_a, type=Asset.Type.TABLE)
    client = world.client("steward")
    for far in ("9999-12-31T23:59:59Z", "2200-01-01T00:00:00Z"):
        body = {"certification": "certified", "certification_expires_at": far}
        if how == "one":
            response = client.patch(_curation(asset), body, format="json")
        else:
            response = client.post(reverse("api:assetcuration-bulk"), {"assets": [asset.pk], **body}, format="json")
        assert response.status_code == 400, response.content[:300]
        assert response.json()["errors"][0]["field"] == "certification_expires_at"
    assert not hasattr(Asset.objects.get(pk=asset.pk), "certification")
    with override_settings(TIME_ZONE="Europe/Paris"):
        response = client.patch(_curation(asset), {"certification": "certified",
                                                   "certification_expires_at": "2100-01-01T00:00:00Z"}, format="json")
        assert response.status_code == 200, response.content[:300]
        assert world.client("analyst").get(_curation(asset)).status_code == 200
        admin = staff(world, "steward")
        assert admin.get(reverse("admin:catalog_tableasset_change", args=[asset.pk])).status_code == 200


def test_the_admins_term_form_refuses_what_the_service_refuses(world):
    """The admin's term form took any synonyms and abbreviations and the service refused them at save, past the
    form: a synonym over 200 characters (and now more than 100 of them) was a 500."""
    client = staff(world, "steward")
    client.raise_request_exception = False
    for field, words in (("synonyms", ["x" * 201]), ("abbreviations", [f"a{n}" for n in range(101)])):
        response = client.post(reverse("admin:catalog_glossaryterm_add"), {
            "workspace": world.workspace_a.pk, "name": "Customer", "status": "draft", "definition": "",
            "synonyms": "", "abbreviations": "", field: "\n".join(words)}, format="multipart")
        assert response.status_code == 200, (field, response.status_code)
        assert field in response.context["adminform"].form.errors
    assert not GlossaryTerm.objects.exists()


# --- bulk curation: lists as given, each item once, bounded -------------------------------------------------------


def test_a_bulk_operation_naming_an_owner_tag_or_term_twice_applies_it_once(world):
    """Each item of ``add`` or ``set`` was inserted once per mention: the second insert broke the unique constraint
    and the request was a 500."""
    asset = AssetFactory(data_source__workspace=world.workspace_a, type=Asset.Type.TABLE)
    tag = curation.tag_create(workspace=world.workspace_a, name="finance", acting_user=SYSTEM)
    term = glossary.glossary_term_create(workspace=world.workspace_a, name="Revenue", acting_user=SYSTEM)
    owner = {"user": world.user("analyst").pk, "owner_type": "business"}
    client = world.client("steward")
    for change in ({"owners": {"add": [owner, owner]}}, {"tags": {"add": [tag.pk, tag.pk]}},
                   {"terms": {"set": [term.pk, term.pk]}}):
        response = client.post(reverse("api:assetcuration-bulk"), {"assets": [asset.pk], **change}, format="json")
        assert response.status_code == 200, (change, response.content[:300])
    curated = client.get(_curation(asset)).json()
    assert [item["user"] for item in curated["owners"]] == [world.user("analyst").pk]
    assert curated["tags"] == [tag.pk] and curated["terms"] == [term.pk]


def test_lists_of_owners_tags_and_terms_are_bounded_before_they_are_looked_up(world):
    """Each id is a query: 50,000 copies of one owner in a 1.9 MB bulk body held a worker for nearly seven minutes
    (then failed), and the asset's own curation took as many tags or terms."""
    asset = AssetFactory(data_source__workspace=world.workspace_a, type=Asset.Type.TABLE)
    tag = curation.tag_create(workspace=world.workspace_a, name="finance", acting_user=SYSTEM)
    owner = {"user": world.user("analyst").pk, "owner_type": "business"}
    client = world.client("steward")
    bulk = reverse("api:assetcuration-bulk")
    for change, field in (({"owners": {"add": [owner] * 101}}, "owners.add"),
                          ({"tags": {"add": [tag.pk] * 101}}, "tags.add"),
                          ({"terms": {"remove": [tag.pk] * 101}}, "terms.remove")):
        response = client.post(bulk, {"assets": [asset.pk], **change}, format="json")
        assert response.status_code == 400, (change, response.content[:300])
        assert response.json()["errors"][0]["field"] == field, response.json()["errors"]
    for change, field in (({"tags": [tag.pk] * 1_001}, "tags"), ({"terms": [1] * 1_001}, "terms"),
                          ({"owners": [owner] * 1_001}, "owners")):
        response = client.patch(_curation(asset), change, format="json")
        assert response.status_code == 400, (change, response.content[:300])
        assert response.json()["errors"][0]["field"] == field
    assert client.patch(_curation(asset), {"tags": [tag.pk] * 1_000}, format="json").status_code == 200
