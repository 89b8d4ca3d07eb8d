"""Writes and business rules of scanning; the API, admin, commands and tasks all call these."""
from scanning.services.runs import (
    RunNotCancellable,
    ScanAlreadyRunning,
    active_run,
    detection_run_request,
    scan_run_cancel,
    scan_run_execute,
    scan_run_request,
    scan_runs_reap,
)
from scanning.services.scans import (
    parse_cron,
    rule_set_create,
    rule_set_default,
    rule_set_delete,
    rule_set_filters,
    rule_set_update,
    scan_create,
    scan_default,
    scan_delete,
    scan_update,
)

__all__ = [
    "RunNotCancellable", "ScanAlreadyRunning", "active_run",
    "detection_run_request",
    "parse_cron", "rule_set_create", "rule_set_default", "rule_set_delete", "rule_set_filters",
    "rule_set_update", "scan_create", "scan_default", "scan_delete", "scan_run_cancel", "scan_run_execute",
    "scan_run_request", "scan_runs_reap", "scan_update",
]
