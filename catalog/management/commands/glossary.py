"""Import or export a workspace's glossary (CSV or JSON), through the same service as the API; safe to re-run."""
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.actors import SYSTEM
from accounts.models import Workspace
from accounts.wording import counted
from catalog import glossary
from catalog.models import GlossaryTerm


class Command(BaseCommand):
    help = ("glossary import <workspace-slug> <file> [--format csv|json] [--dry-run] | "
            "glossary export <workspace-slug> [--format csv|json]")

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["import", "export"])
        parser.add_argument("workspace", help="the workspace's slug")
        parser.add_argument("file", nargs="?", help="the file to import (import only)")
        parser.add_argument("--format", choices=sorted(glossary.PARSERS), default=None,
                            help="csv or json (import: from the file's extension; export: csv)")
        parser.add_argument("--dry-run", action="store_true", help="list what the import would change, change nothing")

    def handle(self, *args, operation, workspace, file, format, dry_run, **options):
        workspace = Workspace.objects.filter(slug=workspace).first()
        if workspace is None:
            raise CommandError("No workspace with that slug.")
        if operation == "export":
            # A command acts for no user: it reads the whole workspace's glossary, as the system.
            terms = (GlossaryTerm.objects.filter(workspace=workspace).select_related("parent", "classification")
                     .prefetch_related("related_terms", "stewards"))
            self.stdout.write(glossary.glossary_export(terms=terms, fmt=format or "csv"), ending="")
            return
        if not file:
            raise CommandError("Name the file to import.")
        path = Path(file)
        fmt = format or path.suffix.lstrip(".").lower()
        try:
            plan = glossary.glossary_import(workspace=workspace, data=path.read_text(encoding="utf-8-sig"), fmt=fmt,
                                            dry_run=dry_run, acting_user=SYSTEM)
        except glossary.ImportRejected as exc:
            lines = [f"row {error['row']}, column {error['column'] or '-'}: {error['message']}"
                     for error in exc.errors[:20]]
            raise CommandError("The file was not imported:\n" + "\n".join(lines)) from None
        except (OSError, ValidationError) as exc:
            raise CommandError(str(exc)) from None
        for item in plan.items:
            if item["action"] != "unchanged":
                fields = f" ({', '.join(item['fields'])})" if item.get("fields") else ""
                self.stdout.write(f"{item['action']}: {item['name']}{fields}")
        summary = (f"{counted(plan.count('create'), 'term')} created, {plan.count('update')} updated, "
                   f"{plan.count('unchanged')} unchanged")
        self.stdout.write(summary + (" (dry run: nothing written)" if dry_run else ""))
