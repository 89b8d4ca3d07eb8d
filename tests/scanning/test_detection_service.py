"""Detection wired into scan runs and on demand, with a fake connector (nothing leaves the process).

The stewards' rules are the heart of it: confirmed stays confirmed, rejected stays rejected unless the evidence
changes materially (then it comes back saying so), stale suggestions go, decided ones stay.
"""
from __future__ import annotations

import json
import logging

import pytest
from django.core.exceptions import PermissionDenied

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import services as catalog_services
from catalog.models import Asset, AssetClassification
from catalog.services import RESUGGESTED_NOTE
from scanning.models import ScanRun, TableSample
from scanning.services import classifications as rule_services
from scanning.services import detection, runs
from sources.connectors import Connector, SchemaObject, parse_qualified_name
from sources.services import RUN_CANNOT_CONNECT
from tests.catalog.classification_factories import ClassificationFactory, ClassificationRuleFactory, asset_tree, builtin
from tests.catalog.factories import DataSourceFactory, ScanFactory, ScanRunFactory
from tests.support.factories import UserFactory, WorkspaceFactory, membership

pytestmark = pytest.mark.django_db

EMAILS = [f"person{i}@example{i % 7}.com" for i in range(40)]
CARDS = ["4111111111111111", "5500005555555559", "4012888888881881", "378282246310005", "6011111111111117"]


class FakeConnector:
    """Samples from a dict ``{table name: {column: values}}``; records every sample_table call."""

    class settings:  # noqa: N801 - mimics ConnectionSettings' attribute
        secrets = ("fake-password",)

    def __init__(self, tables: dict[str, dict[str, list]], schema: list[SchemaObject] | None = None,
                 fail_with: Exception | None = None):
        self.tables, self.schema, self.fail_with = tables, schema or [], fail_with
        self.calls: list[tuple[tuple[str, ...], list[str], int]] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def iter_schema(self, include=None):
        yield self.schema

    _table_hints: dict = {}
    sample_values = Connector.sample_values  # the real top-up logic over this fake's sample_table

    def sample_table(self, table_path, columns, limit, *, not_null=None, share=1.0):
        self.calls.append((tuple(table_path), list(columns), limit))
        if self.fail_with is not None:
            raise self.fail_with
        data = self.tables[table_path[-1]]
        if not_null is not None:
            return {not_null: [value for value in data.get(not_null, []) if value is not None][:limit]}
        return {column: list(data.get(column, []))[:limit] for column in columns}


@pytest.fixture
def fake(monkeypatch):
    holder = {}

    def install(connector: FakeConnector) -> FakeConnector:
        holder["connector"] = connector
        monkeypatch.setattr(detection, "open_connector", lambda *a, **k: connector)
        monkeypatch.setattr(runs, "open_connector", lambda *a, **k: connector)
        return connector

    return install


def _run(source, **rule_set):
    scan = ScanFactory(data_source=source)
    for name, value in rule_set.items():
        setattr(scan.rule_set, name, value)
    scan.rule_set.save()
    return ScanRunFactory(scan=scan, status=ScanRun.Status.RUNNING, phase=detection.DETECTION_PHASE,
                          finished_at=None)


def _scan(source, connector, tables, **rule_set) -> ScanRun:
    run = _run(source, **rule_set)
    ScanRun.objects.filter(pk=run.pk).update(progress_total=len(tables))
    detection.detection_run(scan_run_id=run.pk, table_ids=[t.pk for t in tables])
    run.refresh_from_db()
    return run


def _status(column) -> dict[str, str]:
    return dict(AssetClassification.objects.filter(asset=column).values_list("classification__name", "status"))


def _customers(source=None):
    return asset_tree(source, table="customers", columns={
        "email": "character varying(255)", "card_number": "character varying(19)", "notes": "text",
        "avatar": "bytea"})


def _data(emails=EMAILS, cards=CARDS * 8):
    return {"customers": {"email": emails, "card_number": cards, "notes": ["fine"] * 40,
                          "avatar": [b"\x89PNG"] * 40}}


def test_scan_suggests_classifications_with_masked_evidence_only(fake):
    database, _, table, cols = _customers()
    connector = fake(FakeConnector(_data()))
    run = _scan(table.data_source, connector, [table])
    assert run.status == ScanRun.Status.SUCCEEDED
    assert _status(cols["email"]) == {"PII.EMAIL": "suggested"}
    assert _status(cols["card_number"]) == {"FINANCIAL.PAYMENT_CARD": "suggested"}
    assert _status(cols["notes"]) == {} and _status(cols["avatar"]) == {}
    stored = json.dumps(list(AssetClassification.objects.values("evidence")))
    assert not any(value in stored for value in EMAILS + CARDS)
    evidence = AssetClassification.objects.get(asset=cols["email"]).evidence
    assert evidence["match_share"] == 1.0 and evidence["values_sampled"] == 40 and evidence["run"] == run.pk
    assert all("***" in example for example in evidence["masked_examples"])
    assert (run.progress_done, run.progress_total, run.columns_classified) == (1, 1, 2)


