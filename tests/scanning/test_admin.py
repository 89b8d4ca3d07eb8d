"""The stewards' back office for data sources, scans, runs and assets: scoped like the API, secret write-only,
every change through a service."""
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from accounts.models import AuditEvent
from catalog import search
from catalog.models import Asset
from scanning.models import Scan, ScanRuleSet, ScanRun
from sources import crypto
from sources import services as datasources
from sources.models import DataSource
from sources.services import connection_test_slot
from tests.catalog.factories import (
    AssetChangeFactory,
    AssetFactory,
    DataSourceFactory,
    ScanFactory,
    ScanRuleSetFactory,
    ScanRunFactory,
)
from tests.support.personas import verified_client

SECRET = "admin-form-secret-never-rendered"


def staff(world, persona):
    user = world.user(persona)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = verified_client(user)
    # Admin forms are posted as HTML forms, not as the API client's default JSON.
    post = client.post
    client.post = lambda url, data=None, **kwargs: post(url, data, format="multipart", **kwargs)
    return client


@pytest.fixture
def sources(world):
    return (DataSourceFactory(workspace=world.workspace_a, name="Alpha shop", encrypted_secret=crypto.encrypt(SECRET)),
            DataSourceFactory(workspace=world.workspace_b, name="Bravo warehouse"))


def test_steward_changelists_show_only_their_workspace(world, sources):
    mine, theirs = sources
    ScanRunFactory(scan__data_source=mine, scan__name="Alpha nightly")
    ScanRunFactory(scan__data_source=theirs, scan__name="Bravo nightly")
    AssetFactory(data_source=mine, name="alpha_customers")
    AssetFactory(data_source=theirs, name="bravo_payroll")
    client = staff(world, "steward")
    pages = {name: client.get(reverse(f"admin:{name}_changelist")) for name in (
        "sources_datasource", "scanning_scanrun", "scanning_scan", "catalog_tableasset")}
    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.content.decode()
        assert "Bravo" not in html and "bravo" not in html, name
    assert "Alpha shop" in pages["sources_datasource"].content.decode()
    assert "Alpha nightly" in pages["scanning_scanrun"].content.decode()
    assert "alpha_customers" in pages["catalog_tableasset"].content.decode()
    response = client.get(reverse("admin:sources_datasource_change", args=[theirs.pk]))
    assert response.status_code == 302  # Django's admin answers "does not exist" by redirecting to the index


def test_source_page_links_each_source_to_its_latest_run(world, sources):
    """The last-run column is read with the page (an annotation), not with one query per source."""
    mine, _ = sources
    quiet = DataSourceFactory(workspace=world.workspace_a, name="Quiet shop")
    older = ScanRunFactory(scan__data_source=mine, status=ScanRun.Status.FAILED)
    latest = ScanRunFactory(scan=older.scan, status=ScanRun.Status.SUCCEEDED)
    ScanRun.objects.filter(pk=older.pk).update(queued_at=latest.queued_at - timedelta(hours=1))
    response = staff(world, "steward").get(reverse("admin:sources_datasource_changelist"))
    rows = {source.pk: source for source in response.context_data["cl"].result_list}
    assert (rows[mine.pk].last_run_id, rows[mine.pk].last_run_status) == (latest.pk, ScanRun.Status.SUCCEEDED)
    assert rows[quiet.pk].last_run_id is None
    html = response.content.decode()
    assert f'<a href="{reverse("admin:scanning_scanrun_change", args=[latest.pk])}">#{latest.pk} Succeeded</a>' in html
    assert f"#{older.pk} Failed" not in html


def test_secret_never_renders_in_change_form(world, sources):
    mine, _ = sources
    html = staff(world, "workspace_admin").get(reverse("admin:sources_datasource_change", args=[mine.pk]))
    assert html.status_code == 200
    text = html.content.decode()
    assert 'type="password"' in text and 'name="password"' in text
    assert SECRET not in text and mine.encrypted_secret not in text


def _form(source, **changes):
    data = {"name": source.name, "engine": source.engine, "host": source.host, "port": source.port or "",
            "database": source.database, "username": source.username,
            "password": ""}
    data.update(changes)
    return data


