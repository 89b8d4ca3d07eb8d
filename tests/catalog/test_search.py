"""catalog.search through catalog.selectors.asset_search: relevance (exact name first, prefix, terms and synonyms,
typos, camelCase and snake_case), facets that count what their filter leaves, and documents kept up to date by the
services that change what they hold — on SQLite and, with DATABASE_URL, on PostgreSQL."""
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.actors import SYSTEM
from catalog import curation, glossary, search, services
from catalog.bulk import AssetWriter, NewAsset, scanned_values
from catalog.models import Asset, AssetClassification, AssetSearchDocument
from catalog.selectors import asset_search, search_filters
from sources.connectors import SchemaObject, qualified_name
from tests.catalog.classification_factories import AssetClassificationFactory, asset_tree, builtin
from tests.catalog.curation_factories import GlossaryTermFactory, TagFactory
from tests.catalog.factories import DataSourceFactory
from tests.catalog.search_support import found, index_everything, matches

pytestmark = pytest.mark.django_db

COLUMNS = {"customer_email": "text", "email": "text", "customerEmailVerified": "boolean", "customer_id": "integer",
           "billing_address": "text", "mail_opt_in": "boolean"}


@pytest.fixture
def shop(world):
    source = DataSourceFactory(workspace=world.workspace_a, name="Shop", database="shop")
    database, schema, table, columns = asset_tree(source, table="customers", columns=COLUMNS)
    index_everything()
    return {"source": source, "schema": schema, "table": table, **columns}


@pytest.fixture
def steward(world):
    return world.user("steward")


# --- words -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "words"), [
    ("customer_email", "customer email"), ("customerEmail", "customer email"), ("CustomerEmail", "customer email"),
    ("HTTPServer_ID", "http server id"), ("  e-mail  address!", "e mail address"), ("Café_au_lait", "café au lait"),
    ("address2", "address2"), ("__", ""),
])
def test_words_split_snake_and_camel_case(text, words):
    assert search.search_words(text) == words


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's tsvector")
def test_a_document_built_in_python_is_the_tsvector_postgresql_would_build():
    # Letters, digits, accents, apostrophes, URLs, repeated words. (Not superscript digits: Python counts "x²" as one
    # word, PostgreSQL's parser reads "x"; a query "x²" then finds it all the same, as the prefix "x".)
    texts = {"name": "customerEmail_v2", "qualified_name": 'shop.public."Customers".customerEmail_v2',
             "terms": "Electronic mail inbox EML", "labels": "shop.public.Customers PII.EMAIL l'été Grüße 12",
             "descriptions": "It's 100% the e-mail; see https://example.org/a?b=c — mail mail Mail " * 3}
    document = search._Document.from_texts(1, 1, 0, None, texts["name"], texts["qualified_name"], texts["terms"],
                                           texts["labels"], texts["descriptions"])
    # Every word once, and the name's, terms' and labels' words again under their part's prefix: PostgreSQL's own
    # parser splits the same texts into the same lexemes.
    prefixed = " || ".join(f"array_to_tsvector(ARRAY(SELECT '{part}_' || w FROM "
                           f"unnest(tsvector_to_array(to_tsvector('simple', %s))) w))" for part in search.PARTS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::tsvector = (strip(to_tsvector('simple', %s)) || {prefixed}), %s::tsvector, "
                       f"strip(to_tsvector('simple', %s)) || {prefixed}",
                       [document.tsvector(), " ".join(search.search_words(texts[key]) for key in
                                                 ("name", "terms", "labels", "descriptions")),
                        *(search.search_words(texts[key]) for key in ("name", "terms", "labels"))] * 2)
        same, built, expected = cursor.fetchone()
    assert same, (built, expected)


def test_the_edit_distance_counts_a_swap_of_neighbours_as_one():
    assert search.damerau_distance("emial", "email", 2) == 1
    assert search.damerau_distance("custmer", "customer", 2) == 1
    assert search.damerau_distance("kitten", "sitting", 1) == 2  # beyond the limit: limit + 1


# --- relevance ---------------------------------------------------------------------------------------------------

def test_the_exact_name_ranks_first_then_names_starting_with_it(shop, steward):
    ranked = matches(steward, "customer_email")
    assert ranked[0] == ("customer_email", "exact")
    assert ranked[1] == ("customerEmailVerified", "prefix")
    assert matches(steward, "email")[0] == ("email", "exact")


