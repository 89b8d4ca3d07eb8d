import pytest


@pytest.fixture(autouse=True)
def _django_test_defaults(request):
    """Fast password hashing and a fresh cache for every Django test.

    PBKDF2's deliberate slowness costs ~0.3 s per hash or check, and tests create and log in many users.
    Throttle counters and lockouts live in the cache; no test may inherit another's. Packages that are pure
    Python (connectors, detection) also run with ``-p no:django``, where there is nothing to set up.
    """
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    from django.core.cache import cache

    settings = request.getfixturevalue("settings")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
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
