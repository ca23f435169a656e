"""ws/alerts/ through the real ASGI application and a real Redis channel layer: tickets,
district permission, live events, backfill after a disconnect (in order, once), gap filling
when a group send is lost, cursors, and closing on logout, token revocation and role loss."""

import os
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from accounts.services import device_token_issue, officer_update
from backend.asgi import application
from compliance.models import Severity
from push import alert_stream
from push.alert_stream import ws_ticket_issue
from push.consumers import CLOSE_FORBIDDEN, MSG_ACK, MSG_READY
from push.models import AlertEventType, WsTicket
from tests.compliance.conftest import raise_for
from tests.factories import OffenderFactory

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = [(b"origin", b"http://testserver")]
TIMEOUT = 5


@pytest.fixture(scope="session")
def redis_url():
    """REDIS_URL's Redis when set (CI: the machine's), else the embedded Valkey that make run
    uses, started for the session: never an in-memory layer, never a silent skip."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    import embedded_redis

    proc, url = embedded_redis.start()
    yield url
    proc.terminate()
    proc.wait()


@pytest.fixture(autouse=True)
def redis_layer(settings, redis_url):
    """The production layer (channels_redis' pub/sub layer, see settings) on that Redis."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }
    settings.NIGRANI_WS_RECHECK_SECONDS = 0.05
    yield
    channel_layers.backends.clear()


def session_ticket(officer) -> tuple[str, Client]:
    client = Client()
    client.force_login(officer)
    issued = ws_ticket_issue(officer=officer, session_key=client.session.session_key)
    return issued.ticket, client


async def open_socket(ticket: str | None, **params) -> tuple[WebsocketCommunicator, bool]:
    query = {k: v for k, v in {"ticket": ticket, **params}.items() if v is not None}
    communicator = WebsocketCommunicator(
        application, f"/ws/alerts/?{urlencode(query)}", headers=ORIGIN
    )
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    return communicator, connected


async def receive_until_ready(communicator) -> tuple[list[dict], int]:
    events = []
    while True:
        message = await communicator.receive_json_from(timeout=TIMEOUT)
        if message["type"] == MSG_READY:
            return events, message["seq"]
        events.append(message)


raise_async = sync_to_async(raise_for)


@pytest.fixture
def offender(world):
    return OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)


# --- who may connect -------------------------------------------------------------------------


async def test_no_ticket_is_refused(control_room):
    communicator, connected = await open_socket(None)
    assert not connected
    await communicator.disconnect()


async def test_an_unknown_ticket_is_refused(control_room):
    communicator, connected = await open_socket("not-a-ticket")
    assert not connected
    await communicator.disconnect()


async def test_a_ticket_opens_one_socket_only(control_room):
    ticket, _ = await sync_to_async(session_ticket)(control_room)

    first, first_connected = await open_socket(ticket)
    second, second_connected = await open_socket(ticket)

    assert first_connected
    assert not second_connected
    await first.disconnect()
    await second.disconnect()


async def test_an_expired_ticket_is_refused(control_room):
    ticket, _ = await sync_to_async(session_ticket)(control_room)
    await sync_to_async(
        lambda: WsTicket.objects.update(expires_at=timezone.now() - timezone.timedelta(seconds=1))
    )()

    communicator, connected = await open_socket(ticket)

    assert not connected
    await communicator.disconnect()


async def test_another_districts_stream_is_refused(control_room):
    ticket, _ = await sync_to_async(session_ticket)(control_room)

    communicator, connected = await open_socket(ticket, district="kasur")

    assert not connected
    await communicator.disconnect()


async def test_a_national_watcher_must_name_a_district(registry_admin):
    ticket, _ = await sync_to_async(session_ticket)(registry_admin)
    communicator, connected = await open_socket(ticket)
    assert not connected
    await communicator.disconnect()

    ticket, _ = await sync_to_async(session_ticket)(registry_admin)
    communicator, connected = await open_socket(ticket, district="kasur")
    assert connected
    await communicator.disconnect()


def test_roles_without_alert_watch_get_no_ticket(client_for, station_officer, control_room):
    assert client_for(station_officer).post("/api/v1/ws-ticket/").status_code == 403


def test_ticket_endpoint_issues_a_ticket_for_the_session(control_room):
    client = Client()
    client.force_login(control_room)

    response = client.post("/api/v1/ws-ticket/")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"] == f"/ws/alerts/?ticket={body['ticket']}"
    assert WsTicket.objects.get().session_key == client.session.session_key