def test_camel_case_and_snake_case_find_the_same_asset(shop, steward):
    for text in ("customerEmail", "customer_email", "customer email", "CUSTOMER-EMAIL"):
        assert matches(steward, text)[0] == ("customer_email", "exact"), text
    assert matches(steward, "emailVerified")[0] == ("customerEmailVerified", "name")


def test_a_one_typo_query_finds_the_asset(shop, steward):
    assert matches(steward, "custmer_emial")[0] == ("customer_email", "fuzzy")
    assert ("email", "fuzzy") in matches(steward, "emial")
    assert matches(steward, "biling_adress")[0] == ("billing_address", "fuzzy")


def test_a_corrected_word_is_a_prefix_like_any_query_word(shop, steward):
    # Regression: "custmer" was corrected to "customer" as a whole word only, where "customer" typed finds
    # "customers" as a prefix: "custmer emial" missed shop.public.customers.email, which "customer email" finds.
    assert ("email", "label") in matches(steward, "customer email")
    assert ("email", "fuzzy") in matches(steward, "custmer emial")
    assert ("email", "fuzzy") in matches(steward, "custmer_emial")


def test_a_word_is_corrected_only_to_what_the_user_sees_while_a_user_who_sees_everything_reads_no_document(
        shop, steward, world):
    other = DataSourceFactory(workspace=world.workspace_b, database="warehouse")
    asset_tree(other, table="pallets", columns={"forklift_slot": "text"})
    index_everything()
    # "forklfit" is one swap from "forklift", a word of workspace B only: nothing the steward sees holds it.
    assert search.corrections(["forklfit"], search.Visibility(source_ids=(shop["source"].pk,))) == {}
    assert matches(steward, "forklfit") == []
    assert matches(world.user("other_workspace_user"), "forklfit") == [("forklift_slot", "fuzzy")]
    # Every asset visible: the vocabulary itself says which words the documents hold.
    with CaptureQueriesContext(connection) as looked_up:
        assert search.corrections(["forklfit", "custmer"], None) == {"forklfit": ["forklift"],
                                                                     "custmer": ["customer"]}
    assert not [query for query in looked_up.captured_queries if "assetsearchdocument" in query["sql"]]


def test_a_word_that_starts_no_name_term_or_label_word_skips_their_tiers(shop, steward):
    services.asset_update(asset=shop["customer_id"], description="Loyalty programme member number",
                          acting_user=SYSTEM)
    for text, tiers in (("loyalty programme", ["description"]), ("cust loyalty", ["description"]),
                        ("cust", [tier for tier in search.TIERS if tier != "fuzzy"]),
                        ("e-mail", [tier for tier in search.TIERS if tier != "fuzzy"]),
                        ("custmer", ["fuzzy", "description"])):
        query = search.Query.parse(text)
        search.look_up(query, None)
        assert [tier for tier, _ in search._tier_conditions(query)] == tiers, text
    assert matches(steward, "loyalty programme") == [("customer_id", "description")]
    assert matches(steward, "member number") == [("customer_id", "description")]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm's setting")
@pytest.mark.django_db(transaction=True)
def test_typos_are_looked_up_on_a_session_that_has_not_loaded_pg_trgm_yet():
    # Regression: current_setting('pg_trgm.similarity_threshold') failed on a new connection (CI's live server:
    # "unrecognized configuration parameter"), answering the admin's search with a 500.
    connection.close()
    assert search.corrections(["custmer"], None) == {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('pg_trgm.similarity_threshold')")
        assert float(cursor.fetchone()[0]) == search.PG_TRGM_DEFAULT_THRESHOLD


def test_a_synonym_or_abbreviation_of_a_linked_term_finds_the_asset(shop, steward, world):
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Marketing consent",
                               synonyms=["newsletter permission"], abbreviations=["MKTC"])
    glossary.glossary_term_link(term=term, asset=shop["mail_opt_in"], acting_user=SYSTEM)
    assert matches(steward, "newsletter permission") == [("mail_opt_in", "term")]
    assert matches(steward, "mktc") == [("mail_opt_in", "term")]
    assert matches(steward, "Marketing")[0] == ("mail_opt_in", "term")


