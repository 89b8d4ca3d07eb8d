"""Suggestions from the data (catalog.suggestions), end to end through the event dispatcher (eager, after the
commit): a column confirmed as a classification is offered the terms implying it; a curated column's description
and terms are offered to its look-alikes (same source, name and data type) when it is curated and when a scan adds
one; each suggestion once, a dismissed one never again; accepting applies through the curation services."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import curation, glossary, services, subscribers, suggestions
from catalog.models import Asset, AssetClassification, GlossaryTerm, GlossaryTermAsset, Suggestion
from core.models import Event
from sources import services as source_services
from tests.catalog.classification_factories import AssetClassificationFactory, asset_tree, builtin
from tests.catalog.curation_factories import GlossaryTermFactory
from tests.catalog.factories import DataSourceFactory
from tests.support.target_dbs import run_scan, scan_workspace, schema_only_rule_set

pytestmark = pytest.mark.django_db



@contextmanager
def forgetting_callbacks():
    """Django's capture of on-commit callbacks runs them but leaves them registered, and the outbox sends one
    dispatch per transaction (it looks for its own callback there): forget them, so the next block of the same
    test sends its own dispatch as a new transaction would."""
    start = len(connection.run_on_commit)
    yield
    del connection.run_on_commit[start:]


@contextmanager
def after_commit():
    """Run what the block's commit would: the eager dispatch the outbox sends, which delivers its events."""
    with forgetting_callbacks(), TestCase.captureOnCommitCallbacks(execute=True):
        yield


def scan(source, rule_set):
    with forgetting_callbacks():
        return run_scan(source, rule_set=rule_set)


@pytest.fixture
def shop(world):
    """A source of workspace A: customers.email and orders.email (text), suppliers.email (varchar)."""
    source = DataSourceFactory(workspace=world.workspace_a)
    customers = asset_tree(source, table="customers", columns={"email": "text", "name": "text"})[3]
    orders = asset_tree(source, table="orders", columns={"email": "text"})[3]
    suppliers = asset_tree(source, table="suppliers", columns={"email": "varchar"})[3]
    return {"customers": customers["email"], "orders": orders["email"], "suppliers": suppliers["email"],
            "name": customers["name"], "source": source}


def open_suggestions(asset) -> list[Suggestion]:
    return list(Suggestion.objects.filter(asset=asset, status=Suggestion.Status.OPEN).order_by("pk"))


def describe(asset, text, user):
    with after_commit():
        curation.asset_describe(asset=asset, description=text, acting_user=user)


# --- (a) a term implied by a confirmed classification ------------------------------------------------------------

def test_confirming_a_classification_suggests_the_terms_implying_it(world, shop):
    steward = world.user("steward")
    email = builtin("PII.EMAIL")
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Customer e-mail", classification=email)
    GlossaryTermFactory(workspace=world.workspace_a, name="Old e-mail", classification=email,
                        status=GlossaryTerm.Status.DEPRECATED)
    GlossaryTermFactory(workspace=world.workspace_b, name="Their e-mail", classification=email)
    found = AssetClassificationFactory(asset=shop["customers"], classification=email)
    with after_commit():
        services.asset_classification_confirm(asset_classification=found, acting_user=steward)
    [made] = open_suggestions(shop["customers"])
    assert (made.kind, made.rule, made.term, made.source_asset) == (
        Suggestion.Kind.TERM, Suggestion.Rule.IMPLIED_CLASSIFICATION, term, None)
    assert made.reason == (f"{shop['customers'].qualified_name} is confirmed as PII.EMAIL and the term "
                           "“Customer e-mail” implies it.")
    assert Event.objects.get(name="classification.confirmed").status == Event.Status.DELIVERED
    assert AuditEvent.objects.filter(event="suggestion.made", actor_label="system").exists()


def test_a_column_linked_to_a_term_implying_it_is_offered_no_other(world, shop):
    email = builtin("PII.EMAIL")
    linked = GlossaryTermFactory(workspace=world.workspace_a, name="Customer e-mail", classification=email)
    GlossaryTermFactory(workspace=world.workspace_a, name="Contact e-mail", classification=email)
    with after_commit():
        glossary.glossary_term_link(term=linked, asset=shop["customers"], acting_user=world.user("steward"))
    # The link confirmed PII.EMAIL (classification.confirmed): the column says what it is already.
    assert AssetClassification.objects.get(asset=shop["customers"]).status == AssetClassification.Status.CONFIRMED
    assert not Suggestion.objects.filter(asset=shop["customers"]).exists()


