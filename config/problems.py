"""One error format for every API error: RFC 9457 problem details.

Every error an API client can receive — validation, authentication, permission, not found, method, conflict,
a body over the size limit, throttling and unexpected failures — is rendered here as ``application/problem+json``
with ``type``, ``title``, ``status``, ``detail``, ``code``, field ``errors`` where there are some, ``instance`` and
the ``request_id`` that finds the server's log lines. A traceback never reaches the client; it goes to the log.

Browsers get the same problem as HTML, by content negotiation on ``Accept``: the browsable API shows it in its own
page, and every other view under /api/ (the documentation, the schema, an unknown address) answers an HTML error
page that says what to do next (log in, verify the second factor). A client that asks for JSON or for anything
(``*/*``, what curl and HTTP libraries send) gets ``application/problem+json``, whatever the view renders when it
succeeds.

Django's own exceptions that are the client's fault become their 4xx here, once, for every view: a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``RequestDataTooBig``) is 413, other ``SuspiciousOperation``s (too many fields, …)
400, and a delete refused by ``on_delete=PROTECT`` (``ProtectedError``) 409 naming what still refers to the object.
"""
from __future__ import annotations

import logging
from collections import Counter

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import exception_handler as drf_exception_handler

from config.request_id import current_request_id

logger = logging.getLogger("racine.errors")

PROBLEM_CONTENT_TYPE = "application/problem+json"
API_PREFIX = "/api/"
# What a problem can be answered as, in the order that wins a tie: an Accept of */* gets JSON.
PROBLEM_MEDIA_TYPES = [PROBLEM_CONTENT_TYPE, "application/json", "text/html", "application/xhtml+xml"]
HTML_MEDIA_TYPES = {"text/html", "application/xhtml+xml"}
HTML_FORMATS = {"api", "html"}
PROBLEM_PAGE_TEMPLATE = "rest_framework/problem.html"

TITLES = {
    400: "Invalid request",
    401: "Authentication required",
    403: "Permission denied",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class Conflict(exceptions.APIException):
    """The request clashes with the current state of a resource (e.g. a scan of this source is running)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"

    def __init__(self, detail=None, code=None, *, extra: dict | None = None):
        super().__init__(detail, code)
        self.extra = extra or {}


class ContentTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "content_too_large"


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request is malformed."
    default_code = "bad_request"


def _too_large_detail() -> str:
    return f"The request body is larger than the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes."


def _blocked_by(exc: ProtectedError) -> dict[str, int]:
    """``{"data sources": 3, …}``: what still refers to the object, counted by kind (no names: the caller may not
    see those objects)."""
    counts = Counter(type(obj) for obj in exc.protected_objects)
    return {str(model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural): count
            for model, count in sorted(counts.items(), key=lambda item: item[0]._meta.label)}


def _as_api_exception(exc):
    """Django's exceptions that are the client's fault, as the API exceptions DRF renders; others unchanged."""
    if isinstance(exc, DjangoValidationError):
        if not hasattr(exc, "error_dict"):
            return exceptions.ValidationError(exc.messages)
        # Django's key for errors of no one field ("__all__") reads as DRF's: a problem's ``field`` is null.
        return exceptions.ValidationError({api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field:
                                           messages for field, messages in exc.message_dict.items()})
    if isinstance(exc, RequestDataTooBig):
        return ContentTooLarge(_too_large_detail())
    if isinstance(exc, SuspiciousOperation):
        return BadRequest()
    if isinstance(exc, ProtectedError):
        blocked = _blocked_by(exc)
        listed = ", ".join(f"{count} {name}" for name, count in blocked.items())
        return Conflict(f"Cannot delete: still referred to by {listed}; delete those first.", code="protected",
                        extra={"blocked_by": blocked})
    return exc


def problem(status_code: int, *, code: str, detail: str, instance: str | None = None,
            errors: list[dict] | None = None, extra: dict | None = None) -> dict:
    body = {
        "type": f"urn:racine:problem:{code}",
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        "code": code,
        "instance": instance,
        "request_id": current_request_id(),
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def _field_errors(detail, prefix: str = "") -> list[dict]:
    """Flatten DRF's nested error structure into ``[{field, code, detail}]`` with dotted field paths."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            # A nested serializer's own errors (a list's length, its validate()) belong to the field it is.
            field = prefix if key == "non_field_errors" else (f"{prefix}.{key}" if prefix else str(key))
            errors.extend(_field_errors(value, field))
        return errors
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail) for item in detail):
            return [{"field": prefix or None, "code": item.code, "detail": str(item)} for item in detail]
        errors = []
        for index, value in enumerate(detail):
            errors.extend(_field_errors(value, f"{prefix}.{index}" if prefix else str(index)))
        return errors
    return [{"field": prefix or None, "code": getattr(detail, "code", "invalid"), "detail": str(detail)}]


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def api_exception_handler(exc, context):
    """DRF's exception handler, reshaped into problem details."""
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API exception: ApiExceptionMiddleware answers 500 and logs the traceback
    request = context.get("request")
    instance = request.path if request is not None else None
    if isinstance(exc, exceptions.ValidationError):
        body = problem(response.status_code, code="validation_error", instance=instance,
                       detail="The request has invalid fields; see errors.", errors=_field_errors(exc.detail))
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        if isinstance(exc, Http404):
            code, detail = "not_found", "Not found."
        elif isinstance(exc, DjangoPermissionDenied):
            code, detail = "permission_denied", "You do not have permission to perform this action."
        else:
            code = _code_of(exc)
        body = problem(response.status_code, code=code, detail=str(detail), instance=instance,
                       extra=getattr(exc, "extra", None))
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["retry_after"] = int(exc.wait)
    headers = dict(response.items())
    if _renders_browsable_api(request):
        # The browsable API shows the problem inside its HTML page, which keeps its own type (not problem+json,
        # or a browser would print the page's source as text).
        return Response(body, status=response.status_code, headers=headers)
    if request is not None and wants_html(request):
        return problem_page(request, body, headers=headers)
    if _renders_json(request):
        return Response(body, status=response.status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)
    # A view that renders something else when it succeeds (the docs' HTML, the schema's YAML), or one whose
    # content negotiation failed: the problem is still JSON.
    return problem_json_response(body, headers=headers)


