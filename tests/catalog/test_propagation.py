"""Classifications carried along lineage (catalog.propagation), end to end through the event dispatcher (eager,
after the commit): a classification confirmed (or suggested by a scan) on a column is suggested on the columns that
copy it without transformation, over several hops; transformed flows, other workspaces and decided columns are left
alone; rejecting the origin withdraws what it caused; lineage recorded later carries too; set-based."""
from __future__ import annotations

from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import services, subscribers
from catalog.admin_readable import evidence_of
from catalog.lineage import services as lineage_services
from catalog.lineage.services import Flow
from catalog.models import Asset, AssetClassification, LineageEdge
from catalog.propagation import asset_classifications_propagate
from core.events import record_event
from core.models import Event
from sources.models import DataSource
from tests.catalog.classification_factories import AssetClassificationFactory, builtin
from tests.catalog.factories import DataSourceFactory
from tests.catalog.lineage_factories import edge, external, table
from tests.catalog.test_review_queue import QUEUE, staff

pytestmark = pytest.mark.django_db
Status, Source = AssetClassification.Status, AssetClassification.Source


@contextmanager
def after_commit():
    """Run what the block's commit would: the eager dispatch the outbox sends, which delivers its events (the
    captured callbacks are forgotten after, so the next block sends its own dispatch)."""
    start = len(connection.run_on_commit)
    with TestCase.captureOnCommitCallbacks(execute=True):
        yield
    del connection.run_on_commit[start:]


@pytest.fixture
def source(world):
    return DataSourceFactory(workspace=world.workspace_a, database="shop")


@pytest.fixture
def chain(source):
    """customers.email → staging.email → report.contact (a rename), copies all the way; and a hash of it."""
    customers = table(source, "customers", columns=("id", "email"))
    staging = table(source, "staging", columns=("email",))
    report = table(source, "report", columns=("contact", "email_hash"))
    edge(customers.cols["email"], staging.cols["email"], direct=True)
    edge(staging.cols["email"], report.cols["contact"], direct=True, origin=LineageEdge.Origin.VIEW, key="view")
    edge(customers.cols["email"], report.cols["email_hash"], direct=False)
    return {"email": customers.cols["email"], "staging": staging.cols["email"], "contact": report.cols["contact"],
            "hash": report.cols["email_hash"], "report": report}


def scan_suggestion(column, name="PII.EMAIL", confidence=0.95, **fields) -> AssetClassification:
    return AssetClassificationFactory(asset=column, classification=builtin(name), confidence=confidence, **fields)


def decide(row, decision, user):
    with after_commit():
        services.asset_classifications_decide(asset_classifications=[row], decision=decision, acting_user=user)


def lineage_rows(column) -> list[AssetClassification]:
    return list(AssetClassification.objects.filter(asset=column, source=Source.LINEAGE).order_by("pk"))


def steward(world):
    return world.user("steward")


# --- what travels, how far ---------------------------------------------------------------------------------------

def test_a_confirmed_classification_is_suggested_along_a_chain_of_copies(world, chain):
    origin = scan_suggestion(chain["email"])
    decide(origin, Status.CONFIRMED, steward(world))
    [staged] = lineage_rows(chain["staging"])
    [contact] = lineage_rows(chain["contact"])
    assert (staged.status, staged.classification.name, staged.confidence) == (Status.SUGGESTED, "PII.EMAIL", 0.95)
    assert (contact.status, contact.confidence) == (Status.SUGGESTED, 0.9025)  # one more hop, a little less sure
    lineage = contact.evidence["lineage"]
    assert lineage["origin"] == {"asset_classification": origin.pk, "asset": chain["email"].pk,
                                 "name": "shop.public.customers.email", "status": "confirmed", "source": "scan",
                                 "confidence": 0.95}
    assert [(hop["name"], hop.get("via")) for hop in lineage["path"]] == [
        ("shop.public.customers.email", None), ("shop.public.staging.email", ["sql"]),
        ("shop.public.report.contact", ["view"])]
    # The report is now as sensitive as what it copies: a suggestion counts, as a scan's does.
    chain["report"].refresh_from_db()
    assert chain["report"].sensitivity == builtin("PII.EMAIL").sensitivity
    assert AuditEvent.objects.filter(event="asset_classification.propagated").count() == 1


