"""The check-in at the station counter: start (location rule, OTP by SMS to the registered
phone), verify the code, resend it, or confirm by a second officer's override (four eyes).

Rules decided here:

- **Who and where**: a station officer checks in the active offenders its station supervises
  (by id, or by the exact CNIC presented at the counter; anyone else is 404). The device must be
  inside the station's boundary, within its fix's accuracy (capped by
  ``NIGRANI_CHECKIN_ACCURACY_CAP_M``), or be enrolled as one of the station's terminals.
- **The code** goes only to the phone on the register, never to a number given at the counter.
  Each challenge has its own random secret (encrypted, erased when the challenge ends); each SMS
  uses the next HOTP counter, so a resend voids the previous code. The code is never returned,
  logged, audited or stored; the SMS text itself is wiped by the outbox after hand-over.
- **Limits**: ``NIGRANI_CHECKIN_DAILY_CHALLENGES`` check-ins per offender per Pakistan day
  (429), ``NIGRANI_CHECKIN_OTP_MAX_SENDS`` sends per check-in at least
  ``NIGRANI_CHECKIN_OTP_RESEND_SECONDS`` apart (429 with ``retry_after``),
  ``NIGRANI_CHECKIN_OTP_MAX_ATTEMPTS`` wrong codes (then 423, and the station's officers get a
  notice), ``NIGRANI_CHECKIN_OTP_MINUTES`` of validity (then 410).
- **Concurrency**: every step on a challenge holds its row lock; wrong attempts are committed
  before the refusal is raised, so they count even though the request fails; of two
  simultaneous verifications of the right code one confirms and the other gets 409.
- **Confirmation** records how (``sms_otp`` or ``override``), the declaration that address,
  phone and employment are unchanged or the notices of change filed in the same visit, closes
  the travel notices of an offender back from travel (the register's ``notice_close``), and
  moves the next due date to one tier interval after today.
"""

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import Role
from accounts.services import Channel, auth_login_check
from audit.models import AuditAction
from audit.services import audit_record
from checkins import boundary, messages, otp
from checkins.models import (
    OPEN_STATUSES,
    ChallengeState,
    Checkin,
    CheckinMethod,
    CheckinStatus,
    NoticeChallenge,
    OtpChallenge,
    StationTerminal,
)
from checkins.receipts import checkin_receipt_issue
from checkins.selectors import checkin_get
from common.exceptions import ApplicationError, Conflict, Forbidden, NotFound, RateLimited
from push.services import notify_officers, sms_cancel, sms_enqueue
from registry.identifiers import cnic_blind_index, normalise_cnic
from registry.models import TRAVEL_KINDS, Notice, NoticeStatus, Offender, OffenderStatus
from registry.photos import PhotoRejected, photo_clean
from registry.selectors import offender_queryset_for
from registry.services.dues import offender_checkin_confirmed
from registry.services.notices import CHANGE_KINDS, notice_acknowledge, notice_close

OTP_PURPOSE = "checkin_otp"


class ChallengeLocked(ApplicationError):
    status_code = 423
    code = "challenge_locked"

    def __init__(self) -> None:
        super().__init__(
            "Too many wrong codes: this check-in is locked and the station has been notified. "
            "Start a new check-in, or confirm by override."
        )


class ChallengeExpired(ApplicationError):
    status_code = 410
    code = "challenge_expired"

    def __init__(self) -> None:
        super().__init__("The code has expired: start a new check-in.")


class WrongCode(ApplicationError):
    status_code = 400
    code = "wrong_code"

    def __init__(self, *, attempts_left: int) -> None:
        super().__init__(
            "Wrong code.",
            fields={"code": ["Wrong code."]},
            extra={"attempts_left": attempts_left},
        )


@dataclass(frozen=True)
class Location:
    lon: float
    lat: float
    accuracy_m: float


@dataclass(frozen=True)
class Declaration:
    """What the offender declares at the visit: nothing changed, or the notices just filed."""

    unchanged: bool = False
    notice_ids: tuple[int, ...] = ()


# --- helpers -------------------------------------------------------------------------------


def _require_performer(actor: Officer) -> None:
    if not actor.has_permission("checkin.perform") or actor.station_id is None:
        raise Forbidden("You may not check offenders in.")


