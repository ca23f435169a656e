"""The control room's live alert socket, ``ws/alerts/?ticket=…&district=…&after=…``.

Thin on purpose: the ticket is redeemed by ``push.ws_auth.TicketAuthMiddleware``; the rules
(who may watch which district, is the sign-in still good, what was missed) live in
``push.alert_stream``. Delivery is in order and once per connection: the consumer remembers
the last sequence it sent, drops what it already sent, and fills any gap from the database
(a group send can be lost; the rows cannot).

Each socket also joins its officer's group (``alert_stream.officer_group``): the accounts
services announce a sign-out, a revoked token or a changed role after commit, and the socket
it concerns closes at once; the periodic re-check stays as the safety net.

While the channel layer (Redis) is down, live events stop although the socket stays open: the
process's ``push.layer_watch`` notices within a probe interval and the socket sends
``degraded`` (the page shows it), catches up from the database every probe interval
meanwhile, and once the layer is back catches up one last time and sends ``live``.
"""

import asyncio
import contextlib
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from push import alert_stream, layer_watch

# Server → client message types (besides the alert event types of push.models.AlertEventType).
MSG_READY = "ready"  # backfill done: {"seq": last sequence sent}; live events follow
# Sent before "ready" when the resume point is older than the stream's retention: the events
# in between are gone, so the client reloads the alerts (GET /api/v1/violations/?open=true)
# and goes on from {"seq": N}, the stream's head; nothing is silently missing.
MSG_RESYNC = "resync"
# The live feed (the channel layer) is interrupted: {"catch_up_seconds": N}, the interval at
# which this socket now fetches what was raised from the database. Sent after "ready" too
# when the layer is already known down; it holds until "live".
MSG_DEGRADED = "degraded"
MSG_LIVE = "live"  # the layer is back; {"seq": last sent}, all before it sent; live events follow
MSG_ERROR = "error"  # a client message was not understood: {"code": …}
# Client → server message types.
MSG_ACK = "ack"  # {"seq": N}: the client has every event up to N (where a reconnect resumes)

# Close codes (4000–4999 are the application's).
CLOSE_UNAUTHENTICATED = 4401  # no ticket, or an unknown, used or expired one
CLOSE_FORBIDDEN = 4403  # the officer may not watch this district, or no longer may


def _query(scope: dict) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return {key: values[-1] for key, values in parsed.items()}


