"""Rate limit on the login forms, per client address.

The lockout (``accounts.lockout``) stops guessing against one account from one address, and from an address
that tries many accounts; this caps the raw rate of login POSTs, successful or not, so a client cannot hammer
the password hasher (each attempt costs the server a deliberately slow hash) or probe names slowly enough to
stay under the lockout. Counters are in the shared cache; when it is unreachable the limit fails open (logged
and counted by ``config.cache_guard``) and the lockout, kept in the database, still stops guessing.
"""
from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse

from accounts.lockout import client_ip
from config.cache_guard import guarded
from config.collectors import LOGIN_THROTTLE_SCOPE, THROTTLED_REQUESTS, shared_counter_inc
from config.problems import is_api_request, problem_response

LOGIN_URL_NAMES = ("admin:login", "rest_framework:login")
_PERIODS = {"second": 1, "minute": 60, "hour": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()]


class LoginThrottleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.limit, self.period = parse_rate(settings.RACINE_LOGIN_RATE)
        self._paths: frozenset[str] | None = None

    def login_paths(self) -> frozenset[str]:
        if self._paths is None:
            paths = set()
            for name in LOGIN_URL_NAMES:
                try:
                    paths.add(reverse(name))
                except NoReverseMatch:
                    continue
            self._paths = frozenset(paths)
        return self._paths

    def __call__(self, request):
        if request.method == "POST" and request.path in self.login_paths():
            ip = client_ip(request) or "unknown"
            wait = guarded("login_rate", lambda: self._hit(ip), fallback=0)
            if wait:
                shared_counter_inc(THROTTLED_REQUESTS, LOGIN_THROTTLE_SCOPE)
                return self._too_many(request, wait)
        return self.get_response(request)

    def _hit(self, ip: str) -> int:
        window = int(time.time() // self.period)
        key = f"login:rate:{ip}:{window}"
        cache.add(key, 0, timeout=self.period)
        try:
            count = cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=self.period)
            count = 1
        if count > self.limit:
            return self.period - int(time.time()) % self.period or 1
        return 0

    @staticmethod
    def _too_many(request, wait: int) -> HttpResponse:
        if is_api_request(request):
            response = problem_response(request, 429, "throttled", "Too many login attempts; slow down.")
        else:
            response = HttpResponse("Too many login attempts; wait a minute and try again.", status=429,
                                    content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(wait)
        return response