def test_one_sample_query_per_table_and_binary_columns_are_not_read(fake):
    _, _, table, _ = _customers()
    connector = fake(FakeConnector(_data()))
    _scan(table.data_source, connector, [table], sample_size=25)
    assert connector.calls == [(parse_qualified_name(table.qualified_name), ["email", "card_number", "notes"], 25)]
    assert TableSample.objects.get(asset=table).columns_sampled == 3


def test_confirmed_classification_survives_rescans(fake):
    _, _, table, cols = _customers()
    connector = fake(FakeConnector(_data()))
    _scan(table.data_source, connector, [table])
    row = AssetClassification.objects.get(asset=cols["email"])
    catalog_services.asset_classification_confirm(asset_classification=row, acting_user=SYSTEM)
    connector.tables = {"customers": {"email": ["n/a"] * 40}}  # the values no longer say email at all
    _scan(table.data_source, connector, [table])
    _scan(table.data_source, connector, [table])
    row.refresh_from_db()
    assert row.status == AssetClassification.Status.CONFIRMED


def test_rejected_with_unchanged_evidence_stays_rejected_across_rescans(fake):
    _, _, table, cols = _customers()
    connector = fake(FakeConnector(_data()))
    _scan(table.data_source, connector, [table])
    row = AssetClassification.objects.get(asset=cols["email"])
    catalog_services.asset_classification_reject(asset_classification=row, acting_user=SYSTEM, note="test data")
    # Another random sample of the same data: same share bucket, same order of magnitude of distinct values.
    connector.tables = _data(emails=list(reversed(EMAILS))[:35])
    for _ in range(2):
        _scan(table.data_source, connector, [table])
    row.refresh_from_db()
    assert row.status == AssetClassification.Status.REJECTED and row.decision_note == "test data"
    assert _status(cols["email"]) == {"PII.EMAIL": "rejected"}


def test_rejected_then_evidence_changes_comes_back_as_suggested_with_note(fake):
    _, _, table, cols = _customers()
    mostly = EMAILS[:28] + ["unknown"] * 12  # 70 % emails: the column name carries it
    connector = fake(FakeConnector(_data(emails=mostly)))
    _scan(table.data_source, connector, [table])
    row = AssetClassification.objects.get(asset=cols["email"])
    assert row.evidence["match_share"] == 0.7
    catalog_services.asset_classification_reject(asset_classification=row, acting_user=SYSTEM)
    connector.tables = _data()  # now every value is an email: the evidence changed materially
    _scan(table.data_source, connector, [table])
    row.refresh_from_db()
    assert row.status == AssetClassification.Status.SUGGESTED
    assert row.evidence["resuggested"] == RESUGGESTED_NOTE and RESUGGESTED_NOTE in row.evidence["reasons"]
    assert row.decided_by is None and row.decision_note == RESUGGESTED_NOTE
    event = AuditEvent.objects.filter(event="asset_classification.detected").latest("pk")
    assert event.extra["resuggested"] == 1 and event.extra["resuggested_ids"] == [row.pk]


def test_suggestion_no_longer_detected_is_removed_but_decided_ones_stay(fake):
    _, _, table, cols = _customers()
    connector = fake(FakeConnector(_data()))
    _scan(table.data_source, connector, [table])
    card = AssetClassification.objects.get(asset=cols["card_number"])
    catalog_services.asset_classification_confirm(asset_classification=card, acting_user=SYSTEM)
    connector.tables = {"customers": {"email": ["none"] * 40, "card_number": ["none"] * 40}}
    _scan(table.data_source, connector, [table])
    assert _status(cols["email"]) == {}
    assert _status(cols["card_number"]) == {"FINANCIAL.PAYMENT_CARD": "confirmed"}


def test_rescan_with_same_values_writes_no_new_audit_events(fake):
    _, _, table, _ = _customers()
    connector = fake(FakeConnector(_data()))
    _scan(table.data_source, connector, [table])
    before = AuditEvent.objects.filter(event="asset_classification.detected").count()
    _scan(table.data_source, connector, [table])
    assert AuditEvent.objects.filter(event="asset_classification.detected").count() == before == 1