def _local_day_start(now: datetime) -> datetime:
    return datetime.combine(
        timezone.localdate(now), time.min, tzinfo=timezone.get_default_timezone()
    )


def _offender_for_checkin(*, actor: Officer, offender_id: int | None, cnic: str) -> Offender:
    """The offender, row-locked, if the actor's station supervises it; 404 otherwise."""
    offenders = offender_queryset_for(actor=actor).select_for_update(of=("self",))
    if cnic:
        try:
            index = cnic_blind_index(normalise_cnic(cnic))
        except ValidationError as exc:
            raise ValidationError({"cnic": exc.messages}) from exc
        offender = offenders.filter(cnic_index=index).first()
    elif offender_id is not None:
        offender = offenders.filter(pk=offender_id).first()
    else:
        offender = None
    if offender is None:
        raise NotFound()
    if offender.status != OffenderStatus.ACTIVE:
        raise Conflict(
            f"An offender who is {offender.status} does not check in.",
            code="offender_not_reporting",
        )
    return offender


def _terminal_for(*, actor: Officer, device_id: str) -> StationTerminal | None:
    if not device_id:
        return None
    return StationTerminal.objects.filter(
        station_id=actor.station_id, device_id=device_id, revoked_at__isnull=True
    ).first()


def _check_location(*, actor: Officer, location: Location | None) -> None:
    if location is None:
        raise ValidationError(
            {"location": ["The device's location is required (or use an enrolled terminal)."]}
        )
    inside = boundary.is_within_station(
        # A station officer always has a station (Officer's check constraint); mypy cannot know.
        actor.station.boundary,  # type: ignore[union-attr]
        lon=location.lon,
        lat=location.lat,
        accuracy_m=location.accuracy_m,
        cap_m=settings.NIGRANI_CHECKIN_ACCURACY_CAP_M,
    )
    if not inside:
        raise ApplicationError(
            "Check-ins are taken at the station: this device is outside the station's area "
            "(allowing for the fix's accuracy) and is not an enrolled terminal.",
            code="outside_station",
            fields={"location": ["Outside the station's area."]},
        )


def _send_code(
    *,
    offender: Offender,
    challenge: "OtpChallenge | NoticeChallenge",
    now: datetime,
    purpose: str = OTP_PURPOSE,
) -> None:
    """Enqueue the SMS of the challenge's current counter and set its expiry (a check-in's
    code, or the code confirming a counter notice: ``checkins.services.notice_confirmation``)."""
    minutes = settings.NIGRANI_CHECKIN_OTP_MINUTES
    challenge.last_sent_at = now
    challenge.expires_at = now + timedelta(minutes=minutes)
    texts = messages.otp_text if purpose == OTP_PURPOSE else messages.notice_otp_text
    text = texts(
        code=otp.code_at(challenge.secret, challenge.counter),
        minutes=minutes,
        language=settings.NIGRANI_SMS_LANGUAGE,
    )
    message = sms_enqueue(
        to=offender.phone,
        text=text,
        purpose=purpose,
        sensitive=True,
        expires_at=challenge.expires_at,
        offender_id=offender.pk,
    )
    challenge.sms_message_id = message.pk


def _end_challenge(
    challenge: "OtpChallenge | NoticeChallenge", *, state: str, now: datetime
) -> None:
    """End the challenge: erase the secret and withdraw an SMS still waiting to go."""
    challenge.state = state
    challenge.secret = ""
    challenge.ended_at = now
    challenge.save(update_fields=["state", "secret", "ended_at"])
    if challenge.sms_message_id is not None:
        sms_cancel(message_id=challenge.sms_message_id)


def _cancel_open(*, offender_id: int, now: datetime, reason: str) -> list[int]:
    """Cancel the offender's open check-ins (a newer one supersedes them); returns their ids."""
    open_checkins = (
        Checkin.objects.select_for_update(of=("self",))
        .filter(offender_id=offender_id, status__in=OPEN_STATUSES)
        .select_related("challenge")
    )
    cancelled = []
    for checkin in open_checkins:
        challenge = getattr(checkin, "challenge", None)
        if challenge is not None and challenge.state == ChallengeState.OPEN:
            _end_challenge(challenge, state=ChallengeState.ENDED, now=now)
        checkin.status = CheckinStatus.CANCELLED
        checkin.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=None,
            action=AuditAction.TRANSITION,
            object_type="checkin",
            object_id=checkin.pk,
            details={"offender_id": offender_id, "to": CheckinStatus.CANCELLED, "reason": reason},
        )
        cancelled.append(checkin.pk)
    return cancelled