class AlertConsumer(AsyncJsonWebsocketConsumer):
    """One control-room socket on one district's alert stream."""

    district_id: int | None = None
    group: str | None = None
    officer_group: str | None = None
    last_sent = 0
    recheck: asyncio.Task | None = None
    watched = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The live handler and the periodic catch-up both send: one at a time, in order.
        self.sending = asyncio.Lock()

    async def connect(self) -> None:
        ticket = self.scope.get("ws_ticket")
        if ticket is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        query = _query(self.scope)
        self.district_code = query.get("district") or None
        self.district_id = await database_sync_to_async(alert_stream.ws_watch_district)(
            officer_id=ticket.officer_id, district_code=self.district_code
        )
        if self.district_id is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Join before reading the backlog: an event committed in between arrives live and is
        # dropped as already sent, never missed.
        self.group = alert_stream.district_group(self.district_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        # A logout, a revoked token or a lost role reaches the officer's sockets at once
        # through this group; the periodic re-check stays as the safety net. Joined before
        # the sign-in is checked, so a sign-out in between is not missed either way (a ticket
        # outlives the sign-out it was issued under by up to its lifetime).
        self.officer_group = alert_stream.officer_group(ticket.officer_id)
        await self.channel_layer.group_add(self.officer_group, self.channel_name)
        if not await database_sync_to_async(alert_stream.ws_sign_in_valid)(ticket=ticket):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.accept()
        async with self.sending:
            self.last_sent, resync = await database_sync_to_async(self._resume_point)(
                query.get("after")
            )
            if resync:
                await self.send_json({"type": MSG_RESYNC, "seq": self.last_sent})
            await self._backfill(upto=None)
            await self.send_json({"type": MSG_READY, "seq": self.last_sent})
            self.watched = True
            if not layer_watch.register(self, layer=self.channel_layer):
                await self._send_degraded()
        self.recheck = asyncio.create_task(self._recheck_loop())

    def _resume_point(self, after: str | None) -> tuple[int, bool]:
        """Where to resume (``after``, else the acknowledged cursor, else the head), and
        whether the client must resync first: its resume point is older than what is kept."""
        if after is not None and after.isdigit():
            resume = int(after)
        else:
            ticket = self.scope["ws_ticket"]
            acked = alert_stream.alert_cursor_get(
                officer_id=ticket.officer_id, district_id=self.district_id
            )
            if acked is None:
                return alert_stream.alert_stream_head(district_id=self.district_id), False
            resume = acked
        head = alert_stream.alert_stream_resync_point(district_id=self.district_id, after=resume)
        return (resume, False) if head is None else (head, True)

    async def _backfill(self, *, upto: int | None) -> None:
        events = await database_sync_to_async(alert_stream.alert_events_after)(
            district_id=self.district_id, after=self.last_sent, upto=upto
        )
        for event in events:
            if event["seq"] > self.last_sent:
                await self.send_json(event)
                self.last_sent = event["seq"]

    async def alert_event(self, message: dict) -> None:
        """A live event of the district's group (``push.alert_stream.GROUP_MESSAGE_TYPE``)."""
        event = message["event"]
        seq = event["seq"]
        async with self.sending:
            if seq <= self.last_sent:
                return
            if seq > self.last_sent + 1:
                await self._backfill(upto=seq)
                return
            await self.send_json(event)
            self.last_sent = seq

    async def receive_json(self, content: dict, **kwargs) -> None:
        if not isinstance(content, dict) or content.get("type") != MSG_ACK:
            await self.send_json({"type": MSG_ERROR, "code": "unknown_type"})
            return
        seq = content.get("seq")
        if not isinstance(seq, int) or seq < 0 or seq > self.last_sent:
            await self.send_json({"type": MSG_ERROR, "code": "bad_seq"})
            return
        await database_sync_to_async(alert_stream.alert_cursor_ack)(
            officer_id=self.scope["ws_ticket"].officer_id, district_id=self.district_id, seq=seq
        )

    async def alert_sign_in_ended(self, message: dict) -> None:
        """One of the officer's sign-ins ended (``alert_stream.SIGN_IN_ENDED_MESSAGE_TYPE``):
        close now if this socket was opened from it, re-check if the officer's access
        changed."""
        ticket = self.scope["ws_ticket"]
        ended = (
            ticket.device_token_id is not None and ticket.device_token_id in message["tokens"]
        ) or (
            bool(ticket.session_key)
            and alert_stream.session_key_digest(ticket.session_key) in message["sessions"]
        )
        if ended or (
            message["access_changed"] and not await database_sync_to_async(self._still_allowed)()
        ):
            await self.close(code=CLOSE_FORBIDDEN)

    def _still_allowed(self) -> bool:
        ticket = self.scope["ws_ticket"]
        if not alert_stream.ws_sign_in_valid(ticket=ticket):
            return False
        district_id = alert_stream.ws_watch_district(
            officer_id=ticket.officer_id, district_code=self.district_code
        )
        return district_id == self.district_id

    async def _recheck_loop(self) -> None:
        """Sockets otherwise outlive a logout: re-check the sign-in and the role regularly.
        Then catch up from the database: an event whose group send was lost (Redis down) with
        no later event to reveal the gap still arrives within one interval."""
        while True:
            await asyncio.sleep(settings.NIGRANI_WS_RECHECK_SECONDS)
            if not await database_sync_to_async(self._still_allowed)():
                await self.close(code=CLOSE_FORBIDDEN)
                return
            async with self.sending:
                await self._backfill(upto=None)

    async def _send_degraded(self) -> None:
        seconds = settings.NIGRANI_WS_LAYER_PROBE_SECONDS
        await self.send_json({"type": MSG_DEGRADED, "catch_up_seconds": seconds})

    async def layer_down(self) -> None:
        """The layer went down (``push.layer_watch``): say so, then catch up."""
        async with self.sending:
            await self._send_degraded()
            await self._backfill(upto=None)

    async def layer_still_down(self) -> None:
        async with self.sending:
            await self._backfill(upto=None)

    async def layer_up(self) -> None:
        """Back: what was published before the process re-subscribed is lost to the layer,
        not to the database."""
        async with self.sending:
            await self._backfill(upto=None)
            await self.send_json({"type": MSG_LIVE, "seq": self.last_sent})

    async def disconnect(self, code: int) -> None:
        if self.watched:
            self.watched = False
            await layer_watch.unregister(self)
        if self.recheck is not None:
            self.recheck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.recheck
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.officer_group is not None:
            await self.channel_layer.group_discard(self.officer_group, self.channel_name)