def test_sensitivity_is_the_highest_of_columns_up_to_the_database(fake):
    database, schema, table, cols = _customers()
    connector = fake(FakeConnector(_data()))
    _scan(table.data_source, connector, [table])
    for asset in (database, schema, table, cols["card_number"]):
        asset.refresh_from_db()
        assert asset.sensitivity == Asset.Sensitivity.RESTRICTED, asset
    cols["email"].refresh_from_db()
    assert cols["email"].sensitivity == Asset.Sensitivity.CONFIDENTIAL
    card = AssetClassification.objects.get(asset=cols["card_number"])
    catalog_services.asset_classification_reject(asset_classification=card, acting_user=SYSTEM)
    table.refresh_from_db()
    database.refresh_from_db()
    assert table.sensitivity == database.sensitivity == Asset.Sensitivity.CONFIDENTIAL


def test_custom_rule_of_the_workspace_classifies_matching_column(fake):
    _, _, table, cols = asset_tree(columns={"emp_no": "character varying(10)"})
    rule = ClassificationRuleFactory(workspace=table.data_source.workspace,
                                     classification=ClassificationFactory(name="HR.EMPLOYEE_NUMBER"))
    ClassificationRuleFactory(enabled=False, workspace=table.data_source.workspace, value_regex=r".*",
                              column_name_regex="", classification=ClassificationFactory(name="HR.NEVER"))
    connector = fake(FakeConnector({"customers": {"emp_no": [f"E{100000 + i}" for i in range(30)]}}))
    _scan(table.data_source, connector, [table])
    row = AssetClassification.objects.get(asset=cols["emp_no"])
    assert row.classification == rule.classification and row.evidence["custom_rule"] is True


def test_rule_set_classification_filter_limits_what_is_suggested(fake):
    _, _, table, cols = _customers()
    connector = fake(FakeConnector(_data()))
    _scan(table.data_source, connector, [table], classifications=["PII.EMAIL"])
    assert _status(cols["email"]) == {"PII.EMAIL": "suggested"}
    assert _status(cols["card_number"]) == {}


def test_switched_off_classification_is_not_suggested(fake):
    _, _, table, cols = _customers()
    catalog_services.classification_update(classification=builtin("PII.EMAIL"), acting_user=SYSTEM,
                                           is_active=False)
    _scan(table.data_source, fake(FakeConnector(_data())), [table])
    assert _status(cols["email"]) == {}


def test_failure_fails_run_without_the_value_in_message_or_log(fake, caplog):
    _, _, table, _ = _customers()
    connector = fake(FakeConnector(_data(), fail_with=ValueError("bad literal 4111111111111111")))
    with caplog.at_level(logging.DEBUG):
        run = _scan(table.data_source, connector, [table])
    assert run.status == ScanRun.Status.FAILED
    assert run.error == "Internal error during detection; see the worker's log."
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "detection failed" in logged and "4111111111111111" not in logged


def test_cancel_requested_stops_run_before_next_table(fake):
    source = DataSourceFactory()
    _, _, first, _ = asset_tree(source, table="a_first", columns={"email": "text"})
    _, _, second, _ = asset_tree(source, table="b_second", columns={"email": "text"})
    run = _run(source)

    class Cancelling(FakeConnector):
        def sample_table(self, table_path, columns, limit, **kwargs):
            ScanRun.objects.filter(pk=run.pk).update(cancel_requested=True)
            return super().sample_table(table_path, columns, limit, **kwargs)

    connector = fake(Cancelling({"a_first": {"email": EMAILS}, "b_second": {"email": EMAILS}}))
    detection.detection_run(scan_run_id=run.pk, table_ids=[first.pk, second.pk])
    run.refresh_from_db()
    assert run.status == ScanRun.Status.CANCELLED and len(connector.calls) == 1
    assert not AssetClassification.objects.exists()


def test_run_not_in_detection_phase_is_left_alone(fake):
    _, _, table, _ = _customers()
    run = ScanRunFactory(status=ScanRun.Status.SUCCEEDED)
    connector = fake(FakeConnector(_data()))
    detection.detection_run(scan_run_id=run.pk, table_ids=[table.pk])
    assert connector.calls == [] and not AssetClassification.objects.exists()


def _schema(source, tables: dict[str, dict[str, str]]) -> list[SchemaObject]:
    db = source.database
    objects = [SchemaObject("database", (db,)), SchemaObject("schema", (db, "public"))]
    for table, columns in tables.items():
        objects.append(SchemaObject("table", (db, "public", table)))
        objects += [SchemaObject("column", (db, "public", table, name), data_type=data_type, ordinal=i)
                    for i, (name, data_type) in enumerate(columns.items(), start=1)]
    return objects


