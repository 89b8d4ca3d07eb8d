import pytest

pytestmark = pytest.mark.django_db


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


def test_metrics_served_to_loopback(client):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert b"django_http_requests_total_by_method_total" in response.content


@pytest.mark.parametrize("extra", [{"REMOTE_ADDR": "10.1.2.3"},
                                   {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}])
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
