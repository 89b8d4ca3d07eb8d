"""Reads of scanning for other apps."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Max

from scanning.models import ScanRun


def last_scanned(data_source_ids: set[int]) -> dict[int, datetime]:
    """When each data source's last successful scan ended (a detection on demand reads only some columns, so it
    does not count); sources never scanned are left out. The caller has already restricted the ids."""
    return dict(ScanRun.objects.filter(data_source_id__in=data_source_ids, status=ScanRun.Status.SUCCEEDED)
                .exclude(trigger=ScanRun.Trigger.DETECTION).order_by()
                .values("data_source_id").annotate(last=Max("finished_at")).values_list("data_source_id", "last"))
