"""The push outbox: data-only FCM messages to officers' enrolled phones.

Rows are written in the caller's transaction (``push_enqueue``) and delivered by a job in
batches of at most 500 (``push_deliver_batch``): claimed set-based with ``SKIP LOCKED`` (two
workers never send one row at once), sent outside any transaction, each result written back.
Transient errors (429, 500, 503, a timeout) are retried with exponential backoff, never sooner
than a 429's ``Retry-After``; a registration token FCM reports dead is marked on its device and
never used again. A worker that dies mid-batch leaves rows "sending"; the sweep queues them
again after ``NIGRANI_PUSH_STUCK_SECONDS`` with the same message id (at-least-once).
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from accounts.models import DeviceToken, Officer
from common.retention import delete_in_chunks
from push.fcm import MAX_BATCH, OutgoingPush, PushResult, push_backend
from push.models import PushMessage, PushStatus

logger = logging.getLogger(__name__)

# What a push may carry: ids and codes. Names, CNICs, phone numbers, addresses never travel
# through Google's servers; the app fetches details through the API with its own token.
ALLOWED_DATA_KEYS = frozenset({"type", "alert_id", "kind", "severity", "level"})
RETRY_CAP_SECONDS = 600


def push_enqueue(*, officers: Iterable[Officer], purpose: str, data: dict[str, str]) -> list:
    """One queued push per live, push-registered phone of each officer, in the caller's
    transaction, and a delivery job deferred with them. Nothing when pushes are off."""
    return push_enqueue_many(pushes=[(officers, purpose, data)])


def push_enqueue_many(
    *, pushes: Iterable[tuple[Iterable[Officer], str, dict[str, str]]]
) -> list[PushMessage]:
    """``push_enqueue`` for many ``(officers, purpose, data)`` at once: one device query, one
    insert, one delivery job."""
    wanted: list[tuple[set[int], str, dict[str, str]]] = []
    for officers, purpose, data in pushes:
        unknown = set(data) - ALLOWED_DATA_KEYS
        if unknown or not all(isinstance(v, str) for v in data.values()):
            raise ValidationError({"data": [f"Only string ids and codes: {sorted(unknown)}"]})
        wanted.append(({o.pk for o in officers if o.is_active}, purpose, data))
    if settings.NIGRANI_PUSH_BACKEND == "none":
        return []
    officer_ids = set().union(*(ids for ids, _, _ in wanted)) if wanted else set()
    if not officer_ids:
        return []
    now = timezone.now()
    devices_by_officer: dict[int, list[int]] = {}
    for device_id, officer_id in (
        DeviceToken.objects.filter(
            officer_id__in=officer_ids,
            officer__is_active=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
            fcm_dead_at__isnull=True,
        )
        .exclude(fcm_token="")
        .values_list("id", "officer_id")
    ):
        devices_by_officer.setdefault(officer_id, []).append(device_id)
    rows = PushMessage.objects.bulk_create(
        PushMessage(officer_id=officer_id, device_token_id=device_id, purpose=purpose, data=data)
        for ids, purpose, data in wanted
        for officer_id in sorted(ids)
        for device_id in devices_by_officer.get(officer_id, [])
    )
    if rows:
        from push.jobs import deliver_pushes

        deliver_pushes.defer()
    return rows


_CLAIM_SQL = """
UPDATE push_pushmessage
   SET status = %(sending)s, claimed_at = %(now)s, attempts = attempts + 1, updated_at = %(now)s
 WHERE id IN (
       SELECT id FROM push_pushmessage
        WHERE status = %(queued)s AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s)
        ORDER BY id
        LIMIT %(limit)s
          FOR UPDATE SKIP LOCKED)
