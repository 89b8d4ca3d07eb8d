"""Glossary terms in bulk (catalog.glossary.assets_terms_change, behind POST /api/v1/assets/bulk/ and the admin's
"Curate selected assets…"): the same links, implied classifications and audit rows as linking each asset by hand,
in a fixed number of statements; their subscribers (look-alikes' suggestions, implied terms, propagation along
lineage) follow one ``assets.terms_linked`` and one ``classifications.confirmed`` event per workspace naming the
rows, delivered in a fixed number of statements too."""
from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import asset_curation, curation, glossary, services, subscribers
from catalog.models import Asset, AssetClassification, GlossaryTerm, GlossaryTermAsset, Suggestion
from core.events import dispatch
from core.models import Event
from tests.catalog.classification_factories import AssetClassificationFactory, asset_tree, builtin
from tests.catalog.curation_factories import GlossaryTermFactory
from tests.catalog.factories import DataSourceFactory
from tests.catalog.lineage_factories import edge, table
from tests.catalog.test_suggestions import after_commit

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(world):
    """customers.email (unclassified), orders.email (suggested PII.EMAIL by a scan), suppliers.email (PII.EMAIL
    rejected), all text, and their table; plus archive.email, a look-alike of customers.email left out of the
    selection."""
    source = DataSourceFactory(workspace=world.workspace_a)
    customers_table, customers = asset_tree(source, table="customers", columns={"email": "text"})[2:]
    orders = asset_tree(source, table="orders", columns={"email": "text"})[3]["email"]
    suppliers = asset_tree(source, table="suppliers", columns={"email": "text"})[3]["email"]
    archive = asset_tree(source, table="archive", columns={"email": "text"})[3]["email"]
    AssetClassificationFactory(asset=orders, classification=builtin("PII.EMAIL"))
    AssetClassificationFactory(asset=suppliers, classification=builtin("PII.EMAIL"),
                               status=AssetClassification.Status.REJECTED)
    return {"customers": customers["email"], "orders": orders, "suppliers": suppliers, "table": customers_table,
            "archive": archive}


def curate(assets, user, **parts):
    return asset_curation.assets_curate(assets=Asset.objects.filter(pk__in=[asset.pk for asset in assets]),
                                        acting_user=user, **parts)


def audited(event: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=event).order_by("pk"))


def test_a_classifying_term_in_bulk_links_classifies_and_audits_as_by_hand(world, shop):
    steward = world.user("steward")
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Customer e-mail",
                               classification=builtin("PII.EMAIL"))
    selected = [shop["customers"], shop["orders"], shop["suppliers"], shop["table"]]
    curate(selected, steward, terms={"add": [term]})

    links = {link.asset_id: link for link in GlossaryTermAsset.objects.filter(term=term)}
    assert set(links) == {asset.pk for asset in selected}
    columns = selected[:3]
    rows = {row.asset_id: row for row in AssetClassification.objects.filter(classification__name="PII.EMAIL")}
    assert {rows[column.pk].status for column in columns} == {AssetClassification.Status.CONFIRMED}
    assert rows[shop["customers"].pk].source == AssetClassification.Source.MANUAL
    assert rows[shop["orders"].pk].source == AssetClassification.Source.SCAN  # the suggestion, now confirmed
    assert {rows[column.pk].decided_by for column in columns} == {steward}
    assert {rows[column.pk].decision_note for column in columns} == {"glossary term Customer e-mail"}
    assert {links[column.pk].asset_classification_id for column in columns} == {rows[c.pk].pk for c in columns}
    assert links[shop["table"].pk].asset_classification is None  # a table is not classified by a term
    assert Asset.objects.get(pk=shop["customers"].pk).sensitivity == builtin("PII.EMAIL").sensitivity

    # The audit rows of linking each by hand: the link on each asset, the classification on each column.
    linked = audited("asset.term_linked")
    assert sorted(int(row.object_id) for row in linked) == sorted(asset.pk for asset in selected)
    assert {int(row.object_id): row.extra.get("classification") for row in linked} == {
        shop["customers"].pk: "PII.EMAIL", shop["orders"].pk: "PII.EMAIL", shop["suppliers"].pk: "PII.EMAIL",
        shop["table"].pk: None}
    assert {row.actor for row in linked} == {steward}
    [created] = audited("asset_classification.created")
    assert created.extra["asset"] == shop["customers"].pk and created.workspace == world.workspace_a
    confirmed = {row.extra["asset"]: row.changes["status"] for row in audited("asset_classification.confirmed")}
    assert confirmed == {shop["orders"].pk: ["suggested", "confirmed"], shop["suppliers"].pk: ["rejected",
                                                                                                "confirmed"]}
    # One event for the operation's decisions and one for its links, each naming the rows, not one per row.
    [decisions] = Event.objects.filter(name="classifications.confirmed")
    assert decisions.payload["asset_classifications"] == sorted(rows[column.pk].pk for column in columns)
    assert decisions.payload["assets"] == sorted(column.pk for column in columns)
    assert (decisions.payload["workspace"], decisions.payload["decided_by"]) == (world.workspace_a.pk, steward.pk)
    assert not Event.objects.filter(name__in=["asset.term_linked", "classification.confirmed"]).exists()
    [event] = Event.objects.filter(name="assets.terms_linked")
    assert event.payload["assets"] == sorted(asset.pk for asset in selected)
    assert (event.payload["terms"], event.payload["linked_by"], event.payload["workspace"]) == (
        [term.pk], steward.pk, world.workspace_a.pk)

    # The same again links nothing and records nothing more.
    curate(selected, steward, terms={"add": [term]})
    assert len(audited("asset.term_linked")) == 4 and Event.objects.filter(name="assets.terms_linked").count() == 1


