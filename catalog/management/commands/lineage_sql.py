"""Record lineage from SQL files: query logs, dbt's compiled models (a folder of .sql files), scripts."""
from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.actors import SYSTEM
from catalog.lineage import services
from sources.management.commands._common import source_argument


class Command(BaseCommand):
    help = ("Record the lineage of SQL that ran on a data source (id or name): a file, or every .sql file under a "
            "folder (dbt's target/compiled), each read as one script. Tables and columns are matched to the "
            "source's assets by name; unknown ones are kept as external assets. Statements that cannot be read "
            "are listed with their line and reason. Re-running records nothing new. Exit code 1 when a statement "
            "could not be read.")

    def add_arguments(self, parser):
        parser.add_argument("path", help="A .sql file, or a folder of them (searched recursively).")
        parser.add_argument("--source", required=True, help="Data source id or name.")
        parser.add_argument("--dialect", required=True, help="One of: " + ", ".join(services.SQL_DIALECTS) + ".")
        parser.add_argument("--default-database", help="The database of names that give none.")
        parser.add_argument("--default-schema", help="The schema of names that give none (the search path).")
        parser.add_argument("--dry-run", action="store_true", help="Parse and report; record nothing.")

    def handle(self, *args, path, source, dialect, default_database, default_schema, dry_run, **options):
        data_source = source_argument(source)
        files = _sql_files(Path(path))
        totals = {"created": 0, "refreshed": 0, "errors": 0}
        for file in files:
            try:
                recording = services.lineage_sql_record(
                    data_source=data_source, sql=file.read_text(encoding="utf-8-sig"), dialect=dialect,
                    default_database=default_database, default_schema=default_schema, dry_run=dry_run,
                    acting_user=SYSTEM)
            except ValidationError as exc:
                raise CommandError(f"{file}: {'; '.join(exc.messages)}") from None
            except UnicodeDecodeError as exc:
                raise CommandError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
            errors = [outcome for outcome in recording.statements if outcome.error]
            for outcome in errors:
                self.stderr.write(f"{file}:{outcome.error_line}: {outcome.error}")
            totals["created"] += recording.result.created
            totals["refreshed"] += recording.result.refreshed
            totals["errors"] += len(errors)
            self.stdout.write(f"{file}: {len(recording.statements)} statements, {recording.table_edges} table and "
                              f"{recording.column_edges} column edges"
                              + (f", {len(recording.external_tables)} tables unknown to the catalog"
                                 if recording.external_tables else ""))
        recorded = ("dry run, nothing recorded" if dry_run
                    else f"{totals['created']} new edges recorded, {totals['refreshed']} already known")
        self.stdout.write(f"{len(files)} files: {recorded}; {totals['errors']} statements could not be read.")
        if totals["errors"]:
            raise SystemExit(1)


def _sql_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(file for file in path.rglob("*.sql") if file.is_file())
        if not files:
            raise CommandError(f"No .sql file under {path}.")
        return files
    if not path.is_file():
        raise CommandError(f"No such file or folder: {path}.")
    return [path]
