"""/api/v1/classification-rules/: stewards' custom detection rules per workspace, and the preview on pasted
values (nothing stored, nothing echoed). Stewards manage their workspace's rules; members read them.
"""
import html
import json
import re
import sqlite3

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from catalog.models import Asset
from scanning.models import ClassificationRule
from tests.catalog.classification_factories import (
    ClassificationFactory,
    ClassificationRuleFactory,
    builtin,
)
from tests.catalog.factories import DataSourceFactory
from tests.support.permission_matrix import PermissionMatrix, table
from tests.support.target_dbs import run_scan, schema_only_rule_set

COLUMNS = ("list retrieve_a retrieve_b create update_a update_b partial_update_a partial_update_b "
           "destroy_a destroy_b preview")
PASTED = ["E123456", "E654321", "x-99", ""]


class TestClassificationRuleMatrix(PermissionMatrix):
    basename = "classificationrule"
    expected = table(
        COLUMNS,
        anonymous=           "401 401 401 401 401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403 403 403 403 403",
        analyst=             "200 200 404 403 403 403 403 403 403 403 200",
        steward=             "200 200 404 201 200 404 200 404 204 404 200",
        workspace_admin=     "200 200 404 201 200 404 200 404 204 404 200",
        auditor=             "200 200 200 403 403 403 403 403 403 403 200",
        other_workspace_user="200 404 200 400 404 200 404 200 404 204 200",
        staff_unverified=    "403 403 403 403 403 403 403 403 403 403 403",
        superuser=           "200 200 200 201 200 200 200 200 204 204 200",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB",
               "other_workspace_user": "B", "superuser": "AB"}

    def objects(self, world):
        self.world = world
        return (ClassificationRuleFactory(workspace=world.workspace_a),
                ClassificationRuleFactory(workspace=world.workspace_b))

    def payload(self, world, action):
        if action == "preview":
            return {"value_regex": r"E\d{6}", "values": PASTED}
        return {"workspace": world.workspace_a.pk, "classification": builtin("PII.EMAIL").pk,
                "column_name_regex": "^mail$", "value_regex": "", "validator": "email", "min_match_share": 0.9,
                "min_distinct": 2, "enabled": True}


def test_rule_create_is_validated_and_audited(world):
    client = world.client("steward")
    url = reverse("api:classificationrule-list")
    bad = client.post(url, {"workspace": world.workspace_a.pk, "classification": builtin("PII.EMAIL").pk,
                            "value_regex": "([a-z"}, format="json")
    assert bad.status_code == 400 and "value_regex" in str(bad.json())
    unknown = client.post(url, {"workspace": world.workspace_a.pk, "classification": builtin("PII.EMAIL").pk,
                                "validator": "no_such_validator"}, format="json")
    assert unknown.status_code == 400 and "validator" in str(unknown.json())
    empty = client.post(url, {"workspace": world.workspace_a.pk, "classification": builtin("PII.EMAIL").pk},
                        format="json")
    assert empty.status_code == 400
    custom = ClassificationFactory(name="HR.EMPLOYEE_NUMBER")
    good = client.post(url, {"workspace": world.workspace_a.pk, "classification": custom.pk,
                             "column_name_regex": "^emp_no$", "value_regex": r"E\d{6}"}, format="json")
    assert good.status_code == 201, good.content
    rule = ClassificationRule.objects.get(pk=good.json()["id"])
    assert rule.created_by == world.user("steward")
    assert AuditEvent.objects.filter(event="classification_rule.created", object_id=str(rule.pk),
                                     workspace=world.workspace_a).exists()


def test_rule_in_a_workspace_without_grant_is_refused(world):
    client = world.client("steward")
    response = client.post(reverse("api:classificationrule-list"),
                           {"workspace": world.workspace_b.pk, "classification": builtin("PII.EMAIL").pk,
                            "validator": "email"}, format="json")
    assert response.status_code == 400  # workspace B is not visible: refused like one that does not exist
    assert not ClassificationRule.objects.exists()


def test_preview_reports_by_index_without_echoing_or_storing_values(world):
    client = world.client("steward")
    before = AuditEvent.objects.count()
    response = client.post(reverse("api:classificationrule-preview"),
                           {"value_regex": r"E\d{6}", "min_match_share": 0.6, "values": PASTED}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["matched"] for r in body["per_value"]] == [True, True, False, None]
    assert body["match_share"] == round(2 / 3, 4) and body["would_match"] is True and body["name_only"] is False
    assert not any(value in response.content.decode() for value in PASTED if value)
    assert AuditEvent.objects.count() == before and not ClassificationRule.objects.exists()