def test_name_matches_come_before_terms_then_labels_then_descriptions(shop, steward, world):
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Postal address")
    glossary.glossary_term_link(term=term, asset=shop["mail_opt_in"], acting_user=SYSTEM)
    services.asset_update(asset=shop["customer_id"], description="The address the invoice goes to",
                          acting_user=SYSTEM)
    curation.asset_tag_add(asset=shop["email"], tag=TagFactory(workspace=world.workspace_a, name="address book"),
                           acting_user=SYSTEM)
    assert matches(steward, "address") == [("billing_address", "name"), ("mail_opt_in", "term"),
                                           ("email", "label"), ("customer_id", "description")]


def test_classifications_and_owners_are_searched(shop, steward, world):
    AssetClassificationFactory(asset=shop["customer_email"], classification=builtin("PII.EMAIL"))
    curation.asset_owner_add(asset=shop["billing_address"], user=world.user("analyst"),
                             owner_type="business", acting_user=SYSTEM)
    search.documents_refresh(asset_ids=[shop["customer_email"].pk])  # the factory wrote past the services
    assert ("customer_email", "label") in matches(steward, "pii email")
    assert matches(steward, "analyst") == [("billing_address", "label")]


def test_a_rejected_classification_is_not_searched(shop, steward):
    row = AssetClassificationFactory(asset=shop["customer_id"], classification=builtin("PII.EMAIL"))
    search.documents_refresh(asset_ids=[shop["customer_id"].pk])
    assert "customer_id" in [name for name, _ in matches(steward, "pii email")]
    services.asset_classification_reject(asset_classification=row, acting_user=SYSTEM)
    assert "customer_id" not in [name for name, _ in matches(steward, "pii email")]


def test_removed_assets_and_other_workspaces_are_not_found(shop, steward, world):
    other = DataSourceFactory(workspace=world.workspace_b, database="crm")
    asset_tree(other, table="customers", columns={"customer_email": "text"})
    shop["email"].removed_at = timezone.now()
    shop["email"].save(update_fields=["removed_at"])
    index_everything()
    assert found(steward, "email") == ["shop.public.customers.customer_email",
                                       'shop.public.customers."customerEmailVerified"']
    assert "crm.public.customers.customer_email" in found(world.user("superuser"), "customer_email")


@pytest.mark.parametrize("text", ["", "   ", "!!!", "x" * (search.QUERY_MAX_LENGTH + 1), "a b c d e f g h i j k"])
def test_an_empty_or_too_long_query_is_refused(text, steward):
    with pytest.raises(ValidationError) as refused:
        asset_search(user=steward, text=text)
    assert "q" in refused.value.message_dict


# --- facets ------------------------------------------------------------------------------------------------------

def test_facet_counts_equal_the_counts_their_filter_leaves(shop, steward, world):
    tag = TagFactory(workspace=world.workspace_a, name="gdpr")
    for name in ("customer_email", "email"):
        curation.asset_tag_add(asset=shop[name], tag=tag, acting_user=SYSTEM)
    curation.asset_certify(asset=shop["email"], status="certified", acting_user=SYSTEM)
    curation.asset_owner_add(asset=shop["email"], user=world.user("analyst"), owner_type="technical",
                             acting_user=SYSTEM)
    AssetClassificationFactory(asset=shop["customer_email"], classification=builtin("PII.EMAIL"),
                               status=AssetClassification.Status.CONFIRMED)
    services.asset_sensitivity_recompute(asset_ids=[shop["customer_email"].pk])
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Customer")
    glossary.glossary_term_link(term=term, asset=shop["customer_id"], acting_user=SYSTEM)

    results = asset_search(user=steward, text="customer")
    facets = results.facets()
    # Every column of the customers table: their qualified names hold the word.
    assert facets["type"] == [{"value": "column", "label": "Column", "count": 6, "count_is_exact": True},
                              {"value": "table", "label": "Table", "count": 1, "count_is_exact": True}]
    assert {item["value"] for item in facets["tag"]} == {str(tag.pk)}
    checked = 0
    for facet, values in facets.items():
        for item in values:
            filters = search_filters(user=steward, values={facet: [item["value"]]})
            assert asset_search(user=steward, text="customer", filters=filters).count() == item["count"], \
                (facet, item)
            checked += 1
    assert checked >= 10  # every facet had something to count
    assert sum(item["count"] for item in facets["certification"]) == results.count()


