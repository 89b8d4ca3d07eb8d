"""Remove audit events older than the organization's retention (Organization.audit_retention_days)."""
from django.core.management.base import BaseCommand

from accounts import services


class Command(BaseCommand):
    help = "Delete audit events older than the organization's audit_retention_days. Safe to re-run."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count the events that would be deleted.")

    def handle(self, *args, dry_run: bool, **options):
        count = services.audit_events_prune(dry_run=dry_run)
        if dry_run:
            self.stdout.write(f"{count} audit events would be deleted.")
        else:
            self.stdout.write(self.style.SUCCESS(f"{count} audit events deleted."))
