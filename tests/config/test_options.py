"""``OPTIONS`` on every API path answers without a server error (config.metadata)."""
import re

import pytest

from tests.catalog.factories import DataSourceFactory
from tests.support.openapi import published_schema_document

PATH_PARAMETER = re.compile(r"\{[^}]+\}")


@pytest.mark.parametrize("persona", ["workspace_admin", "analyst"])
def test_options_on_every_api_path_is_not_a_server_error(world, persona):
    # OPTIONS on POST /data-sources/{id}/scan/, an action without a body and a viewset without a serializer, was a
    # 500 (DRF's metadata asked the view for a serializer); the fuzzer found it.
    source = DataSourceFactory(workspace=world.workspace_a)
    client = world.client(persona)
    failures = {}
    for path in published_schema_document()["paths"]:
        response = client.options(PATH_PARAMETER.sub(str(source.pk), path))
        if response.status_code >= 500:
            failures[path] = response.status_code
    assert not failures


def test_options_of_an_action_without_a_body_describes_no_body(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    response = world.client("workspace_admin").options(f"/api/v1/data-sources/{source.pk}/scan/")
    assert response.status_code == 200 and "actions" not in response.json()
