"""The step after the schema: sensitive-data detection on the run's tables, then the end of the run."""
from __future__ import annotations

from scanning.models import ScanRun


def after_schema(*, run: ScanRun, sync, connector) -> None:
    """The schema is in the catalog. Detection is not wired into runs yet: the run ends here."""
    from scanning.services.runs import finish_run

    finish_run(run.pk, ScanRun.Status.SUCCEEDED)
