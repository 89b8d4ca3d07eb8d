"""Reads of data sources, always scoped to what ``user`` may see (see accounts.selectors), except the operators'
look-up by name."""
from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from accounts.permissions import restrict
from sources.models import DataSource


def datasource_list(*, user: User | None, action: str = "view") -> QuerySet[DataSource]:
    return restrict(DataSource.objects.select_related("workspace"), user, action)


def datasource_by_name_or_id(reference: str) -> DataSource:
    """The data source named ``reference`` or with that id, for operators' commands (which skip restrict on
    purpose: they run as the system). Raises DataSource.DoesNotExist, or MultipleObjectsReturned when the name
    is used in several workspaces."""
    if reference.isdigit():
        found = DataSource.objects.filter(pk=int(reference)).select_related("workspace").first()
        if found is not None:
            return found
    return DataSource.objects.select_related("workspace").get(name=reference)
