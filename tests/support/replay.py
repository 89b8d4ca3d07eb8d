"""Build once through the services, then insert the same rows again: a fixture that many tests rebuild.

``build_world`` (tests.support.personas) creates workspaces, users and memberships through the services, as the
system would: about a hundred queries, and the guardian grants computed again for every test that asks for it. A
:class:`Recorder` runs the builder the first time, notes every row the build inserted (every table, read before and
after), and for each later test inserts exactly those rows again in bulk, primary keys included, inside that test's
own transaction. The rows are those the services wrote, not a second description of them that could drift.

A recording is replayed only while it still describes what the build would do:

- the build may only insert: a build that changes or deletes a row that was already there is not recorded (it is
  run through the services every time);
- the tables it inserts into hold as many rows as they did before it was recorded (a test that created a user
  before asking for the world gets one built for it, so ``get_or_create`` and unique names behave as they would);
- every row the inserted rows point to outside the recording (content types, permissions, the Auditors group, a
  pre-existing organization) is still there, unchanged;
- no ``post_migrate`` was sent since: Django sends it when a test database is set up and after a transactional
  test's flush, which creates the content types and permissions again under new ids.

Otherwise the builder runs through the services again (and, after a ``post_migrate``, is recorded again). A
replayed insert that still collides (a unique constraint) is rolled back to its savepoint and the build runs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import IntegrityError, connections, models, transaction
from django.db.models.signals import post_migrate
from django.db.models.sql import InsertQuery


def _tables() -> list[type[models.Model]]:
    return [model for model in apps.get_models(include_auto_created=True)
            if model._meta.managed and not model._meta.proxy]


def _columns(model) -> list[models.Field]:
    return list(model._meta.local_concrete_fields)


def _rows(model, using: str) -> dict[Any, tuple]:
    columns = [column.attname for column in _columns(model)]
    pk_index = columns.index(model._meta.pk.attname)
    return {row[pk_index]: row for row in model._base_manager.using(using).values_list(*columns)}


@dataclass
class Recording:
    generation: int  # of ``post_migrate``s when it was made
    replayable: bool = False
    inserted: dict[type[models.Model], list[tuple]] = field(default_factory=dict)
    counts_before: dict[type[models.Model], int] = field(default_factory=dict)
    references: dict[type[models.Model], dict[Any, tuple]] = field(default_factory=dict)
    result: Any = None  # what ``keys`` gave: ``load`` makes the builder's result again from it
    statements: list[tuple[str, tuple]] = field(default_factory=list)
    by_pk: dict[type[models.Model], dict[Any, tuple]] = field(default_factory=dict)


@dataclass
class Recorder:
    """``recorder(using)`` returns the builder's result, built through ``build`` or replayed.

    ``build()`` builds and returns the result; ``keys(result)`` says which rows the result is made of (any value
    holding ``(model, pk)`` pairs); ``load(keys, instance)`` makes the result again, ``instance(model, pk)`` giving
    a new model instance of a recorded row, as the database holds it now."""

    build: Callable[[], Any]
    keys: Callable[[Any], Any]
    load: Callable[[Any, Callable[[type[models.Model], Any], models.Model]], Any]
    _recordings: dict[str, Recording] = field(default_factory=dict)
    replayed: int = 0
    built: int = 0

    def __call__(self, using: str = "default") -> Any:
        recording = self._recordings.get(using)
        if recording is None or recording.generation != _generation:
            return self._record(using)
        if recording.replayable and self._replayable(recording, using):
            try:
                with transaction.atomic(using=using):
                    self._insert(recording, using)
            except IntegrityError:
                pass
            else:
                self.replayed += 1
                return self._load(recording, using)
        self.built += 1
        return self.build()

    def _record(self, using: str) -> Any:
        tables = _tables()
        before = {model: _rows(model, using) for model in tables}
        result = self.build()
        self.built += 1
        recording = self._recordings[using] = Recording(generation=_generation)
        inserted = {}
        for model in tables:
            old, new = before[model], _rows(model, using)
            if old.keys() - new.keys() or any(new[pk] != row for pk, row in old.items()):
                return result  # it changed or deleted what it found: built through the services every time
            added = [new[pk] for pk in sorted(new.keys() - old.keys(), key=str)]
            if added:
                inserted[model] = added
        references = {}
        for model, rows in inserted.items():
            for index, column in enumerate(_columns(model)):
                if not column.is_relation:
                    continue
                target = column.related_model._meta.concrete_model
                if column.target_field != target._meta.pk:
                    return result  # a foreign key to another unique column: not worth following
                own = set(_pk_values(target, inserted.get(target, [])))
                for value in {row[index] for row in rows} - own - {None}:
                    references.setdefault(target, {})[value] = before[target][value]
        recording.replayable = True
        recording.inserted, recording.references = inserted, references
        recording.counts_before = {model: len(before[model]) for model in inserted}
        recording.result = self.keys(result)
        recording.statements = _statements(inserted, using)
        recording.by_pk = {model: dict(zip(_pk_values(model, rows), rows, strict=True))
                           for model, rows in inserted.items()}
        return result

    def _replayable(self, recording: Recording, using: str) -> bool:
        connection = connections[using]
        quote = connection.ops.quote_name
        counted = list(recording.counts_before)
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(model._meta.db_table)})"
                                                 for model in counted))
            counts = cursor.fetchone()
        if list(counts) != [recording.counts_before[model] for model in counted]:
            return False
        for model, rows in recording.references.items():
            columns = [column.attname for column in _columns(model)]
            now = model._base_manager.using(using).filter(pk__in=list(rows)).values_list(*columns)
            if sorted(now, key=str) != sorted(rows.values(), key=str):
                return False
        return True

    def _insert(self, recording: Recording, using: str) -> None:
        with connections[using].cursor() as cursor:
            for statement, params in recording.statements:
                cursor.execute(statement, params)

    def _load(self, recording: Recording, using: str) -> Any:
        def instance(model, pk):
            model = model._meta.concrete_model
            names = [column.attname for column in _columns(model)]
            return model.from_db(using, names, recording.by_pk[model][pk])

        return self.load(recording.result, instance)


def _statements(inserted: dict[type[models.Model], list[tuple]], using: str) -> list[tuple[str, tuple]]:
    """The INSERT statements of the recorded rows, compiled once: Django's insert compiler prepares every value of
    every row (a few hundred guardian rows for the world), which cost more than the database's own work."""
    connection = connections[using]
    statements = []
    for model, rows in inserted.items():
        columns = _columns(model)
        names = [column.attname for column in columns]
        objects = [model(**dict(zip(names, row, strict=True))) for row in rows]
        size = connection.ops.bulk_batch_size(columns, objects) or len(objects)
        for start in range(0, len(objects), size):
            query = InsertQuery(model)
            # raw: the values as recorded, without pre_save (auto_now and the like): what the build stored.
            query.insert_values(columns, objects[start:start + size], raw=True)
            statements.extend(query.get_compiler(using=using).as_sql())
    return statements


def _pk_values(model, rows: list[tuple]) -> list:
    index = [column.attname for column in _columns(model)].index(model._meta.pk.attname)
    return [row[index] for row in rows]


# Bumped by every post_migrate: recordings made before it may name content types and permissions that are gone.
_generation = 0


def _migrated(sender, **kwargs) -> None:
    global _generation
    _generation += 1


post_migrate.connect(_migrated, dispatch_uid="tests.support.replay")