def test_filters_narrow_the_results_and_facets_count_within_them(shop, steward, world):
    tag = TagFactory(workspace=world.workspace_a, name="gdpr")
    curation.asset_tag_add(asset=shop["customer_email"], tag=tag, acting_user=SYSTEM)
    narrowed = asset_search(user=steward, text="customer",
                            filters=search_filters(user=steward, values={"tag": [str(tag.pk)], "type": ["column"]}))
    assert [asset.name for asset in narrowed[0:10]] == ["customer_email"]
    assert narrowed.facets()["type"] == [{"value": "column", "label": "Column", "count": 1, "count_is_exact": True}]
    assert found(steward, "customer", type=("table",)) == ["shop.public.customers"]
    assert found(steward, "customer", schema=(shop["schema"].pk,))[0] == "shop.public.customers"


def test_a_facet_narrowed_by_its_own_filter_still_offers_its_other_values(shop, steward, world):
    """Regression (new-user pass 22): with ``type=table`` chosen, the type facet offered only "Table", so Column could
    not be added although a facet's values add up. A facet is counted without its own filter, under the others:
    each value's count is what the search gives with that value as the facet's filter."""
    tag = TagFactory(workspace=world.workspace_a, name="gdpr")
    for asset in (shop["customer_email"], shop["table"]):
        curation.asset_tag_add(asset=asset, tag=tag, acting_user=SYSTEM)
    chosen = {"type": ["table"], "tag": [str(tag.pk)]}
    results = asset_search(user=steward, text="customer", filters=search_filters(user=steward, values=chosen))
    assert [asset.name for asset in results[0:10]] == ["customers"]
    facets = results.facets()
    assert {item["value"]: item["count"] for item in facets["type"]} == {"table": 1, "column": 1}
    for value in ("table", "column"):
        alone = search_filters(user=steward, values={**chosen, "type": [value]})
        assert asset_search(user=steward, text="customer", filters=alone).count() == 1
    # The other facets stay counted within the whole filtered result.
    assert {item["value"]: item["count"] for item in facets["tag"]} == {str(tag.pk): 1}
    assert sum(item["count"] for item in facets["certification"]) == results.count() == 1


@pytest.mark.parametrize(("values", "field"), [
    ({"type": ["columns"]}, "type"), ({"sensitivity": ["secret"]}, "sensitivity"),
    ({"certification": ["maybe"]}, "certification"), ({"tag": ["x"]}, "tag"), ({"tag": ["999999"]}, "tag"),
    ({"owner": ["someone"]}, "owner"), ({"owner": ["user:999999"]}, "owner"),
    ({"classification": ["NO.SUCH"]}, "classification"), ({"colour": ["red"]}, "colour"),
])
def test_an_unknown_facet_value_is_refused_naming_the_facet(values, field, steward):
    with pytest.raises(ValidationError) as refused:
        search_filters(user=steward, values=values)
    assert field in refused.value.message_dict


def test_a_facet_value_of_another_workspace_is_unknown(steward, world):
    other_tag = TagFactory(workspace=world.workspace_b)
    with pytest.raises(ValidationError):
        search_filters(user=steward, values={"tag": [str(other_tag.pk)]})


# --- incremental maintenance -------------------------------------------------------------------------------------

def test_a_described_asset_is_found_by_its_new_description_not_its_old_one(shop, steward):
    curation.asset_describe(asset=shop["customer_id"], description="Loyalty programme member number",
                            acting_user=SYSTEM)
    assert matches(steward, "loyalty") == [("customer_id", "description")]
    curation.asset_describe(asset=shop["customer_id"], description="Account key", acting_user=SYSTEM)
    assert matches(steward, "loyalty") == []
    assert matches(steward, "account key") == [("customer_id", "description")]