def test_scan_run_with_detection_enabled_runs_detection_then_succeeds(fake, django_capture_on_commit_callbacks):
    source = DataSourceFactory()
    scan = ScanFactory(data_source=source)
    schema = _schema(source, {"customers": {"email": "text", "card_number": "text"}})
    connector = fake(FakeConnector(_data(), schema=schema))
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    assert run.columns_classified == 2 and run.progress_done == run.progress_total == 1
    assert len(connector.calls) == 1
    # Nothing changed and every table was sampled: the second run reads no values at all.
    with django_capture_on_commit_callbacks(execute=True):
        second = runs.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)
    second.refresh_from_db()
    assert second.status == ScanRun.Status.SUCCEEDED and len(connector.calls) == 1


def test_tables_never_sampled_or_judged_otherwise_are_read_even_when_unchanged(fake):
    source = DataSourceFactory()
    _, _, sampled, _ = asset_tree(source, table="sampled", columns={"email": "text"})
    _, _, never, _ = asset_tree(source, table="never", columns={"email": "text"})
    _, _, other_rules, _ = asset_tree(source, table="other_rules", columns={"email": "text"})
    TableSample.objects.create(asset=sampled, judged_with="now")
    TableSample.objects.create(asset=other_rules, judged_with="before")
    unchanged = detection.tables_to_sample(data_source_id=source.pk, changed=set(), judged_with="now")
    assert unchanged == sorted([never.pk, other_rules.pk])
    assert detection.tables_to_sample(data_source_id=source.pk, changed={sampled.pk}, judged_with="now") == sorted(
        [sampled.pk, never.pk, other_rules.pk])


def test_a_custom_rule_created_or_edited_after_a_scan_is_applied_by_the_next_scan(
        fake, django_capture_on_commit_callbacks):
    source = DataSourceFactory()
    scan = ScanFactory(data_source=source)
    codes = [f"K-{i:05d}" for i in range(40)]
    data = {"customers": {"email": EMAILS, "ref": codes}}
    connector = fake(FakeConnector(data, schema=_schema(source, {"customers": {"email": "text", "ref": "text"}})))

    def scan_now() -> dict[str, str]:
        with django_capture_on_commit_callbacks(execute=True):
            run = runs.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)
        run.refresh_from_db()
        assert run.status == ScanRun.Status.SUCCEEDED, run.error
        return {row.asset.name: row.classification.name
                for row in AssetClassification.objects.filter(asset__data_source=source)
                .select_related("asset", "classification")}

    assert scan_now() == {"email": "PII.EMAIL"} and len(connector.calls) == 1
    loyalty = ClassificationFactory(name="CUSTOM.LOYALTY_CARD")
    rule = rule_services.classification_rule_create(
        workspace=source.workspace, acting_user=SYSTEM, classification=loyalty, column_name_regex="",
        value_regex=r"K-\d{5}", min_match_share=0.9)
    assert scan_now() == {"email": "PII.EMAIL", "ref": "CUSTOM.LOYALTY_CARD"}  # nothing changed but the rules
    assert len(connector.calls) == 2
    assert scan_now() == {"email": "PII.EMAIL", "ref": "CUSTOM.LOYALTY_CARD"} and len(connector.calls) == 2
    rule_services.classification_rule_update(rule=rule, acting_user=SYSTEM, enabled=False)
    assert scan_now() == {"email": "PII.EMAIL"} and len(connector.calls) == 3  # switched off: judged again


def test_scan_with_detection_disabled_reads_no_values(fake, django_capture_on_commit_callbacks):
    source = DataSourceFactory()
    scan = ScanFactory(data_source=source)
    scan.rule_set.detection_enabled = False
    scan.rule_set.save()
    connector = fake(FakeConnector(_data(), schema=_schema(source, {"customers": {"email": "text"}})))
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.SUCCEEDED and connector.calls == []


def _steward(source):
    steward = UserFactory()
    membership(steward, source.workspace, "data_steward")
    return steward


def _detect(assets, acting_user, capture) -> ScanRun:
    """Request a detection on demand and run it (after commit, in process); the run as it ended."""
    with capture(execute=True):
        run = runs.detection_run_request(assets=assets, acting_user=acting_user)
    run.refresh_from_db()
    return run


def test_on_demand_column_detection_is_a_run_that_samples_only_that_column(fake, django_capture_on_commit_callbacks):
    _, _, table, cols = _customers()
    steward = _steward(table.data_source)
    connector = fake(FakeConnector(_data()))
    run = _detect([cols["email"]], steward, django_capture_on_commit_callbacks)
    assert (run.status, run.trigger, run.scan, run.targets) == (ScanRun.Status.SUCCEEDED, "detection", None,
                                                                [cols["email"].pk])
    assert (run.progress_done, run.progress_total, run.columns_classified, run.attempts) == (1, 1, 1, 1)
    assert run.requested_by == steward and run.started_at and run.finished_at and run.error == ""
    assert connector.calls[0][1] == ["email"]
    assert _status(cols["email"]) == {"PII.EMAIL": "suggested"} and _status(cols["card_number"]) == {}
    assert AuditEvent.objects.filter(event="detection.requested", actor=steward, object_id=str(run.pk)).exists()


