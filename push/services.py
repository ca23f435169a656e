"""Writes of outbound delivery: the SMS outbox and its delivery, receipts, and in-app notices.

Delivery is at-least-once from our side and once on the handset: a message is claimed by a
conditional update (only one worker moves it queued → sending), handed to the gateway with its
UUID as idempotency key, and retried with exponential backoff on transient errors. A periodic
sweep hands on messages a dead worker left in "sending" and re-defers queued ones whose job was
lost. Logs carry message ids, purposes and states, never numbers or texts.
"""

import hashlib
import hmac
import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from procrastinate.exceptions import AlreadyEnqueued

from accounts.models import Officer
from accounts.roles import AgencyKind
from common.crypto import settings_blind_index
from common.exceptions import ApplicationError, NotFound
from common.retention import DEFAULT_CHUNK, delete_in_chunks
from push import jobs
from push.models import (
    LEFT_QUEUE_STATUSES,
    Notification,
    SmsMessage,
    SmsReceiptSignature,
    SmsStatus,
)
from push.sms import OutgoingSms, SmsGatewayError, sms_backend
from push.text import segment_count

logger = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")  # [0-9]: \d also matches Urdu digits
PURPOSE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_SEGMENTS = 10  # a runaway text is a bug, not a message: refuse it rather than bill it
RETRY_CAP_SECONDS = 3600
QUEUED_GRACE = timedelta(seconds=60)  # a queued message's job should have run by then

# Delivery outcomes, returned by the job (and visible in procrastinate's job table).
OUTCOME_SENT = "sent"
OUTCOME_RETRY = "retry"
OUTCOME_FAILED = "failed"
OUTCOME_EXPIRED = "expired"
OUTCOME_SKIPPED = "skipped"  # not queued any more (sent, cancelled, claimed by another worker)
OUTCOME_NOT_DUE = "not_due"  # a duplicate job ahead of the scheduled retry

SIGNATURE_TIMESTAMP_HEADER = "X-Nigrani-Timestamp"
SIGNATURE_HEADER = "X-Nigrani-Signature"


def sms_to_index(to: str) -> str:
    """The blind index of a number: the only way the outbox looks a number up."""
    return settings_blind_index(to, purpose="sms_to")


def _wipe_text() -> dict:
    return {"text": "", "text_wiped_at": timezone.now()}


def _defer_delivery(*, message_id: int, schedule_at: datetime | None = None) -> bool:
    """Defer the delivery job in the current transaction. The queueing lock keeps one waiting
    job per message, so the sweep can re-defer freely; False when one was already waiting."""
    try:
        with transaction.atomic():
            jobs.deliver_sms.configure(
                queueing_lock=f"sms:{message_id}", schedule_at=schedule_at
            ).defer(message_id=message_id)
    except AlreadyEnqueued:
        return False
    return True


