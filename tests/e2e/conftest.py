"""A real browser (Debian's Chromium, driven by Playwright) against a live Racine server.

Playwright's own browser download is not used (the machines reach no CDN): the tests launch the system
Chromium. Locally, without it, they skip; under CI (``CI`` set) they fail, and ``.ci/run`` installs it.
"""
from __future__ import annotations

import os
import shutil
from urllib.parse import urlparse

import pytest

from tests.e2e.pages import COUNT_FETCHES
from tests.support.services import running_in_ci

CHROMIUM = os.environ.get("RACINE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# The flags the machine's documentation gives for a headless Chromium with no network beyond loopback.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if running_in_ci():
            pytest.fail(f"{message}; CI requires it", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        new_context = browser.new_context

        def new_counting_context(*args, **kwargs):
            context = new_context(*args, **kwargs)
            context.add_init_script(COUNT_FETCHES)
            return context

        browser.new_context = new_counting_context  # every context's pages count their fetches, for settle()
        yield browser
        browser.close()


class Page:
    """A browser tab that records every request leaving for another origin, and console errors."""

    def __init__(self, page, origin: str):
        self.page, self.origin = page, origin
        self.external: list[str] = []
        self.console_errors: list[str] = []
        page.on("request", self._request)
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))

    def _request(self, request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if f"{url.scheme}://{url.netloc}" != self.origin:
            self.external.append(request.url)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context()
    tab = Page(context.new_page(), live_server.url)
    yield tab
    context.close()
