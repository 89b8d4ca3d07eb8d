"""Connect to a data source and report what the server says (read-only session, timeout)."""
from django.core.management.base import BaseCommand, CommandError

from accounts.actors import SYSTEM
from sources import services
from sources.management.commands._common import source_argument


class Command(BaseCommand):
    help = "Test the connection of a data source (id or name); exit code 1 when it fails."

    def add_arguments(self, parser):
        parser.add_argument("source", help="Data source id or name.")

    def handle(self, *args, source, **options):
        data_source = source_argument(source)
        try:
            info = services.datasource_test_connection(data_source=data_source, acting_user=SYSTEM)
        except services.ConnectionTestFailed as exc:
            raise CommandError(f"{data_source}: connection failed: {exc}") from None
        timeout = f"{info.statement_timeout_s:g} s" if info.statement_timeout_s is not None else "not enforceable"
        self.stdout.write(self.style.SUCCESS(f"{data_source}: connected."))
        self.stdout.write(f"  server:            {info.server}\n"
                          f"  user:              {info.current_user or '—'}\n"
                          f"  database:          {info.database}\n"
                          f"  read-only session: {'yes' if info.read_only else 'NO'}\n"
                          f"  statement timeout: {timeout}")
