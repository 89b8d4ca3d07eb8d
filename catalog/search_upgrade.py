"""Existing assets and the search index after an upgrade.

Search documents are written by the services and scans that change assets (catalog.search); the assets that were
in the catalog before the version that brought search have none, so search does not find them until
``manage.py search_reindex`` runs. Two things make that hard to miss:

- **After ``migrate``** (a ``post_migrate`` handler): up to ``AUTO_INDEX_LIMIT`` unindexed assets are indexed right
  there, in one transaction — a small catalog needs no step of its own. Past it (minutes of work that a migration
  should not hold its lock for, on a deployment that may be rolling), nothing is indexed and ``migrate`` says to
  run ``search_reindex``. Not a data migration: the documents are built by catalog.search from the current models,
  which a historical migration state must not import.
- **A system check** (``catalog.W001``, tagged ``database``: ``manage.py check --database default`` and the check
  ``migrate`` runs first) warns while present assets have no document.
"""
from __future__ import annotations

from django.core.checks import Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from catalog import search
from catalog.models import Asset, AssetSearchDocument
from catalog.selectors import assets_unindexed

# About half a minute of indexing on the benchmark machine; more is search_reindex's job, batch by batch.
AUTO_INDEX_LIMIT = 20_000
REINDEX_HINT = "run `python manage.py search_reindex` (batches of 50,000 assets, safe to re-run)"


def _ready(using: str) -> bool:
    """The catalog's asset and search tables exist (not the case midway through migrating from zero or back)."""
    tables = set(connections[using].introspection.table_names())
    return {Asset._meta.db_table, AssetSearchDocument._meta.db_table} <= tables


def unindexed_count(*, limit: int, using: str = DEFAULT_DB_ALIAS) -> int:
    """How many present assets have no search document, counted up to ``limit``; 0 while the tables are not
    there."""
    if using != DEFAULT_DB_ALIAS or not _ready(using):
        return 0
    return len(assets_unindexed(limit=limit))


def index_after_migrate(*, using: str = DEFAULT_DB_ALIAS, limit: int | None = None) -> tuple[int, bool]:
    """Index the present assets without a search document if there are at most ``limit``
    (``AUTO_INDEX_LIMIT``); ``(how many are unindexed, counted up to limit + 1; whether they were indexed)``."""
    limit = AUTO_INDEX_LIMIT if limit is None else limit
    if using != DEFAULT_DB_ALIAS or not _ready(using):
        return 0, False
    ids = assets_unindexed(limit=limit + 1)
    if not ids or len(ids) > limit:
        return len(ids), False
    with transaction.atomic():
        search.documents_refresh(asset_ids=ids)
    return len(ids), True


def post_migrate_index(sender, *, using: str = DEFAULT_DB_ALIAS, verbosity: int = 1, stdout=None, plan=None,
                       **kwargs) -> None:
    """The ``post_migrate`` receiver (catalog.apps): index a small catalog's unindexed assets, or say what to run.
    Not after unapplying migrations: the schema is then older than the models that build the documents."""
    if any(backwards for _migration, backwards in plan or ()):
        return
    count, indexed = index_after_migrate(using=using)
    if not count or stdout is None:
        return
    if indexed:
        if verbosity:
            stdout.write(f"  Indexed {count:,} existing assets for search.")
    else:
        stdout.write(f"  More than {AUTO_INDEX_LIMIT:,} assets have no search document, so search does not find "
                     f"them yet: {REINDEX_HINT}.")


@register(Tags.database)
def check_search_index(app_configs=None, databases=None, **kwargs) -> list[Warning]:
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    count = unindexed_count(limit=AUTO_INDEX_LIMIT + 1)
    if not count:
        return []
    many = f"more than {AUTO_INDEX_LIMIT:,}" if count > AUTO_INDEX_LIMIT else f"{count:,}"
    return [Warning(f"{many} assets have no search document: search does not find them.",
                    hint=f"They predate the search index (an upgrade) or were written outside Racine: {REINDEX_HINT}.",
                    obj="catalog", id="catalog.W001")]
