"""Scan a data source now; with --wait, follow the run to its end with a progress bar."""
from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.actors import SYSTEM
from scanning import services
from scanning.management.commands._common import progress_bar, run_summary
from scanning.models import ScanRuleSet, ScanRun
from sources.management.commands._common import source_argument

POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = ("Queue a scan of a data source (id or name). Without a broker (embedded mode) the scan runs in this "
            "process. --wait follows it to its end; the exit code is 1 when it failed or was cancelled.")

    def add_arguments(self, parser):
        parser.add_argument("source", help="Data source id or name.")
        parser.add_argument("--wait", action="store_true", help="Show progress until the run ends.")
        parser.add_argument("--rule-set", metavar="NAME",
                            help="Scan with this rule set of the source's workspace (default: the source's "
                                 "first scan, or the workspace's Default rule set).")

    def handle(self, *args, source, wait, rule_set, **options):
        data_source = source_argument(source)
        chosen = None
        if rule_set:
            chosen = ScanRuleSet.objects.filter(workspace=data_source.workspace, name=rule_set).first()
            if chosen is None:
                raise CommandError(f"No rule set named {rule_set!r} in workspace {data_source.workspace}.")
        try:
            scan = services.scan_default(data_source=data_source, rule_set=chosen, acting_user=SYSTEM)
            run = services.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)
        except services.ScanAlreadyRunning as exc:
            active = f" (run #{exc.run.pk}; `manage.py scan_status` shows it)" if exc.run else ""
            raise CommandError(f"{data_source} is already being scanned{active}.") from None
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        run.refresh_from_db()
        if run.is_active and not wait:
            self.stdout.write(f"Queued run #{run.pk} of {data_source} (scan {scan.name!r}). "
                              "Follow it with `manage.py scan_status`.")
            return
        if run.is_active:
            run = self._follow(run)
        self.stdout.write(run_summary(run))
        if run.status != ScanRun.Status.SUCCEEDED:
            raise CommandError(f"Run #{run.pk} {run.status}.")

    def _follow(self, run: ScanRun) -> ScanRun:
        interactive = self.stdout.isatty()
        last = None
        while run.is_active:
            line = f"{run.status:<9} {run.phase or '':<10} {progress_bar(run)}"
            if interactive:
                self.stdout.write(f"\r{line}", ending="")
                self.stdout.flush()
            elif line != last:  # a log file gets one line per change, not two per second
                self.stdout.write(line)
            last = line
            time.sleep(POLL_SECONDS)
            run.refresh_from_db()
        if interactive:
            self.stdout.write("")
        return run
