"""The public SMS CNIC check: off by default, answered through the SMS outbox, hardened
against enumeration.

One inbound message → one ``sms_check_handle`` call, in one transaction, with the sender's row
locked (its quotas and detectors are counted under the lock, so two messages at once cannot
both slip under a quota):

1. A message without a CNIC-shaped number gets the help text once per Pakistan day, then
   silence. A silenced sender, a used-up quota (default 5 a day, 20 in 30 days) or the global
   ceiling gets silence.
2. Otherwise the register is asked by blind index. ``active``, ``absconded`` and ``in_custody``
   registrants are answered with the warning naming them (a sensitive SMS: wiped once handed to
   the gateway, like an OTP). Everything else — not on the register, removed, or a number no one
   was ever issued — takes **one path**: the same lookup, the same rows written, the same text.
   Validity is never checked on the way, so neither the bytes nor the time of the answer can
   tell an unknown CNIC from a non-existent one.
3. The detectors run on what the sender (and everyone, for one CNIC) asked: a walk through
   near-consecutive CNICs, one CNIC asked from many numbers, a hit rate far above the base
   rate. Each silences the sender (this message unanswered too), records a security event and
   tells the NPB in-app.

A sender is known only by its number's blind index (``push.services.sms_to_index``, the same
HMAC the outbox keeps); the number itself is held only in the reply's encrypted outbox row.
Every message is audited: sender index, CNIC index, answer kind.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import Role
from audit.models import AuditAction
from audit.services import audit_read, audit_record
from common.exceptions import Conflict, Forbidden, NotFound
from disclosures import enumeration
from disclosures.models import (
    SecurityEvent,
    SecurityEventKind,
    SmsAnswerKind,
    SmsCheck,
    SmsSender,
)
from push.services import notify_officers, sms_enqueue, sms_to_index
from registry.identifiers import cnic_blind_index, fold_digits, normalise_phone
from registry.models import Offender, OffenderStatus

PURPOSE = "sms_check"
AUDIT_PURPOSE = "public_sms_check"
WARN_STATUSES = (OffenderStatus.ACTIVE, OffenderStatus.ABSCONDED, OffenderStatus.IN_CUSTODY)
DAY = timedelta(days=1)
MONTH = timedelta(days=30)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class CheckOutcome:
    kind: str
    message_id: int | None = None


def _warning_text(name: str, father: str) -> str:
    return settings.NIGRANI_SMS_CHECK_WARNING_TEXT.format(name=name, father=father)


def _sender(index: str) -> SmsSender:
    SmsSender.objects.get_or_create(sender_index=index)
    return SmsSender.objects.select_for_update().get(sender_index=index)


def _audit(*, sender_index: str, cnic_index: str, kind: str, check_id: int | None) -> None:
    audit_read(
        actor=None,
        object_type="sms_check",
        object_id=check_id or "",
        purpose=AUDIT_PURPOSE,
        details={"sender": sender_index, "cnic_index": cnic_index, "answer": kind},
        search=True,
    )


def _silence(sender: SmsSender, kind: str, now: datetime, details: dict) -> None:
    sender.silenced_at, sender.silenced_reason = now, kind
    sender.save(update_fields=["silenced_at", "silenced_reason", "updated_at"])
    event = SecurityEvent.objects.create(kind=kind, sender=sender, details=details)
    notify_officers(
        officers=Officer.objects.filter(role=Role.REGISTRY_ADMIN, is_active=True),
        kind="sms_check_security",
        text=f"Public SMS check: a sender was silenced ({kind}); review security event "
        f"#{event.pk}.",
        object_type="security_event",
        object_id=event.pk,
    )


def _detect(sender: SmsSender, check: SmsCheck, now: datetime) -> str | None:
    """The first detector that fires for this check, having silenced the sender; or None."""
    # At most the monthly quota of rows: decrypting them is cheap.
    recent = [
        (int(digits), hit)
        for digits, hit in SmsCheck.objects.filter(
            sender=sender, checked_at__gte=now - MONTH
        ).values_list("cnic_digits", "hit")
    ]
    serial = int(check.cnic_digits)
    previous = [other for other, _ in recent if other != serial]
    if enumeration.is_sequential(
        previous,
        serial,
        gap=settings.NIGRANI_SMS_CHECK_SEQUENCE_GAP,
        run=settings.NIGRANI_SMS_CHECK_SEQUENCE_RUN,
    ):
        _silence(
            sender,
            SecurityEventKind.SEQUENTIAL_CNICS,
            now,
            {"checks_30d": len(recent), "gap": settings.NIGRANI_SMS_CHECK_SEQUENCE_GAP},
        )
        return SecurityEventKind.SEQUENTIAL_CNICS
    askers = (
        SmsCheck.objects.filter(cnic_index=check.cnic_index, checked_at__gte=now - DAY)
        .values("sender_id")
        .distinct()
        .count()
    )
    if askers >= settings.NIGRANI_SMS_CHECK_SAME_CNIC_SENDERS:
        _silence(sender, SecurityEventKind.ONE_CNIC_MANY_SENDERS, now, {"senders_24h": askers})
        return SecurityEventKind.ONE_CNIC_MANY_SENDERS
    hits = sum(1 for _, hit in recent if hit)
    if enumeration.hit_rate_far_above(
        hits=hits,
        checks=len(recent),
        base_rate=settings.NIGRANI_SMS_CHECK_BASE_HIT_RATE,
        factor=settings.NIGRANI_SMS_CHECK_HIT_RATE_FACTOR,
        min_checks=settings.NIGRANI_SMS_CHECK_HIT_RATE_MIN_CHECKS,
    ):
        _silence(
            sender,
            SecurityEventKind.HIT_RATE,
            now,
            {
                "hits_30d": hits,
                "checks_30d": len(recent),
                "base_rate": settings.NIGRANI_SMS_CHECK_BASE_HIT_RATE,
            },
        )
        return SecurityEventKind.HIT_RATE
    return None


def sms_check_handle(*, sender: str, text: str, now: datetime | None = None) -> CheckOutcome:
    """Answer one inbound message (module docstring). ``sender`` as the gateway gives it."""
    if not settings.NIGRANI_SMS_CHECK_ENABLED:
        return CheckOutcome(SmsAnswerKind.DISABLED)
    now = now or timezone.now()
    try:
        number = normalise_phone(sender)
    except ValidationError:
        return CheckOutcome(SmsAnswerKind.IGNORED)  # not a Pakistani mobile: no one to answer
    sender_index = sms_to_index(number)
    try:
        digits = enumeration.find_cnic_digits(
            fold_digits(text or "", what="A CNIC", code="invalid_cnic")
        )
    except ValidationError:
        digits = None  # numeral look-alikes: not a CNIC, the help text explains the form
    with transaction.atomic():
        row = _sender(sender_index)
        kind, message_id, cnic_index, check_id = _answer(row, number, digits, now)
        _audit(sender_index=sender_index, cnic_index=cnic_index, kind=kind, check_id=check_id)
    return CheckOutcome(kind, message_id)


def _answer(
    sender: SmsSender, number: str, digits: str | None, now: datetime
) -> tuple[str, int | None, str, int | None]:
    """(answer kind, outbox message id, CNIC index, check id) under the sender's lock."""
    if sender.silenced_at is not None:
        return SmsAnswerKind.SILENCED, None, "", None
    if digits is None:
        today = timezone.localdate(now)
        if sender.help_sent_on == today:
            return SmsAnswerKind.IGNORED, None, "", None
        sender.help_sent_on = today
        sender.save(update_fields=["help_sent_on", "updated_at"])
        help_text = settings.NIGRANI_SMS_CHECK_HELP_TEXT
        message = sms_enqueue(to=number, text=help_text, purpose=PURPOSE)
        return SmsAnswerKind.HELP, message.pk, "", None
    mine = SmsCheck.objects.filter(sender=sender)
    if (
        mine.filter(checked_at__gt=now - DAY).count() >= settings.NIGRANI_SMS_CHECK_DAILY_QUOTA
        or mine.filter(checked_at__gt=now - MONTH).count()
        >= settings.NIGRANI_SMS_CHECK_MONTHLY_QUOTA
    ):
        return SmsAnswerKind.QUOTA, None, "", None
    ceiling = settings.NIGRANI_SMS_CHECK_GLOBAL_PER_MINUTE
    if SmsCheck.objects.filter(checked_at__gt=now - MINUTE).count() >= ceiling:
        return SmsAnswerKind.CEILING, None, "", None
    # One path for every CNIC-shaped number, issued or not (module docstring).
    cnic_index = cnic_blind_index(enumeration.canonical_form(digits))
    registrant = (
        Offender.objects.filter(cnic_index=cnic_index, status__in=WARN_STATUSES)
        .values("pk", "full_name", "father_name", "full_name_ur", "father_name_ur")
        .first()
    )
    check = SmsCheck.objects.create(
        sender=sender,
        cnic_index=cnic_index,
        cnic_digits=digits,
        hit=registrant is not None,
        checked_at=now,
    )
    if _detect(sender, check, now) is not None:
        return SmsAnswerKind.SILENCED, None, cnic_index, check.pk
    if registrant is None:
        message = sms_enqueue(
            to=number, text=settings.NIGRANI_SMS_CHECK_NEUTRAL_TEXT, purpose=PURPOSE
        )
        return SmsAnswerKind.NEUTRAL, message.pk, cnic_index, check.pk
    text = _warning_text(
        registrant["full_name_ur"] or registrant["full_name"],
        registrant["father_name_ur"] or registrant["father_name"],
    )
    message = sms_enqueue(
        to=number, text=text, purpose=PURPOSE, sensitive=True, offender_id=registrant["pk"]
    )
    return SmsAnswerKind.WARNING, message.pk, cnic_index, check.pk


def security_event_review(*, actor: Officer, event_id: int, unsilence: bool) -> SecurityEvent:
    """The NPB marks a security event reviewed and, if it judges the sender harmless, lifts
    the silence (its past checks still count towards the detectors). Reviewed once (409)."""
    if not actor.is_active or not actor.has_permission("sms_check.security_review"):
        raise Forbidden("Only the register's staff review security events.")
    now = timezone.now()
    with transaction.atomic():
        event = SecurityEvent.objects.select_related("sender").filter(pk=event_id).first()
        if event is None:
            raise NotFound()
        if not SecurityEvent.objects.filter(pk=event.pk, reviewed_at__isnull=True).update(
            reviewed_at=now, updated_at=now
        ):
            raise Conflict("This security event was already reviewed.")
        if unsilence:
            SmsSender.objects.filter(pk=event.sender_id).update(
                silenced_at=None, silenced_reason="", updated_at=now
            )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="security_event",
            object_id=event.pk,
            purpose=AUDIT_PURPOSE,
            details={"kind": event.kind, "unsilenced": unsilence},
        )
    event.refresh_from_db()
    return event
