"""The run list and a run's page read as a steward would say them: runs named by their source and how they started,
the error in the list, what the progress counts, and drift as rows of before and after (issue 11, item 4)."""
import re
from html import unescape

import pytest
from django.urls import reverse

from scanning.admin import short_error
from scanning.models import DETECTION_PHASE, AssetChange, ScanRun
from tests.catalog.factories import AssetChangeFactory, DataSourceFactory, ScanRunFactory
from tests.scanning.test_admin import staff

LONG_ERROR = ("cannot reach PostgreSQL at db.internal.example:5432: the server closed the connection unexpectedly, "
              "which probably means it terminated abnormally before or while processing the request\nsecond line")


@pytest.fixture
def source(world):
    return DataSourceFactory(workspace=world.workspace_a, name="hr-postgres")


def text_of(response) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_run_list_names_runs_and_shows_their_error(world, source):
    failed = ScanRunFactory(scan__data_source=source, scan__name="Manual", status=ScanRun.Status.FAILED,
                            error=LONG_ERROR)
    nightly = ScanRunFactory(scan__data_source=source, scan__name="Nightly", trigger=ScanRun.Trigger.SCHEDULE,
                             added=3, changed=1, removed=0, unchanged=40)
    response = staff(world, "steward").get(reverse("admin:scanning_scanrun_changelist"))
    html = response.content.decode()
    assert f">Manual scan of hr-postgres #{failed.pk}</a>" in html
    assert f">Scheduled scan of hr-postgres #{nightly.pk} (Nightly)</a>" in html
    assert short_error(LONG_ERROR) in unescape(html) and "second line" not in html
    assert "3 added, 1 changed, 0 removed" in html


def test_a_short_error_is_its_first_line_cut_at_a_word():
    assert short_error(LONG_ERROR) == ("cannot reach PostgreSQL at db.internal.example:5432: the server closed the "
                                       "connection …")
    assert short_error("") == "—" and short_error("timeout\ntrace") == "timeout"


def test_a_run_page_is_titled_by_its_source_and_trigger_and_says_what_progress_counts(world, source):
    run = ScanRunFactory(scan__data_source=source, scan__name="Manual", status=ScanRun.Status.RUNNING,
                         phase=DETECTION_PHASE, objects_seen=12, progress_done=4, progress_total=4)
    response = staff(world, "steward").get(reverse("admin:scanning_scanrun_change", args=[run.pk]))
    html = response.content.decode()
    assert f"<h1>Manual scan of hr-postgres #{run.pk}</h1>" in html
    assert f"<title>Manual scan of hr-postgres #{run.pk} | Racine</title>" in html
    assert re.search(rf"&rsaquo; Manual scan of hr-postgres #{run.pk}\s*</div>", html)  # the breadcrumbs
    assert "tables sampled 4 of 4, after reading 12 schema objects" in html


def test_an_ended_scan_says_it_sampled_tables_after_reading_the_schema(world, source):
    # An ended run has no phase: its progress counted tables when it is not the objects it read.
    sampled = ScanRunFactory(scan__data_source=source, phase="", objects_seen=10, progress_done=2, progress_total=2)
    schema_only = ScanRunFactory(scan__data_source=source, phase="", objects_seen=10, progress_done=10,
                                 progress_total=9)
    client = staff(world, "steward")
    assert "tables sampled 2 of 2, after reading 10 schema objects" in client.get(
        reverse("admin:scanning_scanrun_change", args=[sampled.pk])).content.decode()
    assert "schema objects read 10 of about 9" in client.get(
        reverse("admin:scanning_scanrun_change", args=[schema_only.pk])).content.decode()


def test_schema_progress_says_it_is_an_estimate(world, source):
    run = ScanRunFactory(scan__data_source=source, status=ScanRun.Status.RUNNING, phase="schema",
                         progress_done=120, progress_total=300)
    html = staff(world, "steward").get(reverse("admin:scanning_scanrun_change", args=[run.pk])).content.decode()
    assert "schema objects read 120 of about 300" in html


def test_changes_are_a_table_of_before_and_after_not_json(world, source):
    run = ScanRunFactory(scan__data_source=source, added=1, changed=1, unchanged=10)
    column = AssetChangeFactory(run=run, kind=AssetChange.Kind.CHANGED, asset__name="salary",
                                changes={"data_type": ["integer", "bigint"], "is_nullable": [True, False],
                                         "properties": [{}, {"max_length": 12}]}).asset
    AssetChangeFactory(run=run, kind=AssetChange.Kind.ADDED, asset__name="bonus", changes={})
    client = staff(world, "steward")
    for url in (reverse("admin:scanning_scanrun_change", args=[run.pk]),
                reverse("admin:scanning_assetchange_changelist") + f"?run__id__exact={run.pk}"):
        response = client.get(url)
        html = response.content.decode()
        rows = re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td><td>(.*?)</td></tr>', html)
        assert rows == [("data type", "integer", "bigint"), ("nullable", "yes", "no"),
                        ("properties", "—", "max_length: 12")], url
        assert '"data_type"' not in html and "[&quot;integer" not in html and "['integer'" not in html, url
        assert "new in the source" in html, url
        assert reverse(f"admin:catalog_{column.type}asset_change", args=[column.pk]) in html, url
    run_page = client.get(reverse("admin:scanning_scanrun_change", args=[run.pk])).content.decode()
    assert "All 2 changes of this run</a> (listed below)" in run_page


def test_a_first_scan_says_how_many_objects_it_added(world, source):
    run = ScanRunFactory(scan__data_source=source, added=32)
    response = staff(world, "steward").get(reverse("admin:scanning_scanrun_change", args=[run.pk]))
    text = text_of(response)
    assert "This was the source's first scan: it added 32 objects to the catalog." in text
    assert "All 0 changes" not in text
    listed = text_of(staff(world, "steward").get(reverse("admin:scanning_scanrun_changelist")))
    assert "32 objects added" in listed


def test_a_rescan_without_drift_says_nothing_changed(world, source):
    run = ScanRunFactory(scan__data_source=source, unchanged=32)
    text = text_of(staff(world, "steward").get(reverse("admin:scanning_scanrun_change", args=[run.pk])))
    assert "None: the source was as the previous scan saw it." in text
