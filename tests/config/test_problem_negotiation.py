"""Problems by content negotiation (issue 11, item 6): a browser gets HTML that says what to do next, an API client
``application/problem+json`` — on API endpoints, the documentation, the schema and addresses with no endpoint."""
import pytest
from rest_framework.test import APIClient

from tests.support.factories import UserFactory
from tests.support.personas import verified_client

pytestmark = pytest.mark.django_db

# What Chromium and Firefox send for a page.
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
API_CLIENTS = ["*/*", "application/json", None]
ENDPOINT_AND_PAGES = ["/api/v1/", "/api/v1/assets/", "/api/v1/docs/", "/api/v1/redoc/", "/api/v1/schema/"]


def get(client, path: str, accept: str | None):
    return client.get(path, **({"HTTP_ACCEPT": accept} if accept else {}))


def assert_html(response, status: int) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert html.lstrip().lower().startswith("<!doctype html>") or "<html" in html[:500]
    return html


@pytest.mark.parametrize("path", ENDPOINT_AND_PAGES)
def test_anonymous_browser_gets_an_html_page_with_a_login_link(path):
    html = assert_html(get(APIClient(), path, BROWSER), 401)
    assert f'href="/api-auth/login/?next={path}"' in html
    assert "Authentication credentials were not provided." in html


@pytest.mark.parametrize("path", ["/api/v1/assets/", "/api/v1/docs/", "/api/v1/schema/"])
@pytest.mark.parametrize("accept", API_CLIENTS)
def test_anonymous_api_client_gets_problem_json(path, accept):
    response = get(APIClient(), path, accept)
    if path == "/api/v1/docs/" and accept == "application/json":
        # The documentation is an HTML page: a client that takes only JSON is told so, in JSON.
        expected = 406
    else:
        expected = 401
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.status_code == expected
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == expected and body["instance"] == path


@pytest.mark.parametrize("path", ENDPOINT_AND_PAGES)
def test_unverified_session_in_a_browser_is_sent_to_verify_its_second_factor(path):
    client = verified_client(UserFactory(is_staff=True), verified=False)
    html = assert_html(get(client, path, BROWSER), 403)
    assert f'href="/accounts/mfa/verify/?next={path}"' in html
    assert "Verify your second factor" in html


@pytest.mark.parametrize("path", ["/api/v1/assets/", "/api/v1/docs/", "/api/v1/schema/"])
def test_unverified_session_of_an_api_client_gets_mfa_required_problem(path):
    response = verified_client(UserFactory(is_staff=True), verified=False).get(path, HTTP_ACCEPT="*/*")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "mfa_required"


def test_unknown_api_address_is_an_html_404_for_a_browser_and_a_problem_for_a_client():
    html = assert_html(get(APIClient(), "/api/v1/no-such-thing/", BROWSER), 404)
    assert "No API endpoint at this address." in html and "/api-auth/login/" not in html.split("</ul>", 1)[1]
    response = get(APIClient(), "/api/v1/no-such-thing/", "application/json")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_missing_object_in_the_browsable_api_is_an_html_404():
    client = verified_client(UserFactory(is_superuser=True, is_staff=True))
    html = assert_html(get(client, "/api/v1/assets/999999/", BROWSER), 404)
    assert "urn:racine:problem:not_found" in html
    response = get(client, "/api/v1/assets/999999/", "application/json")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


def test_format_parameter_overrides_a_browser_accept():
    response = get(APIClient(), "/api/v1/assets/?format=json", BROWSER)
    assert response.status_code == 401 and response["Content-Type"] == "application/problem+json"


def test_html_problem_page_tells_the_request_id():
    response = get(APIClient(), "/api/v1/docs/", BROWSER)
    assert response["X-Request-ID"] in response.content.decode()
    assert "Accept" in response["Vary"]


def test_api_root_describes_itself():
    client = verified_client(UserFactory())
    html = assert_html(get(client, "/api/v1/", BROWSER), 200)
    assert "The default basic root view for DefaultRouter" not in html
    assert "Racine API, version 1" in html and "/api/v1/docs/" in html


def test_api_root_lists_every_prefix_including_one_two_apps_register():
    # Regression: sources and scanning both register "data-sources"; the root dropped it.
    root = verified_client(UserFactory()).get("/api/v1/", HTTP_ACCEPT="application/json").json()
    assert root["data-sources"].endswith("/api/v1/data-sources/")
    assert {"assets", "scans", "scan-runs", "classifications", "tokens"} <= root.keys()


def test_html_problem_page_lists_the_invalid_fields():
    # Regression: a 400 from a view with no browsable page of its own (the export) said "see errors" in a browser
    # and showed none; the page lists each field with what is wrong with it.
    client = verified_client(UserFactory(is_staff=True, is_superuser=True))
    unknown = assert_html(get(client, "/api/v1/assets/export/?colour=blue", BROWSER), 400)
    assert "<code>colour</code>: Unknown query parameter." in unknown
    invalid = assert_html(get(client, "/api/v1/assets/export/?sensitivity=bogus", BROWSER), 400)
    assert "<code>sensitivity</code>: Select a valid choice. bogus is not one of the available choices." in invalid
