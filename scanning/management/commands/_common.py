"""Shared by the scanning commands: show a run."""
from __future__ import annotations

from scanning.models import ScanRun


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
