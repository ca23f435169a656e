"""A Redis that accepts connections and never answers (a hung server, a half-open link) must
not hold a commit: the group sends give up after ``BROADCAST_TIMEOUT_SECONDS`` on either loop
they run on, the ASGI server's (an officer's request) or the broadcaster's (the ingest, the
job worker), and the rows wait for the sockets' backfill."""

import asyncio
import socket
import threading
import time
from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers

from push import alert_stream
from push.models import AlertEvent, AlertEventType

BUDGET = 0.5


@pytest.fixture
def silent_redis():
    """A real TCP peer on 127.0.0.1 that accepts and then says nothing."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def hung_layer(settings, silent_redis, monkeypatch):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [silent_redis]},
        }
    }
    channel_layers.backends.clear()
    monkeypatch.setattr(alert_stream, "BROADCAST_TIMEOUT_SECONDS", BUDGET)
    yield
    channel_layers.backends.clear()


def _events() -> list[AlertEvent]:
    return [
        AlertEvent(
            district_id=515151,
            seq=seq,
            type=AlertEventType.RAISED,
            alert_id=seq,
            payload={"id": seq},
            created_at=datetime.now(UTC),
        )  # fmt: skip
        for seq in (1, 2, 3)
    ]


def test_a_commit_inside_an_asgi_server_gives_up_on_a_hung_redis(hung_layer):
    """As a view's thread under the server's loop (``async_to_sync`` reaches that loop)."""

    async def request() -> tuple[int, float]:
        started = time.monotonic()
        sent = await asyncio.wait_for(
            sync_to_async(alert_stream.alert_events_broadcast)(_events()), 10 * BUDGET
        )
        return sent, time.monotonic() - started

    sent, took = asyncio.run(request())

    assert sent == 0
    assert took < 4 * BUDGET


def test_a_commit_outside_a_server_gives_up_on_a_hung_redis(hung_layer):
    """The ingest's threads and the job worker: the broadcaster loop."""
    started = time.monotonic()

    assert alert_stream.alert_events_broadcast(_events()) == 0
    assert time.monotonic() - started < 4 * BUDGET


def test_a_sign_out_gives_up_telling_its_sockets_on_a_hung_redis(hung_layer):
    """The logout itself must not hang: the sockets' periodic re-check closes them anyway."""
    started = time.monotonic()

    told = alert_stream.ws_sign_in_ended(
        officer_id=1, session_keys=["k"], token_ids=[], access_changed=False
    )

    assert told is False
    assert time.monotonic() - started < 4 * BUDGET
