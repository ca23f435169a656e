"""ws/alerts/ through the real ASGI application and a real Redis channel layer: tickets,
district permission, live events, backfill after a disconnect (in order, once), gap filling
when a group send is lost, cursors, and closing on logout, token revocation and role loss:
at once (the officer's group), and by the periodic re-check as the safety net; and a Redis
outage under an open socket: told (degraded), caught up within seconds, live again."""

import asyncio
import os
import sys
import time
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
from push import alert_stream, layer_watch
from push.alert_stream import ws_ticket_issue
from push.consumers import CLOSE_FORBIDDEN, MSG_ACK, MSG_DEGRADED, MSG_LIVE, MSG_READY
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


def test_a_ticket_names_a_district_within_the_officers_scope(control_room, registry_admin):
    def post(officer, district):
        client = Client()
        client.force_login(officer)
        body = {"district": district}
        return client.post("/api/v1/ws-ticket/", body, content_type="application/json")

    own = post(control_room, "lahore")
    other = post(control_room, "kasur")
    national = post(registry_admin, "kasur")
    nowhere = post(registry_admin, "atlantis")

    assert own.status_code == 201
    assert own.json()["url"].endswith("&district=lahore")
    assert other.status_code == 404
    assert other.json()["fields"] == {"district": ["not found"]}
    assert national.status_code == 201
    assert (
        national.json()["url"] == f"/ws/alerts/?ticket={national.json()['ticket']}&district=kasur"
    )
    assert nowhere.status_code == 404
    assert WsTicket.objects.count() == 2  # no ticket for a refused district


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


# --- closing at once (not at the next re-check) ----------------------------------------------


@pytest.fixture
def slow_recheck(settings):
    """The production re-check interval: a socket that closes within the test's timeout was
    closed by the sign-in's end itself, not by the periodic safety net."""
    settings.NIGRANI_WS_RECHECK_SECONDS = 60


def phone_ticket(officer, device_id: str = "phone-1") -> tuple[str, str]:
    """A device token for ``officer``'s phone and a socket ticket opened from it."""
    from accounts.models import DeviceToken

    issued = device_token_issue(officer=officer, device_id=device_id, device_name="phone")
    token = DeviceToken.objects.get(pk=issued.device_token.pk)
    return issued.token, ws_ticket_issue(officer=officer, device_token=token).ticket


@pytest.mark.parametrize("path", ["/api/v1/auth/logout/", "/accounts/logout/"])
async def test_signing_out_closes_the_socket_at_once(slow_recheck, control_room, path):
    ticket, client = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        await receive_until_ready(communicator)
        response = await sync_to_async(client.post)(path)
        assert response.status_code in (204, 302)
        await expect_closed(communicator)
    finally:
        await communicator.disconnect()