def test_a_changed_synonym_finds_the_linked_assets_by_the_new_word_only(shop, steward, world):
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Contact point", synonyms=["reachability"])
    glossary.glossary_term_link(term=term, asset=shop["email"], acting_user=SYSTEM)
    assert matches(steward, "reachability") == [("email", "term")]
    glossary.glossary_term_update(term=term, synonyms=["inbox"], acting_user=SYSTEM)
    assert matches(steward, "reachability") == []
    assert matches(steward, "inbox") == [("email", "term")]
    glossary.glossary_term_update(term=term, name="Electronic address", acting_user=SYSTEM)
    assert matches(steward, "electronic") == [("email", "term")]
    glossary.glossary_term_unlink(term=term, asset=shop["email"], acting_user=SYSTEM)
    assert matches(steward, "inbox") == []


def test_a_renamed_or_deleted_tag_is_searched_by_what_it_is_now(shop, steward, world):
    tag = TagFactory(workspace=world.workspace_a, name="quarantine")
    curation.asset_tag_add(asset=shop["email"], tag=tag, acting_user=SYSTEM)
    assert matches(steward, "quarantine") == [("email", "label")]
    curation.tag_update(tag=tag, name="archive", acting_user=SYSTEM)
    assert matches(steward, "quarantine") == []
    assert matches(steward, "archive") == [("email", "label")]
    curation.tag_delete(tag=tag, acting_user=SYSTEM)
    assert matches(steward, "archive") == []


def test_bulk_tagging_reindexes_every_asset(shop, steward, world):
    tag = TagFactory(workspace=world.workspace_a, name="legacy")
    assets = [shop["email"], shop["customer_id"]]
    curation.assets_tags_change(assets=[*Asset.objects.filter(pk__in=[a.pk for a in assets])
                                        .select_related("data_source__workspace")],
                                add=[tag], acting_user=SYSTEM)
    assert sorted(name for name, _ in matches(steward, "legacy")) == ["customer_id", "email"]


def test_scans_index_new_assets_drop_removed_ones_and_reindex_changed_ones(world):
    source = DataSourceFactory(database="erp")
    writer = AssetWriter(data_source_id=source.pk, now=timezone.now())
    objects = [SchemaObject("database", ("erp",)), SchemaObject("schema", ("erp", "main")),
               SchemaObject("table", ("erp", "main", "invoices")),
               SchemaObject("column", ("erp", "main", "invoices", "vatNumber"), description="Tax id")]
    pks = {}
    writer.insert([NewAsset(obj.qualified_name, qualified_name(obj.parent_path) if obj.parent_path else None, obj)
                   for obj in objects], pks)
    column = pks[objects[-1].qualified_name]
    document = AssetSearchDocument.objects.get(asset_id=column)
    assert (document.name_words, document.schema_id) == ("vat number", pks["erp.main"])
    superuser = world.user("superuser")
    assert matches(superuser, "tax") == [("vatNumber", "description")]
    writer.mark_removed([column])
    assert not AssetSearchDocument.objects.filter(asset_id=column).exists()
    back = SchemaObject("column", ("erp", "main", "invoices", "vatNumber"), description="EU VAT identifier")
    writer.write_changed([(column, scanned_values(back), back)])  # back in the source, with a new comment
    assert matches(superuser, "identifier") == [("vatNumber", "description")]
    assert matches(superuser, "tax") == []


def test_reindex_rebuilds_documents_and_vocabulary(shop, steward):
    AssetSearchDocument.objects.all().delete()
    assert matches(steward, "customer_email") == []
    search.documents_rebuild(data_source_id=shop["source"].pk)
    assert matches(steward, "customer_email")[0] == ("customer_email", "exact")


# --- reading the results -----------------------------------------------------------------------------------------

def _statements_reading_documents(captured) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if "name_words" in query["sql"]]


def test_the_statement_that_counts_ranks_too_and_pages_are_read_from_it(shop, steward):
    results = asset_search(user=steward, text="customer")
    with CaptureQueriesContext(connection) as counted:
        assert results.count() == 7
    assert len(_statements_reading_documents(counted)) == 1
    with CaptureQueriesContext(connection) as paged:
        pages = [asset.qualified_name for start in range(0, 7, 2) for asset in results[start:start + 2]]
    assert not _statements_reading_documents(paged)
    assert pages == [asset.qualified_name for asset in asset_search(user=steward, text="customer")[0:100]]
    assert pages[:4] == ["shop.public.customers", "shop.public.customers.customer_id",
                         "shop.public.customers.customer_email", 'shop.public.customers."customerEmailVerified"']


