"""The API's documentation is served from this server alone (the machines have no internet), to signed-in users."""
import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.authentication import api_token_create
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


def test_operations_with_a_query_string_document_the_servers_414(reader_client):
    """Regression (the CI fuzz): gunicorn refuses a request line past 4,094 bytes with 414 before Racine sees it."""
    schema = reader_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operations = [operation for path in schema["paths"].values() for operation in path.values()]
    with_query = [op for op in operations if any(p["in"] == "query" for p in op.get("parameters", []))]
    assert with_query and all("414" in op["responses"] for op in with_query)
    assert not any("414" in op["responses"] for op in operations if op not in with_query)


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


def test_swagger_ui_can_authorize_with_an_api_token(reader_client):
    # Swagger UI offers "Authorize" for each security scheme of the schema; every operation accepts the token.
    schema = reader_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["components"]["securitySchemes"]["bearerToken"]["type"] == "http"
    assert schema["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    operations = [operation for path in schema["paths"].values() for operation in path.values()]
    assert operations and all({"bearerToken": []} in operation["security"] for operation in operations)


def test_schema_answers_a_token_client():
    owner = UserFactory()
    _, secret = api_token_create(user=owner, name="docs", scope="read", acting_user=owner,
                                 expires_at=timezone.now() + timedelta(days=1))
    response = APIClient().get("/api/v1/schema/", HTTP_AUTHORIZATION=f"Bearer {secret}",
                               HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200 and response.json()["info"]["title"] == "Racine API"


def test_api_description_promises_nothing_that_is_not_built():
    from django.conf import settings

    description = settings.SPECTACULAR_SETTINGS["DESCRIPTION"].lower()
    assert "data sources" in description and "classifications" in description
    for planned in ("glossary", "lineage", "compliance", "workflow", "dashboard"):
        assert planned not in description
