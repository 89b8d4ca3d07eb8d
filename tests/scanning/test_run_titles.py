"""A run's title names its source, its scan and how it started (issue 11, item 8: runs were titled "Manual #3")."""
import pytest

from scanning.models import ScanRun
from tests.catalog.factories import ScanRunFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("trigger", "words"), [
    (ScanRun.Trigger.MANUAL, "started by hand"),
    (ScanRun.Trigger.SCHEDULE, "on schedule"),
    (ScanRun.Trigger.API, "started through the API"),
])
def test_scan_run_title(trigger, words):
    run = ScanRunFactory(scan__data_source__name="shop", scan__name="Manual", trigger=trigger)
    assert str(run) == f"shop: run #{run.pk} of scan “Manual”, {words} (succeeded)"


def test_detection_run_title():
    source = ScanRunFactory(scan__data_source__name="shop").data_source
    run = ScanRunFactory(scan=None, data_source=source, trigger=ScanRun.Trigger.DETECTION,
                         status=ScanRun.Status.QUEUED)
    assert str(run) == f"shop: detection on demand #{run.pk} (queued)"
