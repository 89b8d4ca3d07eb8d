"""The most recent scan runs, of every source or of one."""
from django.core.management.base import BaseCommand

from scanning.management.commands._common import duration_text, progress_bar
from scanning.models import ScanRun
from sources.management.commands._common import source_argument


class Command(BaseCommand):
    help = "Show recent scan runs (of one data source, by id or name, or of all)."

    def add_arguments(self, parser):
        parser.add_argument("source", nargs="?", help="Data source id or name.")
        parser.add_argument("--limit", type=int, default=20)

    def handle(self, *args, source, limit, **options):
        runs = ScanRun.objects.select_related("scan", "data_source").order_by("-queued_at")
        if source:
            runs = runs.filter(data_source=source_argument(source))
        runs = list(runs[:max(1, limit)])
        if not runs:
            self.stdout.write("No scan runs yet.")
            return
        header = f"{'run':>6}  {'source':<24} {'scan':<16} {'status':<10} {'trigger':<9} {'queued (UTC)':<17} " \
                 f"{'duration':>9}  {'+':>6} {'~':>6} {'-':>6}  progress / error"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for run in runs:
            detail = progress_bar(run, width=10) if run.is_active else (run.error.splitlines()[0][:60]
                                                                         if run.error else "")
            what = run.scan.name if run.scan is not None else "(detection)"
            self.stdout.write(
                f"{run.pk:>6}  {str(run.data_source)[:24]:<24} {what[:16]:<16} {run.status:<10} "
                f"{run.trigger:<9} {run.queued_at:%Y-%m-%d %H:%M} {duration_text(run):>9}  {run.added:>6} "
                f"{run.changed:>6} {run.removed:>6}  {detail}")
