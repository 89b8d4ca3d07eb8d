"""The API's rate limits (DRF throttles): one Redis round trip per request, failing open when Redis is unreachable.

DRF's throttles keep each client's request history in the cache: a read and a write per request, each through a
new redis-py client (Django's Redis cache builds one per operation), of a pickled list that grows to the rate's
allowance (1,200 timestamps at the default rate). With a Redis cache the same sliding window is a sorted set
checked and updated by one server-side script; with another cache (the embedded mode's local memory) DRF's own
code runs. Either way the decision is DRF's: a request is refused when the window already holds the allowance.

Without this failing open, a Redis outage turned every authenticated API call into a 500. A rate limit is a
speed bump, so the request is served, and the outage is logged and counted (``config.cache_guard``).
"""
from __future__ import annotations

import uuid
import weakref

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling

from accounts.audit import client_ip
from config.cache_guard import guarded
from config.collectors import THROTTLED_REQUESTS, shared_counter_inc, shared_counter_key

# KEYS[1]: the window; KEYS[2]: the shared counter of refused requests (racine_throttled_requests_total), counted
# in the same round trip; ARGV: the time at or before which a request has left the window, now, the window's
# duration (s), the allowance, a member naming this request.
# Returns {1} when the request is let in (and recorded), {0, requests in the window, the oldest one's time}
# when it is refused. The times go back as strings: Redis would cut a Lua number to an integer.
WINDOW_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[4]) then
  redis.call('INCR', KEYS[2])
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, count, oldest[2]}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1}
"""

# One client and registered script per cache backend instance (Django keeps one per thread). The client comes
# from the backend's own client factory (``_cache``), so it uses the pool, timeouts and options of CACHES.
_scripts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _window_script(backend: RedisCache):
    script = _scripts.get(backend)
    if script is None:
        script = _scripts[backend] = backend._cache.get_client(write=True).register_script(WINDOW_SCRIPT)
    return script


class WindowThrottleMixin:
    """DRF's SimpleRateThrottle, in one round trip to a Redis cache, failing open (see the module's docstring)."""

    # Not DRF's key: its history is a pickled list, this window a sorted set (the types must not meet in Redis).
    cache_format = "throttle_window_%(scope)s_%(ident)s"

    def get_ident(self, request) -> str:
        # DRF's own (NUM_PROXIES unset) is the whole X-Forwarded-For header when there is one: a client writing a
        # new value on each request had a new window each time, unthrottled, and a Redis key more per request.
        # The address the lockout and the audit trail use: the proxy's last hop, or REMOTE_ADDR without a proxy.
        return client_ip(request) or ""

    def allow_request(self, request, view) -> bool:
        return guarded(f"api_throttle_{self.scope}", lambda: self._allow(request, view), fallback=True)

    def _allow(self, request, view) -> bool:
        backend = caches[DEFAULT_CACHE_ALIAS]
        if not isinstance(backend, RedisCache):
            self.refused_window = None
            allowed = super().allow_request(request, view)
            if not allowed:
                shared_counter_inc(THROTTLED_REQUESTS, self.scope)
            return allowed
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        answer = _window_script(backend)(
            keys=[backend.make_and_validate_key(self.key),
                  backend.make_and_validate_key(shared_counter_key(THROTTLED_REQUESTS, self.scope))],
            args=[repr(self.now - self.duration), repr(self.now), self.duration, self.num_requests, uuid.uuid4().hex])
        if answer[0]:
            return True
        self.refused_window = (int(answer[1]), float(answer[2]))
        return self.throttle_failure()

    def wait(self):
        """DRF's answer from the refused window: the time until a request leaves it, shared by the requests
        that may then come in."""
        if getattr(self, "refused_window", None) is None:
            return super().wait()
        count, oldest = self.refused_window
        available_requests = self.num_requests - count + 1
        if available_requests <= 0:
            return None
        return (self.duration - (self.now - oldest)) / available_requests


class AnonRateThrottle(WindowThrottleMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(WindowThrottleMixin, throttling.UserRateThrottle):
    pass