def test_on_demand_detection_is_refused_before_anything_is_written(fake):
    _, _, table, _ = _customers()
    analyst = UserFactory()
    membership(analyst, table.data_source.workspace, "analyst")
    outsider_ws_user = UserFactory()
    membership(outsider_ws_user, WorkspaceFactory(), "data_steward")
    connector = fake(FakeConnector(_data()))
    for user in (analyst, outsider_ws_user):
        with pytest.raises(PermissionDenied):
            runs.detection_run_request(assets=[table], acting_user=user)
    assert connector.calls == [] and not ScanRun.objects.exists()


def test_on_demand_source_detection_reads_every_table_and_counts_them(fake, django_capture_on_commit_callbacks):
    source = DataSourceFactory()
    database, _, first, _ = asset_tree(source, table="customers", columns={"email": "text"})
    asset_tree(source, table="staff", columns={"email": "text"})
    connector = fake(FakeConnector({"customers": {"email": EMAILS}, "staff": {"email": EMAILS}}))
    run = _detect([database], SYSTEM, django_capture_on_commit_callbacks)
    assert sorted(call[0][-1] for call in connector.calls) == ["customers", "staff"]
    assert (run.status, run.progress_done, run.progress_total) == (ScanRun.Status.SUCCEEDED, 2, 2)
    assert TableSample.objects.filter(run=run).count() == 2
    database.refresh_from_db()
    assert database.sensitivity == Asset.Sensitivity.CONFIDENTIAL


def test_a_table_asked_for_whole_absorbs_its_columns_asked_for_too(fake, django_capture_on_commit_callbacks):
    _, _, table, cols = _customers()
    connector = fake(FakeConnector(_data()))
    run = _detect([cols["email"], table, cols["notes"]], SYSTEM, django_capture_on_commit_callbacks)
    assert run.status == ScanRun.Status.SUCCEEDED and run.progress_total == 1
    assert len(connector.calls) == 1 and sorted(connector.calls[0][1]) == ["card_number", "email", "notes"]


def test_two_columns_of_one_table_are_read_in_one_query(fake, django_capture_on_commit_callbacks):
    _, _, table, cols = _customers()
    connector = fake(FakeConnector(_data()))
    _detect([cols["card_number"], cols["email"]], SYSTEM, django_capture_on_commit_callbacks)
    assert len(connector.calls) == 1 and sorted(connector.calls[0][1]) == ["card_number", "email"]


def test_on_demand_detection_waits_for_no_one_but_refuses_while_the_source_has_a_run(fake):
    _, _, table, _ = _customers()
    active = ScanRunFactory(scan=ScanFactory(data_source=table.data_source), status=ScanRun.Status.RUNNING,
                            finished_at=None)
    with pytest.raises(runs.ScanAlreadyRunning) as refused:
        runs.detection_run_request(assets=[table], acting_user=SYSTEM)
    assert refused.value.run == active
    assert ScanRun.objects.filter(trigger=ScanRun.Trigger.DETECTION).count() == 0


def test_a_queued_detection_holds_off_the_scheduled_scan(fake):
    _, _, table, _ = _customers()
    runs.detection_run_request(assets=[table], acting_user=SYSTEM)  # queued: no commit callbacks run here
    scan = ScanFactory(data_source=table.data_source)
    with pytest.raises(runs.ScanAlreadyRunning):
        runs.scan_run_request(scan=scan, trigger=ScanRun.Trigger.SCHEDULE, acting_user=SYSTEM)


@pytest.mark.parametrize("problem, message", [
    ("two sources", "one data source at a time"),
    ("nothing", "at least one asset"),
    ("removed", "no longer in the source"),
    ("no tables", "scan the source first"),
])
def test_on_demand_detection_explains_what_it_cannot_do(fake, problem, message):
    from django.core.exceptions import ValidationError

    database, _, table, _ = _customers()
    if problem == "two sources":
        assets = [table, _customers()[2]]
    elif problem == "nothing":
        assets = []
    elif problem == "removed":
        from django.utils import timezone

        Asset.objects.filter(pk=table.pk).update(removed_at=timezone.now())
        table.refresh_from_db()
        assets = [table]
    else:
        Asset.objects.filter(parent__parent=database, type=Asset.Type.TABLE).update(type=Asset.Type.COLUMN)
        assets = [database]
    with pytest.raises(ValidationError) as refused:
        runs.detection_run_request(assets=assets, acting_user=SYSTEM)
    assert message in " ".join(refused.value.messages)
    assert not ScanRun.objects.exists()


