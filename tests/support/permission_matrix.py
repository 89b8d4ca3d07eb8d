"""Every API endpoint under one permission matrix: persona × action → expected status, plus list contents.

A matrix is a class per endpoint (``tests/<app>/test_api_<model>.py``); ``tests/test_api_coverage.py`` fails
when a router basename has none, or when a matrix leaves out a persona or an action its viewset has::

    class TestDataSourceMatrix(PermissionMatrix):
        basename = "datasource"
        expected = table(
            "list retrieve_a retrieve_b create update_a update_b partial_update_a partial_update_b "
            "destroy_a destroy_b test_connection_a test_connection_b",
            anonymous=           "401 401 401 401 401 401 401 401 401 401 401 401",
            ...one row per persona (see tests.support.personas.PERSONAS)...
        )
        visible = {"analyst": "A", "auditor": "AB", "superuser": "AB", ...}   # rows a 200 list/export shows

        def objects(self, world):            # one object in workspace A, one in B
            return DataSourceFactory(workspace=world.workspace_a), DataSourceFactory(workspace=world.workspace_b)

        def payload(self, world, action):    # body for create / update / partial_update / custom actions
            return {"name": "x", "workspace": world.workspace_a.pk}

Columns: ``list``, ``create``, and for detail routes ``<action>_a`` / ``<action>_b`` (on the A and B objects);
custom ``@action`` routes by their name (``export`` for a list route, ``run_a``/``run_b`` for a detail route).
Each cell is its own test (``test_matrix_cell[steward-update_b]``). The world and the two objects are built once
per class (:class:`SharedWorld`, Django's ``setUpTestData``) and every cell runs in a savepoint rolled back after
it, on copies of them: what one cell writes, in the database or in memory, the next does not see.
"""
from __future__ import annotations

import copy
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import transaction
from django.urls import reverse

from tests.support.personas import PERSONAS, recorded_world

STANDARD_DETAIL = ("retrieve", "update", "partial_update", "destroy")
METHODS = {"list": "get", "create": "post", "retrieve": "get", "update": "put", "partial_update": "patch",
           "destroy": "delete"}


def table(columns: str, **rows: str) -> dict[str, dict[str, int]]:
    """``{persona: {column: status}}`` from a whitespace-aligned table."""
    names = columns.split()
    result = {}
    for persona, row in rows.items():
        statuses = row.split()
        if len(statuses) != len(names):
            raise ValueError(f"{persona}: {len(statuses)} statuses for {len(names)} columns")
        result[persona] = dict(zip(names, (int(status) for status in statuses), strict=True))
    return result


def viewset_for(basename: str):
    from config.api_router import router

    for _prefix, viewset, name in router.registry:
        if name == basename:
            return viewset
    raise LookupError(f"no viewset registered with basename {basename!r}")


def required_columns(viewset) -> set[str]:
    """The columns a matrix for ``viewset`` must have: every route it serves, on A and B objects for details."""
    columns = set()
    for action in ("list", "create"):
        if hasattr(viewset, action):
            columns.add(action)
    for action in STANDARD_DETAIL:
        if hasattr(viewset, action):
            columns.update({f"{action}_a", f"{action}_b"})
    for extra in viewset.get_extra_actions():
        if extra.detail:
            columns.update({f"{extra.__name__}_a", f"{extra.__name__}_b"})
        else:
            columns.add(extra.__name__)
    return columns


def _cells(matrix_cls) -> list[tuple[str, str]]:
    columns = sorted({column for row in matrix_cls.expected.values() for column in row})
    return [(persona, column) for persona in PERSONAS for column in columns]