def test_a_transformed_flow_carries_nothing(world, chain):
    decide(scan_suggestion(chain["email"]), Status.CONFIRMED, steward(world))
    assert not AssetClassification.objects.filter(asset=chain["hash"]).exists()


def test_copies_through_an_external_dataset_carry_and_the_external_field_gets_nothing(world, source):
    customers = table(source, "customers", columns=("email",))
    lake = table(source, "lake_copy", columns=("email",))
    staged = external(world.workspace_a, "raw.customers", field="email")
    edge(customers.cols["email"], staged, direct=True)
    edge(staged, lake.cols["email"], direct=True)
    decide(scan_suggestion(customers.cols["email"]), Status.CONFIRMED, steward(world))
    [row] = lineage_rows(lake.cols["email"])
    assert [(hop["node"], hop["name"]) for hop in row.evidence["lineage"]["path"]] == [
        ("asset", "shop.public.customers.email"), ("external", "s3://lake/raw.customers.email"),
        ("asset", "shop.public.lake_copy.email")]
    assert AssetClassification.objects.filter(source=Source.LINEAGE).count() == 1
    facts = evidence_of(row.evidence).facts
    assert "s3://lake/raw.customers.email (not in the catalog)" in facts[1]


def test_a_cycle_of_copies_ends(world, source):
    a, b = table(source, "a", columns=("email",)), table(source, "b", columns=("email",))
    edge(a.cols["email"], b.cols["email"], direct=True)
    edge(b.cols["email"], a.cols["email"], direct=True, key="back")
    decide(scan_suggestion(a.cols["email"]), Status.CONFIRMED, steward(world))
    assert len(lineage_rows(b.cols["email"])) == 1 and not lineage_rows(a.cols["email"])


# --- suggested inputs ----------------------------------------------------------------------------------------------

def test_a_scan_suggestion_travels_as_a_weaker_suggestion_that_says_its_input_is_undecided(world, chain):
    scan_suggestion(chain["email"], confidence=0.9)
    asset_classifications_propagate(workspace=world.workspace_a, assets=[chain["email"].pk], acting_user=SYSTEM)
    [staged] = lineage_rows(chain["staging"])
    assert staged.confidence == round(0.9 * 0.8 * 0.95, 4)
    facts = evidence_of(staged.evidence).facts
    assert facts[0] == ("Copied without transformation from shop.public.customers.email, where a scan suggests it "
                        "(90%) but no steward has confirmed it yet: decide that column too.")
    assert facts[1] == ("Lineage, 1 hop: shop.public.customers.email → shop.public.staging.email "
                        "(through submitted SQL).")


def test_a_guess_from_the_column_name_alone_does_not_travel(world, chain):
    scan_suggestion(chain["email"], evidence={"name_signal": "email", "name_only": True})
    asset_classifications_propagate(workspace=world.workspace_a, assets=[chain["email"].pk], acting_user=SYSTEM)
    assert not AssetClassification.objects.filter(source=Source.LINEAGE).exists()


def test_a_scan_suggestion_travels_when_the_scan_ends(world, source):
    customers, copy = table(source, "customers", columns=("email",)), table(source, "copy", columns=("email",))
    edge(customers.cols["email"], copy.cols["email"], direct=True)
    scan_suggestion(customers.cols["email"])
    with after_commit():  # the end of a run, as scanning records it
        record_event("scan.finished", source, {"data_source": source.pk})
    assert [row.classification.name for row in lineage_rows(copy.cols["email"])] == ["PII.EMAIL"]


# --- decisions -----------------------------------------------------------------------------------------------------

def test_a_redelivered_event_changes_nothing(world, chain):
    decide(scan_suggestion(chain["email"]), Status.CONFIRMED, steward(world))
    before = list(AssetClassification.objects.values_list("pk", "asset_id", "confidence", "evidence", "updated_at"))
    event = Event.objects.get(name="classification.confirmed")
    subscribers.propagate_decision(event)  # at least once: the same event again
    after = list(AssetClassification.objects.values_list("pk", "asset_id", "confidence", "evidence", "updated_at"))
    assert after == before
    assert AuditEvent.objects.filter(event="asset_classification.propagated").count() == 1


