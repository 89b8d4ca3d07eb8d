"""Issue 15, the real scrape: Debian's Prometheus server, on a loopback port, scrapes a running Racine (this test's
live server, with a real Celery worker taking the runs through Redis) and evaluates the shipped alert rules. A scan
of a reachable source shows up in Prometheus's query API; after a scan of an unreachable source (its retries made
short), the failing-source alert fires for that source and not for the other.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest
import yaml

from accounts.actors import SYSTEM
from scanning import services
from scanning.models import ScanRun
from sources import services as source_services
from tests.support import target_dbs
from tests.support.celery_worker import app_database_env, redis_workers, skip_unless_postgresql_app_database, wait_for
from tests.support.dead_services import closed_port
from tests.support.services import running_in_ci
from tests.support.target_dbs import scan_workspace, schema_only_rule_set

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "racine-alerts.yml"
# Short task limits for the worker, so that an unreachable source's retries (backoff capped at 60 % of the
# broker's visibility timeout) end within seconds instead of an hour.
SHORT_RETRIES = {"RACINE_TASK_SOFT_TIME_LIMIT": "10", "RACINE_TASK_TIME_LIMIT": "11",
                 "RACINE_BROKER_VISIBILITY_TIMEOUT": "12"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        message = "Debian's prometheus package is not installed (apt-get install prometheus)"
        if running_in_ci():
            pytest.fail(f"{message}; CI requires it", pytrace=False)
        pytest.skip(message)
    return binary


@pytest.fixture(scope="module")
def source_database():
    skip_unless_postgresql_app_database()
    with (target_dbs.pg_server() as (url, admin),
          target_dbs.pg_database(admin, url, "racine_t_scrape") as (name, conn)):
        conn.execute("CREATE TABLE customers (id integer PRIMARY KEY, email text)")
        yield name, url


@pytest.fixture
def worker(tmp_path, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the live server sends runs to the broker, and reads its queues
    with redis_workers(tmp_path, env={**app_database_env(), **SHORT_RETRIES}) as workers:
        workers.start()
        wait_for(lambda: "ready." in workers.logs[0].read_text(), 60, "the worker to be ready")
        yield workers


@pytest.fixture
def prometheus(prometheus_binary, live_server, tmp_path, settings):
    """Prometheus scraping the live server every 3 seconds and evaluating the shipped rules every second, each
    rule's ``for`` cut to 0 s; yields its base URL."""
    settings.RACINE_METRICS_CACHE_SECONDS = 0
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "0s"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    target = live_server.url.removeprefix("http://")
    # A scrape computes every collector (no cache here): 0.2–0.5 s, more on a loaded machine; a 1 s timeout failed
    # under load 10–18, so scrapes get 3 s.
    config = {"global": {"scrape_interval": "3s", "evaluation_interval": "1s", "scrape_timeout": "3s"},
              "rule_files": [str(tmp_path / "rules.yml")],
              "scrape_configs": [{"job_name": "racine", "static_configs": [{"targets": [target]}]}]}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    server = subprocess.Popen([prometheus_binary, f"--config.file={tmp_path / 'prometheus.yml'}",
                               f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{base}/-/ready"), 30, "Prometheus to be ready")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _answers(url: str) -> bool:
    try:
        with urlopen(url, timeout=1) as response:
            return response.status == 200
    except (URLError, OSError):
        return False


def _get_json(url: str) -> dict:
    with urlopen(url, timeout=5) as response:
        return json.load(response)


def query(base: str, expression: str) -> list[dict]:
    return _get_json(f"{base}/api/v1/query?{urlencode({'query': expression})}")["data"]["result"]


def firing(base: str, alert: str) -> list[dict]:
    alerts = _get_json(f"{base}/api/v1/alerts")["data"]["alerts"]
    return [a["labels"] for a in alerts if a["labels"]["alertname"] == alert and a["state"] == "firing"]


def scan_of(name: str, **connection) -> ScanRun:
    workspace = scan_workspace()
    source = source_services.datasource_create(workspace=workspace, acting_user=SYSTEM, name=name, engine="postgresql",
                                        **connection)
    scan = services.scan_default(data_source=source, rule_set=schema_only_rule_set(workspace), acting_user=SYSTEM)
    return services.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)


def finished(run: ScanRun, timeout: float) -> ScanRun:
    wait_for(lambda: ScanRun.objects.filter(pk=run.pk).exclude(status__in=ScanRun.ACTIVE).exists(), timeout,
             f"run {run.pk} to finish")
    run.refresh_from_db()
    return run


def test_prometheus_scrapes_racine_and_fires_the_failing_source_alert(source_database, worker, prometheus):
    name, url = source_database
    reachable = scan_of("reachable", host=url.hostname, port=url.port or 5432, database=name,
                        username=url.username or "postgres")
    assert finished(reachable, 90).status == ScanRun.Status.SUCCEEDED, reachable.error
    unreachable = scan_of("unreachable", host="127.0.0.1", port=closed_port(), database="nothing",
                          username="nobody")
    assert finished(unreachable, 120).status == ScanRun.Status.FAILED

    wait_for(lambda: query(prometheus, 'racine_scan_runs_total{kind="scan",status="failed"} == 1'), 60,
             "Prometheus to scrape the failed run")
    [succeeded] = query(prometheus, 'racine_scan_runs_total{kind="scan",status="succeeded"}')
    assert succeeded["value"][1] == "1"
    assert succeeded["metric"]["job"] == "racine"
    [objects] = query(prometheus, 'racine_scan_objects_seen_total{kind="scan"}')
    assert int(objects["value"][1]) == reachable.objects_seen > 0
    assert query(prometheus, "racine_ready")[0]["value"][1] == "1"
    assert {series["metric"]["queue"] for series in query(prometheus, "racine_celery_queue_messages")} == {
        "default", "scans", "detection", "compliance"}

    alerts = wait_for(lambda: firing(prometheus, "RacineSourceScanFailing"), 60, "the failing-source alert")
    assert [(labels["source"], labels["source_id"]) for labels in alerts] == [
        ("unreachable", str(unreachable.data_source_id))]