@contextmanager
def _transaction_rolled_back_at_exit(django_db_blocker) -> Iterator[None]:
    """A transaction left open across several tests and undone at the end, like the one Django's ``TestCase``
    opens around ``setUpTestData``; pytest-django's ``db`` nests each test in a savepoint of it."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


class SharedWorld:
    """Tests of a class on one world (tests.support.personas) and its objects, built once for the class.

    The ``cell`` fixture gives each test deep copies of ``(world, obj_a, obj_b)`` (clients logged in as every
    persona included) inside its own rolled-back savepoint, and the attributes ``objects`` set on ``self``.
    """

    def objects(self, world):
        """One object in workspace A and one in workspace B (``(None, None)`` for endpoints without objects)."""
        return None, None

    @pytest.fixture(scope="class")
    @classmethod
    def shared_world(cls, request, django_db_setup, django_db_blocker):
        with _transaction_rolled_back_at_exit(django_db_blocker):
            with django_db_blocker.unblock():
                world = recorded_world()
                world.log_in_everyone()
                # The attributes objects() sets on its instance reach every test through ``cell``.
                builder = request.cls()
                objects = builder.objects(world)
            yield world, objects, vars(builder)

    @pytest.fixture
    def cell(self, shared_world, db):
        world, (obj_a, obj_b), attributes = copy.deepcopy(shared_world)
        vars(self).update(attributes)
        return world, obj_a, obj_b


class PermissionMatrix(SharedWorld):
    """Base of an endpoint's matrix (not collected itself: its name does not start with ``Test``)."""

    basename: str = ""
    expected: dict[str, dict[str, int]] = {}
    visible: dict[str, str] = {}

    # --- what subclasses provide: objects(world) (SharedWorld) and payload -------------------------------
    def payload(self, world, action: str) -> dict:
        return {}

    # --- machinery --------------------------------------------------------------------------------------
    def pytest_generate_tests(self, metafunc):
        if metafunc.function.__name__ == "test_matrix_cell":
            cells = _cells(type(self))
            metafunc.parametrize(("persona", "column"), cells, ids=[f"{p}-{c}" for p, c in cells])

    def _route(self, column: str):
        """(action, target) for a column: ``update_a`` → ("update", "a"); ``list`` → ("list", None)."""
        for suffix in ("_a", "_b"):
            if column.endswith(suffix):
                return column[: -len(suffix)], suffix[1:]
        return column, None

    def _request(self, client, world, column, obj_a, obj_b):
        action, target = self._route(column)
        viewset = viewset_for(self.basename)
        extra = {a.__name__: a for a in viewset.get_extra_actions()}
        obj = {"a": obj_a, "b": obj_b}.get(target)
        if action in extra:
            route = extra[action]
            method = sorted(route.mapping)[0] if "get" not in route.mapping else "get"
            name = f"api:{self.basename}-{route.url_name}"
        else:
            method = METHODS[action]
            name = f"api:{self.basename}-{'detail' if target else 'list'}"
        url = reverse(name, args=[obj.pk] if target else [])
        body = self.payload(world, action) if method in ("post", "put", "patch") else None
        return getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)

    def _listed_ids(self, response) -> set | None:
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/csv"):
            text = b"".join(response.streaming_content).decode()
            return {int(row["id"]) for row in csv.DictReader(io.StringIO(text))}
        data = response.json()
        if isinstance(data, dict) and "results" in data:
            return {row["id"] for row in data["results"]}
        return None

    def test_matrix_cell(self, persona, column, cell):
        world, obj_a, obj_b = cell
        expected = self.expected[persona][column]
        response = self._request(world.client(persona), world, column, obj_a, obj_b)
        body = b"" if getattr(response, "streaming", False) else response.content[:500]
        assert response.status_code == expected, (
            f"{self.basename} {column} as {persona}: {response.status_code}, expected {expected}: {body!r}")
        action, target = self._route(column)
        if response.status_code == 200 and target is None:
            ids = self._listed_ids(response)
            if ids is not None and obj_a is not None:
                shown = self.visible.get(persona, "")
                assert (obj_a.pk in ids) == ("A" in shown), f"{persona}: workspace A object listed={obj_a.pk in ids}"
                assert (obj_b.pk in ids) == ("B" in shown), f"{persona}: workspace B object listed={obj_b.pk in ids}"
        if response.status_code == 200 and action == "retrieve":
            assert response.json()["id"] == {"a": obj_a, "b": obj_b}[target].pk
        if action == "destroy" and response.status_code != 204:
            obj = {"a": obj_a, "b": obj_b}[target]
            assert type(obj)._default_manager.filter(pk=obj.pk).exists(), "a refused delete deleted the row"

    def test_matrix_covers_every_persona_and_route(self):
        viewset = viewset_for(self.basename)
        missing_personas = set(PERSONAS) - set(self.expected)
        assert not missing_personas, f"{self.basename}: no row for {sorted(missing_personas)}"
        needed = required_columns(viewset)
        for persona, row in self.expected.items():
            assert needed <= set(row), f"{self.basename} {persona}: missing columns {sorted(needed - set(row))}"
