"""Session 19's attack pass on what landed that day (docs/security.md, "Attack on the steward's pages"): each test
failed before its fix."""
from __future__ import annotations

import sqlite3

import pytest
from django.urls import reverse

from catalog.models import Asset, AssetClassification
from scanning.detection.masking import mask_value
from tests.catalog.classification_factories import ClassificationRuleFactory, builtin
from tests.catalog.factories import DataSourceFactory
from tests.catalog.test_review_queue import DECIDE, QUEUE, staff, suggestions
from tests.support.target_dbs import run_scan, schema_only_rule_set

pytestmark = pytest.mark.django_db


# --- the review queue: bad numbers are a 400 or the first page, never a 500 -----------------------------------------


@pytest.mark.parametrize("page", ["²", "99999999999999999999999"])
def test_a_page_number_that_is_no_page_is_the_first_page(world, page):
    client = staff(world, "steward")
    mine = suggestions(world.workspace_a)
    response = client.get(QUEUE, {"p": page})
    assert response.status_code == 200 and response.context["count"] == len(mine)


@pytest.mark.parametrize("post", [
    lambda row: {"decide": f"change:{row.pk}", f"to_{row.pk}": "²"},
    lambda row: {"decide": "change:selected", "selected": [row.pk], "to_selected": "²"},
    lambda row: {"decide": "confirm:selected", "selected": ["99999999999999999999999"]},
    lambda row: {"decide": "confirm:selected", "selected": [row.pk, "99999999999999999999999"]},
], ids=["change-to-not-ascii", "bulk-change-to-not-ascii", "ticked-id-too-large", "one-of-ticked-too-large"])
def test_a_decision_naming_no_row_or_classification_is_refused_without_a_500(world, post):
    client = staff(world, "steward")
    client.raise_request_exception = False
    row = suggestions(world.workspace_a)[0]
    response = client.post(DECIDE, {"next": QUEUE, **post(row)}, format="multipart")
    assert response.status_code in (302, 400), response.status_code
    row.refresh_from_db()
    assert row.status == AssetClassification.Status.SUGGESTED


# --- rule preview and evidence: a mask never shows most of a value that does not fit its kind ---------------------


@pytest.mark.parametrize("classification", ["PII.DATE_OF_BIRTH", "NETWORK.MAC_ADDRESS", "WEB.URL", "PII.EMAIL",
                                            "NETWORK.IP_ADDRESS"])
@pytest.mark.parametrize("value", ["hunter-password-1 Alice Martin", "alice.martin@hunter2secret",
                                   "secretword://alice.topsecret"])
def test_a_mask_shows_no_word_of_a_value_that_is_not_of_its_kind(classification, value):
    masked = mask_value(value, classification)
    shown = [value[start:start + 4] for start in range(len(value) - 3)
             if value[start:start + 4].isalpha() and value[start:start + 4] in masked]
    assert not shown, (classification, value, masked)


@pytest.fixture
def people(world, tmp_path, settings):
    """A real SQLite source of workspace A whose ``people.secret`` holds pass phrases and names."""
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    path = tmp_path / "hr.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, secret TEXT)")
        db.executemany("INSERT INTO people VALUES (?, ?)",
                       [(i, f"hunter-password-{i} Alice Martin") for i in range(1, 30)])
    db.close()
    source = DataSourceFactory(workspace=world.workspace_a, name="HR", engine="sqlite", host="", port=None,
                               database=str(path), username="", encrypted_secret="")
    assert run_scan(source, rule_set=schema_only_rule_set(world.workspace_a)).status == "succeeded"
    return source, Asset.objects.get(data_source=source, name="secret")


def test_a_saved_rules_preview_does_not_unmask_a_column_through_the_rules_classification(world, people):
    """A steward's rule of "date of birth" matching anything, previewed on a column of pass phrases: the masks
    were the values with their digits starred."""
    source, column = people
    rule = ClassificationRuleFactory(workspace=world.workspace_a, classification=builtin("PII.DATE_OF_BIRTH"),
                                     value_regex=".*")
    client = staff(world, "steward")
    response = client.post(reverse("admin:scanning_classificationrule_preview", args=[rule.pk]),
                           {"source": source.pk, "column": column.qualified_name, "min_match_share": "0.1",
                            "min_distinct": "1", "value_regex": ".*"}, format="multipart")
    page = response.content.decode()
    assert response.status_code == 200 and response.context["report"] is not None, page
    assert "Alice" not in page and "hunter" not in page, page
