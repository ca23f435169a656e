"""Confirming a notice filed at a counter that does not supervise the offender, by the
one-time code sent to the registered phone: the check-in's code machinery (``checkins.otp``,
the SMS outbox, the same lifetime, attempt limit and lock) applied to a notice.

Rules decided here:

- The register keeps such a notice ``unconfirmed`` and calls ``notice_confirmation_requested``;
  this module opens the challenge and sends the code to the phone **on the register**, never
  to a number given at the counter.
- Only an officer of the counter station that filed the notice enters the code (anyone else:
  404). A wrong code is counted (committed before the 400); after
  ``NIGRANI_CHECKIN_OTP_MAX_ATTEMPTS`` the challenge locks (423) and the offender's
  supervising station is told; past ``NIGRANI_CHECKIN_OTP_MINUTES`` it expires (410). A new
  code means filing the notice again.
- The right code makes the register apply the notice (``notice_confirm``). When it moved
  supervision, the station officers of the station and the control room of the district that
  supervised before are notified (the register has audited the transfer).
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import Role
from audit.models import AuditAction
from audit.services import audit_record
from checkins import otp
from checkins.models import ChallengeState, NoticeChallenge
from checkins.services.counter import (
    ChallengeExpired,
    WrongCode,
    _end_challenge,
    _require_performer,
    _send_code,
)
from common.exceptions import ApplicationError, Conflict, NotFound
from push.services import notify_officers
from registry.models import Notice
from registry.services.notices import notice_confirm

NOTICE_OTP_PURPOSE = "notice_otp"


class NoticeChallengeLocked(ApplicationError):
    status_code = 423
    code = "challenge_locked"

    def __init__(self) -> None:
        super().__init__(
            "Too many wrong codes: this notice cannot be confirmed any more and the "
            "supervising station has been told. File it again for a new code."
        )


def on_notice_confirmation_requested(*, notice: Notice, actor: Officer) -> None:
    """Hook ``notice_confirmation_requested``: open the challenge and send the code, in the
    register's transaction (a rollback leaves neither the notice nor the SMS)."""
    if actor.station_id is None:  # only a station officer files at a counter
        raise NotFound()
    challenge = NoticeChallenge(
        notice=notice, station_id=actor.station_id, secret=otp.new_secret(), counter=0, sends=1
    )
    _send_code(
        offender=notice.offender,
        challenge=challenge,
        now=timezone.now(),
        purpose=NOTICE_OTP_PURPOSE,
    )
    challenge.save()


def notice_confirmation_verify(*, actor: Officer, notice_id: int, code: str) -> Notice:
    """Confirm the counter notice with the code the offender reads out (module docstring)."""
    _require_performer(actor)
    refusal: ApplicationError | None = None
    with transaction.atomic():
        challenge = (
            NoticeChallenge.objects.select_for_update()
            .filter(notice_id=notice_id, station_id=actor.station_id)
            .first()
        )
        if challenge is None:
            raise NotFound()
        if challenge.state == ChallengeState.USED:
            raise Conflict("This notice is already confirmed.", code="already_confirmed")
        if challenge.state == ChallengeState.LOCKED:
            raise NoticeChallengeLocked()
        if challenge.state != ChallengeState.OPEN:
            raise ChallengeExpired()
        now = timezone.now()
        if now >= challenge.expires_at:
            _end_challenge(challenge, state=ChallengeState.EXPIRED, now=now)
            refusal = ChallengeExpired()
        elif otp.code_matches(challenge.secret, challenge.counter, code):
            _end_challenge(challenge, state=ChallengeState.USED, now=now)
            confirmed = notice_confirm(actor=actor, notice_id=notice_id)
            if confirmed.transferred:
                _tell_former_supervisors(
                    notice=confirmed.notice,
                    station_id=confirmed.from_station_id,
                    district_id=confirmed.from_district_id,
                )
        else:
            refusal = _wrong_code(actor=actor, challenge=challenge, now=now)
    # Raised after the commit: the wrong attempt, the lock or the expiry stay recorded.
    if refusal is not None:
        raise refusal
    return Notice.objects.select_related(
        "filed_by", "station", "destination_district", "acknowledged_by", "cancelled_by"
    ).get(pk=notice_id)


def _wrong_code(*, actor: Officer, challenge: NoticeChallenge, now: datetime) -> ApplicationError:
    challenge.failed_attempts += 1
    challenge.save(update_fields=["failed_attempts"])
    left = settings.NIGRANI_CHECKIN_OTP_MAX_ATTEMPTS - challenge.failed_attempts
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="notice",
        object_id=challenge.notice_id,
        outcome="wrong_code" if left > 0 else "locked",
        details={"attempts_left": max(left, 0)},
    )
    if left > 0:
        return WrongCode(attempts_left=left)
    _end_challenge(challenge, state=ChallengeState.LOCKED, now=now)
    notice = Notice.objects.only("offender__station_id").select_related("offender")
    supervising = notice.get(pk=challenge.notice_id).offender.station_id
    notify_officers(
        officers=Officer.objects.filter(
            role=Role.STATION_OFFICER, station_id=supervising, is_active=True
        ),
        kind="notice_locked",
        text=(
            f"A notice of change (#{challenge.notice_id}) filed at another station's counter was "
            f"locked after {settings.NIGRANI_CHECKIN_OTP_MAX_ATTEMPTS} wrong codes."
        ),
        object_type="notice",
        object_id=challenge.notice_id,
    )
    return NoticeChallengeLocked()


def _tell_former_supervisors(
    *, notice: Notice, station_id: int | None, district_id: int | None
) -> None:
    """Supervision moved at another station's counter: tell who supervised before."""
    officers: list[Officer] = []
    if station_id is not None:
        officers += Officer.objects.filter(
            role=Role.STATION_OFFICER, station_id=station_id, is_active=True
        )
    if district_id is not None:
        officers += Officer.objects.filter(
            role=Role.CONTROL_ROOM, district_id=district_id, is_active=True
        )
    notify_officers(
        officers=officers,
        kind="offender_transferred",
        text=(
            f"Offender #{notice.offender_id} was transferred away by a notice of change "
            f"(#{notice.pk}) filed at another station's counter and confirmed by the "
            "offender's code."
        ),
        object_type="offender",
        object_id=notice.offender_id,
    )


def notice_challenges_expire(*, now: datetime | None = None) -> int:
    """End the open notice challenges whose code expired unused: the secret is erased (it
    must not outlive the code) and an SMS still waiting is withdrawn; the notice stays
    ``unconfirmed`` (it never took effect). Returns how many ended."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            NoticeChallenge.objects.select_for_update(skip_locked=True).filter(
                state=ChallengeState.OPEN, expires_at__lte=now
            )
        )
        for challenge in due:
            _end_challenge(challenge, state=ChallengeState.EXPIRED, now=now)
    return len(due)