def test_unreachable_source_hands_the_detection_back_then_fails_it_on_the_last_attempt(fake):
    from sources.connectors import SourceUnavailable

    _, _, table, _ = _customers()
    run = runs.detection_run_request(assets=[table], acting_user=SYSTEM)
    fake(FakeConnector(_data(), fail_with=SourceUnavailable("host db.internal refused; password fake-password")))
    with pytest.raises(SourceUnavailable):
        detection.detection_on_demand(scan_run_id=run.pk, final_attempt=False)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.QUEUED and run.error == f"Detection: {RUN_CANNOT_CONNECT}"
    detection.detection_on_demand(scan_run_id=run.pk, final_attempt=True)
    run.refresh_from_db()
    assert (run.status, run.attempts) == (ScanRun.Status.FAILED, 2)
    assert run.error == f"Detection: {RUN_CANNOT_CONNECT}"


def test_a_failing_detection_is_failed_with_a_message_and_never_left_running(fake, caplog):
    _, _, table, _ = _customers()
    run = runs.detection_run_request(assets=[table], acting_user=SYSTEM)
    fake(FakeConnector(_data(), fail_with=ValueError(f"bad value {EMAILS[3]}")))
    with caplog.at_level(logging.ERROR, logger="racine.scanning"):
        detection.detection_on_demand(scan_run_id=run.pk)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.FAILED and "see the worker's log" in run.error
    assert EMAILS[3] not in run.error and EMAILS[3] not in caplog.text


def test_cancelling_a_running_detection_stops_it_before_the_next_table(fake):
    source = DataSourceFactory()
    database, _, _, _ = asset_tree(source, table="customers", columns={"email": "text"})
    asset_tree(source, table="staff", columns={"email": "text"})
    run = runs.detection_run_request(assets=[database], acting_user=SYSTEM)
    connector = FakeConnector({"customers": {"email": EMAILS}, "staff": {"email": EMAILS}})
    original = connector.sample_table

    def cancel_after_first(table_path, columns, limit, **kwargs):
        if connector.calls:
            runs.scan_run_cancel(run=ScanRun.objects.get(pk=run.pk), acting_user=SYSTEM)
        return original(table_path, columns, limit, **kwargs)

    connector.sample_table = cancel_after_first
    fake(connector)
    detection.detection_on_demand(scan_run_id=run.pk)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.CANCELLED and run.progress_done == 1


def test_who_may_cancel_a_detection_is_who_may_classify_what_it_was_asked_for(fake):
    _, _, table, _ = _customers()
    steward = _steward(table.data_source)
    analyst = UserFactory()
    membership(analyst, table.data_source.workspace, "analyst")
    run = runs.detection_run_request(assets=[table], acting_user=steward)
    with pytest.raises(PermissionDenied):
        runs.scan_run_cancel(run=run, acting_user=analyst)
    assert runs.scan_run_cancel(run=run, acting_user=steward).status == ScanRun.Status.CANCELLED


def test_a_detection_claimed_twice_runs_once_and_a_scan_task_never_takes_it(fake):
    _, _, table, _ = _customers()
    run = runs.detection_run_request(assets=[table], acting_user=SYSTEM)
    connector = fake(FakeConnector(_data()))
    runs.scan_run_execute(scan_run_id=run.pk)  # a scan's task handed a detection's id: not its kind, not claimed
    assert ScanRun.objects.get(pk=run.pk).status == ScanRun.Status.QUEUED and connector.calls == []
    detection.detection_on_demand(scan_run_id=run.pk)
    detection.detection_on_demand(scan_run_id=run.pk)
    assert len(connector.calls) == 1


def test_the_reaper_sends_a_lost_detection_to_the_detection_task(fake, monkeypatch, settings):
    from datetime import timedelta

    from django.utils import timezone

    _, _, table, _ = _customers()
    run = runs.detection_run_request(assets=[table], acting_user=SYSTEM)
    scan_run = ScanRunFactory(scan=ScanFactory(data_source=_customers()[2].data_source),
                              status=ScanRun.Status.QUEUED, finished_at=None)
    long_ago = timezone.now() - timedelta(seconds=settings.RACINE_RUN_QUEUED_TIMEOUT + 60)
    ScanRun.objects.filter(pk__in=[run.pk, scan_run.pk]).update(due_at=long_ago)
    sent = []
    monkeypatch.setattr(runs, "_enqueue", lambda run_id, detection, retries: sent.append((run_id, detection)))
    assert runs.scan_runs_reap()["requeued"] == 2
    assert sorted(sent) == sorted([(run.pk, True), (scan_run.pk, False)])


