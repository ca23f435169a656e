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
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import DeviceToken, Officer
from accounts.roles import Scope
from common.exceptions import Forbidden
from push.models import AlertCursor, AlertEvent, WsTicket

logger = logging.getLogger(__name__)

# Channels handler name of a stream event inside the group ("alert.event" → alert_event).
GROUP_MESSAGE_TYPE = "alert.event"
# How long a commit waits for its group sends on the broadcaster loop (Redis hung or gone).
BROADCAST_TIMEOUT_SECONDS = 5.0
WATCH_PERMISSION = "alert.watch"


def district_group(district_id: int) -> str:
    return f"alerts.district.{district_id}"


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
        sent = 0
        for (group, message), event in zip(messages, events, strict=True):
            try:
                await layer.group_send(group, message)
                sent += 1
            except Exception:  # noqa: BLE001 - any layer failure: the backfill covers it
                logger.warning("alert event %s/%s not broadcast", event.district_id, event.seq)
        return sent

    if _own_loop_wanted(layer):
        future = asyncio.run_coroutine_threadsafe(send_all(), _broadcaster_loop())
        try:
            return future.result(timeout=BROADCAST_TIMEOUT_SECONDS)
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


def alert_events_after(*, district_id: int, after: int, upto: int | None = None) -> list[dict]:
    """The district's events after ``after`` (up to ``upto``), in sequence order."""
    events = AlertEvent.objects.filter(district_id=district_id, seq__gt=after)
    if upto is not None:
        events = events.filter(seq__lte=upto)
    return [event_message(event) for event in events.order_by("seq")]


def alert_stream_head(*, district_id: int) -> int:
    """The last sequence number of the district's stream (0 when it has none)."""
    last = (
        AlertEvent.objects.filter(district_id=district_id)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    return last or 0


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
    *, officer: Officer, session_key: str = "", device_token: DeviceToken | None = None
) -> IssuedTicket:
    """A single-use ticket valid for ``NIGRANI_WS_TICKET_SECONDS``, bound to the sign-in it
    was asked with (the web session or the device token)."""
    if not officer.has_permission(WATCH_PERMISSION):
        raise Forbidden("You may not watch alerts.")
    if not session_key and device_token is None:
        raise Forbidden("A ticket needs a signed-in session or device.")
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


def ws_watch_district(*, officer_id: int, district_code: str | None) -> int | None:
    """The district id an officer may watch: its own district for district roles (a code, if
    given, must be it), any district by code for national roles. None when refused."""
    from jurisdictions.models import District

    officer = Officer.objects.filter(pk=officer_id, is_active=True).first()
    if officer is None or not officer.has_permission(WATCH_PERMISSION):
        return None
    if officer.scope == Scope.NATIONAL:
        if not district_code:
            return None
        return District.objects.filter(code=district_code).values_list("pk", flat=True).first()
    if officer.scope != Scope.DISTRICT or officer.district_id is None:
        return None
    if district_code:
        own = District.objects.filter(pk=officer.district_id, code=district_code).exists()
        if not own:
            return None
    return officer.district_id
