"""The districts' alert streams: events written in the caller's transaction with a
per-district sequence number, broadcast to the district's websocket group after commit, read
back in order by a socket that reconnects; and the single-use tickets that open a socket.

Group sends are at-most-once (Channels drops messages over capacity and Redis may be down):
the rows are the truth, the broadcast only makes them arrive early. A socket that sees a gap
in the sequence, or reconnects, reads the rows it missed.
"""

import asyncio
import hashlib
import json
import logging
import os
import secrets
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import DeviceToken, Officer
from accounts.roles import Scope
from accounts.scoping import jurisdiction_q
from common.exceptions import Forbidden, NotFound
from common.retention import delete_in_chunks
from push.models import AlertCursor, AlertEvent, AlertSequence, WsTicket

if TYPE_CHECKING:
    from jurisdictions.models import District

logger = logging.getLogger(__name__)

# Channels handler name of a stream event inside the group ("alert.event" → alert_event).
GROUP_MESSAGE_TYPE = "alert.event"
# Channels handler name of "a sign-in of this officer ended" in the officer's group
# ("alert.sign_in_ended" → alert_sign_in_ended): {"sessions": [sha256 of session keys],
# "tokens": [device token ids], "access_changed": bool}. Session keys travel hashed: the
# channel layer is not where a credential should be readable, even a spent one.
SIGN_IN_ENDED_MESSAGE_TYPE = "alert.sign_in_ended"
# How long a commit's group sends may take, on whichever loop they run (Redis hung or gone):
# past it the rest are dropped and logged, and the rows wait for the backfill.
BROADCAST_TIMEOUT_SECONDS = 5.0
WATCH_PERMISSION = "alert.watch"


def district_group(district_id: int) -> str:
    return f"alerts.district.{district_id}"


def officer_group(officer_id: int) -> str:
    """Every open alert socket of one officer, whichever district it watches."""
    return f"alerts.officer.{officer_id}"


