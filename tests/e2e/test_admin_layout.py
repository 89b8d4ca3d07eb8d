"""Every admin page a steward or an administrator can reach fits a 1400-pixel-wide window and shows no raw JSON.

The catalog is a real one: a PostgreSQL source with HR and customer data and a table whose names are as long as
PostgreSQL allows, scanned, reviewed, changed and scanned again (so runs, drift, evidence and the audit trail hold
what scans and services write), plus a failed run with a long error and a row of every other registered model.
Each persona opens every changelist (filters open), the change page of its first row and the add page, in
Chromium at 1400 × 900; the test lists every page whose document is wider than the window, and every field or cell
that shows a JSON object or list as text (outside the System section, whose internal models administrators read
as stored). A screenshot (JPEG) of each page (the steward's, then those only the administrator opens) goes to
var/screenshots/layout/.

The pages are checked in two parts, the catalog's and all the others (two classes: each a unit that pytest-xdist's
``--dist loadscope`` can hand to its own process); each part builds the same catalog and signs both personas in.
In one piece this was the suite's longest test (about 215 s on a loaded machine, against 2 minutes for the whole
suite); the parts are about even.
"""
from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actors import SYSTEM
from accounts.admin_site import SYSTEM_APPS
from catalog import services as catalog_services
from catalog.models import AssetClassification
from scanning.models import ScanRun
from sources import services as source_services
from tests.catalog.factories import ScanRunFactory
from tests.e2e.hr_source import hr_database
from tests.e2e.pages import settle
from tests.e2e.test_browser import sign_in
from tests.support.personas import build_world
from tests.support.target_dbs import run_scan
from tests.test_admin_list_queries import ROWS

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WIDTH = 1400
SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots" / "layout"
LONG_TABLE = "customer_communication_preferences_history_for_marketing_2024"  # 62: PostgreSQL allows 63
LONG_SQL = f"""
CREATE TABLE {LONG_TABLE} (
    id serial PRIMARY KEY, preferred_contact_channel_for_marketing_communications text,
    customer_email_address_at_the_time_of_the_preference_change varchar(255));
INSERT INTO {LONG_TABLE} (preferred_contact_channel_for_marketing_communications,
                          customer_email_address_at_the_time_of_the_preference_change)
SELECT 'email', 'client' || n || '@mail' || (n % 4) || '.example' FROM generate_series(1, 40) AS n;
"""
LONG_ERROR = ("could not connect to server: Connection refused. Is the server running on host "
              "\"replica-eu-west-1.customer-relationship-management.internal.example.com\" (10.24.113.9) and "
              "accepting TCP/IP connections on port 5432? The connection was retried 5 times with backoff; the "
              "last attempt timed out after 10 s. " * 2)

# The document's width, and every box that scrolls sideways within the page (Django puts a changelist's table in
# one: the columns past the edge are as hidden as those of a wider page), as "selector (content/box px)".
OVERFLOW = """() => {
  const found = [];
  const page = document.documentElement.scrollWidth;
  if (page > WIDTH) found.push(`page (${page} px)`);
  for (const box of document.querySelectorAll('#container *')) {
    const style = getComputedStyle(box);
    // A list box (the permissions' two-list picker) scrolling its long option names is the widget's own.
    if (!['auto', 'scroll'].includes(style.overflowX) || ['TEXTAREA', 'SELECT'].includes(box.tagName)) continue;
    if (box.scrollWidth > box.clientWidth + 1) {
      const name = box.id ? `#${box.id}` : `${box.tagName.toLowerCase()}.${[...box.classList].join('.')}`;
      found.push(`${name} (${box.scrollWidth}/${box.clientWidth} px)`);
    }
  }
  return found;
}""".replace("WIDTH", str(WIDTH))

