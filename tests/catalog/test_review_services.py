""""Change to…": a steward says a column carries another classification than the one suggested — the suggestion is
rejected (and stays rejected across rescans), the chosen one confirmed; all or none, permission-checked, audited."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import services
from catalog.models import AssetClassification
from tests.catalog.classification_factories import AssetClassificationFactory, asset_tree, builtin
from tests.catalog.factories import DataSourceFactory
from tests.support.factories import UserFactory, WorkspaceFactory, membership

pytestmark = pytest.mark.django_db


def _user(workspace, role="data_steward"):
    user = UserFactory()
    membership(user, workspace, role)
    return type(user).objects.get(pk=user.pk)


def _columns(*names, workspace=None):
    source = DataSourceFactory(**({"workspace": workspace} if workspace else {}))
    *_, table, columns = asset_tree(source, columns=dict.fromkeys(names, "text"))
    return table, columns


def test_change_rejects_the_suggestion_and_confirms_the_chosen_classification_audited():
    table, columns = _columns("contact")
    row = AssetClassificationFactory(asset=columns["contact"], classification=builtin("PII.EMAIL"))
    steward = _user(row.asset.data_source.workspace)
    changed = services.asset_classification_change(asset_classification=row, classification=builtin("PII.PHONE"),
                                                   acting_user=steward, note="a phone column")
    row.refresh_from_db()
    assert (row.status, row.decided_by, row.decision_note) == ("rejected", steward, "a phone column")
    assert (changed.classification.name, changed.status, changed.source) == ("PII.PHONE", "confirmed", "manual")
    event = AuditEvent.objects.get(event="asset_classification.changed")
    assert (event.actor, event.object_id, event.changes) == (steward, str(row.pk),
                                                            {"classification": ["PII.EMAIL", "PII.PHONE"]})
    assert AuditEvent.objects.filter(event="asset_classification.created", object_id=str(changed.pk)).exists()
    table.refresh_from_db()
    assert table.sensitivity == builtin("PII.PHONE").sensitivity


def test_change_confirms_the_assets_existing_row_of_that_classification():
    _, columns = _columns("email")
    suggested = AssetClassificationFactory(asset=columns["email"], classification=builtin("PII.USERNAME"))
    rejected = AssetClassificationFactory(asset=columns["email"], classification=builtin("PII.EMAIL"),
                                          status=AssetClassification.Status.REJECTED)
    changed = services.asset_classification_change(asset_classification=suggested,
                                                   classification=builtin("PII.EMAIL"), acting_user=SYSTEM)
    assert changed.pk == rejected.pk and changed.status == "confirmed"
    assert AssetClassification.objects.filter(asset=columns["email"]).count() == 2


def test_a_row_changed_to_its_own_classification_is_confirmed():
    row = AssetClassificationFactory()
    services.asset_classification_change(asset_classification=row, classification=row.classification,
                                         acting_user=SYSTEM)
    row.refresh_from_db()
    assert row.status == "confirmed" and not AuditEvent.objects.filter(event="asset_classification.changed")


def test_change_is_all_or_none_and_needs_confirm_and_classify():
    mine, theirs = AssetClassificationFactory(), AssetClassificationFactory()
    workspace = mine.asset.data_source.workspace
    for user, rows in ((_user(workspace), [mine, theirs]), (_user(workspace, "analyst"), [mine]),
                       (_user(WorkspaceFactory()), [mine])):
        with pytest.raises(PermissionDenied):
            services.asset_classifications_change(asset_classifications=rows, acting_user=user,
                                                  classification=builtin("PII.PHONE"))
    assert set(AssetClassification.objects.values_list("status", flat=True)) == {"suggested"}
    assert AssetClassification.objects.count() == 2
    assert not AuditEvent.objects.filter(event__startswith="asset_classification")


def test_change_to_a_switched_off_classification_is_refused():
    phone = builtin("PII.PHONE")
    phone.is_active = False
    phone.save(update_fields=["is_active"])
    with pytest.raises(ValidationError):
        services.asset_classification_change(asset_classification=AssetClassificationFactory(),
                                             classification=phone, acting_user=SYSTEM)


def test_a_rescan_keeps_a_changed_classification():
    table, columns = _columns("contact")
    row = AssetClassificationFactory(asset=columns["contact"], classification=builtin("PII.EMAIL"))
    services.asset_classification_change(asset_classification=row, classification=builtin("PII.PHONE"),
                                         acting_user=SYSTEM)
    # The detection pass finds the same evidence for the rejected one: scanning does not re-suggest it
    # (resuggest=False), and the steward's confirmed classification is left alone.
    found = services.DetectedClassification(classification_id=builtin("PII.EMAIL").pk, confidence=0.9,
                                            evidence=row.evidence)
    services.asset_classifications_record_scan(scope=table, results={columns["contact"].pk: found})
    assert dict(AssetClassification.objects.filter(asset=columns["contact"])
                .values_list("classification__name", "status")) == {"PII.EMAIL": "rejected", "PII.PHONE": "confirmed"}