def test_profiling_without_detection_profiles_columns_and_classifies_nothing(fake, django_capture_on_commit_callbacks):
    source = DataSourceFactory()
    scan = ScanFactory(data_source=source)
    scan.rule_set.detection_enabled, scan.rule_set.profiling_enabled = False, True
    scan.rule_set.save()
    connector = fake(FakeConnector(_data(), schema=_schema(source, {"customers": {"email": "text",
                                                                                 "notes": "text"}})))
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    assert len(connector.calls) == 1 and not AssetClassification.objects.exists()
    email = Asset.objects.get(data_source=source, type=Asset.Type.COLUMN, name="email")
    assert email.profile == {"sampled": 40, "null_ratio": 0.0, "distinct_in_sample": 40, "distinct_estimate": 40,
                             "min_length": min(map(len, EMAILS)), "max_length": max(map(len, EMAILS))}
    notes = Asset.objects.get(data_source=source, type=Asset.Type.COLUMN, name="notes")
    assert notes.profile["distinct_in_sample"] == 1
    stored = json.dumps(list(Asset.objects.values("profile")))
    assert not any(value in stored for value in EMAILS)


def test_without_profiling_no_profile_is_written(fake):
    _, _, table, cols = _customers()
    connector = fake(FakeConnector(_data()))
    _scan(table.data_source, connector, [table])
    assert Asset.objects.get(pk=cols["email"].pk).profile == {}


# --- regressions from review --------------------------------------------------------------------------------------

def _two_tables(source=None):
    source = source or DataSourceFactory()
    database, _, customers, first = asset_tree(source, table="customers", columns={"email": "text"})
    _, _, staff, second = asset_tree(source, table="staff", columns={"email": "text"})
    return database, first["email"], second["email"]


def test_a_retry_starts_over_and_counts_each_table_once(fake):
    from sources.connectors import SourceUnavailable

    _, first, second = _two_tables()
    run = runs.detection_run_request(assets=[first, second], acting_user=SYSTEM)
    connector = FakeConnector({"customers": {"email": EMAILS}, "staff": {"email": EMAILS}})
    original = connector.sample_table

    def lose_the_second_table_once(path, columns, limit):
        if path[-1] == "staff" and not getattr(connector, "lost", False):
            connector.lost = True
            raise SourceUnavailable("connection lost")
        return original(path, columns, limit)

    connector.sample_table = lose_the_second_table_once
    fake(connector)
    with pytest.raises(SourceUnavailable):
        detection.detection_on_demand(scan_run_id=run.pk, final_attempt=False)
    detection.detection_on_demand(scan_run_id=run.pk, final_attempt=True)
    run.refresh_from_db()
    assert (run.status, run.progress_done, run.progress_total, run.columns_classified, run.error) == (
        ScanRun.Status.SUCCEEDED, 2, 2, 2, "")


def test_a_cancel_asked_while_the_source_drops_ends_the_detection_cancelled(fake):
    from sources.connectors import SourceUnavailable

    database, _, _ = _two_tables()
    run = runs.detection_run_request(assets=[database], acting_user=SYSTEM)
    connector = FakeConnector({})

    def cancel_then_drop(path, columns, limit):
        runs.scan_run_cancel(run=ScanRun.objects.get(pk=run.pk), acting_user=SYSTEM)
        raise SourceUnavailable("connection lost")

    connector.sample_table = cancel_then_drop
    fake(connector)
    detection.detection_on_demand(scan_run_id=run.pk, final_attempt=False)  # not re-raised: nothing to retry
    run.refresh_from_db()
    assert run.status == ScanRun.Status.CANCELLED


def test_a_cancel_asked_while_the_source_drops_ends_the_scan_cancelled(fake, monkeypatch):
    from sources.connectors import SourceUnavailable

    source = DataSourceFactory()
    run = ScanRunFactory(scan=ScanFactory(data_source=source), status=ScanRun.Status.QUEUED, finished_at=None,
                         started_at=None)

    class Dropping(FakeConnector):
        def iter_schema(self, include=None):
            runs.scan_run_cancel(run=ScanRun.objects.get(pk=run.pk), acting_user=SYSTEM)
            raise SourceUnavailable("connection lost")

    fake(Dropping({}))
    runs.scan_run_execute(scan_run_id=run.pk, final_attempt=False)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.CANCELLED


def test_asking_for_many_columns_costs_the_same_queries_as_for_one(fake, django_assert_max_num_queries):
    source = DataSourceFactory()
    steward = _steward(source)
    columns = [asset_tree(source, table=f"t{i}", columns={"a": "text"})[3]["a"] for i in range(30)]
    assets = list(Asset.objects.select_related("parent", "data_source").filter(pk__in=[c.pk for c in columns]))
    with django_assert_max_num_queries(12):
        run = runs.detection_run_request(assets=assets, acting_user=steward)
    with django_assert_max_num_queries(3):
        assert runs.may_cancel(steward, run)