RETURNING id
"""


def _retry_delay(*, attempts: int, retry_after: float | None) -> timedelta:
    backoff = settings.NIGRANI_PUSH_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(max(backoff, retry_after or 0.0), RETRY_CAP_SECONDS))


def push_deliver_batch(*, limit: int = MAX_BATCH) -> dict[str, int]:
    """Claim and send up to ``limit`` (≤ 500) due pushes; returns counts by outcome."""
    backend = push_backend()
    counts = {"claimed": 0, "sent": 0, "retry": 0, "dead": 0, "failed": 0, "cancelled": 0}
    if backend is None:
        return counts
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            {
                "sending": PushStatus.SENDING,
                "queued": PushStatus.QUEUED,
                "now": now,
                "limit": min(limit, MAX_BATCH),
            },
        )
        claimed_ids = [row[0] for row in cursor.fetchall()]
    counts["claimed"] = len(claimed_ids)
    if not claimed_ids:
        return counts
    messages = list(
        PushMessage.objects.filter(pk__in=claimed_ids)
        .select_related("device_token__officer")
        .order_by("pk")
    )
    live, gone = [], []
    for message in messages:
        device = message.device_token
        usable = (
            device.is_active_at(now)
            and device.officer.is_active
            and device.fcm_dead_at is None
            and device.fcm_token
        )
        (live if usable else gone).append(message)
    if gone:
        PushMessage.objects.filter(pk__in=[m.pk for m in gone]).update(
            status=PushStatus.CANCELLED, updated_at=now
        )
        counts["cancelled"] = len(gone)
    outgoing = [
        OutgoingPush(
            token=m.device_token.fcm_token,
            data={**m.data, "message_id": str(m.message_id)},
            ttl_seconds=settings.NIGRANI_PUSH_TTL_SECONDS,
        )
        for m in live
    ]
    results = backend.send_batch(outgoing) if outgoing else []
    _record_results(live, results, claimed_at=now, counts=counts)
    return counts


def _record_results(
    messages: list[PushMessage], results: list[PushResult], *, claimed_at: datetime, counts: dict
) -> None:
    done = timezone.now()
    max_attempts = settings.NIGRANI_PUSH_MAX_ATTEMPTS
    dead_devices: set[int] = set()
    with transaction.atomic():
        for message, result in zip(messages, results, strict=True):
            # Only if still ours: the sweep may have handed it on while we were sending.
            mine = PushMessage.objects.filter(
                pk=message.pk, status=PushStatus.SENDING, claimed_at=claimed_at
            )
            if result.sent:
                outcome = "sent"
                mine.update(status=PushStatus.SENT, sent_at=done, last_error="", updated_at=done)
            elif result.dead:
                outcome = "dead"
                dead_devices.add(message.device_token_id)
                mine.update(status=PushStatus.DEAD, last_error=result.error, updated_at=done)
            elif result.retry and message.attempts < max_attempts:
                outcome = "retry"
                delay = _retry_delay(
                    attempts=message.attempts, retry_after=result.retry_after_seconds
                )
                mine.update(
                    status=PushStatus.QUEUED,
                    next_attempt_at=done + delay,
                    last_error=result.error,
                    updated_at=done,
                )
            else:
                outcome = "failed"
                mine.update(status=PushStatus.FAILED, last_error=result.error, updated_at=done)
            counts[outcome] += 1
        if dead_devices:
            DeviceToken.objects.filter(pk__in=dead_devices, fcm_dead_at__isnull=True).update(
                fcm_dead_at=done
            )
            # Its other queued pushes would only fail the same way.
            PushMessage.objects.filter(
                device_token_id__in=dead_devices, status=PushStatus.QUEUED
            ).update(status=PushStatus.DEAD, last_error="token_dead", updated_at=done)


def push_next_due() -> datetime | None:
    """When the earliest queued push falls due (None when none is queued)."""
    queued = PushMessage.objects.filter(status=PushStatus.QUEUED)
    if queued.filter(next_attempt_at__isnull=True).exists():
        return timezone.now()
    return queued.aggregate(first=Min("next_attempt_at"))["first"]


def push_sweep(*, now: datetime | None = None) -> int:
    """Queue again pushes left "sending" by a worker that died (same message id); returns how
    many."""
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.NIGRANI_PUSH_STUCK_SECONDS)
    requeued = PushMessage.objects.filter(
        status=PushStatus.SENDING, claimed_at__lt=stuck_before
    ).update(status=PushStatus.QUEUED, next_attempt_at=None, updated_at=now)
    if requeued:
        logger.warning("%s push(es) left sending by a dead worker queued again", requeued)
    return requeued


# A push in one of these will never be sent (again): kept NIGRANI_PUSH_RETENTION_DAYS, then gone.
FINAL_PUSH_STATUSES = (
    PushStatus.SENT,
    PushStatus.DEAD,
    PushStatus.FAILED,
    PushStatus.CANCELLED,
)


def push_messages_prune(*, now: datetime | None = None) -> int:
    """Delete pushes final for longer than ``NIGRANI_PUSH_RETENTION_DAYS`` (their last change,
    ``updated_at``), in chunks; queued and sending ones are never touched. Returns how many
    went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.NIGRANI_PUSH_RETENTION_DAYS)
    return delete_in_chunks(
        PushMessage.objects.filter(status__in=FINAL_PUSH_STATUSES, updated_at__lt=cutoff)
    )