def sms_enqueue(
    *,
    to: str,
    text: str,
    purpose: str,
    sensitive: bool = False,
    expires_at: datetime | None = None,
    offender_id: int | None = None,
) -> SmsMessage:
    """Write one outbound SMS to the outbox in the caller's transaction and defer its delivery
    job in the same transaction: if the caller rolls back, neither exists.

    ``to`` is E.164; ``purpose`` a short code with no personal data (``checkin_otp``). A
    sensitive message (an OTP) is wiped once the gateway accepted it or when it ends unsent,
    and is never sent after ``expires_at`` (default: ``NIGRANI_SMS_SENSITIVE_TTL_SECONDS``).
    Any message with ``expires_at`` is expired rather than sent late.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(to, str) or not E164.match(to):
        errors["to"] = ["An E.164 number is expected, e.g. +923001234567."]
    if not PURPOSE.match(purpose or ""):
        errors["purpose"] = ["A short lowercase code is expected, e.g. checkin_otp."]
    if not text or not text.strip():
        errors["text"] = ["A text is required."]
    count = segment_count(text or "")
    if count.segments > MAX_SEGMENTS:
        errors["text"] = [f"At most {MAX_SEGMENTS} segments ({count.segments} given)."]
    now = timezone.now()
    if expires_at is not None and timezone.is_naive(expires_at):
        errors["expires_at"] = ["A timezone-aware datetime is expected."]
    elif expires_at is not None and expires_at <= now:
        errors["expires_at"] = ["Already in the past."]
    if errors:
        raise ValidationError(errors)
    if sensitive and expires_at is None:
        expires_at = now + timedelta(seconds=settings.NIGRANI_SMS_SENSITIVE_TTL_SECONDS)
    with transaction.atomic():
        message = SmsMessage.objects.create(
            to=to,
            to_index=sms_to_index(to),
            text=text,
            encoding=count.encoding.value,
            units=count.units,
            segments=count.segments,
            purpose=purpose,
            sensitive=sensitive,
            expires_at=expires_at,
            offender_id=offender_id,
        )
        _defer_delivery(message_id=message.pk)
    logger.info(
        "sms %s purpose=%s queued (%s, %s segment(s))",
        message.pk,
        purpose,
        count.encoding.value,
        count.segments,
    )
    return message


def sms_cancel(*, message_id: int) -> bool:
    """Withdraw a message the gateway has not been handed yet, wiping its text (an OTP
    superseded by a resend, or whose challenge ended). False when it is already with the
    gateway or finished: a message in "sending" may be at the gateway this instant."""
    updated = SmsMessage.objects.filter(pk=message_id, status=SmsStatus.QUEUED).update(
        status=SmsStatus.CANCELLED, finished_at=timezone.now(), next_attempt_at=None, **_wipe_text()
    )
    if updated:
        logger.info("sms %s cancelled", message_id)
    return bool(updated)


def _retry_delay(attempts: int) -> timedelta:
    base = max(settings.NIGRANI_SMS_RETRY_BASE_SECONDS, 1)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), RETRY_CAP_SECONDS))


def _next_attempt_at(message_id: int) -> datetime | None:
    return (
        SmsMessage.objects.filter(pk=message_id).values_list("next_attempt_at", flat=True).first()
    )


def _expire(*, message_id: int, now: datetime) -> bool:
    """Unsent and past its expiry → expired; the text goes only if it is sensitive."""
    due = SmsMessage.objects.filter(pk=message_id, status=SmsStatus.QUEUED, expires_at__lte=now)
    end = {"status": SmsStatus.EXPIRED, "finished_at": now, "next_attempt_at": None}
    expired = due.filter(sensitive=True).update(**end, **_wipe_text())
    expired += due.filter(sensitive=False).update(**end)
    return bool(expired)


def sms_deliver(*, message_id: int) -> str:
    """Hand one message to the gateway (the delivery job's body); returns the outcome.

    The claim is a conditional update queued → sending, so two workers never both send; the
    gateway call runs outside any transaction (no row lock held across the network). Each
    result is written only if the message is still ours (``claimed_at`` unchanged): if the
    sweep handed it on meanwhile, the other worker's result stands.
    """
    backend = sms_backend()  # misconfiguration fails here, before a message is claimed
    now = timezone.now()
    if _expire(message_id=message_id, now=now):
        logger.info("sms %s expired unsent", message_id)
        return OUTCOME_EXPIRED
    claimed = (
        SmsMessage.objects.filter(pk=message_id, status=SmsStatus.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .update(
            status=SmsStatus.SENDING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            next_attempt_at=None,
        )
    )
    if not claimed:
        state = SmsMessage.objects.filter(pk=message_id).values_list("status", flat=True).first()
        if state is None:
            raise SmsMessage.DoesNotExist(f"sms {message_id} does not exist")
        if state == SmsStatus.QUEUED:
            # A duplicate job ran early, and may have kept the scheduled retry from being
            # deferred (one waiting job per message): this job, now running, defers it again.
            _defer_delivery(message_id=message_id, schedule_at=_next_attempt_at(message_id))
            return OUTCOME_NOT_DUE
        logger.info("sms %s is %s: nothing to send", message_id, state)
        return OUTCOME_SKIPPED
    message = SmsMessage.objects.get(pk=message_id)
    mine = SmsMessage.objects.filter(pk=message_id, status=SmsStatus.SENDING, claimed_at=now)
    try:
        gateway_id = backend.send(
            OutgoingSms(
                reference=str(message.reference),
                to=message.to,
                text=message.text,
                encoding=message.encoding,
                purpose=message.purpose,
                message_id=message.pk,
            )
        )
    except SmsGatewayError as exc:
        return _delivery_failed(message=message, claimed=mine, error=exc)
    sent_at = timezone.now()
    wipe = _wipe_text() if message.sensitive else {}
    if mine.update(
        status=SmsStatus.SENT,
        backend=backend.name,
        gateway_id=gateway_id,
        sent_at=sent_at,
        last_error="",
        **wipe,
    ):
        logger.info(
            "sms %s purpose=%s sent (attempt %s)", message.pk, message.purpose, message.attempts
        )
    else:
        logger.warning("sms %s was handed on while this worker sent it", message.pk)
    return OUTCOME_SENT


def _delivery_failed(
    *, message: SmsMessage, claimed: QuerySet[SmsMessage], error: SmsGatewayError
) -> str:
    now = timezone.now()
    if error.transient and message.attempts < settings.NIGRANI_SMS_MAX_ATTEMPTS:
        retry_at = now + _retry_delay(message.attempts)
        with transaction.atomic():
            if not claimed.update(
                status=SmsStatus.QUEUED, next_attempt_at=retry_at, last_error=error.code
            ):
                return OUTCOME_SKIPPED
            _defer_delivery(message_id=message.pk, schedule_at=retry_at)
        logger.warning(
            "sms %s attempt %s failed (%s): retry at %s",
            message.pk,
            message.attempts,
            error.code,
            retry_at.isoformat(),
        )
        return OUTCOME_RETRY
    wipe = _wipe_text() if message.sensitive else {}
    if not claimed.update(status=SmsStatus.FAILED, last_error=error.code, finished_at=now, **wipe):
        return OUTCOME_SKIPPED
    logger.error(
        "sms %s purpose=%s failed after %s attempt(s) (%s)",
        message.pk,
        message.purpose,
        message.attempts,
        error.code,
    )
    return OUTCOME_FAILED


def sms_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Nothing lost if a worker dies: messages left in "sending" past
    ``NIGRANI_SMS_STUCK_SECONDS`` go back to queued (the idempotency key keeps a resend to
    one SMS), queued messages whose job should have run are re-deferred (the queueing lock
    skips those whose job is still waiting), and unsent messages past expiry are expired."""
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.NIGRANI_SMS_STUCK_SECONDS)
    with transaction.atomic():
        handed_on = list(
            SmsMessage.objects.filter(
                status=SmsStatus.SENDING, claimed_at__lt=stuck_before
            ).values_list("pk", flat=True)
        )
        SmsMessage.objects.filter(
            pk__in=handed_on, status=SmsStatus.SENDING, claimed_at__lt=stuck_before
        ).update(status=SmsStatus.QUEUED, next_attempt_at=now, last_error="worker_lost")
    expired = 0
    for message_id in SmsMessage.objects.filter(
        status=SmsStatus.QUEUED, expires_at__lte=now
    ).values_list("pk", flat=True):
        expired += _expire(message_id=message_id, now=now)
    due_before = now - QUEUED_GRACE
    redeferred = 0
    for message_id in (
        SmsMessage.objects.filter(status=SmsStatus.QUEUED)
        .filter(
            Q(next_attempt_at__lte=due_before)
            | Q(next_attempt_at__isnull=True, created_at__lte=due_before)
            | Q(pk__in=handed_on)
        )
        .values_list("pk", flat=True)
    ):
        redeferred += _defer_delivery(message_id=message_id)
    if handed_on or expired or redeferred:
        logger.warning(
            "sms sweep: %s handed on, %s expired, %s re-deferred",
            len(handed_on),
            expired,
            redeferred,
        )
    return {"handed_on": len(handed_on), "expired": expired, "redeferred": redeferred}


