"""Every API response a test receives is checked against the OpenAPI schema the server publishes.

The autouse fixture ``_responses_match_openapi_schema`` (tests/conftest.py) wraps Django's test
``Client.request``, the one call every ``Client`` and DRF ``APIClient`` request goes through, so no test has to
opt in. The schema is generated once per session by drf-spectacular from the product's URLs (not a test's
``urls`` override), as ``/api/v1/schema/`` serves it. Each response under ``/api/v1/`` that is JSON
(``application/json``, ``application/problem+json``) or empty must match it, checked with ``openapi-core``: a
status the operation does not declare, an undeclared media type, a field of the wrong type, a null where none is
allowed, a value outside an enum — the test fails with the schema error.

Paths and methods the schema does not describe (the schema and docs views themselves, the 404 for an unknown
address, a 405) are not checked: there is no operation to check them against.
"""
from __future__ import annotations

import functools
import json

from django.core.exceptions import RequestDataTooBig
from openapi_core import Config, OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound

API_PREFIX = "/api/v1/"
PRODUCT_URLCONF = "config.urls"
JSON_TYPES = {"application/json", "application/problem+json"}


@functools.cache
def published_schema_document() -> dict:
    """The schema as a document (JSON-like dict), generated once per session."""
    from drf_spectacular.generators import SchemaGenerator

    # The product's URLconf by name: under @pytest.mark.urls, settings.ROOT_URLCONF is the test's.
    return SchemaGenerator(urlconf=PRODUCT_URLCONF).get_schema(request=None, public=True)


@functools.cache
def published_schema() -> OpenAPI:
    # openapi-core parses only application/json by itself; problems are JSON too. It would also validate the
    # document as OpenAPI in every test process (about 1.2 s of CPU each): tests/config/test_openapi_schema.py
    # does that once.
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads}, spec_validator_cls=None)
    return OpenAPI.from_dict(published_schema_document(), config=config)

class _RequestByPath(DjangoOpenAPIRequest):
    """Find the operation by the request's path: Django's route names the id ``pk`` where the schema says
    ``id``, and the route pattern of a regex URL is not an OpenAPI template."""

    @property
    def path_pattern(self) -> None:
        return None

    @property
    def body(self) -> bytes:
        # Only the response is checked; a body the server refused as too large cannot be read again.
        try:
            return super().body
        except RequestDataTooBig:
            return b""


def _should_check(response) -> bool:
    request = getattr(response, "wsgi_request", None)
    if request is None or not request.path.startswith(API_PREFIX):
        return False
    if getattr(response, "streaming", False):
        return False
    media_type = response.get("Content-Type", "").split(";")[0].strip()
    return media_type in JSON_TYPES or not response.content


def check_response(response) -> None:
    """Fail (AssertionError) when ``response`` contradicts the published schema."""
    if not _should_check(response):
        return
    request = response.wsgi_request
    try:
        published_schema().validate_response(_RequestByPath(request), DjangoOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound):
        return
    except Exception as error:  # openapi-core raises one of many ValidationError kinds; all mean a mismatch
        raise AssertionError(
            f"{request.method} {request.get_full_path()} answered {response.status_code} "
            f"{response.get('Content-Type', '')}, which the OpenAPI schema does not allow: {error}"
            f"{_reasons(error)}\nbody: {response.content[:2000]!r}") from error


def _reasons(error: BaseException | None) -> str:
    """The JSON Schema errors behind an openapi-core error, with the path of each offending value."""
    while error is not None:
        schema_errors = getattr(error, "schema_errors", None)
        if schema_errors:
            return "".join(f"\n  at /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in schema_errors)
        error = error.__cause__
    return ""

def validating(request_method):
    """Wrap ``Client.request`` so each response is checked before the test sees it."""

    @functools.wraps(request_method)
    def request(self, **request_kwargs):
        response = request_method(self, **request_kwargs)
        check_response(response)
        return response

    return request