def test_past_the_bound_a_page_is_ranked_tier_by_tier_in_one_statement_and_ranks_the_same(shop, steward,
                                                                                         monkeypatch):
    everything = [asset.qualified_name for asset in asset_search(user=steward, text="customer")[0:100]]
    # A bound past every tier's size (4 prefixes, 3 qualified names) but under the 7 found: the tiers then rank
    # as the statement ranking every result does.
    monkeypatch.setattr(search, "COUNT_EXACT_UP_TO", 5)
    results = asset_search(user=steward, text="customer")
    assert (results.count(), results.count_is_exact) == (5, False)
    pages = []
    for start in range(0, 6, 2):
        with CaptureQueriesContext(connection) as paged:
            pages += [asset.qualified_name for asset in results[start:start + 2]]
        assert len(_statements_reading_documents(paged)) == 1
    assert pages == everything[:6]


def test_past_the_bound_a_window_of_one_tier_with_none_before_it_ranks_the_page(shop, steward, world, monkeypatch):
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Marketing consent",
                               synonyms=["newsletter permission"])
    for name in ("mail_opt_in", "email", "customer_id"):
        glossary.glossary_term_link(term=term, asset=shop[name], acting_user=SYSTEM)
    everything = matches(steward, "newsletter")
    assert [why for _, why in everything] == ["term"] * 3
    monkeypatch.setattr(search, "COUNT_EXACT_UP_TO", 2)
    results = asset_search(user=steward, text="newsletter")
    assert (results.count(), results.count_is_exact) == (2, False)
    with CaptureQueriesContext(connection) as paged:
        assert [(asset.name, asset.search_match) for asset in results[0:2]] == everything[:2]
    assert not _statements_reading_documents(paged)  # the counting statement's rows, once no name holds the word
    # A name holding the word: the terms read together may not be all there is before the cut, so the page is
    # ranked tier by tier, in one more statement.
    asset_tree(shop["source"], schema="crm", table="contacts", columns={"newsletter_sent_at": "timestamp"})
    index_everything()
    monkeypatch.setattr(search, "COUNT_EXACT_UP_TO", 1_000)
    everything = matches(steward, "newsletter")
    monkeypatch.setattr(search, "COUNT_EXACT_UP_TO", 2)
    results = asset_search(user=steward, text="newsletter")
    results.count()
    with CaptureQueriesContext(connection) as paged:
        assert [(asset.name, asset.search_match) for asset in results[0:2]] == everything[:2]
    assert len(_statements_reading_documents(paged)) == 1
    assert everything[0] == ("newsletter_sent_at", "prefix")


def test_within_the_bound_a_page_reads_no_documents_again(shop, steward):
    results = asset_search(user=steward, text="billing_address")
    assert results.count() == 1
    with CaptureQueriesContext(connection) as page:
        assert [asset.name for asset in results[0:50]] == ["billing_address"]
    assert not _statements_reading_documents(page)


def test_the_count_is_exact_up_to_a_bound_then_says_at_least(shop, steward, world, monkeypatch):
    assert asset_search(user=steward, text="customer").count() == 7  # the table and its 6 columns
    monkeypatch.setattr(search, "COUNT_EXACT_UP_TO", 3)
    results = asset_search(user=steward, text="customer")
    assert (results.count(), results.count_is_exact) == (3, False)
    assert len(results[0:3]) == 3
    exact = asset_search(user=steward, text="billing")
    assert (exact.count(), exact.count_is_exact) == (1, True)
    # Facets bounded the same way: a facet's count is still what its filter's count says, exact or not.
    for facet, values in results.facets().items():
        for item in values:
            filtered = asset_search(user=steward, text="customer",
                                    filters=search_filters(user=steward, values={facet: [item["value"]]}))
            assert (filtered.count(), filtered.count_is_exact) == (item["count"], item["count_is_exact"]), \
                (facet, item)
    assert results.facets()["type"][0] == {"value": "column", "label": "Column", "count": 3,
                                           "count_is_exact": False}