def test_set_in_bulk_unlinks_the_others_and_keeps_what_they_classified(world, shop):
    steward = world.user("steward")
    old = GlossaryTermFactory(workspace=world.workspace_a, name="Old", classification=builtin("PII.EMAIL"))
    new = GlossaryTermFactory(workspace=world.workspace_a, name="New")
    glossary.glossary_term_link(term=old, asset=shop["customers"], acting_user=steward)
    curate([shop["customers"], shop["orders"]], steward, terms={"set": [new]})
    assert set(GlossaryTermAsset.objects.values_list("asset_id", "term__name")) == {
        (shop["customers"].pk, "New"), (shop["orders"].pk, "New")}
    [unlinked] = audited("asset.term_unlinked")
    assert unlinked.changes == {"terms": ["Old", None]} and unlinked.extra["classification_kept"]
    assert AssetClassification.objects.get(asset=shop["customers"]).status == AssetClassification.Status.CONFIRMED


def test_a_deprecated_term_or_one_of_another_workspace_changes_nothing(world, shop):
    steward = world.user("steward")
    deprecated = GlossaryTermFactory(workspace=world.workspace_a, status=GlossaryTerm.Status.DEPRECATED)
    elsewhere = GlossaryTermFactory(workspace=world.workspace_b)
    fine = GlossaryTermFactory(workspace=world.workspace_a, classification=builtin("PII.EMAIL"))
    for refused, user in ((deprecated, steward), (elsewhere, SYSTEM)):
        with pytest.raises(ValidationError) as error:
            curate([shop["customers"], shop["orders"]], user, terms={"add": [fine, refused]})
        assert "terms" in error.value.message_dict
    with pytest.raises(PermissionDenied):  # a term the steward does not see, as when linking one by hand
        curate([shop["customers"], shop["orders"]], steward, terms={"add": [fine, elsewhere]})
    assert not GlossaryTermAsset.objects.exists() and not audited("asset.term_linked")
    assert AssetClassification.objects.get(asset=shop["orders"]).status == AssetClassification.Status.SUGGESTED


def test_an_owner_who_may_not_classify_links_no_classifying_term_in_bulk(world, shop):
    """An analyst owning the columns curates them, but linking a term that classifies them is classifying, which
    an analyst may not: refused for all, as when linking one by hand."""
    analyst = world.user("analyst")
    for column in (shop["customers"], shop["orders"]):
        curation.asset_owner_add(asset=column, user=analyst, owner_type="business", acting_user=SYSTEM)
    classifying = GlossaryTermFactory(workspace=world.workspace_a, classification=builtin("PII.EMAIL"))
    plain = GlossaryTermFactory(workspace=world.workspace_a)
    with pytest.raises(PermissionDenied):
        glossary.glossary_term_link(term=classifying, asset=shop["customers"], acting_user=analyst)
    with pytest.raises(PermissionDenied):
        curate([shop["customers"], shop["orders"]], analyst, terms={"add": [classifying]})
    assert not GlossaryTermAsset.objects.exists()
    assert not AssetClassification.objects.filter(status=AssetClassification.Status.CONFIRMED).exists()
    curate([shop["customers"], shop["orders"]], analyst, terms={"add": [plain]})
    assert GlossaryTermAsset.objects.filter(term=plain).count() == 2


