import os
import warnings

import pytest

REDIS_CACHE_BACKEND = "django.core.cache.backends.redis.RedisCache"
# Set in each worker process by pytest-xdist (`make test` runs the suite in parallel); absent in a plain run.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")


# The tests that run real services (worker processes, a browser, other servers) are the suite's longest, each from
# tens of seconds to a minute; most are alone in their module, a unit of pytest-xdist's --dist loadscope.
LONG_RUNNING_MARKERS = ("integration", "e2e")


def pytest_collection_modifyitems(config, items):
    """Long-running tests first, the rest in file order.

    Started last, as xdist's default order (modules by decreasing number of tests) started them, one of them
    was the tail of the run: the other process had finished and waited. The Makefile keeps this order
    (``--no-loadscope-reorder``)."""
    items.sort(key=lambda item: not any(item.get_closest_marker(name) for name in LONG_RUNNING_MARKERS))


@pytest.fixture(autouse=True, scope="session")
def _django_session_settings(request):
    """Fast password hashing, and under pytest-xdist a cache of this worker's own.

    PBKDF2's deliberate slowness costs ~0.3 s per hash or check, and tests create and log in many users. For the
    whole session, not per test: worlds shared by a class of tests (tests.support.permission_matrix) are built
    before any test's own fixtures, and the one test password hash (tests.support.factories) is made once per
    process. Parallel workers share the Redis database of ``REDIS_URL``: each gets its own key prefix, and
    clears only its own keys (:func:`_clear_cache`). Packages that are pure Python (connectors, detection) also
    run with ``-p no:django``, where there is nothing to set up.
    """
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    from django.conf import settings
    from django.test import override_settings

    overrides = {"PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"]}
    cache_settings = settings.CACHES["default"]
    if XDIST_WORKER and cache_settings["BACKEND"] == REDIS_CACHE_BACKEND:
        overrides["CACHES"] = {"default": {**cache_settings,
                                           "KEY_PREFIX": f"{cache_settings.get('KEY_PREFIX', '')}-{XDIST_WORKER}"}}
    with override_settings(**overrides):
        yield


def _clear_cache() -> None:
    """Empty the cache; a parallel worker's Redis cache only of its own keys (FLUSHDB would empty the others')."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]
    if XDIST_WORKER and isinstance(cache, RedisCache):
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _django_test_defaults(request):
    """Failed connection tests answered at once, and a fresh cache for every Django test.

    A failed connection test waits out the connect timeout for callers who may not read the secret (so that its
    timing is no port scanner); tests of that delay (``keep_failure_delay``) keep it. Throttle counters and
    lockouts live in the cache; no test may inherit another's."""
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    import sources.services

    if "keep_failure_delay" not in request.keywords:
        request.getfixturevalue("monkeypatch").setattr(sources.services, "failure_answer_floor_s", lambda: 0.0)
    _clear_cache()
    yield
    _clear_cache()


@pytest.fixture(autouse=True)
def _responses_match_openapi_schema(request, monkeypatch):
    """Every API response any test client receives must match the published OpenAPI schema
    (tests.support.openapi)."""
    if not request.config.pluginmanager.hasplugin("django"):
        return
    from django.test.client import Client

    from tests.support.openapi import validating

    monkeypatch.setattr(Client, "request", validating(Client.request))


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def world(db):
    """Workspaces A and B with one user per persona (tests.support.personas), each with a logged-in client."""
    from tests.support.personas import recorded_world

    return recorded_world()


@pytest.fixture(scope="session")
def django_db_modify_db_settings_xdist_suffix():
    """pytest-django's, for this project's engine names: it recognises SQLite only as ``django.db.backends.sqlite3``
    and the settings wrap every engine for metrics (``django_prometheus.db.backends.sqlite3``), so it would give
    a parallel worker the unopenable file ``test_<path>_gw0``. SQLite's test database is in memory, each worker's
    own already; a server's gets the worker's suffix (``test_racine_gw0``)."""
    if not XDIST_WORKER:
        return
    from django.conf import settings

    for database in settings.DATABASES.values():
        test_name = database.get("TEST", {}).get("NAME")
        if not test_name:
            if database["ENGINE"].endswith(".sqlite3"):
                continue
            test_name = f"test_{database['NAME']}"
        database.setdefault("TEST", {})["NAME"] = f"{test_name}_{XDIST_WORKER}"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings, request):
    """pytest-django's, and then each test database is created from a snapshot of the migrated schema when one
    exists for these migrations (tests.support.migrated_snapshot). SQLite's is a file in pytest's cache folder, or
    under ``-p no:cacheprovider`` (as ``make test`` is run by CI and the benchmarks) in ``var/``: without it every
    process migrated its database from zero at every such run."""
    from django.conf import settings

    from tests.support.migrated_snapshot import test_databases_from_snapshots

    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    if cache:
        folder = cache.mkdir("racine-migrated-schema")
    else:
        folder = settings.BASE_DIR / "var" / "test-migrated-schema"
        folder.mkdir(parents=True, exist_ok=True)
    with test_databases_from_snapshots(folder):
        yield


# The test running now, for the application name of the database sessions this process opens.
running_test = ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global running_test
    running_test = item.nodeid
    return (yield)


def _name_session_after_running_test(sender, connection, **kwargs):
    """A session left open at the end (:func:`django_db_setup`) then names the test that opened it."""
    if connection.vendor == "postgresql" and running_test:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('application_name', %s, false)", [running_test[-63:]])


# How long the test database's other sessions get to end by themselves at the end of the run: a SIGKILLed worker's
# session ends when its server process next reads from the closed socket.
OTHER_SESSIONS_GRACE_S = 10


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's, and before it drops the test database: nothing else may still be connected to it.

    The PostgreSQL test database cannot be dropped while another session is connected ("database is being accessed
    by other users"), and then the next run of this worker finds it still there. This process's own connections
    are closed first, the pool's included (Django closes only its idle ones); any other session still there after
    :data:`OTHER_SESSIONS_GRACE_S` — a Celery worker a test left running, a connection a thread never gave back —
    is terminated so the drop succeeds, and a warning names it: by its application name, the test during which
    this process opened it, or ``racine-test-celery-worker``.
    """
    from django.db.backends.signals import connection_created

    connection_created.connect(_name_session_after_running_test)
    yield
    connection_created.disconnect(_name_session_after_running_test)
    with django_db_blocker.unblock():
        leftovers = _end_other_sessions_on_test_database()
    if leftovers:
        warnings.warn("sessions still connected to the test database at the end of the run (terminated): "
                      + "; ".join(leftovers), stacklevel=1)


def _end_other_sessions_on_test_database() -> list[str]:
    import time

    from django.db import connections

    database = connections["default"]
    if database.vendor != "postgresql":
        return []
    name = database.settings_dict["NAME"]
    connections.close_all()
    database.close_pool()
    with database._nodb_cursor() as cursor:  # on the maintenance database, as Django's own drop
        deadline = time.monotonic() + OTHER_SESSIONS_GRACE_S
        while True:
            cursor.execute("SELECT pid, application_name, backend_start, state, left(query, 120) "
                           "FROM pg_stat_activity WHERE datname = %s", [name])
            sessions = cursor.fetchall()
            if not sessions or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for pid, *_ in sessions:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    return [f"pid {pid} application {application or '(none)'} since {started:%H:%M:%S} {state}: {query}"
            for pid, application, started, state, query in sessions]
