"""The API throttles decide as DRF's do, in one round trip to a Redis cache (config.throttling).

Regression (issue 9, item 10): each authenticated request read and rewrote its client's whole request history (a
pickled list of up to the allowance's timestamps) in two round trips, each through a new redis-py client.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.cache import cache
from redis.connection import AbstractConnection
from rest_framework import throttling as drf_throttling

from config import throttling
from config.collectors import THROTTLED_REQUESTS, shared_counter_values
from tests.support.services import require_redis

# Seconds from the first request: three let in, two refused, then one let in each time a request leaves the window
# (at 60 s exactly: DRF drops a request as old as the duration), refused in between.
TIMELINE = [0.0, 1.0, 2.5, 3.0, 59.9, 60.0, 60.1, 61.0, 62.0, 62.4]


class ThreePerMinute(throttling.UserRateThrottle):
    rate = "3/minute"


class DrfThreePerMinute(drf_throttling.UserRateThrottle):
    rate = "3/minute"


def _request(pk: int = 7):
    return SimpleNamespace(user=SimpleNamespace(pk=pk, is_authenticated=True))


def _decisions(throttle_class, start: float, request) -> list:
    decisions = []
    for offset in TIMELINE:
        throttle = throttle_class()
        throttle.timer = lambda offset=offset: start + offset
        allowed = throttle.allow_request(request, None)
        decisions.append((offset, allowed, None if allowed else round(throttle.wait(), 6)))
    return decisions


@pytest.fixture
def redis_cache(cache_at):
    cache_at(require_redis())
    cache.clear()
    yield
    cache.clear()


def test_redis_window_decides_and_waits_as_drf(redis_cache, settings):
    start = 1_800_000_000.123456
    in_redis = _decisions(ThreePerMinute, start, _request())

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    drf = _decisions(DrfThreePerMinute, start, _request())

    assert in_redis == drf
    assert [allowed for _, allowed, _ in in_redis] == [True, True, True, False, False, True, False, True, False,
                                                        False]
    assert in_redis[3] == (3.0, False, 57.0)


def test_clients_have_their_own_windows(redis_cache):
    start = 1_800_000_000.0
    assert [allowed for _, allowed, _ in _decisions(ThreePerMinute, start, _request(1))][:4] == [True] * 3 + [False]
    assert _decisions(ThreePerMinute, start, _request(2))[0][1] is True


@pytest.mark.parametrize("behind_proxy", [False, True])
def test_anonymous_clients_cannot_choose_their_window_with_x_forwarded_for(redis_cache, settings, behind_proxy):
    # Regression: the window was keyed by the whole X-Forwarded-For header (DRF's default): a new value per
    # request escaped the limit and left one more key in Redis each time.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if behind_proxy else None

    class ThreePerMinuteAnonymous(throttling.AnonRateThrottle):
        rate = "3/minute"

    anonymous = SimpleNamespace(is_authenticated=False)
    decisions = []
    for hop in range(5):
        forwarded = f"198.51.100.{hop}, 192.0.2.1" if behind_proxy else f"198.51.100.{hop}"
        request = SimpleNamespace(user=anonymous, headers={"x-forwarded-for": forwarded},
                                  META={"REMOTE_ADDR": "192.0.2.1", "HTTP_X_FORWARDED_FOR": forwarded})
        decisions.append(ThreePerMinuteAnonymous().allow_request(request, None))

    assert decisions == [True, True, True, False, False]


def test_a_decision_is_one_round_trip(redis_cache, monkeypatch):
    ThreePerMinute().allow_request(_request(), None)  # the first use loads the script
    sent = []
    original = AbstractConnection.send_command

    def counting(self, *args, **kwargs):
        sent.append(args[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_command", counting)
    decisions = [ThreePerMinute().allow_request(_request(), None) for _ in range(4)]

    # The refusal is counted for racine_throttled_requests_total within the same round trip.
    assert decisions == [True, True, False, False]
    assert sent == ["EVALSHA"] * 4
    assert shared_counter_values(THROTTLED_REQUESTS, [("user",)]) == {("user",): 2}


def test_without_redis_the_cache_keeps_drf_history(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    start = 1_800_000_000.0
    assert _decisions(ThreePerMinute, start, _request()) == _decisions(DrfThreePerMinute, start, _request(8))
