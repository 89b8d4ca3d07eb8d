import pytest


@pytest.fixture(autouse=True)
def _django_test_defaults(request):
    """Fast password hashing, failed connection tests answered at once, and a fresh cache for every Django test.

    PBKDF2's deliberate slowness costs ~0.3 s per hash or check, and tests create and log in many users. A failed
    connection test waits out the connect timeout for callers who may not read the secret (so that its timing is
    no port scanner); tests of that delay (``keep_failure_delay``) keep it. Throttle counters and lockouts live in
    the cache; no test may inherit another's. Packages that are pure Python (connectors, detection) also run with
    ``-p no:django``, where there is nothing to set up.
    """
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    from django.core.cache import cache

    import sources.services

    settings = request.getfixturevalue("settings")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if "keep_failure_delay" not in request.keywords:
        request.getfixturevalue("monkeypatch").setattr(sources.services, "failure_answer_floor_s",
                                                       lambda: 0.0)
    cache.clear()
    yield
    cache.clear()


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
    from tests.support.personas import build_world

    return build_world()
