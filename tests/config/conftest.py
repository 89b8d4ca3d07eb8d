"""Pointing the cache or the broker at a dependency that is down (tests.support.dead_services), for one test."""
import pytest

from config import cache_guard
from config.health import REDIS_CACHE_BACKEND


@pytest.fixture
def broker_at(settings):
    """Point the Celery broker at a URL for the test (and back)."""
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    previous = app.conf.broker_url

    def point(url: str) -> None:
        app.conf.broker_url = url

    yield point
    app.conf.broker_url = previous


@pytest.fixture
def cache_at(settings):
    """Point the Django cache at a Redis URL, configured as production configures it, for the test; the cache is
    back, and tried again, afterwards."""
    working = settings.CACHES

    def point(url: str) -> None:
        settings.CACHES = {"default": {"BACKEND": REDIS_CACHE_BACKEND, "LOCATION": url, "KEY_PREFIX": "racine",
                                       "OPTIONS": settings.REDIS_CACHE_OPTIONS}}

    yield point
    settings.CACHES = working  # before the suite's own teardown clears the cache
    cache_guard.retry_now()
