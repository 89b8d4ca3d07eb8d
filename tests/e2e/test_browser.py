"""In a real browser: the Racine login, the administrator's first sign-in with enrolment of an authenticator, and
the API documentation — all served by this server alone."""
import base64
import re

import pytest
from django_otp.oath import totp

from accounts.models import User
from tests.e2e.pages import settle
from tests.support.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def current_code(secret: str) -> str:
    """What an authenticator app shows for the base32 key printed on the enrolment page."""
    key = base64.b32decode(secret.strip().replace(" ", "").upper() + "=" * (-len(secret.strip()) % 8))
    return f"{totp(key):06d}"


def sign_in(page, live_server, username: str, path: str = "/admin/") -> None:
    page.page.goto(f"{live_server.url}{path}")
    page.page.fill("#id_username", username)
    page.page.fill("#id_password", TEST_PASSWORD)
    page.page.click("input[type=submit]")
    settle(page.page)


def test_first_admin_sign_in_enrols_an_authenticator_then_opens_the_admin(page, live_server):
    admin = UserFactory(username="chief", is_staff=True, is_superuser=True)
    page.page.goto(f"{live_server.url}/admin/login/")
    assert page.page.title() == "Log in | Racine"
    assert page.page.inner_text("#site-name") == "Racine"

    sign_in(page, live_server, admin.username)
    assert "/accounts/mfa/enrol/" in page.page.url  # no device yet: the admin sends them to enrol
    assert page.page.locator(".mfa-qr svg").count() == 1  # the QR code is drawn by the server
    secret = page.page.locator("code").first.inner_text()
    page.page.fill("input[name=code]", current_code(secret))
    page.page.click("input[type=submit]")
    settle(page.page)
    assert "backup" in page.page.content().lower()  # the backup codes, shown once

    page.page.goto(f"{live_server.url}/admin/")
    assert page.page.url.endswith("/admin/")
    assert page.page.locator("#site-name").inner_text() == "Racine"
    assert page.page.locator("a[href='/admin/sources/datasource/']").count() > 0
    assert User.objects.get(pk=admin.pk).totpdevice_set.filter(confirmed=True).count() == 1
    assert page.external == []


def test_api_docs_render_from_this_server_alone(page, live_server):
    engineer = UserFactory(username="engineer")  # not staff: signs in through the browsable API's login
    sign_in(page, live_server, engineer.username, path="/api-auth/login/?next=/api/v1/docs/")
    assert page.page.url.endswith("/api/v1/docs/")
    page.page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert page.page.locator(".swagger-ui .opblock").count() > 20
    assert re.search(r"Racine API", page.page.inner_text(".swagger-ui .info"))
    assert page.external == []
    assert [error for error in page.console_errors if "favicon" not in error and "404" not in error] == []


def test_the_steward_home_shows_their_counts_and_fits_1400_pixels(page, live_server, tmp_path):
    from django.conf import settings
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.support.home_data import WORKSPACE_A, WORKSPACE_B, build_workspace
    from tests.support.personas import build_world

    world = build_world()
    expected = build_workspace(world.workspace_a, WORKSPACE_A).expected()
    build_workspace(world.workspace_b, WORKSPACE_B)  # another workspace's: must not show
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    device = TOTPDevice.objects.create(user=steward, name="phone", confirmed=True)

    page.page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page, live_server, steward.username)
    assert "/accounts/mfa/verify/" in page.page.url
    page.page.fill("input[name=code]", f"{totp(device.bin_key):06d}")
    page.page.click("input[type=submit]")
    settle(page.page)
    assert page.page.url.endswith("/admin/")

    shown = {element.get_attribute("data-count"): int(element.inner_text())
             for element in page.page.locator("[data-count]").all()}
    assert {name: shown[name] for name in expected} == expected
    assert "CRM" not in page.page.inner_text("#content")  # workspace B's source
    assert page.page.locator(".home-chart svg rect").count() > 0
    assert page.page.locator(".app-system").count() == 0  # a steward has no internal models to see
    assert page.page.evaluate("document.documentElement.scrollWidth") <= 1400
    screenshots = settings.BASE_DIR / "var" / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(screenshots / "home-steward.png"), full_page=True)

    page.page.click("[data-count=review]")
    settle(page.page)
    assert f"{expected['review']} asset classification" in page.page.inner_text("#changelist-form")
    assert page.external == []