def test_preview_checks_a_given_column_name_against_the_rule(world):
    client = world.client("steward")
    url = reverse("api:classificationrule-preview")
    rule = {"column_name_regex": "^emp_?no$", "value_regex": r"E\d{6}", "values": ["E123456", "E654321"]}
    matching = client.post(url, {**rule, "column_name": "emp_no"}, format="json").json()
    assert matching["column_name_matches"] is True and matching["would_match"] is True
    other = client.post(url, {**rule, "column_name": "order_no"}, format="json").json()
    assert other["column_name_matches"] is False and other["would_match"] is False
    assert client.post(url, rule, format="json").json()["column_name_matches"] is None


def test_preview_with_invalid_regex_is_400(world):
    client = world.client("steward")
    response = client.post(reverse("api:classificationrule-preview"), {"value_regex": "(", "values": ["a"]},
                           format="json")
    assert response.status_code == 400


def test_browsable_api_form_starts_from_the_model_defaults(world):
    # Posting the browsable API's form as shown must not create a disabled rule: DRF showed "enabled": false.
    # Bodies are JSON only (config.parsers), so the page offers the raw-data form, pre-filled from the serializer.
    page = world.client("steward").get(reverse("api:classificationrule-list"), HTTP_ACCEPT="text/html")
    textarea = re.search(r'<textarea name="_content"[^>]*>(.*?)</textarea>', page.content.decode(), re.S).group(1)
    prefilled = json.loads(html.unescape(textarea))
    assert prefilled["enabled"] is True
    assert prefilled["min_match_share"] == 0.8


@pytest.fixture
def employees_column(world, tmp_path, settings):
    """A real SQLite source of workspace A with an ``emp_no`` column of 60 employee numbers and 5 other values,
    in the catalog by a scan that read its schema only."""
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    path = tmp_path / "hr.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE employees (id INTEGER PRIMARY KEY, emp_no TEXT)")
        db.executemany("INSERT INTO employees VALUES (?, ?)",
                       [(i, f"E{100000 + i * 7}" if i <= 60 else "pending") for i in range(1, 66)])
    db.close()
    source = DataSourceFactory(workspace=world.workspace_a, engine="sqlite", host="", port=None, database=str(path),
                               username="", encrypted_secret="")
    assert run_scan(source, rule_set=schema_only_rule_set(world.workspace_a)).status == "succeeded"
    return Asset.objects.get(data_source=source, name="emp_no")


def test_preview_on_a_real_column_samples_it_and_answers_masked_values(world, employees_column):
    client = world.client("steward")
    response = client.post(reverse("api:classificationrule-preview"),
                           {"value_regex": r"E\d{6}", "min_match_share": 0.9, "column": employees_column.pk},
                           format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["per_value"]) == 65 and body["non_null"] == 65 and body["matched"] == 60
    assert body["column_name_matches"] is True  # no column-name pattern: any name passes
    assert body["would_match"] is True  # 60 / 65 = 92% ≥ 90%
    assert all(entry["masked"] and "*" in entry["masked"] for entry in body["per_value"])
    assert "E100007" not in response.content.decode() and "pending" not in response.content.decode()
    assert not ClassificationRule.objects.exists()


def test_preview_on_a_column_needs_the_right_to_classify_it_and_either_values_or_a_column(world, employees_column):
    url = reverse("api:classificationrule-preview")
    rule = {"value_regex": r"E\d{6}", "column": employees_column.pk}
    for persona in ("analyst", "auditor", "other_workspace_user"):  # may read the catalog, may not sample it
        refused = world.client(persona).post(url, rule, format="json")
        assert refused.status_code == 400, (persona, refused.content)
        assert [error["field"] for error in refused.json()["errors"]] == ["column"]
    steward = world.client("steward")
    both = steward.post(url, {**rule, "values": ["E123456"]}, format="json")
    neither = steward.post(url, {"value_regex": r"E\d{6}"}, format="json")
    named = steward.post(url, {**rule, "column_name": "x"}, format="json")
    assert both.status_code == neither.status_code == named.status_code == 400