def session_key_digest(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def event_message(event: AlertEvent) -> dict[str, Any]:
    """An event as the client receives it (live or from the backfill, the same shape)."""
    return {
        "type": event.type,
        "seq": event.seq,
        "district": event.district_id,
        "alert": event.payload,
        "at": event.created_at.isoformat(),
    }


# One round trip per district: take the district's next ``n`` sequence numbers (the row lock
# on its counter is held until commit, so its events commit in sequence order) and insert the
# events numbered from them.
_APPEND_SQL = """
WITH s AS (
    INSERT INTO push_alertsequence (district_id, last_seq) VALUES (%(district)s, %(n)s)
    ON CONFLICT (district_id) DO UPDATE
        SET last_seq = push_alertsequence.last_seq + EXCLUDED.last_seq
    RETURNING last_seq
)
INSERT INTO push_alertevent (district_id, seq, type, alert_id, payload, created_at)
SELECT %(district)s, s.last_seq - %(n)s + v.n, v.type, v.alert_id, v.payload::jsonb, %(at)s
  FROM s, unnest(%(types)s::varchar[], %(alerts)s::bigint[], %(payloads)s::text[])
       WITH ORDINALITY AS v(type, alert_id, payload, n)
 ORDER BY v.n
RETURNING id, seq
"""


def alert_events_append(*, events: list[tuple[int, str, int, dict[str, Any]]]) -> list[AlertEvent]:
    """Write ``(district_id, type, alert_id, payload)`` events in the caller's transaction and
    broadcast them after it commits. One statement per district, districts in a fixed order
    (so two transactions appending to the same districts in one call never deadlock), and no
    savepoint of its own: a failure here fails the caller's transaction, as it must (an alert
    change without its events would never reach the control room)."""
    if not events:
        return []
    now = timezone.now()
    by_district: dict[int, list[tuple[str, int, dict[str, Any]]]] = defaultdict(list)
    for district_id, event_type, alert_id, payload in events:
        by_district[district_id].append((event_type, alert_id, payload))
    rows: list[AlertEvent] = []
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        for district_id in sorted(by_district):
            items = by_district[district_id]
            cursor.execute(
                _APPEND_SQL,
                {
                    "district": district_id,
                    "n": len(items),
                    "at": now,
                    "types": [t for t, _, _ in items],
                    "alerts": [a for _, a, _ in items],
                    "payloads": [json.dumps(p) for _, _, p in items],
                },
            )
            numbered = sorted(cursor.fetchall(), key=lambda row: row[1])
            for (pk, seq), (event_type, alert_id, payload) in zip(numbered, items, strict=True):
                row = AlertEvent(
                    district_id=district_id,
                    seq=seq,
                    type=event_type,
                    alert_id=alert_id,
                    payload=payload,
                    created_at=now,
                )
                row.pk = pk
                row._state.adding = False
                rows.append(row)
        transaction.on_commit(lambda: alert_events_broadcast(rows))
    return rows


def alert_events_broadcast(events: list[AlertEvent]) -> int:
    """Best-effort group sends of committed events; a failure is logged, not raised (the
    rows are there for the backfill). Returns how many were sent.

    All of a commit's events go in one coroutine. From a process with no event loop of its
    own (the job worker, a WSGI web process, a management command) they run on this process's
    broadcaster loop, which keeps its Redis connection: ``async_to_sync`` there would start a
    new event loop, and so a new connection to Redis, for every commit. Inside an ASGI server
    ``async_to_sync`` reaches the server's own loop and its connection."""
    layer = get_channel_layer()
    if layer is None or not events:
        return 0
    messages = [
        (district_group(e.district_id), {"type": GROUP_MESSAGE_TYPE, "event": event_message(e)})
        for e in events
    ]

    async def send_all() -> int:
        # One budget for the commit's sends, also on an ASGI server's loop: a Redis that
        # accepts and never answers would otherwise hold the committing request (an officer's
        # acknowledge) for good.
        sent = 0
        try:
            async with asyncio.timeout(BROADCAST_TIMEOUT_SECONDS):
                for (group, message), event in zip(messages, events, strict=True):
                    try:
                        await layer.group_send(group, message)
                        sent += 1
                    except Exception:  # noqa: BLE001 - any layer failure: the backfill covers it
                        logger.warning(
                            "alert event %s/%s not broadcast", event.district_id, event.seq
                        )
        except TimeoutError:
            logger.warning("alert events not broadcast (%d): layer timed out", len(events) - sent)
        return sent

    if _own_loop_wanted(layer):
        future = asyncio.run_coroutine_threadsafe(send_all(), _broadcaster_loop())
        try:
            # The sends time out first; this only guards against a stalled loop.
            return future.result(timeout=BROADCAST_TIMEOUT_SECONDS + 1)
        except Exception:  # noqa: BLE001 - a hung Redis must not hang the committing request
            future.cancel()
            logger.warning("alert events not broadcast (%d): layer timed out", len(events))
            return 0
    return async_to_sync(send_all)()


def _own_loop_wanted(layer: Any) -> bool:
    """The broadcaster loop serves the Redis layers from threads that no ASGI server's loop
    stands behind; the in-memory layer (tests, no REDIS_URL) must stay on the loop of its
    consumers, which ``async_to_sync`` finds."""
    if isinstance(layer, InMemoryChannelLayer):
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return False  # called from async code: never block its loop
    # As async_to_sync decides: a server's loop stands behind this thread (a view's thread).
    local = SyncToAsync.threadlocal
    served = (
        getattr(local, "main_event_loop", None) is not None
        and getattr(local, "main_event_loop_pid", None) == os.getpid()
    )
    return not served


_broadcaster: asyncio.AbstractEventLoop | None = None
_broadcaster_pid = 0
_broadcaster_lock = threading.Lock()


def _broadcaster_loop() -> asyncio.AbstractEventLoop:
    """This process's broadcaster event loop, in a daemon thread, started on first use (and
    again in a forked child, which inherits the loop but not its thread)."""
    global _broadcaster, _broadcaster_pid
    with _broadcaster_lock:
        if _broadcaster is None or _broadcaster.is_closed() or _broadcaster_pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="alert-broadcaster", daemon=True).start()
            _broadcaster, _broadcaster_pid = loop, os.getpid()
        return _broadcaster