# Shows any readonly field or list cell whose whole text is a JSON object or list with something in it.
RAW_JSON = """() => {
  const raw = [];
  for (const cell of document.querySelectorAll('div.readonly, #result_list td, #result_list th, .inline-group td')) {
    const text = cell.innerText.trim();
    if (!/^[\\[{]/.test(text)) continue;
    try {
      const value = JSON.parse(text);
      if (value && typeof value === 'object' && Object.keys(value).length) raw.push(text.slice(0, 80));
    } catch (error) { /* not JSON */ }
  }
  return raw;
}"""


def _catalog(world, url, database):
    """The HR source registered, scanned, reviewed, changed at the source and scanned again."""
    source = source_services.datasource_create(
        workspace=world.workspace_a, acting_user=SYSTEM,
        name="Customer relationship management — production replica (read only)", engine="postgresql",
        host=url.hostname, port=url.port or 5432, database=database, username=url.username or "postgres",
        password=url.password or "")
    first = run_scan(source)
    assert first.status == ScanRun.Status.SUCCEEDED, first.error
    suggested = list(AssetClassification.objects.filter(asset__data_source=source,
                                                        status=AssetClassification.Status.SUGGESTED)[:2])
    for decision, row in zip([AssetClassification.Status.CONFIRMED, AssetClassification.Status.REJECTED],
                             suggested, strict=True):
        catalog_services.asset_classifications_decide(asset_classifications=[row], decision=decision,
                                                      acting_user=world.user("steward"))
    return source


def _change(conn, source):
    conn.execute("ALTER TABLE customers ADD COLUMN backup_email varchar(255)")
    conn.execute("ALTER TABLE customers ALTER COLUMN city TYPE varchar(120)")
    conn.execute("ALTER TABLE employees DROP COLUMN department")
    second = run_scan(source)
    assert second.status == ScanRun.Status.SUCCEEDED, second.error
    ScanRunFactory(scan=second.scan, status=ScanRun.Status.FAILED, error=LONG_ERROR)


# The pages that are no model's changelist: the home, the review queue, the header search's results, the glossary's
# import (by screenshot name); checked with the pages of the apps other than the catalog.
OTHER_PAGES = {"home": lambda: reverse("admin:index"),
               "review": lambda: reverse("admin:catalog_assetclassification_review"),
               "search": lambda: f"{reverse('asset-search')}?q=customer",
               "glossary-import": lambda: reverse("admin:catalog_glossaryterm_import")}


def _in_catalog_part(app_label: str) -> bool:
    return app_label == "catalog"


def _in_other_part(app_label: str) -> bool:
    return not _in_catalog_part(app_label)


def _pages(tab, base_url, persona, shot: set[str], in_part, other_pages: bool) -> tuple[list[str], list[str]]:
    """(pages wider than the window, pages showing raw JSON) among the admin pages ``persona`` can open of the models
    whose app ``in_part`` accepts (and the pages of :data:`OTHER_PAGES` when ``other_pages``). Each page not in
    ``shot`` yet (by name) is saved as a screenshot and added to it."""
    wide, raw = [], []

    def visit(url: str, name: str, internal: bool) -> bool:
        response = tab.goto(f"{base_url}{url}")
        if response.status != 200:
            assert response.status in (403, 404), f"{persona}: {url} answered {response.status}"
            return False
        settle(tab)
        tab.evaluate("() => document.querySelectorAll('#changelist-filter details').forEach(d => d.open = true)")
        overflows = tab.evaluate(OVERFLOW)
        wide.extend(f"{url}: {where}" for where in overflows)
        if not internal:  # the System section's models (the event outbox's payloads) are kept as stored
            raw.extend(f"{url}: {text}" for text in tab.evaluate(RAW_JSON))
        if name not in shot or overflows:
            shot.add(name)
            # JPEG rather than lossless PNG: a hundred-odd full pages, looked at by a person, never compared pixel by
            # pixel, and the smaller and quicker file to write.
            tab.screenshot(path=str(SCREENSHOTS / f"{persona}-{name}.jpg"), full_page=True, quality=85)
        return True

    for name, url in OTHER_PAGES.items() if other_pages else ():
        visit(url(), name, False)
    for model in admin.site._registry:
        if not in_part(model._meta.app_label):
            continue
        label = f"{model._meta.app_label}_{model._meta.model_name}"
        internal = model._meta.app_label in SYSTEM_APPS
        try:
            changelist = reverse(f"admin:{label}_changelist")
        except NoReverseMatch:
            continue  # an admin with no pages of its own (the asset typeahead answers autocomplete only)
        if not visit(changelist, f"{label}-list", internal):
            continue
        first = tab.locator("#result_list tbody tr").first.locator("th a, td a").first
        change = first.get_attribute("href") if first.count() else None
        if change:
            visit(change, f"{label}-change", internal)
            curation = tab.locator("#edit-curation")  # an asset's "Edit curation" page (catalog.admin_curation)
            if curation.count():
                visit(curation.get_attribute("href"), f"{label}-curation", internal)
        if tab.locator("a.addlink").count() or persona == "superuser":
            visit(reverse(f"admin:{label}_add"), f"{label}-add", internal)
    return wide, raw