def test_the_bulk_event_offers_the_terms_to_lookalikes_and_withdraws_what_is_moot(world, shop):
    steward = world.user("steward")
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Contact address")
    with after_commit():
        curate([shop["customers"]], steward, terms={"add": [term]})
    # Every look-alike (same source, name and type) is offered the term, with who linked it.
    offered = {row.asset_id: row for row in Suggestion.objects.filter(term=term, status=Suggestion.Status.OPEN)}
    assert set(offered) == {shop["orders"].pk, shop["suppliers"].pk, shop["archive"].pk}
    assert offered[shop["archive"].pk].reason.endswith("linked to the term “Contact address” by steward.")
    # Linking it in bulk to two of them withdraws their suggestion, audited on each; the third keeps its own.
    with after_commit():
        curate([shop["orders"], shop["suppliers"]], steward, terms={"add": [term]})
    assert [row.asset_id for row in Suggestion.objects.filter(term=term)] == [shop["archive"].pk]
    withdrawn = audited("suggestion.withdrawn")
    assert sorted(int(row.object_id) for row in withdrawn) == sorted([shop["orders"].pk, shop["suppliers"].pk])
    assert {row.extra["count"] for row in withdrawn} == {1}
    # At least once: the same event again adds nothing.
    for event in Event.objects.filter(name="assets.terms_linked"):
        subscribers.suggest_terms_to_lookalikes_in_bulk(event)
    assert [row.asset_id for row in Suggestion.objects.filter(term=term)] == [shop["archive"].pk]


def test_the_bulk_decisions_are_carried_along_lineage_once_delivered(world, source_with_copies):
    """A column classified by a term linked in bulk passes the classification on to its copy (a lineage suggestion
    for a steward to confirm), as a column confirmed by hand does."""
    email, copy = source_with_copies
    term = GlossaryTermFactory(workspace=world.workspace_a, classification=builtin("PII.EMAIL"))
    with after_commit():
        curate([email], world.user("steward"), terms={"add": [term]})
    [carried] = AssetClassification.objects.filter(asset=copy)
    assert (carried.source, carried.status, carried.classification.name) == (
        AssetClassification.Source.LINEAGE, AssetClassification.Status.SUGGESTED, "PII.EMAIL")
    assert carried.evidence["lineage"]["origin"]["asset"] == email.pk
    assert Event.objects.filter(name="classifications.confirmed", status=Event.Status.DELIVERED).count() == 1


def test_columns_confirmed_together_without_the_term_are_offered_it(world, shop):
    email = builtin("PII.EMAIL")
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Customer e-mail", classification=email)
    with after_commit():
        services.assets_classifications_confirm(wanted=[(shop["customers"], email, ""), (shop["orders"], email, "")],
                                                acting_user=world.user("steward"))
    offered = Suggestion.objects.filter(term=term, rule=Suggestion.Rule.IMPLIED_CLASSIFICATION)
    assert sorted(offered.values_list("asset_id", flat=True)) == sorted([shop["customers"].pk, shop["orders"].pk])


@pytest.fixture
def source_with_copies(world):
    """customers.email copied as-is into staging.email."""
    source = DataSourceFactory(workspace=world.workspace_a, database="shop")
    customers, staging = table(source, "customers", columns=("email",)), table(source, "staging", columns=("email",))
    edge(customers.cols["email"], staging.cols["email"], direct=True)
    return customers.cols["email"], staging.cols["email"]


def test_terms_in_bulk_and_their_event_cost_the_same_statements_for_3_or_30_columns(world):
    steward = world.user("steward")
    source = DataSourceFactory(workspace=world.workspace_a)
    old = GlossaryTermFactory(workspace=world.workspace_a, name="Old")
    term = GlossaryTermFactory(workspace=world.workspace_a, classification=builtin("PII.EMAIL"))

    def statements(tables: range) -> tuple[int, int]:
        """(the operation's statements, its events' delivery's), each column with a look-alike left out of the
        selection, a suggestion of PII.EMAIL to confirm on half of them and the old term to unlink."""
        columns = []
        for number in tables:
            column = asset_tree(source, table=f"t{number}", columns={f"c{number}": "text"})[3][f"c{number}"]
            asset_tree(source, table=f"copy{number}", columns={f"c{number}": "text"})
            if number % 2:
                AssetClassificationFactory(asset=column, classification=builtin("PII.EMAIL"))
            GlossaryTermAsset.objects.create(term=old, asset=column)
            columns.append(column)
        Event.objects.all().delete()
        with CaptureQueriesContext(connection) as operation:
            curate(columns, steward, terms={"set": [term]})
        assert Event.objects.count() == 2  # the links', the classifications'
        with CaptureQueriesContext(connection) as delivery:
            assert dispatch() == 2
        assert GlossaryTermAsset.objects.filter(term=term, asset__in=columns).count() == len(columns)
        assert Suggestion.objects.filter(term=term, source_asset__in=columns).count() == len(columns)
        return len(operation), len(delivery)

    ContentType.objects.get_for_models(Asset, AssetClassification, Suggestion)  # cached, as after a first request
    statements(range(2))  # warm the steward's grants
    assert statements(range(2, 5)) == statements(range(5, 35))