# --- events ----------------------------------------------------------------------------------


async def test_a_raised_alert_arrives_live(control_room, offender):
    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, connected = await open_socket(ticket)
    assert connected
    try:
        backlog, seq = await receive_until_ready(communicator)
        assert backlog == []

        violation, _ = await raise_async(offender, severity=Severity.CRITICAL)

        event = await communicator.receive_json_from(timeout=TIMEOUT)
        assert event["type"] == AlertEventType.RAISED
        assert event["seq"] == seq + 1
        assert event["alert"]["id"] == violation.pk
        assert event["alert"]["escalation_level"] == 1
        # No identity travels on the socket.
        assert offender.full_name not in str(event)
        assert offender.cnic not in str(event)
    finally:
        await communicator.disconnect()


async def test_events_raised_while_away_arrive_once_in_order(control_room, offender):
    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    await receive_until_ready(communicator)
    await raise_async(offender, key="before")
    first = await communicator.receive_json_from(timeout=TIMEOUT)
    await communicator.disconnect()

    for n in range(5):  # one alert, then four repeats updating it
        await raise_async(offender, key=f"away-{n}")

    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket, after=first["seq"])
    try:
        backlog, seq = await receive_until_ready(communicator)
        assert [e["seq"] for e in backlog] == list(range(first["seq"] + 1, first["seq"] + 6))
        assert seq == backlog[-1]["seq"]
        await raise_async(offender, key="after")
        live = await communicator.receive_json_from(timeout=TIMEOUT)
        assert live["seq"] == seq + 1
        assert await communicator.receive_nothing(timeout=0.2)
    finally:
        await communicator.disconnect()


async def test_a_lost_group_send_is_filled_from_the_database(control_room, offender, monkeypatch):
    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        _, seq = await receive_until_ready(communicator)
        real_broadcast = alert_stream.alert_events_broadcast
        monkeypatch.setattr(alert_stream, "alert_events_broadcast", lambda events: 0)
        await raise_async(offender, key="lost-1")
        await raise_async(offender, key="lost-2")
        monkeypatch.setattr(alert_stream, "alert_events_broadcast", real_broadcast)
        await raise_async(offender, key="delivered")

        received = [await communicator.receive_json_from(timeout=TIMEOUT) for _ in range(3)]
        assert [e["seq"] for e in received] == [seq + 1, seq + 2, seq + 3]
        assert await communicator.receive_nothing(timeout=0.2)
    finally:
        await communicator.disconnect()


async def test_a_lost_last_event_arrives_by_the_periodic_catch_up(
    control_room, offender, monkeypatch
):
    """Redis down while the last event is raised: no later event reveals the gap, the
    re-check interval's catch-up from the database delivers it anyway, once."""
    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        _, seq = await receive_until_ready(communicator)
        monkeypatch.setattr(alert_stream, "alert_events_broadcast", lambda events: 0)
        violation, _ = await raise_async(offender, key="lost-for-good")

        event = await communicator.receive_json_from(timeout=TIMEOUT)

        assert (event["seq"], event["alert"]["id"]) == (seq + 1, violation.pk)
        assert await communicator.receive_nothing(timeout=0.3)
    finally:
        await communicator.disconnect()


async def test_a_reconnect_without_after_resumes_from_the_acknowledged_cursor(
    control_room, offender
):
    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    await receive_until_ready(communicator)
    await raise_async(offender, key="seen")
    seen = await communicator.receive_json_from(timeout=TIMEOUT)
    await communicator.send_json_to({"type": MSG_ACK, "seq": seen["seq"]})
    await raise_async(offender, key="unacked")
    unacked = await communicator.receive_json_from(timeout=TIMEOUT)
    await communicator.disconnect()

    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        backlog, _ = await receive_until_ready(communicator)
        assert [e["seq"] for e in backlog] == [unacked["seq"]]
    finally:
        await communicator.disconnect()


async def test_an_ack_beyond_what_was_sent_is_refused(control_room):
    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        _, seq = await receive_until_ready(communicator)
        await communicator.send_json_to({"type": MSG_ACK, "seq": seq + 100})
        reply = await communicator.receive_json_from(timeout=TIMEOUT)
        assert reply == {"type": "error", "code": "bad_seq"}
    finally:
        await communicator.disconnect()


