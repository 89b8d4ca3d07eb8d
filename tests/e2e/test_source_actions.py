"""In a real browser, a steward's work on a data source where it is (issue 11, item 4): register a PostgreSQL source
with its driver options as form fields, Test connection and Scan now from its page, follow the message's link to the
run, change the source and scan again, and read the drift as rows of before and after. Every page fits 1400 px."""
import pytest
from django.conf import settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.wording import counted
from scanning.models import ScanRun
from sources.models import DataSource
from tests.catalog.factories import ScanRunFactory
from tests.e2e.pages import settle
from tests.e2e.test_browser import sign_in
from tests.support import target_dbs
from tests.support.personas import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTH = 1400
HR_SETUP = """
CREATE TABLE employees (id integer PRIMARY KEY, email text NOT NULL, full_name text, salary integer);
INSERT INTO employees SELECT i, 'person' || i || '@example.com', 'Person ' || i, 40000 + i
    FROM generate_series(1, 30) i;
CREATE TABLE departments (id integer PRIMARY KEY, name text);
"""
# What a failed run recorded elsewhere: the run list must show its first words without widening the page.
LONG_ERROR = ("cannot reach PostgreSQL at a-very-long-host-name-of-the-reporting-replica.internal.example.org:5432: "
              "the server closed the connection unexpectedly; this probably means the server terminated abnormally")


@pytest.fixture
def hr_database():
    with target_dbs.pg_server() as (url, admin), target_dbs.pg_database(admin, url, "racine_t_hr") as (name, conn):
        conn.execute(HR_SETUP)
        yield name, url, conn


def save_screenshot(page, name: str) -> None:
    folder = settings.BASE_DIR / "var" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def assert_fits(page, name: str) -> None:
    """No horizontal scrolling: not of the page, nor of a list inside its own scroll box (the admin's results
    scroll sideways rather than widen the page, which hid the last columns)."""
    save_screenshot(page, name)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{name}: the page is {width} px wide at a {WIDTH} px window"
    hidden = page.evaluate("[...document.querySelectorAll('.results')].map(box => box.scrollWidth - box.clientWidth)")
    assert all(extra <= 0 for extra in hidden), f"{name}: the list scrolls sideways by {hidden} px"


def messages_on(page) -> list[str]:
    """The messages shown (the admin's template capitalises their first letter: "Hr-postgres: …")."""
    return [text.strip() for text in page.locator("ul.messagelist li").all_text_contents()]


def press(page, button: str) -> None:
    page.click(f"button[data-button={button}]")
    settle(page)


