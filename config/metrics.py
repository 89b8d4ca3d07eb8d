"""Prometheus metrics, for the scraper only: loopback callers or a bearer token from the environment. What is served
beyond django-prometheus's own: each app's collector (``config.collectors``)."""
from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django_prometheus.exports import ExportToDjangoView

from config.problems import problem_response

# Headers by which a reverse proxy names the client it relays for. Proxies differ in which they set (nginx's
# common recipe sets only X-Real-IP; RFC 7239's Forwarded; Racine's contract asks for X-Forwarded-For and -Proto),
# so any of them marks a relayed request.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_REAL_IP",
                      "HTTP_FORWARDED")


def _is_direct_loopback(request) -> bool:
    # A request relayed by a reverse proxy on this host arrives from loopback too; the proxy's forwarding headers
    # tell them apart, so such a request must present the token.
    if any(header in request.META for header in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _has_token(request) -> bool:
    expected = settings.RACINE_METRICS_TOKEN
    supplied = request.headers.get("Authorization", "")
    if not expected or not supplied.startswith("Bearer "):
        return False
    return hmac.compare_digest(supplied.removeprefix("Bearer ").encode(), expected.encode())


def is_operator_request(request) -> bool:
    """A caller allowed to see the instance's internals: loopback without a proxy in between, or the metrics
    token."""
    return _is_direct_loopback(request) or _has_token(request)


def metrics(request):
    if not is_operator_request(request):
        return problem_response(request, 403, "permission_denied",
                                "Metrics are served to loopback callers or with the metrics token.")
    return ExportToDjangoView(request)