async def test_a_phone_logout_closes_its_socket_at_once(slow_recheck, control_room):
    raw_token, ticket = await sync_to_async(phone_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        await receive_until_ready(communicator)
        response = await sync_to_async(Client().post)(
            "/api/v1/auth/logout/",
            headers={"Authorization": f"Bearer {raw_token}", "X-Device-ID": "phone-1"},
        )
        assert response.status_code == 204
        await expect_closed(communicator)
    finally:
        await communicator.disconnect()


async def test_revoking_the_device_closes_its_socket_at_once(
    slow_recheck, control_room, system_admin
):
    from accounts.services import device_revoke

    _, ticket = await sync_to_async(phone_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        await receive_until_ready(communicator)
        await sync_to_async(device_revoke)(
            actor=system_admin, officer=control_room, device_id="phone-1"
        )
        await expect_closed(communicator)
    finally:
        await communicator.disconnect()


async def test_signing_in_again_on_the_phone_closes_the_old_tokens_socket(
    slow_recheck, control_room
):
    """One phone, one live token: the superseded token's socket goes with it."""
    _, ticket = await sync_to_async(phone_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        await receive_until_ready(communicator)
        await sync_to_async(device_token_issue)(
            officer=control_room, device_id="phone-1", device_name="phone"
        )
        await expect_closed(communicator)
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize("loss", ["role", "deactivation"])
async def test_losing_the_role_closes_the_socket_at_once(
    slow_recheck, control_room, system_admin, world, loss
):
    changes = {
        "role": {"role": "station_officer", "station": world.lahore_a},
        "deactivation": {"is_active": False},
    }[loss]
    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        await receive_until_ready(communicator)
        await sync_to_async(officer_update)(
            actor=system_admin, officer=control_room, changes=changes
        )
        await expect_closed(communicator)
    finally:
        await communicator.disconnect()


async def test_only_the_sockets_of_the_ended_sign_in_close(
    slow_recheck, control_room, control_room_elsewhere, system_admin
):
    """The phone is revoked: its socket closes; the same officer's web socket, and another
    officer's, stay open (a change of name is no reason to close anything either)."""
    from accounts.services import device_revoke

    _, phone = await sync_to_async(phone_ticket)(control_room)
    web, _ = await sync_to_async(session_ticket)(control_room)
    colleague, _ = await sync_to_async(session_ticket)(control_room_elsewhere)
    phone_socket, _ = await open_socket(phone)
    web_socket, _ = await open_socket(web)
    colleague_socket, _ = await open_socket(colleague)
    try:
        for communicator in (phone_socket, web_socket, colleague_socket):
            await receive_until_ready(communicator)
        await sync_to_async(officer_update)(
            actor=system_admin, officer=control_room, changes={"rank": "Inspector"}
        )
        await sync_to_async(device_revoke)(
            actor=system_admin, officer=control_room, device_id="phone-1"
        )

        await expect_closed(phone_socket)
        assert await web_socket.receive_nothing(timeout=0.3)
        assert await colleague_socket.receive_nothing(timeout=0.1)
    finally:
        for communicator in (phone_socket, web_socket, colleague_socket):
            await communicator.disconnect()


async def test_a_ticket_issued_before_a_logout_opens_nothing_after_it(control_room):
    ticket, client = await sync_to_async(session_ticket)(control_room)
    response = await sync_to_async(client.post)("/api/v1/auth/logout/")
    assert response.status_code == 204

    communicator, connected = await open_socket(ticket)

    assert not connected
    await communicator.disconnect()


async def test_the_idle_sign_out_closes_the_socket_at_once(slow_recheck, control_room):
    from accounts.middleware import LAST_ACTIVITY_KEY

    ticket, client = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)

    def idle_then_request():
        session = client.session
        session[LAST_ACTIVITY_KEY] = int(timezone.now().timestamp()) - 31 * 60
        session.save()
        return client.get("/api/v1/auth/me/")

    try:
        await receive_until_ready(communicator)
        response = await sync_to_async(idle_then_request)()
        assert response.status_code in (401, 403)
        await expect_closed(communicator)
    finally:
        await communicator.disconnect()


# --- resuming from before the retention ------------------------------------------------------


def prune_events_up_to(seq: int) -> None:
    """The nightly prune, as if events up to ``seq`` were past their retention."""
    from push.models import AlertEvent

    AlertEvent.objects.filter(seq__lte=seq).update(
        created_at=timezone.now() - timezone.timedelta(days=400)
    )
    alert_stream.alert_events_prune()


async def test_resuming_from_before_the_retention_is_told_to_resync(control_room, offender):
    from push.consumers import MSG_RESYNC

    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    await receive_until_ready(communicator)
    await raise_async(offender, key="seen")
    seen = await communicator.receive_json_from(timeout=TIMEOUT)
    await communicator.disconnect()
    for n in range(3):
        await raise_async(offender, key=f"away-{n}")
    await sync_to_async(prune_events_up_to)(seen["seq"] + 1)  # the first one missed is gone
    head = seen["seq"] + 3

    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket, after=seen["seq"])
    try:
        resync = await communicator.receive_json_from(timeout=TIMEOUT)
        assert resync == {"type": MSG_RESYNC, "seq": head}
        backlog, seq = await receive_until_ready(communicator)
        assert (backlog, seq) == ([], head)
        await raise_async(offender, key="after")
        live = await communicator.receive_json_from(timeout=TIMEOUT)
        assert live["seq"] == head + 1
    finally:
        await communicator.disconnect()


async def test_a_cursor_from_before_the_retention_is_told_to_resync(control_room, offender):
    from push.consumers import MSG_RESYNC

    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    await receive_until_ready(communicator)
    await raise_async(offender, key="seen")
    seen = await communicator.receive_json_from(timeout=TIMEOUT)
    await communicator.send_json_to({"type": MSG_ACK, "seq": seen["seq"]})
    await raise_async(offender, key="missed")
    missed = await communicator.receive_json_from(timeout=TIMEOUT)
    await communicator.disconnect()
    await sync_to_async(prune_events_up_to)(missed["seq"])

    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        assert await communicator.receive_json_from(timeout=TIMEOUT) == {
            "type": MSG_RESYNC,
            "seq": missed["seq"],
        }
        assert await receive_until_ready(communicator) == ([], missed["seq"])
    finally:
        await communicator.disconnect()


async def test_a_new_socket_after_everything_was_pruned_starts_at_the_head(control_room, offender):
    await raise_async(offender, key="long-ago")
    head = await sync_to_async(alert_stream.alert_stream_head)(district_id=offender.district_id)
    await sync_to_async(prune_events_up_to)(head)

    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        assert await receive_until_ready(communicator) == ([], head)
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


# --- Redis down under open sockets: degraded, fast catch-up, live again ----------------------

PROBE_S = 0.2


class PrivateValkey:
    """An embedded Valkey of the test's own, stopped and started again on the same port (the
    shared Redis is never touched)."""

    def __init__(self) -> None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
        import embedded_redis

        self._server = embedded_redis
        self.proc, self.url = embedded_redis.start()
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None

    def start(self) -> None:
        self.proc, _ = self._server.start(port=self.port)

    def publish_calls(self) -> int:
        import redis

        with redis.Redis.from_url(self.url, socket_timeout=2) as client:
            return int(client.info("commandstats").get("cmdstat_publish", {}).get("calls", 0))


@pytest.fixture
def valkey(settings, redis_layer):
    """The pub/sub layer on a private Valkey; probes every PROBE_S; the periodic catch-up at
    its maximum, so an event that arrives within seconds came by the probe's catch-up or
    live, never by the re-check."""
    server = PrivateValkey()
    channel_layers.backends.clear()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [server.url]},
        }
    }
    settings.NIGRANI_WS_RECHECK_SECONDS = 60
    settings.NIGRANI_WS_LAYER_PROBE_SECONDS = PROBE_S
    yield server
    server.stop()