# --- start ---------------------------------------------------------------------------------


def checkin_start(
    *,
    actor: Officer,
    offender_id: int | None = None,
    cnic: str = "",
    location: Location | None = None,
    device_id: str = "",
) -> Checkin:
    """Start a check-in and send the code to the offender's registered phone (module docstring).

    Without a registered phone the check-in starts as ``no_phone``: only an override can
    confirm it."""
    _require_performer(actor)
    cnic = (cnic or "").strip()
    if bool(cnic) == (offender_id is not None):
        raise ValidationError({"offender": ["Give the offender's id or the CNIC presented."]})
    terminal = _terminal_for(actor=actor, device_id=device_id)
    if terminal is None:
        _check_location(actor=actor, location=location)
    now = timezone.now()
    with transaction.atomic():
        offender = _offender_for_checkin(actor=actor, offender_id=offender_id, cnic=cnic)
        # Under the offender's row lock, so concurrent starts count each other.
        started_today = Checkin.objects.filter(
            offender=offender, created_at__gte=_local_day_start(now)
        ).count()
        if started_today >= settings.NIGRANI_CHECKIN_DAILY_CHALLENGES:
            tomorrow = _local_day_start(now) + timedelta(days=1)
            raise RateLimited(
                "This offender has had as many check-in codes today as allowed; try tomorrow "
                "or confirm by override.",
                retry_after=max(1, math.ceil((tomorrow - now).total_seconds())),
                code="daily_limit",
            )
        _cancel_open(offender_id=offender.pk, now=now, reason="superseded")
        checkin = Checkin.objects.create(
            offender=offender,
            # Never None for a station officer (Officer's check constraint); mypy cannot know.
            station_id=actor.station_id,  # type: ignore[misc]
            status=CheckinStatus.OTP_SENT if offender.phone else CheckinStatus.NO_PHONE,
            due_on=offender.next_checkin_due,
            started_by=actor,
            lon=location.lon if location else None,
            lat=location.lat if location else None,
            accuracy_m=location.accuracy_m if location else None,
            terminal=terminal,
        )
        if offender.phone:
            challenge = OtpChallenge(checkin=checkin, secret=otp.new_secret(), counter=0, sends=1)
            _send_code(offender=offender, challenge=challenge, now=now)
            challenge.save()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="checkin",
            object_id=checkin.pk,
            details={
                "offender_id": offender.pk,
                "station_id": actor.station_id,
                "status": checkin.status,
                "via_terminal": terminal is not None,
                "by_cnic": bool(cnic),
            },
        )
    return checkin


# --- verify --------------------------------------------------------------------------------


def _open_for_writing(*, actor: Officer, checkin_id: int) -> Checkin:
    """The check-in, row-locked, if the actor may act on it: an officer of the station where
    it was started; 404 otherwise. The offender may have moved to another station's area
    during the visit (an address notice filed at the counter): the visit still counts."""
    _require_performer(actor)
    checkin = checkin_get(actor=actor, checkin_id=checkin_id)
    checkin = (
        Checkin.objects.select_for_update(of=("self",))
        .select_related("offender", "station")
        .get(pk=checkin.pk)
    )
    if checkin.station_id != actor.station_id:
        raise NotFound()
    return checkin


def _locked_challenge(checkin: Checkin) -> OtpChallenge | None:
    return OtpChallenge.objects.select_for_update().filter(checkin=checkin).first()


def _check_not_final(checkin: Checkin, *, allow_expired: bool = False) -> None:
    if checkin.status == CheckinStatus.CONFIRMED:
        raise Conflict("This check-in is already confirmed.", code="already_confirmed")
    if checkin.status == CheckinStatus.CANCELLED:
        raise Conflict(
            "This check-in was superseded or cancelled; use the newer one.", code="cancelled"
        )
    if checkin.status == CheckinStatus.LOCKED:
        raise ChallengeLocked()
    if checkin.status == CheckinStatus.EXPIRED and not allow_expired:
        raise ChallengeExpired()


