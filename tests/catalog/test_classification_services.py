"""Classification services: built-ins seeded from the engine, stewards' decisions (audited, all or none in bulk,
remembered with an evidence fingerprint), manual classification and the sensitivity roll-up."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import services
from catalog.models import Asset, AssetClassification, Classification
from scanning.detection import BUILTIN_CLASSIFICATIONS
from scanning.services.classifications import classifications_sync_builtin
from tests.catalog.classification_factories import (
    AssetClassificationFactory,
    ClassificationFactory,
    asset_tree,
    builtin,
)
from tests.catalog.factories import DataSourceFactory
from tests.support.factories import UserFactory, WorkspaceFactory, membership

pytestmark = pytest.mark.django_db


def _user(workspace, role="data_steward"):
    user = UserFactory()
    membership(user, workspace, role)
    return type(user).objects.get(pk=user.pk)


def test_builtins_are_seeded_after_migrate_with_engine_values():
    assert Classification.objects.filter(is_builtin=True).count() == len(BUILTIN_CLASSIFICATIONS) >= 30
    for spec in BUILTIN_CLASSIFICATIONS:
        row = Classification.objects.get(name=spec.name)
        assert (row.category, row.sensitivity, row.description) == (spec.category, spec.sensitivity,
                                                                     spec.description)


def test_builtin_sync_is_idempotent_and_keeps_stewards_sensitivity():
    services.classification_update(classification=builtin("PII.CITY"), acting_user=SYSTEM, sensitivity="restricted")
    assert classifications_sync_builtin() == {"created": 0, "updated": 0, "retired": 0}
    assert builtin("PII.CITY").sensitivity == "restricted"


def test_builtin_sync_restores_missing_and_retires_unknown(capsys):
    Classification.objects.filter(name="PII.EMAIL").delete()
    ghost = Classification.objects.create(name="PII.GHOST", category="PII", sensitivity="internal",
                                          is_builtin=True)
    call_command("sync_classifications")
    assert "1 created" in capsys.readouterr().out and builtin("PII.EMAIL").is_builtin
    ghost.refresh_from_db()
    assert ghost.is_active is False
    assert AuditEvent.objects.filter(event="classification.builtin_synced").exists()


def test_confirm_by_steward_is_audited_with_fingerprint():
    row = AssetClassificationFactory()
    steward = _user(row.asset.data_source.workspace)
    services.asset_classification_confirm(asset_classification=row, acting_user=steward, note="ok")
    row.refresh_from_db()
    assert (row.status, row.decided_by, row.decision_note) == ("confirmed", steward, "ok")
    assert row.evidence_fingerprint == services.classification_evidence_fingerprint(
        classification="PII.EMAIL", evidence=row.evidence)
    assert AuditEvent.objects.get(event="asset_classification.confirmed").actor == steward


def test_analyst_and_other_workspace_steward_cannot_decide():
    row = AssetClassificationFactory()
    for user in (_user(row.asset.data_source.workspace, "analyst"), _user(WorkspaceFactory())):
        with pytest.raises(PermissionDenied):
            services.asset_classification_reject(asset_classification=row, acting_user=user)
    row.refresh_from_db()
    assert row.status == "suggested"


def test_bulk_decision_is_all_or_none():
    mine = AssetClassificationFactory()
    theirs = AssetClassificationFactory()
    steward = _user(mine.asset.data_source.workspace)
    with pytest.raises(PermissionDenied):
        services.asset_classifications_decide(asset_classifications=[mine, theirs], decision="confirmed",
                                              acting_user=steward)
    mine.refresh_from_db()
    assert mine.status == "suggested" and not AuditEvent.objects.filter(event__startswith="asset_classification.")


def test_unknown_decision_is_refused():
    with pytest.raises(ValidationError):
        services.asset_classifications_decide(asset_classifications=[AssetClassificationFactory()],
                                              decision="suggested", acting_user=SYSTEM)


@pytest.mark.parametrize(("before", "after", "same"), [
    ({"match_share": 0.93, "distinct": 40, "name_signal": "email"},
     {"match_share": 0.97, "distinct": 55, "name_signal": "email"}, True),
    ({"match_share": 0.7, "distinct": 40, "name_signal": "email"},
     {"match_share": 1.0, "distinct": 40, "name_signal": "email"}, False),
    ({"match_share": 1.0, "distinct": 8, "name_signal": "email"},
     {"match_share": 1.0, "distinct": 80, "name_signal": "email"}, False),
    ({"match_share": 1.0, "distinct": 40, "name_signal": None},
     {"match_share": 1.0, "distinct": 40, "name_signal": "email"}, False),
])
def test_evidence_fingerprint_changes_only_materially(before, after, same):
    fingerprint = services.classification_evidence_fingerprint
    assert (fingerprint(classification="PII.EMAIL", evidence=before)
            == fingerprint(classification="PII.EMAIL", evidence=after)) is same


def test_manual_classification_is_confirmed_and_rolls_sensitivity_up():
    database, _, table, cols = asset_tree(DataSourceFactory(), columns={"iban": "text"})
    steward = _user(table.data_source.workspace)
    row = services.asset_classification_create(asset=cols["iban"], classification=builtin("FINANCIAL.IBAN"),
                                               acting_user=steward)
    assert (row.status, row.source, row.decided_by) == ("confirmed", "manual", steward)
    database.refresh_from_db()
    assert database.sensitivity == Asset.Sensitivity.RESTRICTED
    with pytest.raises(services.AlreadyClassified):
        services.asset_classification_create(asset=cols["iban"], classification=builtin("FINANCIAL.IBAN"),
                                             acting_user=steward)


def test_manual_classification_needs_classify_on_the_asset():
    _, _, _, cols = asset_tree(DataSourceFactory(), columns={"iban": "text"})
    analyst = _user(cols["iban"].data_source.workspace, "analyst")
    with pytest.raises(PermissionDenied):
        services.asset_classification_create(asset=cols["iban"], classification=builtin("FINANCIAL.IBAN"),
                                             acting_user=analyst)


def test_sensitivity_ignores_rejected_and_switched_off_classifications():
    database, schema, table, cols = asset_tree(DataSourceFactory(), columns={"a": "text", "b": "text"})
    AssetClassificationFactory(asset=cols["a"], classification=builtin("PII.CITY"))
    rejected = AssetClassificationFactory(asset=cols["b"], classification=builtin("FINANCIAL.IBAN"),
                                          status=AssetClassification.Status.REJECTED)
    custom = ClassificationFactory(name="CUSTOM.SECRET_PLAN", sensitivity="restricted")
    AssetClassificationFactory(asset=cols["b"], classification=custom)
    services.asset_sensitivity_recompute(data_source_id=table.data_source_id)
    table.refresh_from_db()
    assert table.sensitivity == "restricted" and rejected.status == "rejected"
    services.classification_update(classification=custom, acting_user=SYSTEM, is_active=False)
    for asset in (table, schema, database):
        asset.refresh_from_db()
        assert asset.sensitivity == "internal", asset


def test_sensitivity_recompute_is_set_based(django_assert_max_num_queries):
    source = DataSourceFactory()
    for name in ("t1", "t2", "t3"):
        _, _, _, cols = asset_tree(source, table=name, columns={f"c{i}": "text" for i in range(10)})
        for col in cols.values():
            AssetClassificationFactory(asset=col, classification=builtin("PII.EMAIL"))
    with django_assert_max_num_queries(12):
        changed = services.asset_sensitivity_recompute(data_source_id=source.pk)
    assert changed == 30 + 3 + 1 + 1