def test_blank_password_keeps_secret_and_change_goes_through_service(world, sources):
    mine, _ = sources
    response = staff(world, "steward").post(reverse("admin:sources_datasource_change", args=[mine.pk]),
                                            _form(mine, name="Orders and customers"))
    assert response.status_code == 302, response.content.decode()[:2000]
    before = mine.name
    mine.refresh_from_db()
    assert mine.name == "Orders and customers" and crypto.decrypt(mine.encrypted_secret) == SECRET
    event = AuditEvent.objects.get(event="datasource.changed")
    assert event.changes == {"name": [before, "Orders and customers"]} and event.actor_label == "steward"


def test_new_password_replaces_secret_and_is_redacted_in_audit(world, sources):
    mine, _ = sources
    response = staff(world, "steward").post(reverse("admin:sources_datasource_change", args=[mine.pk]),
                                            _form(mine, password="a-brand-new-password"))
    assert response.status_code == 302
    mine.refresh_from_db()
    assert crypto.decrypt(mine.encrypted_secret) == "a-brand-new-password"
    assert AuditEvent.objects.get(event="datasource.changed").changes == {"encrypted_secret": ["***", "***"]}


def test_invalid_option_is_a_form_error_not_a_server_error(world, sources):
    mine, _ = sources
    response = staff(world, "steward").post(reverse("admin:sources_datasource_change", args=[mine.pk]),
                                            _form(mine, postgresql_sslrootcert="/etc/passwd-not-a-ca",
                                                  password=SECRET))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["postgresql_sslrootcert"]  # on the field, not above the form
    assert "CA files may only be read from the folders in RACINE_TLS_CA_DIRS" in errors["postgresql_sslrootcert"][0]
    assert SECRET not in response.content.decode()
    assert not AuditEvent.objects.filter(event="datasource.changed").exists()


def test_add_offers_only_workspaces_where_user_may_add(world):
    client = staff(world, "steward")
    html = client.get(reverse("admin:sources_datasource_add")).content.decode()
    assert "Workspace A" in html and "Workspace B" not in html
    response = client.post(reverse("admin:sources_datasource_add"), {
        "workspace": world.workspace_a.pk, "name": "New source", "engine": "postgresql",
        "host": "db.example.test", "port": "5432", "database": "shop", "username": "scanner",
        "description": "", "password": SECRET})
    assert response.status_code == 302, response.content.decode()[:2000]
    created = DataSource.objects.get(name="New source")
    assert crypto.decrypt(created.encrypted_secret) == SECRET and created.created_by == world.user("steward")
    assert AuditEvent.objects.filter(event="datasource.created", object_id=str(created.pk)).exists()


def test_scan_now_action_queues_a_run_and_reports_conflicts(world, sources):
    mine, _ = sources
    client = staff(world, "steward")
    url = reverse("admin:sources_datasource_changelist")
    response = client.post(url, {"action": "scan_now", "_selected_action": [mine.pk]}, follow=True)
    run = ScanRun.objects.get(data_source=mine)
    assert run.trigger == ScanRun.Trigger.MANUAL and run.requested_by == world.user("steward")
    url_of_run = reverse("admin:scanning_scanrun_change", args=[run.pk])
    link = f'<a href="{url_of_run}">Manual scan of Alpha shop #{run.pk}</a>'
    assert f"Alpha shop: scan queued; its page shows its progress: {link}" in response.content.decode()
    response = client.post(url, {"action": "scan_now", "_selected_action": [mine.pk]}, follow=True)
    assert f"already queued or running: {link}." in response.content.decode()
    assert ScanRun.objects.filter(data_source=mine).count() == 1


def test_test_connection_action_reports_failure_without_secret(world, sources):
    mine, _ = sources
    mine.host, mine.port = "127.0.0.1", 1
    mine.save()
    response = staff(world, "steward").post(reverse("admin:sources_datasource_changelist"),
                                            {"action": "test_connection", "_selected_action": [mine.pk]},
                                            follow=True)
    text = response.content.decode()
    assert "connection failed" in text and SECRET not in text


def test_test_connection_action_says_when_a_test_of_the_callers_is_in_flight(world, sources):
    mine, _ = sources
    with connection_test_slot(world.user("steward")):
        response = staff(world, "steward").post(reverse("admin:sources_datasource_changelist"),
                                                {"action": "test_connection", "_selected_action": [mine.pk]},
                                                follow=True)
    assert "not tested. A connection test of yours is still running" in response.content.decode()