def _screenshot_part(name: str, labels: dict[str, str]) -> bool | None:
    """Whether the page named ``name`` (a screenshot's name without its persona) is in the catalog's part; None for a
    page no registered model or :data:`OTHER_PAGES` names any more (a removed model's)."""
    if name in OTHER_PAGES:
        return False
    app_label = labels.get(name.rsplit("-", 1)[0])
    return None if app_label is None else _in_catalog_part(app_label)


def _clear_old_screenshots(catalog_part: bool) -> None:
    """This part's screenshots of an earlier run (the catalog's part's, or the others' and those of pages that no
    longer exist), not the other part's, which may be running at the same time."""
    labels = {f"{model._meta.app_label}_{model._meta.model_name}": model._meta.app_label
              for model in admin.site._registry}
    for old in [*SCREENSHOTS.glob("*.png"), *SCREENSHOTS.glob("*.jpg")]:
        part = _screenshot_part(old.stem.split("-", 1)[-1], labels)
        if part == catalog_part or (part is None and not catalog_part):
            old.unlink(missing_ok=True)


class TestCatalogPages:
    def test_no_admin_page_overflows_1400_pixels_or_shows_raw_json(self, browser, live_server):
        _check_pages(browser, live_server, _in_catalog_part, other_pages=False)


class TestEveryOtherPage:
    def test_no_admin_page_overflows_1400_pixels_or_shows_raw_json(self, browser, live_server):
        _check_pages(browser, live_server, _in_other_part, other_pages=True)


def _check_pages(browser, live_server, in_part, other_pages: bool) -> None:
    world = build_world()
    for make in ROWS.values():
        make(world, world.user("superuser"))
    with hr_database(LONG_SQL) as (url, database, conn):
        source = _catalog(world, url, database)
        _change(conn, source)
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _clear_old_screenshots(catalog_part=not other_pages)

    problems, shot = {}, set()
    for persona in ("steward", "superuser"):
        user = world.user(persona)
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        context = browser.new_context(viewport={"width": WIDTH, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        sign_in(type("Tab", (), {"page": tab}), live_server, user.username)
        tab.fill("input[name=code]", f"{totp(device.bin_key):06d}")
        tab.click("input[type=submit]")
        tab.wait_for_url(f"{live_server.url}/admin/")
        problems[persona] = _pages(tab, live_server.url, persona, shot, in_part, other_pages)
        context.close()

    overflowing = {persona: wide for persona, (wide, _) in problems.items() if wide}
    showing_json = {persona: raw for persona, (_, raw) in problems.items() if raw}
    assert (overflowing, showing_json) == ({}, {}), "\n".join(
        f"{persona} {kind}: {line}" for kind, found in (("overflow", overflowing), ("raw JSON", showing_json))
        for persona, lines in found.items() for line in lines)