async def test_a_redis_outage_is_told_and_its_alerts_still_arrive_within_seconds(
    valkey, control_room, offender
):
    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        _, seq = await receive_until_ready(communicator)
        await raise_async(offender, key="before")
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["seq"] == seq + 1

        await sync_to_async(valkey.stop)()
        stopped = time.monotonic()
        degraded = await communicator.receive_json_from(timeout=TIMEOUT)
        assert degraded == {"type": MSG_DEGRADED, "catch_up_seconds": PROBE_S}
        assert time.monotonic() - stopped < 3 * PROBE_S  # the next probe or the one after

        raised = time.monotonic()
        await raise_async(offender, key="down-1")
        await raise_async(offender, key="down-2")
        during = [await communicator.receive_json_from(timeout=TIMEOUT) for _ in range(2)]
        assert [e["seq"] for e in during] == [seq + 2, seq + 3]
        # A few probe intervals, not the re-check's 60 s.
        assert time.monotonic() - raised < 5 * PROBE_S
        assert await communicator.receive_nothing(timeout=3 * PROBE_S)

        await sync_to_async(valkey.start)()
        live = await communicator.receive_json_from(timeout=TIMEOUT)
        assert live == {"type": MSG_LIVE, "seq": seq + 3}

        publishes = await sync_to_async(valkey.publish_calls)()
        raised = time.monotonic()
        await raise_async(offender, key="after")
        after = await communicator.receive_json_from(timeout=TIMEOUT)
        assert after["seq"] == seq + 4
        assert time.monotonic() - raised < TIMEOUT
        # Through Valkey: the event's publish (besides the probes').
        assert await sync_to_async(valkey.publish_calls)() > publishes
        assert await communicator.receive_nothing(timeout=3 * PROBE_S)  # once
    finally:
        await communicator.disconnect()


def watch_tasks() -> list:
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "").startswith("LayerWatch.")
    ]


async def test_the_layer_watch_stops_when_the_last_socket_closes(
    valkey, control_room, control_room_elsewhere
):
    first_ticket, _ = await sync_to_async(session_ticket)(control_room)
    second_ticket, _ = await sync_to_async(session_ticket)(control_room_elsewhere)
    first, _ = await open_socket(first_ticket)
    second, _ = await open_socket(second_ticket)
    try:
        await receive_until_ready(first)
        await receive_until_ready(second)
        watch = layer_watch.watch_current()
        assert watch is not None
        await asyncio.sleep(3 * PROBE_S)
        assert watch.probes >= 2
        loops = [t for t in watch_tasks() if "_round_trip" not in t.get_coro().__qualname__]
        assert len(loops) == 2  # one probe loop and its receiver for both sockets

        await first.disconnect()
        await asyncio.sleep(2 * PROBE_S)
        assert layer_watch.watch_current() is watch
        assert watch.running
    finally:
        await first.disconnect()
        await second.disconnect()

    assert layer_watch.watch_current() is None
    assert watch_tasks() == []
    probes = watch.probes
    publishes = await sync_to_async(valkey.publish_calls)()
    await asyncio.sleep(3 * PROBE_S)
    assert (watch.probes, await sync_to_async(valkey.publish_calls)()) == (probes, publishes)


async def test_the_in_memory_layer_is_always_live(settings, control_room, offender):
    channel_layers.backends.clear()
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.NIGRANI_WS_LAYER_PROBE_SECONDS = PROBE_S
    settings.NIGRANI_WS_RECHECK_SECONDS = 60
    ticket, _ = await sync_to_async(session_ticket)(control_room)
    communicator, _ = await open_socket(ticket)
    try:
        _, seq = await receive_until_ready(communicator)
        assert await communicator.receive_nothing(timeout=4 * PROBE_S)  # no "degraded"
        watch = layer_watch.watch_current()
        assert watch is not None
        assert (watch.healthy, watch.probes >= 3) == (True, True)
        await raise_async(offender, key="in-memory")
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["seq"] == seq + 1
    finally:
        await communicator.disconnect()