def test_a_user_who_sees_everything_is_not_checked_asset_by_asset(shop, steward, world):
    superuser = world.user("superuser")
    with CaptureQueriesContext(connection) as unchecked:
        asset_search(user=superuser, text="customer").count()
    with CaptureQueriesContext(connection) as checked:
        asset_search(user=steward, text="customer").count()
    # The steward's visibility is a condition on the documents' data source, not a list of the assets they see.
    assert not any("m.data_source_id" in query["sql"] for query in unchecked.captured_queries)
    assert any("m.data_source_id" in query["sql"] for query in checked.captured_queries)
    assert not any("visible_assets" in query["sql"] for query in checked.captured_queries)


# --- relevance polish --------------------------------------------------------------------------------------------

def test_a_hyphenated_word_finds_the_joined_word_as_a_word_not_as_a_typo(shop, steward):
    ranked = matches(steward, "e-mail")
    assert ranked[0] == ("email", "exact")
    assert ("customer_email", "name") in ranked
    assert not [name for name, why in ranked if why == "fuzzy"]
    # and still the split words: "e mail" is a name's words too
    assert matches(steward, "mail-opt-in")[0] == ("mail_opt_in", "exact")


def test_among_exact_names_the_curated_come_first_then_the_shorter_qualified_name(shop, steward, world):
    other = DataSourceFactory(workspace=world.workspace_a, name="Archive", database="arc")
    asset_tree(other, table="customers_2019_backup", columns={"email": "text"})
    asset_tree(other, schema="s", table="c", columns={"email": "text"})
    index_everything()
    shortest = "arc.s.c.email"
    assert found(steward, "email")[:3] == [
        shortest, "shop.public.customers.email", "arc.public.customers_2019_backup.email"]
    backup = Asset.objects.get(qualified_name="arc.public.customers_2019_backup.email")
    curation.asset_certify(asset=backup, status="certified", acting_user=SYSTEM)
    assert found(steward, "email")[0] == backup.qualified_name
    curation.asset_describe(asset=shop["email"], description="The customer's address", acting_user=SYSTEM)
    curation.asset_owner_add(asset=shop["email"], user=world.user("analyst"), owner_type="technical",
                             acting_user=SYSTEM)
    assert found(steward, "email")[:2] == [shop["email"].qualified_name, backup.qualified_name]
    curation.asset_certification_end(asset=backup, acting_user=SYSTEM)  # the document follows
    assert found(steward, "email")[:2] == [shop["email"].qualified_name, shortest]


def test_found_by_names_the_field_and_the_value_plainly(shop, steward, world):
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Marketing consent",
                               synonyms=["newsletter permission"], abbreviations=["MKTC"])
    glossary.glossary_term_link(term=term, asset=shop["mail_opt_in"], acting_user=SYSTEM)
    curation.asset_tag_add(asset=shop["email"], tag=TagFactory(workspace=world.workspace_a, name="gdpr"),
                           acting_user=SYSTEM)
    curation.asset_owner_add(asset=shop["billing_address"], user=world.user("analyst"), owner_type="business",
                             acting_user=SYSTEM)
    AssetClassificationFactory(asset=shop["customer_id"], classification=builtin("PII.EMAIL"))
    services.asset_update(asset=shop["customer_id"], description="Who placed the order", acting_user=SYSTEM)
    search.documents_refresh(asset_ids=[shop["customer_id"].pk])  # the factory wrote past the services

    def why(text):
        return [(asset.name, asset.search_found_by) for asset in asset_search(user=steward, text=text)[0:10]]

    assert why("newsletter") == [("mail_opt_in", 'synonym "newsletter permission" of term "Marketing consent"')]
    assert why("mktc") == [("mail_opt_in", 'abbreviation "MKTC" of term "Marketing consent"')]
    assert why("marketing") == [("mail_opt_in", 'term "Marketing consent"')]
    assert why("gdpr") == [("email", 'tag "gdpr"')]
    assert why("analyst") == [("billing_address", 'owner "analyst"')]
    assert why("pii") == [("customer_id", 'classification "PII.EMAIL"')]
    assert why("placed") == [("customer_id", "description")]
    assert why("customer_email")[0] == ("customer_email", "name")
    # The names holding every word (corrected) first among the typos.
    assert why("custmer_emial")[0] == ("customer_email", "close spelling of the name")
    assert ("customer_id", 'close spelling of classification "PII.EMAIL"') in why("custmer_emial")
    assert why("shop")[0] == ("shop", "name")
    assert ("email", "qualified name") in why("shop")
