"""The API's documentation is served from this server alone (the machines have no internet), to signed-in users."""
import re
from urllib.parse import urlparse

import pytest

from tests.support.factories import UserFactory
from tests.support.personas import verified_client

pytestmark = pytest.mark.django_db

REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)""")


def references(html: str) -> list[str]:
    return [a or b for a, b in REFERENCE.findall(html)]


@pytest.fixture
def reader_client():
    return verified_client(UserFactory())


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_page_and_everything_it_loads_come_from_this_server(reader_client, path):
    response = reader_client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assets = references(html)
    assert assets, "the page loads its UI from static files"
    for asset in assets:
        parsed = urlparse(asset)
        assert not parsed.netloc and parsed.scheme in ("", "data"), f"external reference {asset}"
        if parsed.scheme != "data":
            assert reader_client.get(asset).status_code == 200, asset
    assert "fonts.googleapis.com" not in html and "cdn" not in html.lower()


def test_swagger_ui_initialiser_is_not_inline(reader_client):
    # The content security policy allows no inline script: the initialiser is a separate same-origin script.
    html = reader_client.get("/api/v1/docs/").content.decode()
    assert not re.search(r"<script>(?!\s*</script>)", html)
    script = reader_client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content


def test_schema_is_openapi_3_for_signed_in_users(reader_client):
    response = reader_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/"])
def test_schema_and_docs_refused_to_anonymous(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/"])
def test_schema_and_docs_refused_to_an_unverified_staff_session(path):
    # Regression: the docs views used IsAuthenticated alone and skipped the MFA gate every API view has.
    staff = UserFactory(is_staff=True)
    assert verified_client(staff, verified=False).get(path).status_code == 403
    assert verified_client(staff).get(path).status_code == 200
