"""Check that every stored connector secret decrypts with RACINE_ENCRYPTION_KEYS; run it after a restore."""
from django.core.management.base import BaseCommand, CommandError

from sources import services


class Command(BaseCommand):
    help = ("Check that every data source's stored secret decrypts with the keys of RACINE_ENCRYPTION_KEYS, and "
            "name the sources whose secret does not. Reads only. Run it after restoring a backup, or before "
            "dropping an old key.")

    def handle(self, *args, **options):
        stored, unreadable = services.datasource_secrets_unreadable()
        if unreadable:
            names = "; ".join(f"{source.name!r} (id {source.pk}, workspace {source.workspace.name!r})"
                              for source in unreadable)
            raise CommandError(
                f"{len(unreadable)} of {stored} data source secret{'s' if stored != 1 else ''} cannot be decrypted "
                f"with RACINE_ENCRYPTION_KEYS: {names}. Set RACINE_ENCRYPTION_KEYS to the keys of the "
                "installation the backup comes from (newest first); nothing was changed. Scans of these sources "
                "fail until then.")
        self.stdout.write(self.style.SUCCESS(self._all_readable(stored)))

    @staticmethod
    def _all_readable(stored: int) -> str:
        if stored == 0:
            # Also what a check pointed at the wrong, empty database gets: plainer than "All 0 … decrypt".
            return "No data source has a stored secret: nothing to decrypt."
        if stored == 1:
            return "The 1 stored data source secret decrypts with RACINE_ENCRYPTION_KEYS."
        return f"All {stored} stored data source secrets decrypt with RACINE_ENCRYPTION_KEYS."
