"""Rebuild the search documents: every asset's, or one data source's. Safe to re-run; what scans and stewards
write keeps the documents up to date by itself (catalog.search), this is for an upgrade or a repair."""
from django.core.management.base import BaseCommand, CommandError

from catalog import search
from sources.models import DataSource
from sources.selectors import datasource_by_name_or_id


class Command(BaseCommand):
    help = "Rebuild the search documents of every asset, or of one data source's (by id or name)."

    def add_arguments(self, parser):
        parser.add_argument("source", nargs="?", help="A data source's id or name (default: every source).")

    def handle(self, *args, source=None, **options):
        data_source_id = None
        if source is not None:
            try:
                data_source_id = datasource_by_name_or_id(source).pk
            except DataSource.DoesNotExist:
                raise CommandError(f"No data source {source!r}.") from None
            except DataSource.MultipleObjectsReturned:
                raise CommandError(f"Several data sources are named {source!r}: give its id.") from None
        count = search.documents_rebuild(data_source_id=data_source_id)
        self.stdout.write(f"Search documents rebuilt for {count:,} assets"
                          + (f" of {source}." if source is not None else "."))
