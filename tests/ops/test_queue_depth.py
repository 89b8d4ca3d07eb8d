"""Celery queue depth read from a real Redis broker, and a broker that does not answer."""
import time

import pytest
import redis

from config import runtime_metrics
from config.celery import QUEUES, app
from tests.support.dead_services import dead_port
from tests.support.services import require_redis

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def broker(monkeypatch, settings):
    def use(url: str) -> None:
        settings.CELERY_TASK_ALWAYS_EAGER = False
        monkeypatch.setattr(app.conf, "broker_url", url)
        monkeypatch.setattr(app.conf, "broker_read_url", url)

    return use


def queue_samples() -> dict:
    families = {family.name: family for family in runtime_metrics.collect()}
    return {"depth": {sample.labels["queue"]: sample.value
                      for sample in families["racine_celery_queue_messages"].samples},
            "reachable": [sample.value for sample in families["racine_celery_broker_reachable"].samples]}


def test_messages_waiting_on_each_queue_are_counted(broker):
    url = require_redis()
    client = redis.Redis.from_url(url)
    client.delete(*QUEUES)
    client.lpush("scans", *[b'{"body": "waiting"}'] * 3)
    client.lpush("detection", b'{"body": "waiting"}')
    broker(url)
    try:
        samples = queue_samples()
    finally:
        client.delete(*QUEUES)

    assert samples["depth"] == {"default": 0, "scans": 3, "detection": 1, "compliance": 0}
    assert samples["reachable"] == [1]


@pytest.mark.parametrize("kind", ["closed", "black_hole"])
def test_an_unreachable_broker_is_a_value_not_a_failed_scrape(broker, kind):
    with dead_port(kind) as port:
        broker(f"redis://127.0.0.1:{port}/0")
        started = time.monotonic()
        samples = queue_samples()

    assert samples == {"depth": {}, "reachable": [0]}
    assert time.monotonic() - started < 5