async def test_a_breach_elsewhere_reaches_both_districts_sockets(
    control_room, control_room_elsewhere, offender
):
    lahore_ticket, _ = await sync_to_async(session_ticket)(control_room)
    kasur_ticket, _ = await sync_to_async(session_ticket)(control_room_elsewhere)
    lahore, _ = await open_socket(lahore_ticket)
    kasur, _ = await open_socket(kasur_ticket)
    try:
        await receive_until_ready(lahore)
        await receive_until_ready(kasur)
        violation, _ = await raise_async(offender, lon=74.5, lat=30.5)  # in Kasur

        for communicator in (lahore, kasur):
            event = await communicator.receive_json_from(timeout=TIMEOUT)
            assert (event["type"], event["alert"]["id"]) == (AlertEventType.RAISED, violation.pk)
    finally:
        await lahore.disconnect()
        await kasur.disconnect()


# --- closing when the sign-in or the role ends ----------------------------------------------


async def expect_closed(communicator) -> None:
    message = await communicator.receive_output(timeout=TIMEOUT)
    while message["type"] != "websocket.close":
        message = await communicator.receive_output(timeout=TIMEOUT)
    assert message["code"] == CLOSE_FORBIDDEN


async def test_logout_closes_the_socket(control_room):
    ticket, client = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        await receive_until_ready(communicator)
        await sync_to_async(client.logout)()
        await expect_closed(communicator)
    finally:
        await communicator.disconnect()


async def test_losing_the_role_closes_the_socket(control_room, system_admin, world):
    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        await receive_until_ready(communicator)
        await sync_to_async(officer_update)(
            actor=system_admin,
            officer=control_room,
            changes={"role": "station_officer", "station": world.lahore_a},
        )
        await expect_closed(communicator)
    finally:
        await communicator.disconnect()


async def test_revoking_the_device_token_closes_the_socket(control_room, system_admin):
    def issue():
        issued = device_token_issue(officer=control_room, device_id="phone-1", device_name="p")
        from accounts.models import DeviceToken

        token = DeviceToken.objects.get(officer=control_room, device_id="phone-1")
        return issued, ws_ticket_issue(officer=control_room, device_token=token).ticket

    _, ticket = await sync_to_async(issue)()
    communicator, connected = await open_socket(ticket)
    assert connected
    try:
        await receive_until_ready(communicator)
        from accounts.services import device_revoke

        await sync_to_async(device_revoke)(
            actor=system_admin, officer=control_room, device_id="phone-1"
        )
        await expect_closed(communicator)
    finally:
        await communicator.disconnect()


async def test_a_socket_stays_open_while_the_sign_in_is_good(control_room):
    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        await receive_until_ready(communicator)
        # Several re-checks (every 0.05 s here) pass without closing it.
        assert await communicator.receive_nothing(timeout=0.3)
    finally:
        await communicator.disconnect()


# --- broadcasting from a process without a server loop -----------------------------------------


def test_commits_outside_an_asgi_server_broadcast_through_one_lasting_loop():
    """The ingest and job-worker processes have no event loop: ``async_to_sync`` started a
    new one, with a new Redis connection, for every commit. They now share one loop (and its
    connection) for the process's life, and the events still arrive in order."""
    import asyncio
    import threading
    from datetime import UTC, datetime

    from channels.layers import get_channel_layer

    from push.models import AlertEvent

    layer = get_channel_layer()
    subscribed, got = threading.Event(), []

    async def listen() -> None:
        channel = await layer.new_channel()
        await layer.group_add(alert_stream.district_group(424242), channel)
        subscribed.set()
        for _ in range(3):
            got.append((await asyncio.wait_for(layer.receive(channel), TIMEOUT))["event"]["seq"])

    listener = threading.Thread(target=lambda: asyncio.run(listen()))
    listener.start()
    assert subscribed.wait(TIMEOUT)

    def event(seq: int) -> AlertEvent:
        return AlertEvent(
            district_id=424242, seq=seq, type=AlertEventType.RAISED, alert_id=seq,
            payload={"id": seq}, created_at=datetime.now(UTC),
        )  # fmt: skip

    assert alert_stream.alert_events_broadcast([event(1), event(2)]) == 2
    loop = alert_stream._broadcaster
    assert alert_stream.alert_events_broadcast([event(3)]) == 1
    listener.join(TIMEOUT)

    assert got == [1, 2, 3]
    assert loop is not None
    assert alert_stream._broadcaster is loop
    assert loop.is_running()