def ws_sign_in_ended(
    *, officer_id: int, session_keys: list[str], token_ids: list[int], access_changed: bool
) -> bool:
    """The ``accounts.hooks`` ``sign_in_ended`` handler (after commit): tell the officer's open
    sockets, which close at once if they rested on an ended sign-in, or re-check when the
    officer's access changed. Best effort, like every group send: the periodic re-check
    (``NIGRANI_WS_RECHECK_SECONDS``) still closes a socket whose message was lost."""
    layer = get_channel_layer()
    if layer is None:
        return False
    message = {
        "type": SIGN_IN_ENDED_MESSAGE_TYPE,
        "sessions": [session_key_digest(key) for key in session_keys],
        "tokens": list(token_ids),
        "access_changed": access_changed,
    }

    async def send() -> None:  # bounded like the alert events: a hung Redis holds no sign-out
        await asyncio.wait_for(
            layer.group_send(officer_group(officer_id), message), BROADCAST_TIMEOUT_SECONDS
        )

    try:
        async_to_sync(send)()
    except Exception:  # noqa: BLE001 - any layer failure: the periodic re-check covers it
        logger.warning("sign-in end of officer %s not broadcast to its sockets", officer_id)
        return False
    return True


def alert_events_after(*, district_id: int, after: int, upto: int | None = None) -> list[dict]:
    """The district's events after ``after`` (up to ``upto``), in sequence order."""
    events = AlertEvent.objects.filter(district_id=district_id, seq__gt=after)
    if upto is not None:
        events = events.filter(seq__lte=upto)
    return [event_message(event) for event in events.order_by("seq")]


def alert_stream_head(*, district_id: int) -> int:
    """The last sequence number of the district's stream (0 when it has none). Read from the
    counter, not the newest event row: events are pruned, the counter never goes back (and it
    commits with the events it numbered, so it never names an uncommitted one)."""
    last = (
        AlertSequence.objects.filter(district_id=district_id)
        .values_list("last_seq", flat=True)
        .first()
    )
    return last or 0


