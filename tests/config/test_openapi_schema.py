"""The published OpenAPI schema tells the truth about responses, errors included, and the test suite holds every
response to it (tests.support.openapi)."""
import json

import pytest
from django.urls import reverse

from tests.support.openapi import check_response, published_schema_document

pytestmark = pytest.mark.django_db


def _operation(path: str, method: str) -> dict:
    return published_schema_document()["paths"][path][method]


def _json_schema(path: str, method: str, status: str, media_type: str = "application/json") -> dict:
    return _operation(path, method)["responses"][status]["content"][media_type]["schema"]


@pytest.mark.parametrize(("path", "component"), [("/api/v1/me/", "Me"), ("/api/v1/mfa/", "MfaStatus")])
def test_callers_own_resources_are_one_object_not_an_array(world, path, component):
    assert _json_schema(path, "get", "200") == {"$ref": f"#/components/schemas/{component}"}
    assert isinstance(world.client("analyst").get(path).json(), dict)


def test_the_published_schema_is_valid_openapi():
    """Checked here once rather than by openapi-core in every test process (tests.support.openapi)."""
    from openapi_spec_validator import validate

    validate(published_schema_document())


def test_json_members_are_typed_as_objects():
    components = published_schema_document()["components"]["schemas"]
    assert components["AssetClassification"]["properties"]["evidence"]["type"] == "object"
    assert components["Asset"]["properties"]["properties"]["type"] == "object"
    assert components["Asset"]["properties"]["profile"]["type"] == "object"


def test_every_operation_declares_its_problem_responses():
    paths = published_schema_document()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            for status in ("401", "403", "429") + (("404",) if "{" in path else ()):
                declared = operation["responses"][status]["content"]
                assert declared == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}, (
                    method, path, status)


def test_a_response_the_schema_does_not_allow_fails_the_test(world):
    response = world.client("analyst").get(reverse("api:me-list"))
    response.content = json.dumps([response.json()]).encode()  # what the schema used to promise
    with pytest.raises(AssertionError, match="GET /api/v1/me/ answered 200"):
        check_response(response)


def test_an_undeclared_status_fails_the_test(world):
    response = world.client("analyst").get(reverse("api:me-list"))
    response.status_code = 418
    with pytest.raises(AssertionError, match="answered 418"):
        check_response(response)


def test_problem_bodies_are_checked_too(world):
    response = world.client("anonymous").get(reverse("api:me-list"))
    assert response.status_code == 401
    response.content = json.dumps({**response.json(), "status": "401"}).encode()
    with pytest.raises(AssertionError, match="status"):
        check_response(response)
