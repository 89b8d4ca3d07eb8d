"""Helpers for the search tests: a small catalog indexed as scans and services index it."""
from __future__ import annotations

from catalog import search
from catalog.selectors import asset_search


def index_everything() -> None:
    """Factories write assets straight to the database, past the services that keep documents up to date: index
    what they wrote, as ``manage.py search_reindex`` does."""
    search.documents_rebuild()


def found(user, text: str, **filters) -> list[str]:
    """The qualified names ``text`` finds for ``user``, best first (first page of 100)."""
    return [asset.qualified_name for asset in asset_search(user=user, text=text,
                                                           filters=search.Filters(**filters))[0:100]]


def matches(user, text: str) -> list[tuple[str, str]]:
    """``(name, why)`` of what ``text`` finds, best first."""
    return [(asset.name, asset.search_match) for asset in asset_search(user=user, text=text)[0:100]]