def test_register_test_scan_and_read_the_runs(page, live_server, hr_database, settings):
    settings.RACINE_TARGET_ALLOW_LOCAL = True  # the target is this machine's PostgreSQL, as on a laptop
    name, url, target = hr_database
    world = build_world()
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    device = TOTPDevice.objects.create(user=steward, name="phone", confirmed=True)
    tab = page.page
    tab.set_viewport_size({"width": WIDTH, "height": 900})
    sign_in(page, live_server, steward.username, path="/admin/sources/datasource/add/")
    tab.fill("input[name=code]", f"{totp(device.bin_key):06d}")
    tab.click("input[type=submit]")
    settle(tab)
    assert tab.url.endswith("/admin/sources/datasource/add/")

    # Register: the steward's one workspace is chosen; the options are fields of the chosen engine only.
    assert tab.locator("#id_workspace option:checked").inner_text() == "Workspace A"
    tab.fill("#id_name", "hr-postgres")
    tab.select_option("#id_engine", "postgresql")
    assert tab.locator("fieldset.engine-postgresql").is_visible()
    assert not tab.locator("fieldset.engine-mysql").is_visible()
    assert tab.locator("textarea[name=options]").count() == 0
    tab.fill("#id_host", url.hostname)
    tab.fill("#id_port", str(url.port or 5432))
    tab.fill("#id_database", name)
    tab.fill("#id_username", url.username or "postgres")
    tab.select_option("#id_postgresql_sslmode", "disable")
    tab.fill("#id_postgresql_connect_timeout", "5")
    assert "never lengthen it" in tab.inner_text(".field-postgresql_connect_timeout")
    assert_fits(tab, "source-add")
    tab.click("input[name=_continue]")
    settle(tab)
    source = DataSource.objects.get(name="hr-postgres")
    assert source.options == {"sslmode": "disable", "connect_timeout": "5"}
    assert tab.url.endswith(f"/admin/sources/datasource/{source.pk}/change/")

    # Test connection: the server, named, and the session read-only.
    press(tab, "test-connection")
    assert tab.url.endswith(f"/admin/sources/datasource/{source.pk}/change/")
    (tested,) = messages_on(tab)
    assert tested.startswith("Test: connected to PostgreSQL ") and "(read-only session)" in tested, tested
    assert_fits(tab, "source-tested")

    # Scan now: in the embedded default the run has ended when the page answers, and says what it did.
    press(tab, "scan-now")
    run = ScanRun.objects.get(data_source=source)
    title = f"Manual scan of hr-postgres #{run.pk}"
    (scanned,) = messages_on(tab)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        assert run.status == ScanRun.Status.SUCCEEDED, run.error
        assert scanned == (f"Hr-postgres: scan finished: {run.added} objects added to the catalog, "
                           f"{counted(run.columns_classified, 'column')} classified. {title}"), scanned
    else:
        assert scanned == f"Hr-postgres: scan queued; its page shows its progress: {title}", scanned
    assert_fits(tab, "source-scanned")

    tab.click(f"ul.messagelist a:text-is('{title}')")
    settle(tab)
    assert tab.locator("h1").inner_text() == title
    run.refresh_from_db()
    content = tab.inner_text("#content")
    assert f"This was the source's first scan: it added {run.added} objects to the catalog." in content
    assert f"tables sampled 2 of 2, after reading {run.objects_seen} schema objects" in content
    assert run.progress_done == run.progress_total == 2  # employees and departments
    assert tab.locator(".field-datasource_display a").inner_text() == "hr-postgres"
    assert_fits(tab, "run-first-scan")

    # The source changes; a second scan shows its drift as rows of before and after.
    target.execute("ALTER TABLE employees ALTER COLUMN salary TYPE bigint; ALTER TABLE employees ALTER COLUMN "
                   "full_name SET NOT NULL; ALTER TABLE employees ADD COLUMN phone text")
    tab.click(".field-datasource_display a")
    settle(tab)
    press(tab, "scan-now")
    second = ScanRun.objects.filter(data_source=source).order_by("-pk").first()
    assert second.status == ScanRun.Status.SUCCEEDED, second.error
    tab.click(f"ul.messagelist a:text-is('Manual scan of hr-postgres #{second.pk}')")
    settle(tab)
    rows = [[cell.strip() for cell in row.locator("th, td").all_inner_texts()]
            for row in tab.locator("table.drift-table tbody tr").all()]
    assert ["data type", "integer", "bigint"] in rows and ["nullable", "yes", "no"] in rows, rows
    assert "new in the source" in tab.inner_text("#content")  # the phone column
    assert '"data_type"' not in tab.content()
    assert_fits(tab, "run-drift")

    # The run list: runs by source and trigger, the error of a failed one, within the window.
    ScanRunFactory(scan=second.scan, status=ScanRun.Status.FAILED, error=LONG_ERROR)
    tab.goto(f"{live_server.url}/admin/scanning/scanrun/")
    listed = tab.inner_text("#result_list")
    assert f"Manual scan of hr-postgres #{second.pk}" in listed and "cannot reach PostgreSQL at" in listed
    assert "1 added, 2 changed, 0 removed" in listed and "10 objects added" in listed
    assert_fits(tab, "run-list")
    tab.goto(f"{live_server.url}/admin/sources/datasource/")
    assert "hr-postgres" in tab.inner_text("#result_list")
    assert_fits(tab, "source-list")
    assert page.external == []