def _renders_browsable_api(request) -> bool:
    return isinstance(getattr(request, "accepted_renderer", None), BrowsableAPIRenderer)


def _renders_json(request) -> bool:
    media_type = getattr(getattr(request, "accepted_renderer", None), "media_type", "")
    return media_type == "application/json" or media_type.endswith("+json")


def wants_html(request) -> bool:
    """Whether the client prefers HTML to JSON: a browser's ``Accept`` (``text/html,…,*/*;q=0.8``), or the
    ``?format=api`` DRF offers. ``*/*`` alone, or no ``Accept`` at all, prefers JSON."""
    http_request = getattr(request, "_request", request)
    url_format = http_request.GET.get(api_settings.URL_FORMAT_OVERRIDE) if api_settings.URL_FORMAT_OVERRIDE else None
    if url_format:
        return url_format in HTML_FORMATS
    return http_request.get_preferred_type(PROBLEM_MEDIA_TYPES) in HTML_MEDIA_TYPES


def problem_page(request, body: dict, *, headers: dict | None = None) -> HttpResponse:
    """The problem as an HTML page for a browser, with the way out (log in, verify the second factor) where there
    is one (rest_framework/next_step.html)."""
    http_request = getattr(request, "_request", request)
    response = render(http_request, PROBLEM_PAGE_TEMPLATE, {"problem": body, "name": body["title"]},
                      status=body["status"])
    for header, value in (headers or {}).items():
        if header.lower() != "content-type":
            response[header] = value
    patch_vary_headers(response, ["Accept"])
    return response


def problem_json_response(body: dict, *, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE, encoder=JSONEncoder)
    for header, value in (headers or {}).items():
        if header.lower() != "content-type":
            response[header] = value
    patch_vary_headers(response, ["Accept"])
    return response


def problem_response(request, status_code: int, code: str, detail: str) -> HttpResponse:
    """A problem answered outside DRF's views (middleware, URL catch-all, Django's handlers), negotiated the same
    way: an HTML page for a browser, ``application/problem+json`` otherwise."""
    body = problem(status_code, code=code, detail=detail, instance=request.path)
    if wants_html(request):
        return problem_page(request, body)
    return problem_json_response(body)


def is_api_request(request) -> bool:
    return request.path.startswith(API_PREFIX)


class ApiExceptionMiddleware:
    """Unexpected exceptions under /api/ become a JSON 500, in DEBUG too; the traceback goes to the log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_api_request(request):
            return None
        if isinstance(exception, SuspiciousOperation):
            return bad_request(request, exception)  # the client's fault (e.g. a body over the limit), in DEBUG too
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(request, 500, "server_error",
                                "An unexpected error occurred. Quote the request id when reporting it.")


@csrf_exempt  # it changes nothing; without this a token client's POST to a wrong address got an HTML 403
def api_not_found(request, *args, **kwargs):
    return problem_response(request, 404, "not_found", "No API endpoint at this address.")


def bad_request(request, exception=None):
    """Django's 400 handler (``handler400``), which gets the ``SuspiciousOperation``s raised outside DRF's views:
    in a middleware or a form view such as the admin's. A body over the size limit is 413 there too."""
    too_large = isinstance(exception, RequestDataTooBig)
    if is_api_request(request):
        if too_large:
            return problem_response(request, 413, "content_too_large", _too_large_detail())
        return problem_response(request, 400, "bad_request", BadRequest.default_detail)
    if too_large:
        return HttpResponse(_too_large_detail(), status=413, content_type="text/plain; charset=utf-8")
    return defaults.bad_request(request, exception)
