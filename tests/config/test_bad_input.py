"""Bad input is a clear 4xx problem, never a 500: JSON nested thousands deep, bodies over the upload limit, deleting
a workspace that still holds data, free text of any size."""
from __future__ import annotations

import io
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.exceptions import ParseError

from accounts import services as account_services
from accounts.actors import SYSTEM
from accounts.fields import DESCRIPTION_MAX_LENGTH, NOTE_MAX_LENGTH
from accounts.models import AuditEvent, ObjectGrant, Workspace
from catalog import services as catalog_services
from catalog.models import Asset, AssetClassification, Classification
from config.parsers import MAX_JSON_DEPTH, JSONParser
from scanning.models import ClassificationRule, ScanRuleSet
from tests.catalog.classification_factories import AssetClassificationFactory, builtin
from tests.catalog.factories import AssetFactory, DataSourceFactory, ScanRuleSetFactory
from tests.config.test_problems import assert_problem

MIB = 1 << 20


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- JSON nesting ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [_nested(5000), json.dumps({"description": json.loads(_nested(200))})])
def test_deeply_nested_json_is_400(world, body):
    response = world.client("steward").post(reverse("api:classificationrule-list"), body,
                                            content_type="application/json")
    problem = assert_problem(response, 400, "parse_error")
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in problem["detail"]


def test_json_parser_takes_nesting_up_to_its_limit():
    parser = JSONParser()
    assert parser.parse(io.BytesIO(_nested(MAX_JSON_DEPTH).encode())) == json.loads(_nested(MAX_JSON_DEPTH))
    with pytest.raises(ParseError):
        parser.parse(io.BytesIO(json.dumps({"a": json.loads(_nested(MAX_JSON_DEPTH))}).encode()))


# --- bodies over the upload limit ------------------------------------------------------------------------------

@pytest.fixture
def upload_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_api_body_over_the_limit_is_413(world, upload_limit):
    response = world.client("steward").post(reverse("api:classificationrule-list"),
                                            json.dumps({"description": "x" * 2 * upload_limit}),
                                            content_type="application/json")
    problem = assert_problem(response, 413, "content_too_large")
    assert "10,000 bytes" in problem["detail"]


def test_api_form_body_over_the_limit_is_refused_as_a_form(world, upload_limit):
    """Bodies are JSON only: a form is 415 whatever its size, without reading it."""
    response = world.client("steward").post(reverse("api:classificationrule-list"),
                                            urlencode({"description": "x" * 2 * upload_limit}),
                                            content_type="application/x-www-form-urlencoded")
    assert_problem(response, 415, "unsupported_media_type")


@pytest.mark.urls("tests.config.urls")
def test_plain_api_view_body_over_the_limit_is_413_problem_even_in_debug(api_client, upload_limit, settings):
    settings.DEBUG = True
    response = api_client.post("/api/v1/_test/plain-body", "x" * 2 * upload_limit, content_type="text/plain")
    assert_problem(response, 413, "content_too_large")


@pytest.mark.parametrize(("persona", "path"), [("superuser", "/admin/accounts/workspace/add/"),
                                                ("anonymous", "/admin/login/")])
