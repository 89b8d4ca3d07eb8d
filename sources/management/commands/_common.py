"""Shared by the commands that take a data source: find it by id or name."""
from __future__ import annotations

from django.core.management.base import CommandError

from sources.models import DataSource
from sources.selectors import datasource_by_name_or_id


def source_argument(reference: str) -> DataSource:
    try:
        return datasource_by_name_or_id(reference)
    except DataSource.DoesNotExist:
        raise CommandError(f"No data source with id or name {reference!r}.") from None
    except DataSource.MultipleObjectsReturned:
        raise CommandError(f"Several workspaces have a data source named {reference!r}; give its id "
                           "(see `manage.py scan_status`).") from None
