"""Seed or refresh the built-in classifications (also done after every ``migrate``). Safe to re-run."""
from django.core.management.base import BaseCommand

from scanning.services.classifications import classifications_sync_builtin


class Command(BaseCommand):
    help = "Create or refresh the built-in classifications of the detection engine in the catalog."

    def handle(self, *args, **options):
        counts = classifications_sync_builtin()
        self.stdout.write(f"built-in classifications: {counts['created']} created, {counts['updated']} updated, "
                          f"{counts['retired']} retired")
