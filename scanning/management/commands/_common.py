"""Shared by the scanning commands: find a source by id or name, and show a run."""
from __future__ import annotations

from django.core.management.base import CommandError

from catalog.selectors import datasource_by_name_or_id
from scanning.models import ScanRun
from sources.models import DataSource


def source_argument(reference: str) -> DataSource:
    try:
        return datasource_by_name_or_id(reference)
    except DataSource.DoesNotExist:
        raise CommandError(f"No data source with id or name {reference!r}.") from None
    except DataSource.MultipleObjectsReturned:
        raise CommandError(f"Several workspaces have a data source named {reference!r}; give its id "
                           "(see `manage.py scan_status`).") from None


def duration_text(run: ScanRun) -> str:
    duration = run.duration
    return f"{duration.total_seconds():.1f} s" if duration is not None else "—"


def progress_bar(run: ScanRun, width: int = 30) -> str:
    """``[#######.......]  45 %  450/~1000 objects`` (a scan's schema step, against last run's size),
    ``[###...]  30 %  3/10 tables`` (detection), or a count alone when the size is unknown (first run)."""
    done = run.progress_done
    total, unit = (f"{run.progress_total}", "tables") if run.counts_tables else (f"~{run.progress_total}", "objects")
    if run.progress_total:
        share = min(1.0, done / run.progress_total)
        filled = int(round(share * width))
        return f"[{'#' * filled}{'.' * (width - filled)}] {share * 100:5.1f} %  {done}/{total} {unit}"
    return f"[{'?' * width}] {done} {unit}"


def run_summary(run: ScanRun) -> str:
    text = (f"Run #{run.pk} of {run.data_source}: {run.status} in {duration_text(run)} — {run.objects_seen} objects "
            f"seen, {run.added} added, {run.changed} changed, {run.removed} removed, {run.unchanged} unchanged")
    return f"{text}\n  error: {run.error}" if run.error else text