def test_test_connection_action_tests_a_few_sources_per_request(world, monkeypatch):
    # Each failed test takes the connect timeout for a steward: a long selection held a web worker for minutes.
    monkeypatch.setattr(datasources, "connector_for", lambda *args, **kwargs: pytest.fail("connected"))
    chosen = [DataSourceFactory(workspace=world.workspace_a).pk for _ in range(4)]
    response = staff(world, "steward").post(reverse("admin:sources_datasource_changelist"),
                                            {"action": "test_connection", "_selected_action": chosen}, follow=True)
    assert "Select at most 3 sources to test at once." in response.content.decode()
    assert not AuditEvent.objects.filter(event="datasource.connection_tested").exists()


def test_analyst_cannot_scan_from_admin(world, sources):
    mine, _ = sources
    response = staff(world, "analyst").post(reverse("admin:sources_datasource_changelist"),
                                            {"action": "scan_now", "_selected_action": [mine.pk]}, follow=True)
    assert "you may not run scans" in response.content.decode()
    assert not ScanRun.objects.exists() and not Scan.objects.exists()


def test_scan_schedule_edit_updates_beat_entry_and_disable_disables_it(world, sources):
    mine, _ = sources
    client = staff(world, "steward")
    rule_set = ScanRuleSetFactory(workspace=world.workspace_a)
    response = client.post(reverse("admin:scanning_scan_add"), {
        "data_source": mine.pk, "rule_set": rule_set.pk, "name": "Nightly", "schedule": "0 2 * * *",
        "enabled": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    scan = Scan.objects.get(name="Nightly")
    assert scan.periodic_task.enabled and scan.periodic_task.crontab.hour == "2"
    response = client.post(reverse("admin:scanning_scan_change", args=[scan.pk]), {
        "rule_set": rule_set.pk, "name": "Nightly", "schedule": "15 4 * * *"})  # enabled unchecked
    assert response.status_code == 302, response.content.decode()[:2000]
    task = PeriodicTask.objects.get(pk=scan.periodic_task_id)
    assert task.enabled is False and task.crontab.hour == "4" and task.crontab.minute == "15"
    assert AuditEvent.objects.filter(event="scan.changed", object_id=str(scan.pk)).exists()


def test_invalid_schedule_is_a_form_error(world, sources):
    scan = ScanFactory(data_source=sources[0])
    response = staff(world, "steward").post(reverse("admin:scanning_scan_change", args=[scan.pk]), {
        "rule_set": scan.rule_set_id, "name": scan.name, "schedule": "at midnight", "enabled": "on"})
    assert response.status_code == 200
    assert "Use five cron fields" in response.content.decode()


def test_run_page_is_read_only_with_progress_and_drift(world, sources):
    run = ScanRunFactory(scan__data_source=sources[0], objects_seen=40, progress_done=40, progress_total=80, added=1,
                         error="Connection refused")
    AssetChangeFactory(run=run, asset__name="alpha_orders")
    client = staff(world, "steward")
    response = client.get(reverse("admin:scanning_scanrun_change", args=[run.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "schema objects read 40 of about 80" in text and "alpha_orders" in text and "Connection refused" in text
    assert "All 1 change of this run</a> (listed below)" in text
    assert client.post(reverse("admin:scanning_scanrun_change", args=[run.pk]), {}).status_code == 403
    drift = client.get(reverse("admin:scanning_assetchange_changelist") + f"?run__id__exact={run.pk}")
    assert drift.status_code == 200 and "alpha_orders" in drift.content.decode()


def test_cancel_action_cancels_queued_run(world, sources):
    run = ScanRunFactory(scan__data_source=sources[0], status=ScanRun.Status.QUEUED)
    staff(world, "steward").post(reverse("admin:scanning_scanrun_changelist"),
                                 {"action": "cancel_runs", "_selected_action": [run.pk]})
    run.refresh_from_db()
    assert run.status == ScanRun.Status.CANCELLED


def test_asset_pages_per_type_with_description_edit(world, sources):
    column = AssetFactory(data_source=sources[0], type=Asset.Type.COLUMN, name="email",
                          qualified_name="shop.public.customers.email")
    search.documents_refresh(asset_ids=[column.pk])  # the factory wrote past the services that index
    client = staff(world, "steward")
    assert "shop.public.customers.email" in client.get(
        reverse("admin:catalog_columnasset_changelist") + "?q=customers.email").content.decode()
    assert "shop.public.customers.email" not in client.get(
        reverse("admin:catalog_tableasset_changelist")).content.decode()
    # the page's own fields are the scan's; the description is edited on the asset's curation page
    response = client.post(reverse("admin:catalog_columnasset_curation", args=[column.pk]),
                           {"description": "Contact address", "certification": "", "certification_note": "",
                            "certification_expires_at": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    column.refresh_from_db()
    assert column.description == "Contact address" and column.qualified_name == "shop.public.customers.email"
    assert AuditEvent.objects.filter(event="asset.changed").exists()


def _tree(source, table="customers"):
    from tests.catalog.classification_factories import asset_tree

    return asset_tree(source, table=table, columns={"email": "text", "phone": "text"})


def test_detect_again_action_queues_one_detection_run_per_source(world, sources, monkeypatch):
    from scanning.services import runs

    sent = []
    monkeypatch.setattr(runs, "_enqueue", lambda run_id, detection: sent.append((run_id, detection)))
    _, _, table, cols = _tree(sources[0])
    other_source = DataSourceFactory(workspace=world.workspace_a, name="Charlie crm")
    _, _, other_table, _ = _tree(other_source)
    client = staff(world, "steward")
    url = reverse("admin:catalog_columnasset_changelist")
    response = client.post(url, {"action": "detect_again",
                                 "_selected_action": [cols["email"].pk, cols["phone"].pk]}, follow=True)
    run = ScanRun.objects.get(data_source=sources[0])
    assert (run.trigger, run.scan, sorted(run.targets)) == ("detection", None, sorted([cols["email"].pk,
                                                                                         cols["phone"].pk]))
    assert "Alpha shop (2 assets): detection queued; its page shows its progress" in response.content.decode()
    assert f"Detection on demand of Alpha shop #{run.pk}</a>" in response.content.decode()
    response = client.post(reverse("admin:catalog_tableasset_changelist"),
                           {"action": "detect_again", "_selected_action": [table.pk, other_table.pk]}, follow=True)
    text = response.content.decode()
    assert f"already queued or running: <a href=\"{reverse('admin:scanning_scanrun_change', args=[run.pk])}\">" \
           f"Detection on demand of Alpha shop #{run.pk}</a>" in text  # Alpha still has its run
    assert ScanRun.objects.filter(data_source=other_source, trigger="detection").count() == 1
    assert ScanRun.objects.filter(data_source=sources[0]).count() == 1


def test_detect_again_refuses_a_selection_too_large_without_loading_it(world, sources, monkeypatch):
    import scanning.admin

    monkeypatch.setattr(scanning.admin, "MAX_DETECT_ASSETS", 1)
    _, _, _, cols = _tree(sources[0])
    response = staff(world, "steward").post(reverse("admin:catalog_columnasset_changelist"), {
        "action": "detect_again", "_selected_action": [cols["email"].pk, cols["phone"].pk]}, follow=True)
    assert "Select at most 1 assets" in response.content.decode() and not ScanRun.objects.exists()


def test_detect_again_is_not_offered_to_an_analyst(world, sources):
    _tree(sources[0])
    html = staff(world, "analyst").get(reverse("admin:catalog_columnasset_changelist")).content.decode()
    steward_html = staff(world, "steward").get(reverse("admin:catalog_columnasset_changelist")).content.decode()
    assert "detect_again" not in html and "detect_again" in steward_html


def test_detection_run_page_shows_its_assets_as_links_and_exact_table_progress(world, sources):
    _, _, table, cols = _tree(sources[0])
    run = ScanRunFactory(scan=None, data_source=sources[0], trigger=ScanRun.Trigger.DETECTION,
                         targets=[table.pk, cols["email"].pk], progress_done=1, progress_total=3)
    text = staff(world, "steward").get(reverse("admin:scanning_scanrun_change", args=[run.pk])).content.decode()
    assert "tables sampled 1 of 3" in text and "Detection on demand" in text
    assert f"?id__in={cols['email'].pk}\">1 column</a>" in text and f"?id__in={table.pk}\">1 table</a>" in text
    assert "customers.email" not in text  # names only on the asset pages, which apply the viewer's permissions
    columns_page = reverse("admin:catalog_columnasset_changelist")
    listed = staff(world, "steward").get(f"{columns_page}?id__in={cols['email'].pk}")
    assert listed.status_code == 200 and "customers.email" in listed.content.decode()
    assert "customers.phone" not in listed.content.decode()
    changelist = staff(world, "steward").get(reverse("admin:scanning_scanrun_changelist")).content.decode()
    assert "Detection on demand" in changelist


def test_asset_source_filter_lists_only_visible_sources(world, sources):
    AssetFactory(data_source=sources[0])
    html = staff(world, "steward").get(reverse("admin:catalog_tableasset_changelist")).content.decode()
    assert "Alpha shop" in html and "Bravo warehouse" not in html


def test_read_only_viewer_sees_source_page_without_secret(world, sources):
    mine, _ = sources
    response = staff(world, "analyst").get(reverse("admin:sources_datasource_change", args=[mine.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Alpha shop" in text and SECRET not in text and mine.encrypted_secret not in text
    assert 'name="password"' not in text  # nothing to write: the viewer may not change the source


@pytest.mark.parametrize("name", ["sources_datasource_add", "scanning_scanruleset_add", "scanning_scan_add"])
def test_add_pages_open_for_superuser(world, name):
    assert staff(world, "superuser").get(reverse(f"admin:{name}")).status_code == 200


def test_rule_set_added_in_admin_goes_through_service(world):
    response = staff(world, "steward").post(reverse("admin:scanning_scanruleset_add"), {
        "workspace": world.workspace_a.pk, "name": "Sales", "description": "", "include_schemas": "sales",
        "sample_size": "0", "detection_enabled": "on"})
    assert response.status_code == 200 and "Sample between 1 and 10,000" in response.content.decode()
    response = staff(world, "steward").post(reverse("admin:scanning_scanruleset_add"), {
        "workspace": world.workspace_a.pk, "name": "Sales", "description": "", "include_schemas": "sales\r\n  \r\nhr_*",
        "exclude_tables": "re:^tmp_", "sample_size": "50", "detection_enabled": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AuditEvent.objects.filter(event="scan_rule_set.created").exists()
    rule_set = ScanRuleSet.objects.get(name="Sales")
    assert (rule_set.include_schemas, rule_set.exclude_tables, rule_set.classifications) == (
        ["sales", "hr_*"], ["re:^tmp_"], [])


def test_rule_set_patterns_are_lines_with_help_not_json(world):
    rule_set = ScanRuleSetFactory(workspace=world.workspace_a, include_schemas=["sales", "hr_*"])
    client = staff(world, "steward")
    response = client.get(reverse("admin:scanning_scanruleset_change", args=[rule_set.pk]))
    html = response.content.decode()
    assert re.search(r'<textarea name="include_schemas"[^>]*>\s*sales\nhr_\*</textarea>', html), html
    assert "Schemas to read, one pattern per line: a glob" in html and "[&quot;" not in html
    response = client.post(reverse("admin:scanning_scanruleset_change", args=[rule_set.pk]), {
        "name": rule_set.name, "description": "", "include_schemas": "sales\nhr_*", "exclude_columns": "re:(a",
        "sample_size": "100", "detection_enabled": "on"})
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["exclude_columns"]


def test_steward_is_told_when_a_retarget_drops_the_secret(world, sources):
    mine, _ = sources
    client = staff(world, "steward")
    response = client.post(reverse("admin:sources_datasource_change", args=[mine.pk]),
                           _form(mine, host="db.example.org", port=6543), follow=True)
    assert response.status_code == 200
    mine.refresh_from_db()
    assert not mine.has_secret
    texts = [str(message) for message in response.context["messages"]]
    assert any("password of “Alpha shop” was removed because you changed host and port" in text
               for text in texts), texts


def test_no_dropped_secret_warning_when_the_secret_stays(world, sources):
    mine, _ = sources
    response = staff(world, "workspace_admin").post(reverse("admin:sources_datasource_change", args=[mine.pk]),
                                                    _form(mine, port=6543), follow=True)
    mine.refresh_from_db()
    assert mine.has_secret
    assert not any("removed" in str(message) for message in response.context["messages"])


def test_run_page_says_a_baseline_records_no_drift(world, sources):
    # Regression: a source's first scan (its baseline) adds every asset without recording changes; its page said
    # "Added: 58" beside "All 0 changes of this run", which read as drift gone missing.
    run = ScanRunFactory(scan__data_source=sources[0], added=58)
    text = staff(world, "steward").get(reverse("admin:scanning_scanrun_change", args=[run.pk])).content.decode()
    assert "This was the source&#x27;s first scan: it added 58 objects to the catalog." in text
    assert "All 0 changes" not in text
