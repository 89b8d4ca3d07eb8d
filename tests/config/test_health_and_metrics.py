import time

import pytest
from django.db import connections

from config import health
from tests.support.dead_services import black_hole, dead_port

pytestmark = pytest.mark.django_db

READY_WITHIN_S = 2.0
DOWN_KINDS = ["closed", "black_hole"]


def postgres_settings(port: int) -> dict:
    """Production-like settings of a PostgreSQL database on ``port``, with the application's pool."""
    raw = {"ENGINE": "django_prometheus.db.backends.postgresql", "NAME": "racine", "USER": "racine",
           "PASSWORD": "sup3rsecret", "HOST": "127.0.0.1", "PORT": port, "CONN_MAX_AGE": 0,
           "OPTIONS": {"pool": {"min_size": 2, "max_size": 10, "timeout": 10}}}
    return connections.configure_settings({"default": raw})["default"]


def timed_ready(client, **extra):
    started = time.monotonic()
    response = client.get("/health/ready", **extra)
    return response, time.monotonic() - started


def test_live_answers_ok(client):
    response = client.get("/health/live")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_checks_database_migrations_and_cache(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok", "migrations": "ok", "cache": "ok"}


def test_ready_is_503_naming_an_unreachable_broker(client, settings):
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    previous = app.conf.broker_url
    # A closed port on loopback: a real connection attempt that is refused.
    app.conf.broker_url = "redis://:sup3rsecret@127.0.0.1:1/0"
    try:
        response = client.get("/health/ready")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["broker"]["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"
    assert "sup3rsecret" not in response.content.decode()
    assert "error" in body["checks"]["broker"]  # the test client calls from loopback: an operator


def test_ready_hides_error_text_from_remote_callers(client, settings):
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/health/ready", REMOTE_ADDR="10.1.2.3")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["status"] == "fail" and set(broker) == {"status", "duration_ms"}


@pytest.mark.parametrize("kind", DOWN_KINDS)
def test_ready_answers_within_two_seconds_when_the_database_is_down(client, monkeypatch, kind):
    with dead_port(kind) as port:
        monkeypatch.setattr(health, "database_settings", lambda: postgres_settings(port))
        response, elapsed = timed_ready(client)

    assert elapsed < READY_WITHIN_S
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == checks["migrations"]["status"] == "fail"
    assert checks["cache"]["status"] == "ok"
    assert "sup3rsecret" not in response.content.decode()


@pytest.mark.parametrize("kind", DOWN_KINDS)
def test_ready_answers_within_two_seconds_when_the_cache_is_down(client, cache_at, kind):
    with dead_port(kind) as port:
        cache_at(f"redis://127.0.0.1:{port}/0")
        response, elapsed = timed_ready(client)

    assert elapsed < READY_WITHIN_S
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"]["status"] == "fail" and checks["database"]["status"] == "ok"


@pytest.mark.parametrize("kind", DOWN_KINDS)
def test_ready_answers_within_two_seconds_when_the_broker_is_down(client, broker_at, kind):
    with dead_port(kind) as port:
        broker_at(f"redis://127.0.0.1:{port}/0")
        response, elapsed = timed_ready(client)

    assert elapsed < READY_WITHIN_S
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "fail"


def test_ready_answers_within_two_seconds_when_everything_hangs(client, monkeypatch, cache_at, broker_at):
    with black_hole() as port:
        monkeypatch.setattr(health, "database_settings", lambda: postgres_settings(port))
        cache_at(f"redis://127.0.0.1:{port}/1")
        broker_at(f"redis://127.0.0.1:{port}/2")
        response, elapsed = timed_ready(client, REMOTE_ADDR="10.1.2.3")

    assert elapsed < READY_WITHIN_S
    assert response.status_code == 503
    assert {name: check["status"] for name, check in response.json()["checks"].items()} == {
        "database": "fail", "migrations": "fail", "cache": "fail", "broker": "fail"}
    assert all(set(check) == {"status", "duration_ms"} for check in response.json()["checks"].values())


def test_ready_hides_error_texts_from_a_client_relayed_by_a_loopback_proxy(client, cache_at):
    with black_hole() as port:
        cache_at(f"redis://127.0.0.1:{port}/1")
        response, _ = timed_ready(client, REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="203.0.113.9")

    assert response.json()["checks"]["cache"]["status"] == "fail"
    assert "error" not in response.json()["checks"]["cache"]


def test_metrics_served_to_loopback(client):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert b"django_http_requests_total_by_method_total" in response.content


@pytest.mark.parametrize("extra", [{"REMOTE_ADDR": "10.1.2.3"},
                                   {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"},
                                   # Regression: a proxy on loopback that names its client in another header than
                                   # X-Forwarded-For (nginx's X-Real-IP, RFC 7239's Forwarded) let anyone in.
                                   {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_REAL_IP": "203.0.113.9"},
                                   {"REMOTE_ADDR": "127.0.0.1", "HTTP_FORWARDED": "for=203.0.113.9;proto=https"},
                                   {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_PROTO": "https"}])
def test_metrics_refused_to_remote_client_without_token(client, settings, extra):
    settings.RACINE_METRICS_TOKEN = "scrape-token"
    response = client.get("/metrics", **extra)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_metrics_served_to_remote_client_with_token(client, settings):
    settings.RACINE_METRICS_TOKEN = "scrape-token"
    response = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer scrape-token")
    assert response.status_code == 200


def test_metrics_refuse_wrong_token(client, settings):
    settings.RACINE_METRICS_TOKEN = "scrape-token"
    response = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer guess")
    assert response.status_code == 403


def test_front_door_leads_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"



def test_readiness_probes_give_back_the_pool_connection_they_take(settings):
    # Regression: the migrations check took one of the application's pooled connections in its probe thread and
    # never returned it; past the pool's size every probe (and request) waited for a connection and failed.
    probes = settings.DATABASES["default"].get("OPTIONS", {}).get("pool", {}).get("max_size", 10) + 2
    for _ in range(probes):
        assert health.run_readiness_probes()["migrations"]["status"] == "ok"