# --- (b) look-alikes, when the curation happens ------------------------------------------------------------------

def test_a_description_is_offered_to_lookalikes_of_the_same_source_and_type_only(world, shop):
    elsewhere = asset_tree(DataSourceFactory(workspace=world.workspace_a), table="customers",
                           columns={"email": "text"})[3]["email"]
    describe(shop["customers"], "Where we **write** to the customer.", world.user("steward"))
    [made] = open_suggestions(shop["orders"])
    assert (made.kind, made.rule, made.description, made.source_asset) == (
        Suggestion.Kind.DESCRIPTION, Suggestion.Rule.LOOKALIKE, "Where we **write** to the customer.",
        shop["customers"])
    assert made.reason == f"Same name and type (text) as {shop['customers'].qualified_name}, described by steward."
    assert not open_suggestions(shop["suppliers"])  # another data type
    assert not open_suggestions(elsewhere)  # another source
    assert not open_suggestions(shop["name"])  # another name
    assert not open_suggestions(shop["customers"])


def test_a_linked_term_is_offered_to_lookalikes(world, shop):
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Contact address")
    with after_commit():
        glossary.glossary_term_link(term=term, asset=shop["customers"], acting_user=world.user("steward"))
    [made] = open_suggestions(shop["orders"])
    assert (made.kind, made.term, made.source_asset) == (Suggestion.Kind.TERM, term, shop["customers"])
    assert made.reason.endswith("linked to the term “Contact address” by steward.")


def test_a_rewritten_description_replaces_the_open_suggestion_of_the_old_text(world, shop):
    steward = world.user("steward")
    describe(shop["customers"], "First words.", steward)
    describe(shop["customers"], "Better words.", steward)
    assert [row.description for row in open_suggestions(shop["orders"])] == ["Better words."]
    describe(shop["orders"], "Its own words.", steward)  # described by hand: nothing more to offer it
    assert not open_suggestions(shop["orders"])


def test_a_redelivered_event_makes_no_second_suggestion(world, shop):
    describe(shop["customers"], "Where we write.", world.user("steward"))
    event = Event.objects.get(name="asset.described")
    subscribers.suggest_description_to_lookalikes(event)  # at least once: the same event again
    assert Suggestion.objects.filter(asset=shop["orders"]).count() == 1


def test_a_dismissed_suggestion_is_not_made_again(world, shop):
    steward = world.user("steward")
    describe(shop["customers"], "Where we write.", steward)
    [made] = open_suggestions(shop["orders"])
    suggestions.suggestion_dismiss(suggestion=made, acting_user=steward)
    describe(shop["customers"], "", steward)
    describe(shop["customers"], "Where we write.", steward)  # the same evidence again
    assert list(Suggestion.objects.filter(asset=shop["orders"]).values_list("status", flat=True)) == ["dismissed"]


# --- (b) look-alikes, when a scan adds columns -------------------------------------------------------------------

@pytest.fixture
def scanned_shop(tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT);")
    workspace = scan_workspace()
    with after_commit():  # its datasource.created delivered, as a commit would: the source's later events follow it
        source = source_services.datasource_create(workspace=workspace, acting_user=SYSTEM, name="shop",
                                                   engine="sqlite", database=str(path))
    return path, source, schema_only_rule_set(workspace)


def test_a_scan_adding_a_lookalike_column_brings_its_suggestions(scanned_shop):
    path, source, rule_set = scanned_shop
    scan(source, rule_set)
    customers_email = Asset.objects.get(data_source=source, name="email")
    term = GlossaryTermFactory(workspace=source.workspace, name="Contact address")
    with after_commit():
        curation.asset_describe(asset=customers_email, description="Where we write.", acting_user=SYSTEM)
        glossary.glossary_term_link(term=term, asset=customers_email, acting_user=SYSTEM)
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT, total INTEGER);"
                           "CREATE TABLE suppliers (email VARCHAR(200));")
    scan(source, rule_set)
    orders_email = Asset.objects.get(data_source=source, qualified_name__endswith="orders.email")
    made = {(row.kind, row.description or row.term.name) for row in open_suggestions(orders_email)}
    assert made == {("description", "Where we write."), ("term", "Contact address")}
    assert Suggestion.objects.filter(asset__data_source=source).count() == 2  # not suppliers.email, not the ids
    assert Event.objects.filter(name="asset.changed", status=Event.Status.DELIVERED).count() == 2


