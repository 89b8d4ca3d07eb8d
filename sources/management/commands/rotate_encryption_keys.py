"""Re-encrypt every stored connector secret with the newest key of RACINE_ENCRYPTION_KEYS; safe to re-run."""
from django.core.management.base import BaseCommand, CommandError

from sources import services
from sources.crypto import SecretUnreadable


class Command(BaseCommand):
    help = ("Re-encrypt stored data source secrets with the first key of RACINE_ENCRYPTION_KEYS. Rotate by "
            "putting a new key first, running this, then removing the old key.")

    def handle(self, *args, **options):
        try:
            rotated = services.datasource_secrets_rotate()
        except SecretUnreadable as exc:
            raise CommandError(f"{exc}: put back the key it was encrypted with, then run this again "
                               "(secrets re-encrypted so far keep their new encryption)") from None
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {rotated} secret{'s' if rotated != 1 else ''}."))
