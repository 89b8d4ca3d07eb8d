"""Development logs are for people, production logs for machines (issue 11, item 9): with DEBUG the console log is
one readable line per record; without it, one JSON object; RACINE_LOG_FORMAT chooses either way."""
import json
import re

import pytest

from tests.config.test_settings import PRODUCTION, manage

LOG_A_WARNING = "import logging; logging.getLogger('racine.demo').warning('disk %s full', 'var')"
READABLE = re.compile(r"^\d\d:\d\d:\d\d WARNING  racine\.demo: disk var full$")


def log_line(env: dict[str, str], tmp_path) -> str:
    result = manage("shell", "-c", LOG_A_WARNING, env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "racine.demo" in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_debug_console_log_is_readable_text(tmp_path):
    assert READABLE.match(log_line({"DEBUG": "true"}, tmp_path))


def test_production_log_is_json(tmp_path):
    record = json.loads(log_line(PRODUCTION, tmp_path))
    assert record["level"] == "WARNING" and record["logger"] == "racine.demo" and record["message"] == "disk var full"
    assert "request_id" in record


@pytest.mark.parametrize(("debug", "log_format"), [("true", "json"), ("false", "text")])
def test_the_format_can_be_chosen_either_way(tmp_path, debug, log_format):
    env = {**PRODUCTION, "DEBUG": debug, "RACINE_LOG_FORMAT": log_format}
    line = log_line(env, tmp_path)
    if log_format == "json":
        assert json.loads(line)["message"] == "disk var full"
    else:
        assert READABLE.match(line)


def test_text_log_names_the_request_and_its_duration():
    import logging

    from config.request_id import TextLogFormatter

    record = logging.LogRecord("racine.request", logging.INFO, __file__, 1, "GET %s %s", ("/api/v1/", 200), None)
    record.request_id, record.duration_ms = "5f2c", 12.5
    assert TextLogFormatter().format(record).endswith("INFO     racine.request: GET /api/v1/ 200 in 12.5 ms  "
                                                      "[request 5f2c]")
