"""Counters kept in the shared cache (Redis) degrade when it cannot be reached, instead of failing the request.

API throttles, the login rate limit and the second factor's per-user failure budget are speed bumps: losing them
for a while is better than answering every request with a 500. Each use names a ``purpose`` and says what to
decide without the cache (``fallback``); the failure is logged and counted in
``racine_cache_unavailable_total{purpose=…}`` so an operator sees that protections are running degraded.

After a failure the cache is left alone for ``RETRY_AFTER_S`` in this process: with a cache that accepts
connections but never answers, every request would otherwise wait for the socket timeout first.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from prometheus_client import Counter
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 10.0
# redis-py raises its own ConnectionError / TimeoutError (RedisError); a socket can also fail with an OSError.
CACHE_ERRORS = (RedisError, OSError)

DECISIONS_WITHOUT_CACHE = Counter(
    "racine_cache_unavailable_total",
    "Decisions taken without the shared cache because it could not be reached (the protection fell back).",
    ["purpose"])

T = TypeVar("T")

_lock = threading.Lock()
_skip_until = 0.0


def guarded(purpose: str, operation: Callable[[], T], *, fallback: T) -> T:
    """``operation()``, or ``fallback`` when the cache fails (or failed less than ``RETRY_AFTER_S`` ago)."""
    global _skip_until
    if time.monotonic() < _skip_until:
        DECISIONS_WITHOUT_CACHE.labels(purpose).inc()
        return fallback
    try:
        return operation()
    except CACHE_ERRORS as exc:
        with _lock:
            _skip_until = time.monotonic() + RETRY_AFTER_S
        DECISIONS_WITHOUT_CACHE.labels(purpose).inc()
        # No traceback: the message names the unreachable server, which is what the operator needs.
        logger.error("cache unreachable, %s proceeds without it for %.0f s: %s: %s", purpose, RETRY_AFTER_S,
                     type(exc).__name__, exc)
        return fallback


def retry_now() -> None:
    """Forget an earlier failure: the next guarded call tries the cache again (tests; a repaired cache)."""
    global _skip_until
    with _lock:
        _skip_until = 0.0