def test_rejecting_the_origin_withdraws_the_open_suggestions_it_caused(world, chain):
    origin = scan_suggestion(chain["email"])
    decide(origin, Status.CONFIRMED, steward(world))
    decided = lineage_rows(chain["staging"])[0]
    decide(decided, Status.CONFIRMED, steward(world))  # a steward agreed on the staging copy: it stays
    decide(origin, Status.REJECTED, steward(world))
    assert [row.status for row in lineage_rows(chain["staging"])] == [Status.CONFIRMED]
    # The report's copy now comes from the confirmed staging column, one hop away.
    [contact] = lineage_rows(chain["contact"])
    assert contact.evidence["lineage"]["origin"]["asset"] == chain["staging"].pk and contact.confidence == 0.95
    decide(decided, Status.REJECTED, steward(world))
    assert not lineage_rows(chain["contact"])  # nothing supports it any more: withdrawn
    withdrawn = AuditEvent.objects.filter(event="asset_classification.propagated").order_by("pk").last()
    assert withdrawn.extra["withdrawn"] == 1 and withdrawn.extra["withdrawn_from"] == [chain["contact"].pk]
    chain["report"].refresh_from_db()
    assert chain["report"].sensitivity == ""


def test_a_second_origin_keeps_the_suggestion_when_the_first_is_rejected(world, source):
    crm, shop = table(source, "crm", columns=("email",)), table(source, "shop", columns=("email",))
    merged = table(source, "merged", columns=("email",))
    edge(crm.cols["email"], merged.cols["email"], direct=True)
    edge(shop.cols["email"], merged.cols["email"], direct=True)
    first = scan_suggestion(crm.cols["email"])
    decide(first, Status.CONFIRMED, steward(world))
    decide(scan_suggestion(shop.cols["email"]), Status.CONFIRMED, steward(world))
    decide(first, Status.REJECTED, steward(world))
    [row] = lineage_rows(merged.cols["email"])
    assert row.evidence["lineage"]["origin"]["asset"] == shop.cols["email"].pk


def test_a_columns_own_decision_and_a_scans_suggestion_are_never_touched(world, source):
    customers = table(source, "customers", columns=("email",))
    copies = table(source, "copies", columns=("rejected", "confirmed", "scanned"))
    for column in copies.cols.values():
        edge(customers.cols["email"], column, direct=True)
    rejected = scan_suggestion(copies.cols["rejected"], status=Status.REJECTED)
    confirmed = scan_suggestion(copies.cols["confirmed"], status=Status.CONFIRMED, confidence=0.7)
    scanned = scan_suggestion(copies.cols["scanned"], confidence=0.6)
    decide(scan_suggestion(customers.cols["email"]), Status.CONFIRMED, steward(world))
    for row in (rejected, confirmed, scanned):
        fresh = AssetClassification.objects.get(pk=row.pk)
        assert (fresh.status, fresh.source, fresh.confidence, fresh.evidence) == (
            row.status, row.source, row.confidence, row.evidence)
    assert not AssetClassification.objects.filter(source=Source.LINEAGE).exists()


def test_a_column_rejected_on_the_way_stops_what_passes_through_it(world, chain):
    scan_suggestion(chain["staging"], status=Status.REJECTED)
    decide(scan_suggestion(chain["email"]), Status.CONFIRMED, steward(world))
    assert not lineage_rows(chain["contact"])


# --- lineage recorded later -----------------------------------------------------------------------------------------

