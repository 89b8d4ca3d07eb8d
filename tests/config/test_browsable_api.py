"""The browsable API in a browser: pages titled in the models' words, and no 500 on an action's page."""
import re

import pytest

from tests.catalog.factories import DataSourceFactory
from tests.support.factories import UserFactory
from tests.support.personas import verified_client

pytestmark = pytest.mark.django_db

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def browser():
    return verified_client(UserFactory(is_staff=True, is_superuser=True))


def title(response) -> str:
    return re.search(r"<title>(.*?)</title>", response.content.decode(), re.S).group(1).strip()


@pytest.mark.parametrize(("path", "expected"), [
    ("/api/v1/data-sources/", "Data sources – Racine API"),
    ("/api/v1/asset-classifications/", "Asset classifications – Racine API"),
    ("/api/v1/scan-runs/", "Scan runs – Racine API"),
    ("/api/v1/me/", "Me – Racine API"),
    ("/api/v1/detections/", "Detection – Racine API"),
])
def test_pages_are_titled_in_the_models_words(browser, path, expected):
    assert title(browser.get(path, HTTP_ACCEPT=BROWSER)) == expected


def test_one_object_is_titled_by_its_model(browser):
    source = DataSourceFactory()
    assert title(browser.get(f"/api/v1/data-sources/{source.pk}/", HTTP_ACCEPT=BROWSER)) == "Data source – Racine API"


def test_the_scan_action_page_in_a_browser_is_a_405_not_a_500(browser):
    # Regression: the browsable API asked the scan action's view for a serializer to draw its POST form; it had none.
    source = DataSourceFactory()
    response = browser.get(f"/api/v1/data-sources/{source.pk}/scan/", HTTP_ACCEPT=BROWSER)
    assert response.status_code == 405 and response["Content-Type"].startswith("text/html")
    assert title(response) == "Scan – Racine API"


def test_log_out_works_without_inline_script(browser):
    # Regression: DRF's log-out link submitted its form from an inline onclick, which the Content-Security-Policy
    # (script-src 'self') blocks, so clicking "Log out" did nothing. The page carries no inline event handler and
    # logs out with a plain form.
    page = browser.get("/api/v1/", HTTP_ACCEPT=BROWSER).content.decode()
    assert not re.search(r"\son[a-z]+=", page)
    logout = re.search(r'<form class="api-logout" method="post" action="([^"]+)"', page).group(1)
    assert logout == "/api-auth/logout/?next=/api/v1/"
    assert browser.post(logout).status_code == 302
    assert browser.get("/api/v1/me/", HTTP_ACCEPT=BROWSER).status_code == 401


def test_a_description_shows_code_as_code_not_as_backticks(browser):
    # Regression: the data source page read "write-only (``password`` in, ``has_secret`` out)", backticks and the
    # docstring's line breaks as typed.
    page = browser.get("/api/v1/data-sources/", HTTP_ACCEPT=BROWSER).content.decode()
    description = re.search(r'<div class="pull-left">(.*?)</div>', page, re.S).group(1)
    assert "``" not in description and "<br" not in description
    assert "write-only (<code>password</code> in, <code>has_secret</code> out). Creating a source needs" in description