def test_too_many_assets_at_once_are_refused(fake, monkeypatch):
    from django.core.exceptions import ValidationError

    _, first, second = _two_tables()
    monkeypatch.setattr(detection, "MAX_DETECT_ASSETS", 1)
    with pytest.raises(ValidationError, match="At most 1 assets"):
        runs.detection_run_request(assets=[first, second], acting_user=SYSTEM)


def test_a_detection_whose_targets_vanished_fails_plainly_without_connecting(fake):
    from django.utils import timezone

    _, _, table, _ = _customers()
    run = runs.detection_run_request(assets=[table], acting_user=SYSTEM)
    Asset.objects.filter(pk=table.pk).update(removed_at=timezone.now())
    connector = fake(FakeConnector(_data()))
    detection.detection_on_demand(scan_run_id=run.pk)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.FAILED and run.error.startswith("Nothing left to sample")
    assert connector.calls == []


def test_a_settings_error_is_shown_on_the_run_as_written(fake, monkeypatch):
    from sources.connectors import ConnectorConfigError

    _, _, table, _ = _customers()
    run = runs.detection_run_request(assets=[table], acting_user=SYSTEM)

    def refuse(*args, **kwargs):
        raise ConnectorConfigError("option 'sslrootcert': CA files may only be read from RACINE_TLS_CA_DIRS")

    monkeypatch.setattr(detection, "open_connector", refuse)
    detection.detection_on_demand(scan_run_id=run.pk)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.FAILED and "RACINE_TLS_CA_DIRS" in run.error


def test_a_scheduled_tick_skipped_for_a_busy_source_is_logged(caplog):
    from scanning.tasks import scan_scheduled_task

    scan = ScanFactory()
    busy = ScanRunFactory(scan=scan, status=ScanRun.Status.RUNNING, finished_at=None)
    with caplog.at_level(logging.INFO, logger="racine.scanning"):
        assert scan_scheduled_task(scan.pk) is None
    record = next(r for r in caplog.records if "scheduled scan skipped" in r.getMessage())
    assert record.scan_run == busy.pk and record.scan == scan.pk


def test_one_stale_column_target_does_not_stop_the_others_from_being_read(fake):
    source = DataSourceFactory()
    _, _, customers, _ = asset_tree(source, table="customers", columns={"email": "text"})
    _, _, staff, staff_columns = asset_tree(source, table="staff", columns={"email": "text"})
    run = runs.detection_run_request(assets=[customers, staff_columns["email"]], acting_user=SYSTEM)
    Asset.objects.filter(pk=staff.pk).update(type=Asset.Type.SCHEMA)  # its table is no longer one
    connector = fake(FakeConnector({"customers": {"email": EMAILS}, "staff": {"email": EMAILS}}))
    detection.detection_on_demand(scan_run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.progress_done, run.progress_total) == (ScanRun.Status.SUCCEEDED, 1, 1)
    assert [call[0][-1] for call in connector.calls] == ["customers"]


def test_a_cancel_asked_while_a_scans_detection_waits_for_its_retry_ends_it_without_reading(fake):
    _, _, table, _ = _customers()
    run = _run(table.data_source)
    ScanRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    connector = fake(FakeConnector(_data()))
    detection.detection_run(scan_run_id=run.pk, table_ids=[table.pk])
    run.refresh_from_db()
    assert run.status == ScanRun.Status.CANCELLED and connector.calls == []


def test_the_last_attempt_of_a_run_asked_to_stop_ends_cancelled_not_failed(fake):
    from sources.connectors import SourceUnavailable

    _, _, table, _ = _customers()
    run = _run(table.data_source)

    def cancel_then_drop(path, columns, limit):
        ScanRun.objects.filter(pk=run.pk).update(cancel_requested=True)
        raise SourceUnavailable("connection lost")

    connector = FakeConnector(_data())
    connector.sample_table = cancel_then_drop
    fake(connector)
    detection.detection_run(scan_run_id=run.pk, table_ids=[table.pk], final_attempt=True)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.CANCELLED


def test_a_scans_detection_waiting_for_a_retry_shows_why_and_comes_back_before_the_reaper(fake, settings):
    from scanning.tasks import _backoff
    from sources.connectors import SourceUnavailable

    _, _, table, _ = _customers()
    run = _run(table.data_source)
    fake(FakeConnector(_data(), fail_with=SourceUnavailable("host db.internal refused")))
    with pytest.raises(SourceUnavailable):
        detection.detection_run(scan_run_id=run.pk, table_ids=[table.pk], final_attempt=False)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.RUNNING and run.error == f"Detection: {RUN_CANNOT_CONNECT}"
    settings.RACINE_SCAN_HEARTBEAT_TIMEOUT = 300
    assert all(_backoff(retries, within=300) < 300 for retries in range(6) for _ in range(20))