def test_lineage_recorded_after_the_confirmation_carries_it_and_its_removal_withdraws_it(world, source):
    customers = table(source, "customers", columns=("id", "email"))
    table(source, "contacts", columns=("email",))
    decide(scan_suggestion(customers.cols["email"]), Status.CONFIRMED, steward(world))
    sql = "INSERT INTO contacts (email) SELECT email FROM customers"
    with after_commit():
        lineage_services.lineage_sql_record(data_source=source, sql=sql, dialect="postgres", acting_user=SYSTEM)
    contact = Asset.objects.get(qualified_name="shop.public.contacts.email")
    [row] = lineage_rows(contact)
    assert row.evidence["lineage"]["path"][-1]["via"] == ["sql"]
    event = Event.objects.get(name="lineage.changed")
    assert event.payload["direct_targets"] == {"assets": [contact.pk], "externals": []}
    with after_commit():  # the same flows again: no event, nothing changes
        lineage_services.lineage_sql_record(data_source=source, sql=sql, dialect="postgres", acting_user=SYSTEM)
    assert Event.objects.filter(name="lineage.changed").count() == 1
    with after_commit():  # the flow becomes a transformation: the copy is gone
        lineage_services.lineage_edges_replace(
            workspace=world.workspace_a, origin=event.payload["origin"], origin_key=event.payload["origin_key"],
            flows=[Flow(customers.cols["email"].pk, contact.pk, LineageEdge.Level.COLUMN, direct=False)],
            acting_user=SYSTEM)
    assert not lineage_rows(contact)


# --- scope ----------------------------------------------------------------------------------------------------------

def test_lineage_into_another_workspace_writes_nothing_there(world, source):
    theirs = table(DataSourceFactory(workspace=world.workspace_b, database="partner"), "partners", columns=("email",))
    mine = table(source, "customers", columns=("email",))
    edge(mine.cols["email"], theirs.cols["email"], direct=True, workspace=world.workspace_a)
    edge(mine.cols["email"], theirs.cols["email"], direct=True, workspace=world.workspace_b, key="theirs")
    decide(scan_suggestion(mine.cols["email"]), Status.CONFIRMED, steward(world))
    asset_classifications_propagate(workspace=world.workspace_b, assets=[mine.cols["email"].pk], acting_user=SYSTEM)
    assert not AssetClassification.objects.filter(asset=theirs.cols["email"]).exists()


def test_only_a_user_who_may_classify_in_the_workspace_may_propagate(world, chain):
    with pytest.raises(PermissionDenied):
        asset_classifications_propagate(workspace=world.workspace_a, assets=[chain["email"].pk],
                                        acting_user=world.user("analyst"))
    result = asset_classifications_propagate(workspace=world.workspace_a, assets=[chain["email"].pk],
                                             acting_user=steward(world))
    assert result.region == 3


def _propagation_queries(world, copies: int) -> int:
    source = DataSourceFactory(workspace=world.workspace_a, database=f"fan{copies}")  # its own tree to roll up to
    origin = table(source, f"origin_{copies}", columns=("email",))
    targets = table(source, f"copies_{copies}", columns=tuple(f"c{index}" for index in range(copies)))
    for column in targets.cols.values():
        edge(origin.cols["email"], column, direct=True, key=f"fan-{copies}")
    scan_suggestion(origin.cols["email"], status=Status.CONFIRMED)
    with CaptureQueriesContext(connection) as queries:
        result = asset_classifications_propagate(workspace=world.workspace_a, assets=[origin.cols["email"].pk],
                                                 acting_user=SYSTEM)
    assert result.suggested == copies
    return len(queries)


def test_propagation_costs_the_same_queries_for_a_wide_fan_out(world):
    assert _propagation_queries(world, 3) == _propagation_queries(world, 60)


# --- where a steward sees it -----------------------------------------------------------------------------------------

def test_the_review_queue_says_where_a_lineage_suggestion_comes_from(world, chain):
    decide(scan_suggestion(chain["email"]), Status.CONFIRMED, steward(world))
    page = staff(world, "steward").get(QUEUE).content.decode()
    assert ("Copied without transformation from shop.public.customers.email, where a steward confirmed it."
            in page)
    assert ("Lineage, 2 hops: shop.public.customers.email → shop.public.staging.email (through submitted SQL) → "
            "shop.public.report.contact (through a view&#x27;s definition).") in page