def test_lookalike_suggestions_cost_the_same_queries_for_many_columns(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    curated = asset_tree(source, table="customers", columns={"email": "text", "phone": "text"})[3]
    curated["email"].description = "Where we write."
    curated["email"].save(update_fields=["description"])
    term = GlossaryTermFactory(workspace=world.workspace_a)
    GlossaryTermAsset.objects.create(term=term, asset=curated["phone"])

    def reads_for(tables: range) -> int:
        """The statements other than the suggestions' INSERTs (which go in batches, as the database allows)."""
        names = []
        for number in tables:
            columns = asset_tree(source, table=f"t{number}", columns={"email": "text", "phone": "text"})[3]
            names += [column.pk for column in columns.values()]
        with CaptureQueriesContext(connection) as queries:
            made = suggestions.suggestions_make_for_lookalikes(columns=Asset.objects.filter(pk__in=names),
                                                              acting_user=SYSTEM)
        assert made == 2 * len(tables)
        return sum(not query["sql"].lstrip().upper().startswith("INSERT") for query in queries.captured_queries)

    ContentType.objects.get_for_model(Asset)  # cached for the process, as it is after the first request
    assert reads_for(range(2)) == reads_for(range(2, 62)) <= 10


# --- deciding ----------------------------------------------------------------------------------------------------

def test_accepting_applies_through_the_curation_services_audited(world, shop):
    steward = world.user("steward")
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Contact address")
    describe(shop["customers"], "Where we write.", steward)
    with after_commit():
        glossary.glossary_term_link(term=term, asset=shop["customers"], acting_user=steward)
    rows = open_suggestions(shop["orders"])
    suggestions.suggestions_decide(suggestions=rows, decision=Suggestion.Status.ACCEPTED, acting_user=steward)
    orders = Asset.objects.get(pk=shop["orders"].pk)
    assert orders.description == "Where we write."
    assert GlossaryTermAsset.objects.filter(asset=orders, term=term, linked_by=steward).exists()
    for row in rows:
        row.refresh_from_db()
        assert (row.status, row.decided_by) == (Suggestion.Status.ACCEPTED, steward) and row.decided_at
    trail = set(AuditEvent.objects.filter(actor=steward, object_id=str(orders.pk)).values_list("event", flat=True))
    assert {"asset.changed", "asset.term_linked"} <= trail
    assert AuditEvent.objects.filter(event="suggestion.accepted", actor=steward).count() == 2


def test_deciding_a_decided_suggestion_is_refused(world, shop):
    steward = world.user("steward")
    describe(shop["customers"], "Where we write.", steward)
    [made] = open_suggestions(shop["orders"])
    suggestions.suggestion_accept(suggestion=made, acting_user=steward)
    with pytest.raises(suggestions.AlreadyDecided, match="already accepted by steward"):
        suggestions.suggestion_dismiss(suggestion=made, acting_user=steward)


@pytest.mark.parametrize("persona", ["analyst", "auditor", "other_workspace_user"])
def test_who_may_not_curate_the_asset_may_not_decide(world, shop, persona):
    describe(shop["customers"], "Where we write.", world.user("steward"))
    [made] = open_suggestions(shop["orders"])
    with pytest.raises(PermissionDenied):
        suggestions.suggestion_accept(suggestion=made, acting_user=world.user(persona))
    with pytest.raises(PermissionDenied):
        suggestions.suggestion_dismiss(suggestion=made, acting_user=world.user(persona))
    made.refresh_from_db()
    assert made.status == Suggestion.Status.OPEN and Asset.objects.get(pk=shop["orders"].pk).description == ""


def test_an_owner_of_the_asset_may_decide(world, shop):
    analyst = world.user("analyst")
    curation.asset_owner_add(asset=shop["orders"], user=analyst, owner_type="business", acting_user=SYSTEM)
    describe(shop["customers"], "Where we write.", world.user("steward"))
    [made] = open_suggestions(shop["orders"])
    assert suggestions.suggestion_dismiss(suggestion=made, acting_user=analyst).status == "dismissed"