# --- Delivery receipts ------------------------------------------------------------------------

RECEIPT_STATUSES = {
    "accepted": SmsStatus.SENT,
    "sent": SmsStatus.SENT,
    "delivered": SmsStatus.DELIVERED,
    "failed": SmsStatus.FAILED,
    "undeliverable": SmsStatus.FAILED,
    "rejected": SmsStatus.FAILED,
    "expired": SmsStatus.FAILED,
}
# A receipt only moves a message forward: a late "sent" after "delivered" changes nothing.
_RANK: dict[str, int] = {
    SmsStatus.QUEUED: 0,
    SmsStatus.SENDING: 1,
    SmsStatus.SENT: 2,
    SmsStatus.DELIVERED: 3,
    SmsStatus.FAILED: 3,
}


def receipt_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 (hex) over ``timestamp + "." + body``: what the gateway sends and we check."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class SignatureRefused(ApplicationError):
    status_code = 403
    code = "invalid_signature"


def gateway_request_authenticate(
    *, timestamp: str | None, signature: str | None, body: bytes, what: str = "requests"
) -> str:
    """The one check of a request the SMS gateway signs (delivery receipts, inbound
    messages): refused when the signature is missing (401), wrong, stale or from the future
    (403). Checked before the body is read as JSON; the comparison is constant-time and the
    answer does not say which check failed beyond its code. Returns the signature normalised
    once, for ``gateway_signature_record_once``."""
    if not timestamp or not signature:
        raise ApplicationError(f"Signed {what} only.", code="not_authenticated", status_code=401)
    secret = settings.NIGRANI_SMS_RECEIPT_SECRET or ""
    if not secret:
        raise SignatureRefused(f"{what.capitalize()} are not accepted.")
    signature = signature.strip().lower()
    expected = receipt_signature(secret=secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected, signature):
        raise SignatureRefused("Invalid signature.")
    try:
        signed_at = int(timestamp)
    except ValueError as exc:
        raise SignatureRefused("Invalid signature.") from exc
    age = timezone.now().timestamp() - signed_at
    if abs(age) > settings.NIGRANI_SMS_RECEIPT_MAX_AGE_SECONDS:
        raise SignatureRefused("Stale signature.", code="stale_signature")
    return signature


