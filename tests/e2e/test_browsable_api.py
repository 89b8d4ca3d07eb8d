"""The browsable API in a real browser (issue 11, item 6): an anonymous visitor is offered the login, the login asks
for the password then the TOTP code, the API and its documentation open, and Swagger UI authorizes with a token.
Screenshots go to var/screenshots/."""
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.authentication import api_token_create
from tests.accounts.test_mfa import StaffFactory, TOTPDeviceFactory, totp_code
from tests.e2e.pages import settle
from tests.support.factories import TEST_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str) -> None:
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(folder / f"browsable-{name}.png"), full_page=True)


def test_anonymous_visitor_logs_in_with_password_and_totp_then_uses_api_and_docs(page, live_server):
    staff = StaffFactory(username="engineer")
    device = TOTPDeviceFactory(user=staff)
    tab = page.page

    tab.goto(f"{live_server.url}/api/v1/")
    assert tab.locator("h1").inner_text() == "Racine API, version 1"
    assert "Authentication credentials were not provided." in tab.inner_text(".response-info")
    shoot(page, "1-root-anonymous")

    tab.goto(f"{live_server.url}/api/v1/docs/")
    assert tab.locator("h1").inner_text() == "Authentication required"
    shoot(page, "2-docs-anonymous")
    tab.click(".next-step a")  # "Log in", back to the docs afterwards
    tab.fill("#id_username", "engineer")
    tab.fill("#id_password", TEST_PASSWORD)
    shoot(page, "3-login")
    tab.click("input[type=submit]")
    settle(tab)
    assert "/accounts/mfa/verify/" in tab.url  # the password alone opens nothing
    shoot(page, "4-verify")

    tab.fill("input[name=code]", totp_code(device))
    tab.click("input[type=submit]")
    tab.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert tab.url.endswith("/api/v1/docs/")
    shoot(page, "5-docs")

    tab.goto(f"{live_server.url}/api/v1/")
    assert "data-sources" in tab.inner_text(".response-info")
    assert "Each link below lists one kind of resource." in tab.inner_text(".content-main")
    shoot(page, "6-root-verified")

    tab.click("a.dropdown-toggle")  # the user menu: "Log out" must work under the page's CSP (no inline script)
    tab.click(".api-logout button")
    settle(tab)
    assert tab.goto(f"{live_server.url}/api/v1/me/").status == 401
    assert not [error for error in page.console_errors if "Content Security Policy" in error]
    assert page.external == []


def test_swagger_ui_authorizes_with_an_api_token(page, live_server):
    staff = StaffFactory(username="engineer")
    device = TOTPDeviceFactory(user=staff)
    _, secret = api_token_create(user=staff, name="swagger", scope="read", acting_user=staff,
                                 expires_at=timezone.now() + timedelta(days=1))
    tab = page.page
    tab.goto(f"{live_server.url}/api-auth/login/?next=/api/v1/docs/")
    tab.fill("#id_username", "engineer")
    tab.fill("#id_password", TEST_PASSWORD)
    tab.click("input[type=submit]")
    settle(tab)
    tab.fill("input[name=code]", totp_code(device))
    tab.click("input[type=submit]")
    tab.wait_for_selector(".swagger-ui .opblock", timeout=20_000)

    tab.click(".auth-wrapper button.authorize")
    bearer = tab.locator(".auth-container").filter(has_text="bearerToken")
    bearer.locator("#auth-bearer-value").fill(secret)
    shoot(page, "7-authorize")
    bearer.locator("button.authorize").click()
    bearer.get_by_text("Logout").wait_for()  # Swagger UI holds the token now
    tab.locator(".dialog-ux .close-modal").click()

    # Try GET /api/v1/me/ with the token: Swagger UI sends it as a bearer header.
    sent = []
    tab.on("request", lambda request: "/api/v1/me/" in request.url and sent.append(request.headers))
    operation = tab.locator("#operations-me-me_list, [id^='operations-me-']").first
    operation.click()
    tab.click(".try-out__btn")
    tab.click(".execute")
    tab.wait_for_selector(".live-responses-table .response-col_status", timeout=10_000)
    shoot(page, "8-try-it-out")
    assert sent and sent[0].get("authorization") == f"Bearer {secret}"
    assert tab.locator(".live-responses-table tbody .response-col_status").first.inner_text().strip() == "200"
