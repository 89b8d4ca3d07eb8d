import logging

import pytest

from config.request_id import HEADER

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.config.urls")]


def test_request_without_id_gets_a_generated_one(client):
    response = client.get("/health/live")
    assert len(response[HEADER]) == 32


def test_caller_id_is_echoed(client):
    response = client.get("/health/live", headers={HEADER: "edge-42.abc"})
    assert response[HEADER] == "edge-42.abc"


@pytest.mark.parametrize("hostile", ["a b", "x" * 129, "id\r\nSet-Cookie: y", "<script>"])
def test_malformed_caller_id_is_replaced(client, hostile):
    response = client.get("/health/live", headers={HEADER: hostile})
    assert response[HEADER] != hostile and len(response[HEADER]) == 32


def test_access_log_line_carries_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="racine.request"):
        client.get("/health/live", headers={HEADER: "trace-1"})
    lines = [r for r in caplog.records if r.name == "racine.request"]
    assert [(r.request_id, r.status, r.path) for r in lines] == [("trace-1", 200, "/health/live")]


def test_eager_task_logs_with_the_request_id_that_enqueued_it(client, caplog):
    with caplog.at_level(logging.INFO):
        response = client.post("/api/v1/_test/enqueue-ping", headers={HEADER: "trace-task-1"})
    assert response.status_code == 200
    task_lines = [r for r in caplog.records if r.name == "config.tasks"]
    assert [r.request_id for r in task_lines] == ["trace-task-1"]
