"""Every API error, whatever raised it, is RFC 9457 problem details with the request id — never HTML."""
import pytest
from rest_framework.test import APIClient

from accounts.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.config.urls")]

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "instance", "request_id"}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:racine:problem:{code}"
    assert body["request_id"] == response["X-Request-ID"]
    return body


def test_invalid_payload_is_400_with_field_errors(api_client):
    body = assert_problem(api_client.post("/api/v1/_test/validate", {"name": "too long", "tags": ["x"]},
                                          format="json"), 400, "validation_error")
    fields = {(error["field"], error["code"]) for error in body["errors"]}
    assert fields == {("name", "max_length"), ("tags.0", "invalid")}


def test_malformed_json_is_400(api_client):
    response = api_client.post("/api/v1/_test/validate", "{not json", content_type="application/json")
    assert_problem(response, 400, "parse_error")


def test_anonymous_request_is_401_with_challenge(api_client):
    response = api_client.get("/api/v1/me/")
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_missing_grant_is_403(api_client):
    api_client.force_authenticate(User.objects.create_user("reader", password="x" * 12))
    assert_problem(api_client.get("/api/v1/_test/forbidden"), 403, "permission_denied")


def test_unknown_api_address_is_404_json_even_in_debug(api_client, settings):
    settings.DEBUG = True
    assert_problem(api_client.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_unknown_api_address_is_404_json_for_a_write_without_csrf_token():
    # A token client sends no CSRF token; the catch-all must not answer with the CSRF failure's HTML page.
    client = APIClient(enforce_csrf_checks=True)
    assert_problem(client.delete("/api/v1/no-such-thing/"), 404, "not_found")


def test_form_encoded_body_is_415(api_client):
    response = api_client.post("/api/v1/_test/validate", {"name": "x", "tags": "1"}, format="multipart")
    assert_problem(response, 415, "unsupported_media_type")


def test_wrong_method_is_405(api_client):
    api_client.force_authenticate(User.objects.create_user("someone", password="x" * 12))
    assert_problem(api_client.delete("/api/v1/me/"), 405, "method_not_allowed")


def test_conflict_is_409_with_extension_members(api_client):
    body = assert_problem(api_client.post("/api/v1/_test/conflict"), 409, "conflict")
    assert body["running_run"] == 7


def test_throttled_request_is_429_with_retry_after(api_client):
    assert api_client.get("/api/v1/_test/throttled").status_code == 200
    response = api_client.get("/api/v1/_test/throttled")
    body = assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert body["retry_after"] > 0


@pytest.mark.parametrize("url", ["/api/v1/_test/broken", "/api/v1/_test/plain-broken"])
@pytest.mark.parametrize("debug", [False, True])
def test_failing_view_is_json_500_without_traceback(api_client, settings, caplog, url, debug):
    settings.DEBUG = debug
    response = api_client.get(url)
    body = assert_problem(response, 500, "server_error")
    text = response.content.decode()
    assert "Traceback" not in text and "hunter2" not in text and "RuntimeError" not in text
    # The traceback goes to the server's log instead, under the same request id.
    logged = [record for record in caplog.records if record.name == "racine.errors"]
    assert logged and logged[0].exc_info and logged[0].request_id == body["request_id"]


@pytest.mark.parametrize("page_size", ["abc", "0", "-1", "1.5", ""])
def test_page_size_that_is_not_a_positive_integer_is_400(world, page_size):
    response = world.client("analyst").get("/api/v1/workspaces/", {"page_size": page_size})
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"] == [{"field": "page_size", "code": "invalid", "detail": "A positive integer is required."}]


@pytest.mark.parametrize("value", ["maybe", "1", "0", "yes"])
def test_boolean_filter_that_is_not_true_or_false_is_400(world, value):
    response = world.client("analyst").get("/api/v1/classifications/", {"is_active": value})
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"] == [{"field": "is_active", "code": "invalid", "detail": "Use true or false."}]


@pytest.mark.parametrize("value", ["true", "False", ""])
def test_boolean_filter_reads_true_false_and_empty(world, value):
    assert world.client("analyst").get("/api/v1/classifications/", {"is_active": value}).status_code == 200


def test_browsable_api_shows_problem_inside_its_html_page(api_client):
    # A browser asks for HTML: the problem is rendered in the browsable API's page, which must be served as HTML,
    # or the browser prints the page's source as plain text.
    response = api_client.post("/api/v1/_test/validate", {"name": "too long", "tags": ["x"]}, format="json",
                               HTTP_ACCEPT="text/html")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "urn:racine:problem:validation_error" in response.content.decode()