def _expire_if_due(
    *, actor: Officer, checkin: Checkin, challenge: OtpChallenge, now: datetime
) -> ApplicationError | None:
    """End a challenge past its expiry (secret erased, check-in expired) and return the 410 to
    raise once the transaction has committed, so the expiry stays recorded; None if still live."""
    if now < challenge.expires_at:
        return None
    _end_challenge(challenge, state=ChallengeState.EXPIRED, now=now)
    _set_status(checkin, CheckinStatus.EXPIRED, actor=actor)
    return ChallengeExpired()


def checkin_verify(
    *,
    actor: Officer,
    checkin_id: int,
    code: str,
    declaration: Declaration,
    photo: Any = None,
) -> Checkin:
    """Confirm the check-in with the code the offender reads out (module docstring)."""
    _validate_declaration(declaration)
    photo_content = _clean_photo(photo)
    refusal: ApplicationError | None = None
    with transaction.atomic():
        checkin = _open_for_writing(actor=actor, checkin_id=checkin_id)
        _check_not_final(checkin)
        challenge = _locked_challenge(checkin)
        if challenge is None or checkin.status == CheckinStatus.NO_PHONE:
            raise Conflict(
                "No code was sent for this check-in: confirm it by override.", code="no_code"
            )
        now = timezone.now()
        refusal = _expire_if_due(actor=actor, checkin=checkin, challenge=challenge, now=now)
        if refusal is None and otp.code_matches(challenge.secret, challenge.counter, code):
            _end_challenge(challenge, state=ChallengeState.USED, now=now)
            _confirm(
                actor=actor,
                checkin=checkin,
                method=CheckinMethod.SMS_OTP,
                declaration=declaration,
                photo_content=photo_content,
                now=now,
            )
        elif refusal is None:
            refusal = _wrong_code(actor=actor, checkin=checkin, challenge=challenge, now=now)
    # Raised after the commit: the wrong attempt, the lock or the expiry must stay recorded.
    if refusal is not None:
        raise refusal
    return checkin


def _wrong_code(
    *, actor: Officer, checkin: Checkin, challenge: OtpChallenge, now: datetime
) -> ApplicationError:
    challenge.failed_attempts += 1
    challenge.save(update_fields=["failed_attempts"])
    left = settings.NIGRANI_CHECKIN_OTP_MAX_ATTEMPTS - challenge.failed_attempts
    if left > 0:
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="checkin",
            object_id=checkin.pk,
            outcome="wrong_code",
            details={"offender_id": checkin.offender_id, "attempts_left": left},
        )
        return WrongCode(attempts_left=left)
    _end_challenge(challenge, state=ChallengeState.LOCKED, now=now)
    checkin.status = CheckinStatus.LOCKED
    checkin.save(update_fields=["status", "updated_at"])
    supervisors = Officer.objects.filter(
        role=Role.STATION_OFFICER, station_id=checkin.station_id, is_active=True
    )
    notify_officers(
        officers=supervisors,
        kind="checkin_locked",
        text=(
            f"Check-in #{checkin.pk} was locked after "
            f"{settings.NIGRANI_CHECKIN_OTP_MAX_ATTEMPTS} wrong codes."
        ),
        object_type="checkin",
        object_id=checkin.pk,
    )
    audit_record(
        actor=actor,
        action=AuditAction.TRANSITION,
        object_type="checkin",
        object_id=checkin.pk,
        outcome="locked",
        details={"offender_id": checkin.offender_id, "to": CheckinStatus.LOCKED},
    )
    return ChallengeLocked()


def _set_status(checkin: Checkin, status: str, *, actor: Officer) -> None:
    checkin.status = status
    checkin.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.TRANSITION,
        object_type="checkin",
        object_id=checkin.pk,
        details={"offender_id": checkin.offender_id, "to": status},
    )


# --- resend --------------------------------------------------------------------------------


