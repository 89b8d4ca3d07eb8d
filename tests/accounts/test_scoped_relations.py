"""ScopedRelationsMixin: a serializer's relation inputs accept only what their selector gives the caller, an id out
of scope failing exactly like one that does not exist; without a request no id is valid; read-only relations are
left alone; a many-relation scopes its items."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from rest_framework.exceptions import ValidationError

from catalog.api.glossary import GlossaryTermSerializer
from sources.api.serializers import DataSourceSerializer, DataSourceUpdateSerializer
from tests.catalog.curation_factories import GlossaryTermFactory
from tests.catalog.factories import DataSourceFactory

pytestmark = pytest.mark.django_db


def refusal(field, value) -> str | None:
    try:
        field.to_internal_value(value)
    except ValidationError as exc:
        return exc.detail[0].code
    return None


def test_an_id_outside_the_callers_scope_reads_as_missing(world):
    fields = DataSourceSerializer(context={"request": SimpleNamespace(user=world.user("steward"))}).fields
    assert refusal(fields["workspace"], world.workspace_a.pk) is None
    assert refusal(fields["workspace"], world.workspace_b.pk) == refusal(fields["workspace"], 10**9) == "does_not_exist"
    related = GlossaryTermSerializer(context={"request": SimpleNamespace(user=world.user("steward"))}).fields[
        "related_terms"].child_relation
    assert refusal(related, GlossaryTermFactory(workspace=world.workspace_a).pk) is None
    assert refusal(related, GlossaryTermFactory(workspace=world.workspace_b).pk) == "does_not_exist"


def test_without_a_request_no_id_is_valid(world):
    assert refusal(DataSourceSerializer().fields["workspace"], world.workspace_a.pk) == "does_not_exist"


def test_a_read_only_relation_is_left_alone(world):
    source = DataSourceFactory(workspace=world.workspace_b)
    serializer = DataSourceUpdateSerializer(source, context={"request": SimpleNamespace(user=world.user("auditor"))})
    assert serializer.fields["workspace"].read_only and serializer.fields["workspace"].queryset is None
