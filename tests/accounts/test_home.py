"""The steward's home (the admin index, accounts.home and each app's home.py): each persona's counts, each number a
link to the list that shows as many rows, internal models under System for administrators only, a number of
queries that does not grow with the catalog, and panels contributed by apps through the registry."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import home
from tests.support.home_data import WORKSPACE_A, WORKSPACE_B, Recipe, build_source, build_workspace
from tests.support.personas import verified_client

pytestmark = pytest.mark.django_db


class Numbers(HTMLParser):
    """Every ``data-count`` of a page: its name, the number shown and the link it is (None for a plain figure)."""

    def __init__(self):
        super().__init__()
        self.found: dict[str, tuple[int, str | None]] = {}
        self._open: tuple[str, str | None] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-count" in attrs:
            self._open = (attrs["data-count"], attrs.get("href") if tag == "a" else None)

    def handle_data(self, data):
        if self._open and data.strip():
            name, href = self._open
            self.found[name] = (int(data.strip()), href)
            self._open = None


def numbers(response) -> dict[str, tuple[int, str | None]]:
    parser = Numbers()
    parser.feed(response.content.decode())
    return parser.found


def staff_client(world, persona):
    user = world.user(persona)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return verified_client(user)


@pytest.fixture
def catalog(world):
    return {"A": build_workspace(world.workspace_a, WORKSPACE_A), "B": build_workspace(world.workspace_b, WORKSPACE_B)}


def _sum(*built) -> dict[str, int]:
    total: dict[str, int] = {}
    for one in built:
        for name, count in one.expected().items():
            total[name] = total.get(name, 0) + count
    return total


SEES = {"steward": ("A",), "analyst": ("A",), "workspace_admin": ("A",), "other_workspace_user": ("B",),
        "auditor": ("A", "B"), "superuser": ("A", "B")}


@pytest.mark.parametrize("persona", sorted(SEES))
def test_each_persona_counts_what_their_role_may_see(world, catalog, persona):
    shown = numbers(staff_client(world, persona).get(reverse("admin:index")))
    expected = _sum(*(catalog[name] for name in SEES[persona]))
    assert {name: shown[name][0] for name in expected} == expected
    assert shown["sensitive-total"][0] == sum(expected[f"sensitive-{level}"] for level in
                                              ("restricted", "confidential", "internal", "public"))


def test_a_steward_sees_only_their_workspace_by_name(world, catalog):
    page = staff_client(world, "steward").get(reverse("admin:index")).content.decode()
    assert "HR database" in page and "Web shop" in page
    assert "CRM" not in page


@pytest.mark.parametrize("persona", ["steward", "auditor"])
def test_every_number_links_to_a_list_showing_as_many_rows(world, catalog, persona):
    client = staff_client(world, persona)
    shown = numbers(client.get(reverse("admin:index")))
    links = {name: (count, href) for name, (count, href) in shown.items() if href}
    assert len(links) >= 20  # the sources, runs, drift, review, sensitivity and classification figures
    for name, (count, href) in links.items():
        response = client.get(href)
        assert response.status_code == 200, (name, href)
        assert response.context["cl"].result_count == count, (name, href)


def test_per_source_figures_add_up_to_the_totals(world, catalog):
    shown = numbers(staff_client(world, "auditor").get(reverse("admin:index")))
    for level in ("restricted", "confidential", "internal", "public"):
        per_source = [count for name, (count, _) in shown.items()
                      if name.startswith("sensitive-source-") and name.endswith(f"-{level}")]
        assert sum(per_source) == shown[f"sensitive-{level}"][0]
    for status in ("suggested",):
        per_classification = [count for name, (count, _) in shown.items()
                              if name.startswith("classification-") and name.endswith(f"-{status}")]
        assert sum(per_classification) == shown["review"][0]


def test_the_review_panel_names_the_suggestion_waiting_longest(world, catalog):
    response = staff_client(world, "steward").get(reverse("admin:index"))
    (review,) = [shown for shown in response.context["home_panels"] if shown.part.key == "review"]
    oldest = review.data["oldest"]
    assert oldest.asset.data_source.workspace == world.workspace_a
    assert review.data["oldest_url"] in response.content.decode()
    assert review.data["may_decide"] is True
    # A percentage, as the queue and the column's page say it (it read "0.90 confidence" here).
    assert f"(confidence {round(oldest.confidence * 100)}%)" in response.content.decode()


def test_charts_are_drawn_by_the_server_without_scripts(world, catalog):
    page = staff_client(world, "steward").get(reverse("admin:index")).content.decode()
    charts = re.findall(r"<svg viewBox=.*?</svg>", page, flags=re.S)
    assert len(charts) == 2
    assert all("<rect" in chart and "<script" not in chart for chart in charts)
    assert "HR database" in charts[0]


def test_system_section_is_for_administrators_only(world, catalog):
    admin_page = staff_client(world, "superuser").get(reverse("admin:index"))
    sections = {app["app_label"]: app for app in admin_page.context["app_list"]}
    assert {"otp_totp", "otp_static", "django_celery_beat", "auth", "core"}.isdisjoint(sections)
    system_models = {model["name"] for model in sections["system"]["models"]}
    assert {"Second factor: authenticator apps", "Schedules: solar events", "Schedules: one-off (clocked)",
            "Permission groups", "Domain events (outbox)"} <= system_models
    assert list(sections)[-1] == "system"

    for persona in ("steward", "analyst", "workspace_admin"):
        page = staff_client(world, persona).get(reverse("admin:index"))
        labels = [app["app_label"] for app in page.context["app_list"]]
        assert "system" not in labels, persona
        assert labels[:3] == ["sources", "scanning", "catalog"], persona
        html = page.content.decode()
        assert "Clocked" not in html and "TOTP" not in html and "Groups" not in html, persona


def test_an_app_page_of_a_system_app_still_opens_for_an_administrator(world):
    client = staff_client(world, "superuser")
    assert client.get(reverse("admin:app_list", args=["django_celery_beat"])).status_code == 200


def test_a_staff_member_without_workspace_sees_no_panel_and_is_told_why(world, catalog):
    response = staff_client(world, "outsider").get(reverse("admin:index"))
    assert response.context["home_panels"] == []
    assert "not a member of any workspace" in response.content.decode()


def test_queries_do_not_grow_with_the_catalog(world, catalog):
    client = staff_client(world, "steward")
    client.get(reverse("admin:index"))  # content types and the like, cached for the process

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("admin:index")).status_code == 200
        return len(queries)

    before = count()
    for index in range(4):
        build_source(world.workspace_a, Recipe(f"More {index}", {"restricted": 3, "internal": 2}, suggested=2,
                                               confirmed=1, failed_runs=2, drift={"added": 3, "changed": 2}))
    assert count() == before


def test_a_later_app_adds_its_panel_through_the_registry(world, catalog, monkeypatch):
    monkeypatch.setattr(home.PANELS, "_parts", dict(home.PANELS._parts))

    @home.panel(key="lineage", title="Lineage", template="admin/home/review.html", order=35)
    def lineage(request):
        return {"count": 7, "url": "/admin/", "oldest": None, "may_decide": False}

    response = staff_client(world, "steward").get(reverse("admin:index"))
    keys = [shown.part.key for shown in response.context["home_panels"]]
    assert keys == ["sources", "runs", "review", "suggestions", "lineage", "drift", "sensitive"]
    assert 'id="panel-lineage"' in response.content.decode()


def test_two_panels_cannot_share_a_key():
    home.PANELS.registered()
    with pytest.raises(ValueError, match="two home panels named 'review'"):
        home.panel(key="review", title="Another", template="x.html", order=1)(lambda request: None)


def test_a_moment_under_a_minute_old_reads_just_now():
    """Regression: a run queued seconds ago read "0 minutes ago" on the home."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.templatetags.racine import ago

    now = timezone.now()
    assert ago(now - timedelta(seconds=5)) == "just now"
    assert ago(now - timedelta(hours=3, minutes=2)) == "3\xa0hours, 2\xa0minutes ago"
    assert ago(None) == ""


def test_admin_pages_name_their_icon(client):
    """Regression: browsers asked for /favicon.ico, a 404 logged as a console error on every admin page."""
    from django.contrib.staticfiles import finders

    page = client.get(reverse("admin:login")).content.decode()
    assert '<link rel="icon" href="/static/racine/favicon.svg"' in page
    assert finders.find("racine/favicon.svg")