def test_admin_body_over_the_limit_is_413(world, upload_limit, persona, path):
    response = world.client(persona).post(path, urlencode({"name": "x", "description": "x" * 2 * upload_limit}),
                                          content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "10,000 bytes" in response.content.decode()


# --- deleting what is still referred to ------------------------------------------------------------------------

def test_deleting_a_workspace_with_data_is_409_naming_what_blocks_it(world):
    workspace = world.workspace_a
    DataSourceFactory.create_batch(3, workspace=workspace)
    ScanRuleSetFactory(workspace=workspace)
    response = world.client("superuser").delete(reverse("api:workspace-detail", args=[workspace.pk]))
    problem = assert_problem(response, 409, "protected")
    assert problem["blocked_by"] == {"data sources": 3, "scan rule set": 1}
    assert "1 scan rule set, 3 data sources" in problem["detail"]  # by app label: scanning, sources
    assert Workspace.objects.filter(pk=workspace.pk).exists()
    assert not AuditEvent.objects.filter(event="workspace.deleted").exists()


# --- free text -------------------------------------------------------------------------------------------------

BOUNDED_TEXT = [
    (Workspace, "description", DESCRIPTION_MAX_LENGTH),
    (ObjectGrant, "reason", NOTE_MAX_LENGTH),
    (Asset, "description", DESCRIPTION_MAX_LENGTH),
    (Classification, "description", DESCRIPTION_MAX_LENGTH),
    (AssetClassification, "decision_note", NOTE_MAX_LENGTH),
    (ScanRuleSet, "description", DESCRIPTION_MAX_LENGTH),
    (ClassificationRule, "description", DESCRIPTION_MAX_LENGTH),
]


@pytest.mark.parametrize(("model", "name", "limit"), BOUNDED_TEXT)
def test_free_text_is_bounded_by_the_model_and_its_admin_form(model, name, limit):
    field = model._meta.get_field(name)
    assert field.clean("x" * limit, None) == "x" * limit
    with pytest.raises(ValidationError):
        field.clean("x" * (limit + 1), None)  # what full_clean runs: services and the admin
    assert field.formfield().max_length == limit


def test_api_refuses_a_one_mebibyte_description_naming_the_field(world):
    response = world.client("workspace_admin").patch(reverse("api:workspace-detail", args=[world.workspace_a.pk]),
                                                     {"description": "x" * MIB}, format="json")
    problem = assert_problem(response, 400, "validation_error")
    assert [(error["field"], error["code"]) for error in problem["errors"]] == [("description", "max_length")]
    world.workspace_a.refresh_from_db()
    assert world.workspace_a.description == ""


@pytest.mark.parametrize(("url_name", "fields"), [
    ("api:classificationrule-list", lambda: {"classification": builtin("PII.EMAIL").pk, "value_regex": "x"}),
    ("api:scanruleset-list", lambda: {"name": "big"}),
])
def test_api_create_refuses_oversize_description(world, url_name, fields):
    payload = {"workspace": world.workspace_a.pk, "description": "x" * (DESCRIPTION_MAX_LENGTH + 1), **fields()}
    response = world.client("steward").post(reverse(url_name), payload, format="json")
    problem = assert_problem(response, 400, "validation_error")
    assert [error["field"] for error in problem["errors"]] == ["description"]


def test_api_refuses_oversize_asset_description(world):
    asset = AssetFactory(data_source__workspace=world.workspace_a)
    response = world.client("steward").patch(reverse("api:asset-detail", args=[asset.pk]),
                                             {"description": "x" * (DESCRIPTION_MAX_LENGTH + 1)}, format="json")
    assert [error["field"] for error in assert_problem(response, 400, "validation_error")["errors"]] == ["description"]


def test_rule_set_pattern_lists_are_bounded(world):
    response = world.client("steward").post(reverse("api:scanruleset-list"),
                                            {"workspace": world.workspace_a.pk, "name": "many",
                                             "exclude_tables": [f"tmp_{i}" for i in range(501)]}, format="json")
    assert [error["field"] for error in assert_problem(response, 400, "validation_error")["errors"]] == [
        "exclude_tables"]


def test_services_refuse_oversize_notes_and_reasons(world):
    row = AssetClassificationFactory()
    with pytest.raises(ValidationError) as info:
        catalog_services.asset_classification_confirm(asset_classification=row, acting_user=SYSTEM,
                                                      note="x" * (NOTE_MAX_LENGTH + 1))
    assert list(info.value.message_dict) == ["note"]
    with pytest.raises(ValidationError) as info:
        account_services.object_grant_create(user=world.user("outsider"), obj=world.workspace_b, action="view",
                                             expires_at=timezone.now() + timedelta(days=1), acting_user=SYSTEM,
                                             reason="x" * (NOTE_MAX_LENGTH + 1))
    assert list(info.value.message_dict) == ["reason"]
    assert not ObjectGrant.objects.exists()