def checkin_resend(*, actor: Officer, checkin_id: int) -> Checkin:
    """Send a new code (the next HOTP counter) and void the previous one; at most
    ``NIGRANI_CHECKIN_OTP_MAX_SENDS`` sends per check-in, ``NIGRANI_CHECKIN_OTP_RESEND_SECONDS``
    apart. The previous SMS is withdrawn if it has not gone yet. An expired challenge is
    ended (410, committed) rather than given a new code."""
    refusal: ApplicationError | None = None
    with transaction.atomic():
        checkin = _open_for_writing(actor=actor, checkin_id=checkin_id)
        _check_not_final(checkin)
        challenge = _locked_challenge(checkin)
        if challenge is None or challenge.state != ChallengeState.OPEN:
            raise Conflict(
                "No code can be sent for this check-in: confirm it by override.", code="no_code"
            )
        now = timezone.now()
        # As verify: an expired challenge is ended, not revived by a new code.
        refusal = _expire_if_due(actor=actor, checkin=checkin, challenge=challenge, now=now)
        if refusal is None and challenge.sends >= settings.NIGRANI_CHECKIN_OTP_MAX_SENDS:
            raise RateLimited(
                f"At most {settings.NIGRANI_CHECKIN_OTP_MAX_SENDS} codes per check-in; use the "
                "last one, start a new check-in once it expires, or confirm by override.",
                retry_after=max(1, math.ceil((challenge.expires_at - now).total_seconds())),
                code="too_many_sends",
            )
        if refusal is None:
            _resend(actor=actor, checkin=checkin, challenge=challenge, now=now)
    # Raised after the commit: the expiry must stay recorded.
    if refusal is not None:
        raise refusal
    checkin.challenge = challenge
    return checkin


def _resend(*, actor: Officer, checkin: Checkin, challenge: OtpChallenge, now: datetime) -> None:
    wait = (
        challenge.last_sent_at
        + timedelta(seconds=settings.NIGRANI_CHECKIN_OTP_RESEND_SECONDS)
        - now
    ).total_seconds()
    if wait > 0:
        raise RateLimited(
            "A code was sent moments ago; wait before sending another.",
            retry_after=math.ceil(wait),
            code="resend_too_soon",
        )
    if challenge.sms_message_id is not None:
        sms_cancel(message_id=challenge.sms_message_id)
    challenge.counter += 1
    challenge.sends += 1
    _send_code(offender=checkin.offender, challenge=challenge, now=now)
    challenge.save(
        update_fields=["counter", "sends", "last_sent_at", "expires_at", "sms_message_id"]
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="checkin",
        object_id=checkin.pk,
        outcome="code_resent",
        details={"offender_id": checkin.offender_id, "sends": challenge.sends},
    )


# --- expiry of abandoned challenges ----------------------------------------------------------

# The enum values the statements below name: parameters, never spelt in the SQL
# (tests/common/test_sql_enums.py).
SQL_ENUMS = {
    "otp_sent": CheckinStatus.OTP_SENT,
    "checkin_expired": CheckinStatus.EXPIRED,
    "open": ChallengeState.OPEN,
    "challenge_expired": ChallengeState.EXPIRED,
}

# Lock the check-ins first (the order every step on a challenge takes), skipping any a
# request is working on; the next run picks those up if still due.
_EXPIRE_LOCK_SQL = """
SELECT c.id FROM checkins_checkin AS c
WHERE c.status = %(otp_sent)s
  AND EXISTS (SELECT 1 FROM checkins_otpchallenge AS ch
              WHERE ch.checkin_id = c.id AND ch.state = %(open)s AND ch.expires_at <= %(now)s)
ORDER BY c.id
FOR UPDATE OF c SKIP LOCKED
"""

_EXPIRE_CHALLENGES_SQL = """
UPDATE checkins_otpchallenge
SET state = %(challenge_expired)s, secret = '', ended_at = %(now)s
WHERE checkin_id = ANY(%(ids)s) AND state = %(open)s AND expires_at <= %(now)s
RETURNING checkin_id, sms_message_id
"""

_EXPIRE_CHECKINS_SQL = """
UPDATE checkins_checkin SET status = %(checkin_expired)s, updated_at = %(now)s
WHERE id = ANY(%(ids)s) AND status = %(otp_sent)s
RETURNING id
"""