# --- the demo --------------------------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)  # autocommit, as in `make run`: each commit delivers its events at once
def test_the_demo_views_columns_carry_their_inputs_classifications(tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    call_command("load_demo", stdout=StringIO())
    source = DataSource.objects.get(name="Demo shop")
    view = Asset.objects.get(data_source=source, type=Asset.Type.VIEW, name="customer_orders")
    # Nothing but the command: its scan reads the view's definition as lineage (scanning.subscribers), and the
    # scan's suggestions on customers travel along it (issue 14's acceptance after `make run`).
    carried = {(row.asset.name, row.classification.name): row for row in AssetClassification.objects.filter(
        asset__parent=view, source=Source.LINEAGE).select_related("asset", "classification")}
    assert set(carried) == {("email", "PII.EMAIL"), ("first_name", "PII.FIRST_NAME"),
                            ("last_name", "PII.LAST_NAME")}
    assert all(row.status == Status.SUGGESTED and row.evidence["lineage"]["origin"]["status"] == "suggested"
               for row in carried.values())
    view.refresh_from_db()
    assert view.sensitivity == Asset.Sensitivity.CONFIDENTIAL


# --- what a reader sees of the evidence -----------------------------------------------------------------------------

def _granted(world, persona, *objects):
    """``persona`` with a view grant on each of ``objects`` and nothing else of the workspace (a scoped reader)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts import services as account_services

    user = world.user(persona)
    for obj in objects:
        account_services.object_grant_create(user=user, obj=obj, action="view", acting_user=SYSTEM,
                                             expires_at=timezone.now() + timedelta(days=1))
    return type(user).objects.get(pk=user.pk)


def test_the_evidence_names_only_the_columns_its_reader_may_see(world, chain):
    from catalog.lineage.selectors import evidences_seen_by

    decide(scan_suggestion(chain["email"]), "confirmed", steward(world))
    [suggestion] = lineage_rows(chain["contact"])
    # A reader granted the report's column and its suggestion, not the columns it was copied from.
    reader = _granted(world, "outsider", chain["contact"], suggestion)
    [seen] = evidences_seen_by([suggestion.evidence], user=reader)
    assert seen["lineage"]["origin"]["hidden"] and "name" not in seen["lineage"]["origin"]
    assert [hop["node"] for hop in seen["lineage"]["path"]] == ["hidden", "asset"]
    assert seen["lineage"]["path"][0] == {"node": "hidden", "count": 2}
    words = " ".join(evidence_of(seen).facts)
    assert "customers" not in words and "staging" not in words and str(chain["staging"].pk) not in str(seen)
    assert "from a column you may not see" in words and "2 columns you may not see → " in words
    assert "2 hops" in words
    # The workspace's steward sees every column of the path.
    [full] = evidences_seen_by([suggestion.evidence], user=steward(world))
    assert full == suggestion.evidence
    assert "staging" in " ".join(evidence_of(full).facts)


def test_the_api_gives_a_scoped_reader_the_evidence_with_hidden_columns_counted(world, chain):
    from django.urls import reverse

    from tests.support.personas import verified_client

    decide(scan_suggestion(chain["email"]), "confirmed", steward(world))
    [suggestion] = lineage_rows(chain["contact"])
    reader = _granted(world, "outsider", chain["contact"], suggestion)
    response = verified_client(reader).get(reverse("api:assetclassification-detail", args=[suggestion.pk]))
    assert response.status_code == 200, response.content
    body = response.content.decode()
    assert "staging" not in body and "customers" not in body
    assert response.json()["evidence"]["lineage"]["path"][0] == {"node": "hidden", "count": 2}
    listed = verified_client(reader).get(reverse("api:assetclassification-list")).content.decode()
    assert "staging" not in listed and "customers" not in listed


def test_evidence_in_words_names_no_internal_check():
    words = evidence_of({"match_share": 0.93, "validator": "word_text",
                         "reasons": ["column name says 'city'", "93% of values plausible (word_text)"]})
    text = " ".join(words.facts + words.reasons)
    assert "word_text" not in text
    assert "the “word text” check" in text and "93% of values plausible (word text)" in text
