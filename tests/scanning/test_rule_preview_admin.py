"""The rule preview page of the admin: a saved rule or conditions not saved yet, tried on pasted values or on a real
column of a source sampled now (values shown masked), for the workspace's stewards only."""
from __future__ import annotations

import sqlite3

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from catalog.models import Asset
from scanning.models import ClassificationRule
from tests.catalog.classification_factories import ClassificationRuleFactory
from tests.catalog.factories import DataSourceFactory
from tests.support.personas import verified_client
from tests.support.target_dbs import run_scan, schema_only_rule_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def employees(world, tmp_path, settings):
    """A real SQLite source of workspace A whose ``employees.emp_no`` holds 60 employee numbers and 5 'pending'."""
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    path = tmp_path / "hr.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE employees (id INTEGER PRIMARY KEY, emp_no TEXT)")
        db.executemany("INSERT INTO employees VALUES (?, ?)",
                       [(i, f"E{100000 + i * 7}" if i <= 60 else "pending") for i in range(1, 66)])
    db.close()
    source = DataSourceFactory(workspace=world.workspace_a, name="HR", engine="sqlite", host="", port=None,
                               database=str(path), username="", encrypted_secret="")
    assert run_scan(source, rule_set=schema_only_rule_set(world.workspace_a)).status == "succeeded"
    return source, Asset.objects.get(data_source=source, name="emp_no")


def _staff_client(world, persona):
    user = world.user(persona)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = verified_client(user)
    client.default_format = "multipart"  # a form post, as the browser sends it
    return client


def test_conditions_not_saved_yet_are_tried_on_a_real_column_with_masked_values(world, employees):
    source, column = employees
    client = _staff_client(world, "steward")
    url = reverse("admin:scanning_classificationrule_try")
    assert client.get(url).status_code == 200
    response = client.post(url, {"value_regex": r"E\d{6}", "min_match_share": "0.9", "min_distinct": "1",
                                 "source": source.pk, "column": column.qualified_name})
    page = response.content.decode()
    assert response.status_code == 200 and "would classify a column of these values" in page, page
    assert column.qualified_name in page and page.count("***") >= 65
    assert "E100007" not in page and "pending" not in page
    assert not ClassificationRule.objects.exists()
    strict = client.post(url, {"value_regex": r"E\d{6}", "min_match_share": "0.95", "min_distinct": "1",
                               "source": source.pk, "column": column.qualified_name}).content.decode()
    assert "would not classify" in strict  # 60 of 65 is 92%: the steward sees the threshold is too high


def test_a_saved_rule_is_previewed_with_its_conditions_and_columns_out_of_reach_are_refused(world, employees):
    source, column = employees
    rule = ClassificationRuleFactory(workspace=world.workspace_a, column_name_regex="^emp_no$",
                                     value_regex=r"E\d{6}", min_match_share=0.9)
    url = reverse("admin:scanning_classificationrule_preview", args=[rule.pk])
    client = _staff_client(world, "steward")
    form = client.get(url).context["form"]
    assert form.initial["value_regex"] == r"E\d{6}" and list(form.fields["source"].queryset) == [source]
    found = client.post(url, {"column_name_regex": "^emp_no$", "value_regex": r"E\d{6}", "min_match_share": "0.9",
                              "min_distinct": "1", "source": source.pk, "column": column.qualified_name})
    assert "would classify a column of these values" in found.content.decode()
    nowhere = client.post(url, {"value_regex": r"E\d{6}", "min_match_share": "0.9", "min_distinct": "1",
                                "source": source.pk, "column": "hr.main.employees.nope"})
    assert "No column of this source that you may classify" in nowhere.content.decode()
    both = client.post(url, {"value_regex": r"E\d{6}", "min_match_share": "0.9", "min_distinct": "1",
                             "source": source.pk, "column": column.qualified_name, "values": "E123456"})
    assert "not both" in both.content.decode()
    analyst = _staff_client(world, "analyst")  # reads the rule, may not read the column's values
    refused = analyst.post(url, {"value_regex": r"E\d{6}", "min_match_share": "0.9", "min_distinct": "1",
                                 "source": source.pk, "column": column.qualified_name})
    assert refused.status_code == 200 and "would classify" not in refused.content.decode()
    assert "No column of this source that you may classify" in refused.content.decode()
    assert not AuditEvent.objects.filter(event="datasource.secret_accessed", actor=world.user("analyst")).exists()


def test_the_preview_is_offered_from_the_rule_list_and_the_add_page_and_leads_to_the_add_form(world, employees):
    source, column = employees
    client = _staff_client(world, "steward")
    try_url = reverse("admin:scanning_classificationrule_try")
    for page in ("admin:scanning_classificationrule_changelist", "admin:scanning_classificationrule_add"):
        assert f'href="{try_url}"' in client.get(reverse(page)).content.decode(), page
    response = client.post(try_url, {"value_regex": r"E\d{6}", "min_match_share": "0.9", "min_distinct": "1",
                                     "source": source.pk, "column": column.qualified_name})
    page = response.content.decode()
    assert "any column name will do" in page and "matches the rule's pattern" not in page
    add_url = response.context["add_url"]
    assert add_url.startswith(reverse("admin:scanning_classificationrule_add"))
    form = client.get(add_url).context["adminform"].form
    assert form.initial["value_regex"] == r"E\d{6}" and form.initial["min_match_share"] == "0.9"
    assert form.fields["workspace"].initial == world.workspace_a.pk  # the steward's one workspace, chosen for them