def challenges_expire(*, now: datetime | None = None) -> int:
    """End the open challenges whose code expired without anyone coming back to them: the
    secret is erased (it must not outlive the code), the check-in becomes ``expired`` and an
    SMS still waiting to go is withdrawn. Set-based, a few queries plus one per unsent SMS;
    returns how many check-ins expired."""
    now = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_EXPIRE_LOCK_SQL, {**SQL_ENUMS, "now": now})
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                return 0
            cursor.execute(_EXPIRE_CHALLENGES_SQL, {**SQL_ENUMS, "now": now, "ids": ids})
            ended = cursor.fetchall()
            cursor.execute(
                _EXPIRE_CHECKINS_SQL,
                {**SQL_ENUMS, "now": now, "ids": [row[0] for row in ended]},
            )
            expired = sorted(row[0] for row in cursor.fetchall())
        for _checkin_id, message_id in ended:
            if message_id is not None:
                sms_cancel(message_id=message_id)
        # One event per run (the system acting), naming the check-ins.
        audit_record(
            actor=None,
            action=AuditAction.TRANSITION,
            object_type="checkin",
            outcome="expired",
            details={"to": CheckinStatus.EXPIRED, "count": len(expired), "checkin_ids": expired},
        )
    return len(expired)


# --- override ------------------------------------------------------------------------------


