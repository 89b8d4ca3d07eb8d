"""The API's rate limits (DRF throttles) fail open when the cache holding their counters is unreachable.

DRF's throttles keep each client's request history in the cache; without this, a Redis outage turned every
authenticated API call into a 500. A rate limit is a speed bump, so the request is served, and the outage is
logged and counted (``config.cache_guard``).
"""
from __future__ import annotations

from rest_framework import throttling

from config.cache_guard import guarded
from config.collectors import THROTTLED_REQUESTS, shared_counter_inc


class FailOpenMixin:
    def allow_request(self, request, view) -> bool:
        allowed = guarded(f"api_throttle_{self.scope}",
                          lambda: super(FailOpenMixin, self).allow_request(request, view), fallback=True)
        if not allowed:
            shared_counter_inc(THROTTLED_REQUESTS, self.scope)
        return allowed


class AnonRateThrottle(FailOpenMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FailOpenMixin, throttling.UserRateThrottle):
    pass