def alert_stream_resync_point(*, district_id: int, after: int) -> int | None:
    """``None`` when every event after ``after`` is still kept; else the stream's head, from
    which a socket resuming at ``after`` continues once its client has reloaded the alerts
    (events past ``NIGRANI_ALERT_EVENT_RETENTION_DAYS`` were pruned and cannot be replayed).
    Sequences are dense per district (the counter and its rows commit together), so events
    are missing exactly when the oldest one kept is beyond ``after + 1``."""
    head = alert_stream_head(district_id=district_id)
    if after >= head:
        return None
    oldest = (
        AlertEvent.objects.filter(district_id=district_id)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
    return head if oldest is None or oldest > after + 1 else None


def alert_events_prune(*, now: datetime | None = None, chunk: int | None = None) -> int:
    """Delete stream events older than ``NIGRANI_ALERT_EVENT_RETENTION_DAYS``, in chunks;
    returns how many went. The districts' counters stay: sequence numbers never repeat."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.NIGRANI_ALERT_EVENT_RETENTION_DAYS)
    old = AlertEvent.objects.filter(created_at__lt=cutoff)
    return delete_in_chunks(old) if chunk is None else delete_in_chunks(old, chunk=chunk)


def alert_cursor_get(*, officer_id: int, district_id: int) -> int | None:
    return (
        AlertCursor.objects.filter(officer_id=officer_id, district_id=district_id)
        .values_list("acked_seq", flat=True)
        .first()
    )


def alert_cursor_ack(*, officer_id: int, district_id: int, seq: int) -> None:
    """The client has every event up to ``seq``; the cursor only moves forward."""
    now = timezone.now()
    updated = AlertCursor.objects.filter(
        officer_id=officer_id, district_id=district_id, acked_seq__lt=seq
    ).update(acked_seq=seq, updated_at=now)
    if not updated:
        AlertCursor.objects.get_or_create(
            officer_id=officer_id,
            district_id=district_id,
            defaults={"acked_seq": seq, "updated_at": now},
        )


# --- tickets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedTicket:
    ticket: str
    expires_at: datetime


def _ticket_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def ws_ticket_issue(
    *,
    officer: Officer,
    session_key: str = "",
    device_token: DeviceToken | None = None,
    district_code: str | None = None,
) -> IssuedTicket:
    """A single-use ticket valid for ``NIGRANI_WS_TICKET_SECONDS``, bound to the sign-in it
    was asked with (the web session or the device token). ``district_code``, when given, must
    be a district the officer may watch (404 otherwise, as the socket would refuse it); the
    socket checks it again when it opens."""
    if not officer.has_permission(WATCH_PERMISSION):
        raise Forbidden("You may not watch alerts.")
    if not session_key and device_token is None:
        raise Forbidden("A ticket needs a signed-in session or device.")
    if (
        district_code
        and ws_watch_district(officer_id=officer.pk, district_code=district_code) is None
    ):
        raise NotFound("No such district.", fields={"district": ["not found"]})
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    expires_at = now + timedelta(seconds=settings.NIGRANI_WS_TICKET_SECONDS)
    WsTicket.objects.create(
        ticket_hash=_ticket_hash(raw),
        officer=officer,
        session_key="" if device_token is not None else session_key,
        device_token=device_token,
        created_at=now,
        expires_at=expires_at,
    )
    return IssuedTicket(ticket=raw, expires_at=expires_at)


def ws_ticket_redeem(*, raw: str) -> WsTicket | None:
    """The ticket's row, spent now; None for an unknown, expired or already used ticket.
    Spending is a conditional update, so of two connections racing one ticket only one opens."""
    if not raw or len(raw) > 128:
        return None
    now = timezone.now()
    ticket_hash = _ticket_hash(raw)
    spent = WsTicket.objects.filter(
        ticket_hash=ticket_hash, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if spent != 1:
        return None
    return WsTicket.objects.select_related("officer").get(ticket_hash=ticket_hash)


# Spent or expired tickets are kept this long (to look into a refused connection), then go.
WS_TICKET_KEEP = timedelta(days=1)


def ws_tickets_prune(*, now: datetime | None = None) -> int:
    """Delete tickets expired more than ``WS_TICKET_KEEP`` ago, in chunks. A ticket is used
    before it expires or never, so that is every used or expired one. An open socket holds
    its ticket in memory (what it re-checks), so deleting the row closes nothing."""
    horizon = (now or timezone.now()) - WS_TICKET_KEEP
    return delete_in_chunks(WsTicket.objects.filter(expires_at__lt=horizon))


def ws_sign_in_valid(*, ticket: WsTicket) -> bool:
    """Is the sign-in behind an open socket still good: the officer active, the session not
    logged out or expired, the device token not revoked or expired."""
    now = timezone.now()
    officer = Officer.objects.filter(pk=ticket.officer_id, is_active=True).first()
    if officer is None:
        return False
    if ticket.device_token_id is not None:
        token = DeviceToken.objects.filter(pk=ticket.device_token_id).first()
        return token is not None and token.is_active_at(now)
    session = Session.objects.filter(session_key=ticket.session_key, expire_date__gt=now).first()
    if session is None:
        return False
    return str(session.get_decoded().get("_auth_user_id")) == str(officer.pk)


def watchable_districts(*, officer: Officer) -> "QuerySet[District]":
    """The districts whose alert stream an officer may watch: ``alert.watch`` within the
    officer's jurisdiction (the one scoping rule): every district for national roles, their
    own for district roles, none for anyone else."""
    from jurisdictions.models import District

    return District.objects.filter(
        jurisdiction_q(officer, district="pk", permission=WATCH_PERMISSION)
    )


def ws_watch_district(*, officer_id: int, district_code: str | None) -> int | None:
    """The district id an officer may watch: its own district for district roles (a code, if
    given, must be it), any district by code for national roles. None when refused."""
    officer = Officer.objects.filter(pk=officer_id, is_active=True).first()
    if officer is None:
        return None
    districts = watchable_districts(officer=officer)
    if district_code:
        districts = districts.filter(code=district_code)
    elif officer.scope == Scope.NATIONAL:
        return None  # a national watcher names the one district it watches
    return districts.values_list("pk", flat=True).first()
