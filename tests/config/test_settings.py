"""Production mode refuses unsafe configuration; with the production variables, check --deploy is clean.

Settings are read once per process, so each case runs manage.py in a fresh interpreter with its own environment.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k" * 20 + "-Zq8#vL2@pW9!xR4$mN7^bT1&cY6*hJ3(eK5)"
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": STRONG_KEY,
    "ALLOWED_HOSTS": "racine.example.org",
    "DATABASE_URL": "postgres://racine@db.internal:5432/racine",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "CELERY_BROKER_URL": "redis://cache.internal:6379/1",
    "RACINE_ENCRYPTION_KEYS": "3q2-7wSdV0xPo2Zl1aP0P2QyN5yH0qZb8WfJm1pYc2E=",
}


def manage(*args: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "CELERY_", "SECRET_KEY", "DEBUG",
                                   "ALLOWED_HOSTS", "RACINE_"))}
    base["RACINE_VAR_DIR"] = str(tmp_path)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_production_variables_pass_check_deploy(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(("missing", "message"), [
    ("SECRET_KEY", "SECRET_KEY is not set"),
    ("ALLOWED_HOSTS", "ALLOWED_HOSTS is not set"),
    ("RACINE_ENCRYPTION_KEYS", "RACINE_ENCRYPTION_KEYS is not set"),
])
def test_production_without_required_variable_refuses_in_one_line(tmp_path, missing, message):
    env = {key: value for key, value in PRODUCTION.items() if key != missing}
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line, no traceback
    assert message in result.stderr


def test_weak_secret_key_refused(tmp_path):
    result = manage("check", env={**PRODUCTION, "SECRET_KEY": "changeme"}, tmp_path=tmp_path)
    assert result.returncode == 2 and "shorter than 50" in result.stderr


def test_misspelt_boolean_is_an_error_not_false(tmp_path):
    result = manage("check", env={**PRODUCTION, "DEBUG": "flase"}, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "DEBUG='flase' is not a boolean" in result.stderr


def test_time_limits_out_of_order_refused(tmp_path):
    result = manage("check", env={**PRODUCTION, "RACINE_TASK_TIME_LIMIT": "9000"}, tmp_path=tmp_path)
    assert result.returncode == 2 and "RACINE_BROKER_VISIBILITY_TIMEOUT" in result.stderr


def test_embedded_mode_warns_in_check_deploy(tmp_path):
    result = manage("check", "--deploy", env={"DEBUG": "false", "SECRET_KEY": STRONG_KEY,
                                              "ALLOWED_HOSTS": "localhost",
                                              "RACINE_ENCRYPTION_KEYS": PRODUCTION["RACINE_ENCRYPTION_KEYS"]},
                    tmp_path=tmp_path)
    output = result.stdout + result.stderr
    assert "racine.W001" in output and "racine.W002" in output and "racine.W003" in output


def test_secret_read_from_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(STRONG_KEY)
    env = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}
    result = manage("check", env={**env, "SECRET_KEY_FILE": str(key_file)}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


def test_embedded_default_runs_with_no_variable_at_all(tmp_path):
    result = manage("check", env={}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "racine.sqlite3").exists() or (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(("pool", "expected"), [
    ({}, "0 True"),  # psycopg's pool keeps the connections (Django requires CONN_MAX_AGE=0 with it)
    ({"RACINE_DB_POOL": "false"}, "300 False"),  # without it, connections persist: one per request was the default
    ({"RACINE_DB_POOL": "false", "RACINE_DB_CONN_MAX_AGE": "0"}, "0 False"),
])
def test_postgresql_connections_are_reused_with_or_without_the_pool(tmp_path, pool, expected):
    code = ("from django.conf import settings; db = settings.DATABASES['default']; "
            "print(db['CONN_MAX_AGE'], 'pool' in db.get('OPTIONS', {}))")
    result = manage("shell", "-c", code, env={**PRODUCTION, **pool}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected  # after the shell's own start-up lines