def checkin_override(
    *,
    actor: Officer,
    checkin_id: int,
    username: str,
    password: str,
    otp_code: str,
    reason: str,
    declaration: Declaration,
    channel: Channel,
    client_ip: str | None,
    photo: Any = None,
) -> Checkin:
    """Confirm without the SMS code: a second, different active station officer of the same
    station confirms with their own password and authenticator code, and a reason is given.

    The second officer's sign-in is checked by the accounts service (counted towards that
    officer's lockout like any sign-in), so it runs before, and outside, the confirmation's
    transaction."""
    _require_performer(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the code could not be used."]})
    _validate_declaration(declaration)
    photo_content = _clean_photo(photo)
    # Fail fast, before a credential check: the check-in must be the actor's and still open.
    # An expired code does not matter to an override; a lock does (it may be a guessing
    # attempt, and the station was told): a locked check-in is not overridden.
    _check_not_final(checkin_get(actor=actor, checkin_id=checkin_id), allow_expired=True)
    second = auth_login_check(
        username=username,
        password=password,
        otp=otp_code,
        client_ip=client_ip,
        channel=channel,
    ).officer
    if (
        second.pk == actor.pk
        or second.role != Role.STATION_OFFICER
        or second.station_id != actor.station_id
        or not second.is_active
    ):
        raise ValidationError(
            {"username": ["A second, different station officer of this station must confirm."]}
        )
    with transaction.atomic():
        checkin = _open_for_writing(actor=actor, checkin_id=checkin_id)
        _check_not_final(checkin, allow_expired=True)
        now = timezone.now()
        challenge = _locked_challenge(checkin)
        if challenge is not None and challenge.state == ChallengeState.OPEN:
            _end_challenge(challenge, state=ChallengeState.ENDED, now=now)
        _confirm(
            actor=actor,
            checkin=checkin,
            method=CheckinMethod.OVERRIDE,
            declaration=declaration,
            photo_content=photo_content,
            now=now,
            override_by=second,
            override_reason=reason,
        )
    return checkin


# --- confirmation --------------------------------------------------------------------------


def _validate_declaration(declaration: Declaration) -> None:
    if declaration.unchanged and declaration.notice_ids:
        raise ValidationError(
            {"unchanged": ["Either nothing changed, or notices were filed; not both."]}
        )
    if not declaration.unchanged and not declaration.notice_ids:
        raise ValidationError(
            {
                "unchanged": [
                    "Confirm that address, phone and employment are unchanged, or give the "
                    "notices of change filed in this visit."
                ]
            }
        )


def _clean_photo(photo: Any) -> tuple[bytes, str] | None:
    if photo is None:
        return None
    if photo.size > settings.NIGRANI_PHOTO_MAX_BYTES:
        raise ValidationError(
            {"photo": [f"At most {settings.NIGRANI_PHOTO_MAX_BYTES // (1024 * 1024)} MB."]}
        )
    try:
        clean = photo_clean(photo.read())
    except PhotoRejected as exc:
        raise ValidationError({"photo": [str(exc)]}) from exc
    return clean.content, clean.extension


def _visit_notices(*, checkin: Checkin, notice_ids: tuple[int, ...]) -> list[Notice]:
    """The notices of change filed for this offender since the check-in started."""
    notices = list(
        Notice.objects.filter(
            pk__in=notice_ids,
            offender_id=checkin.offender_id,
            kind__in=[kind.value for kind in CHANGE_KINDS],
            filed_at__gte=_local_day_start(checkin.created_at),
        )
    )
    if len(notices) != len(set(notice_ids)):
        raise ValidationError(
            {"notices": ["Only notices of change filed for this offender today can be given."]}
        )
    return notices


def _close_travel(*, actor: Officer, checkin: Checkin, today: Any) -> list[int]:
    """Close the open travel notices of an offender who is back (standing at the counter):
    those whose departure day has passed (one leaving today has not gone yet), through the
    register's own services, with today as the return date."""
    travel = Notice.objects.filter(
        offender_id=checkin.offender_id,
        kind__in=[kind.value for kind in TRAVEL_KINDS],
        status__in=[NoticeStatus.FILED, NoticeStatus.ACKNOWLEDGED],
        departure_date__lt=today,
    ).values_list("id", "status")
    closed = []
    for notice_id, status in travel:
        if status == NoticeStatus.FILED:
            notice_acknowledge(actor=actor, notice_id=notice_id)
        notice_close(actor=actor, notice_id=notice_id, returned_on=today)
        closed.append(notice_id)
    return closed


def _confirm(
    *,
    actor: Officer,
    checkin: Checkin,
    method: str,
    declaration: Declaration,
    photo_content: tuple[bytes, str] | None,
    now: datetime,
    override_by: Officer | None = None,
    override_reason: str = "",
) -> None:
    offender = checkin.offender
    if offender.status != OffenderStatus.ACTIVE:
        raise Conflict(
            f"The offender became {offender.status} since the check-in started.",
            code="offender_not_reporting",
        )
    today = timezone.localdate(now)
    notices = _visit_notices(checkin=checkin, notice_ids=declaration.notice_ids)
    closed = _close_travel(actor=actor, checkin=checkin, today=today)
    # The register moves the due date (one interval after today's check-in).
    next_due = offender_checkin_confirmed(offender=offender, confirmed_on=today)
    checkin.status = CheckinStatus.CONFIRMED
    checkin.method = method
    checkin.confirmed_at = now
    checkin.confirmed_on = today
    checkin.confirmed_by = actor
    checkin.override_by = override_by
    checkin.override_reason = override_reason
    checkin.details_unchanged = declaration.unchanged
    checkin.next_due_on = next_due
    if photo_content is not None:
        content, extension = photo_content
        checkin.photo.save(f"checkin-{checkin.pk}.{extension}", ContentFile(content), save=False)
    checkin.save()
    if notices:
        checkin.notices.set(notices)
    if closed:
        checkin.travel_notices_closed.set(closed)
    checkin_receipt_issue(checkin=checkin)
    # The override's reason is free text and may name people: it stays on the check-in.
    audit_record(
        actor=actor,
        action=AuditAction.TRANSITION,
        object_type="checkin",
        object_id=checkin.pk,
        details={
            "offender_id": offender.pk,
            "to": CheckinStatus.CONFIRMED,
            "method": method,
            "override_by_id": override_by.pk if override_by else None,
            "details_unchanged": declaration.unchanged,
            "notice_ids": sorted(n.pk for n in notices),
            "travel_notices_closed": closed,
            "photo": photo_content is not None,
            "served_due_on": checkin.due_on.isoformat() if checkin.due_on else None,
            "next_checkin_due": next_due.isoformat(),
        },
    )


def on_counter_lookup_burst(*, officer: Officer, misses: int) -> None:
    """Hook ``counter_lookup_burst``: a counter officer's CNIC lookups keep matching no one
    (someone may be enumerating the register): the system administrators are told."""
    notify_officers(
        officers=Officer.objects.filter(role=Role.SYSTEM_ADMIN, is_active=True),
        kind="counter_lookup_burst",
        text=(
            f"Security: {misses} CNIC lookups matching no one at a station counter by officer "
            f"{officer.username} (#{officer.pk}) within "
            f"{settings.NIGRANI_LOOKUP_WINDOW_SECONDS // 60} minutes."
        ),
        object_type="officer",
        object_id=officer.pk,
    )