def gateway_signature_record_once(*, signature: str) -> None:
    """Accept an (already authenticated) signature once, in the caller's transaction: a
    replay within the max age is refused (403) by the unique signature; older ones are stale."""
    try:
        with transaction.atomic():
            SmsReceiptSignature.objects.create(
                signature=signature.lower(), received_at=timezone.now()
            )
    except IntegrityError as exc:
        raise SignatureRefused("Replayed signature.", code="replayed_signature") from exc


def sms_receipt_authenticate(*, timestamp: str | None, signature: str | None, body: bytes) -> None:
    """A delivery receipt's signature (``gateway_request_authenticate``)."""
    gateway_request_authenticate(
        timestamp=timestamp, signature=signature, body=body, what="receipts"
    )


def sms_receipt_apply(
    *, signature: str, gateway_id: str, status: str, occurred_at: datetime | None = None
) -> SmsMessage | None:
    """Record the (already authenticated) signature once and apply the receipt, in one
    transaction: a replay is refused (403) by the unique signature. An unknown gateway id
    changes nothing and returns None (the answer stays 200: no oracle for gateway ids)."""
    new_status = RECEIPT_STATUSES.get(status)
    if new_status is None:
        raise ValidationError({"status": [f"Unknown receipt status {status!r}."]})
    now = timezone.now()
    with transaction.atomic():
        gateway_signature_record_once(signature=signature)
        message = (
            SmsMessage.objects.select_for_update()
            .filter(gateway_id=gateway_id)
            .exclude(gateway_id="")
            .first()
        )
        if message is None:
            logger.info("receipt for an unknown gateway id: ignored")
            return None
        if _RANK.get(message.status, 99) >= _RANK[new_status]:
            return message
        fields = ["status", "updated_at"]
        message.status = new_status
        if new_status == SmsStatus.DELIVERED:
            message.delivered_at = occurred_at or now
            fields.append("delivered_at")
        if new_status in (SmsStatus.DELIVERED, SmsStatus.FAILED):
            message.finished_at = now
            message.last_error = "" if new_status == SmsStatus.DELIVERED else f"receipt_{status}"
            fields += ["finished_at", "last_error"]
        if message.sensitive and message.text:
            message.text, message.text_wiped_at = "", now
            fields += ["text", "text_wiped_at"]
        message.save(update_fields=fields)
    logger.info("sms %s purpose=%s %s (receipt)", message.pk, message.purpose, new_status)
    return message


def sms_receipt_signatures_prune(*, now: datetime | None = None) -> int:
    """Forget signatures older than twice the max age: they are refused as stale anyway."""
    now = now or timezone.now()
    horizon = now - timedelta(seconds=2 * settings.NIGRANI_SMS_RECEIPT_MAX_AGE_SECONDS)
    deleted, _ = SmsReceiptSignature.objects.filter(received_at__lt=horizon).delete()
    return deleted


