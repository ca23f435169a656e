"""Liveness, readiness and the channel layer, on the real services."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings


def test_healthz_answers_without_authentication(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_redis_and_job_queue(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["job_queue"].startswith("ok")
    assert checks["redis"] == ("ok" if settings.REDIS_URL else "not configured")


@pytest.mark.django_db
def test_readyz_is_unavailable_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"].startswith("error")
    assert body["checks"]["database"] == "ok"


def test_channel_layer_delivers_a_group_message():
    """The configured layer (Redis when REDIS_URL is set) really carries group messages."""
    layer = get_channel_layer()
    expected = (
        "channels_redis.pubsub.RedisPubSubChannelLayer"
        if settings.REDIS_URL
        else "channels.layers.InMemoryChannelLayer"
    )
    assert f"{type(layer).__module__}.{type(layer).__name__}" == expected

    async def round_trip() -> dict:
        channel = await layer.new_channel()
        await layer.group_add("test-health", channel)
        await layer.group_send("test-health", {"type": "probe", "n": 7})
        message = await layer.receive(channel)
        await layer.group_discard("test-health", channel)
        return message

    assert async_to_sync(round_trip)() == {"type": "probe", "n": 7}