def sms_messages_prune(*, now: datetime | None = None, chunk: int = DEFAULT_CHUNK) -> int:
    """Delete outbox messages queued more than ``NIGRANI_SMS_RETENTION_DAYS`` ago that left
    the queue (sent, delivered, failed, cancelled, expired), in chunks; queued and sending
    ones are never touched, however old. Aged by ``created_at``: a message leaves the queue
    within hours of it (attempts and expiry are bounded), and the status changes are
    conditional UPDATEs that leave ``updated_at`` alone. A receipt that was texted keeps its
    row (its ``sms`` link is set null by the database). Returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.NIGRANI_SMS_RETENTION_DAYS)
    return delete_in_chunks(
        SmsMessage.objects.filter(status__in=LEFT_QUEUE_STATUSES, created_at__lt=cutoff),
        chunk=chunk,
    )


# --- In-app notices ---------------------------------------------------------------------------


def notify_officers(
    *,
    officers: Iterable[Officer],
    kind: str,
    text: str,
    object_type: str,
    object_id: int | str,
) -> list[Notification]:
    """In-app notices for officers, written in the caller's transaction (one row per distinct
    active officer). ``text`` is shown as is: it must not hold names, CNIC or phone numbers."""
    return notify_officers_many(notices=[(officers, kind, text, object_type, object_id)])


def notify_officers_many(
    *, notices: Iterable[tuple[Iterable[Officer], str, str, str, int | str]]
) -> list[Notification]:
    """``notify_officers`` for many ``(officers, kind, text, object_type, object_id)`` at once,
    in one insert (a sweep telling a thousand alerts' officers)."""
    rows: list[Notification] = []
    for officers, kind, text, object_type, object_id in notices:
        errors = _notice_errors(kind=kind, text=text, object_type=object_type, object_id=object_id)
        if errors:
            raise ValidationError(errors)
        seen: set[int] = set()
        for officer in officers:
            if officer.pk in seen or not officer.is_active:
                continue
            seen.add(officer.pk)
            rows.append(
                Notification(
                    officer=officer,
                    kind=kind,
                    text=text.strip(),
                    object_type=object_type,
                    object_id=str(object_id),
                )
            )
    return Notification.objects.bulk_create(rows)


def _notice_errors(*, kind: str, text: str, object_type: str, object_id: int | str) -> dict:
    errors: dict[str, list[str]] = {}
    if not PURPOSE.match(kind or ""):
        errors["kind"] = ["A short lowercase code is expected, e.g. checkin_locked."]
    if not text or not text.strip() or len(text) > 500:
        errors["text"] = ["A text of 1 to 500 characters is required."]
    if not object_type or len(object_type) > 40 or len(str(object_id)) > 64:
        errors["object_type"] = ["An object type (≤ 40) and id (≤ 64) are required."]
    return errors


DENIAL_BURST = "denial_burst"


def notify_npb_of_denial_burst(*, actor: Officer, count: int, window_start: datetime) -> None:
    """The ``denial_burst`` audit hook: tell the NPB's auditors (in-app) that an officer's
    requests on offender data are being refused in a burst (ids and counts only)."""
    auditors = [
        officer
        for officer in Officer.objects.filter(is_active=True, agency__kind=AgencyKind.NPB)
        if officer.has_permission("audit.read")
    ]
    notify_officers(
        officers=auditors,
        kind=DENIAL_BURST,
        text=(
            f"Officer {actor.username} (#{actor.pk}) had {count} requests on offender data "
            f"refused within the minute from {window_start:%Y-%m-%d %H:%M} UTC. See the audit "
            "trail (outcome denied / not_found)."
        ),
        object_type="officer",
        object_id=actor.pk,
    )


def notification_mark_read(*, actor: Officer, notification_id: int) -> Notification:
    """Mark one of the actor's own notices read (idempotent: the first read time stays).
    Another officer's notice is not there (404)."""
    notification = Notification.objects.filter(pk=notification_id, officer=actor).first()
    if notification is None:
        raise NotFound()
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        notification.refresh_from_db(fields=["read_at"])
    return notification
