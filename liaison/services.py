"""Writes of the register's liaison: receipts for notices, hand-overs, travel passed on, the
end of registration announced.

The hook handlers run inside the register's transaction (``registry.hooks``): a rollback of
the notice or the move leaves no receipt, hand-over or notification behind. Notification texts
name ids, dates and jurisdictions only: never a name, CNIC or phone (``push.Notification``).
"""

from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import Role, Scope
from accounts.scoping import jurisdiction_q
from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import Conflict, Forbidden, NotFound
from jurisdictions.models import District, PoliceStation
from liaison.models import Handover, HandoverStatus, RegistrationEndAnnounced
from push.receipts import receipt_issue
from push.services import notify_officers
from registry.models import (
    Notice,
    NoticeKind,
    Offender,
    OffenderStatus,
    SupervisionPeriod,
)
from registry.sms import offender_sms_language

# Supervision that moves while the offender is in custody is the release's business.
_SUPERVISED = (OffenderStatus.ACTIVE, OffenderStatus.ABSCONDED)
REGISTRATION_END_NOTICE_DAYS = 30


def _day(value: date | None) -> str:
    return value.strftime("%d-%m-%Y") if value else "not set"


def _control_room(district_id: int | None) -> QuerySet[Officer]:
    if district_id is None:
        return Officer.objects.none()
    return Officer.objects.filter(role=Role.CONTROL_ROOM, district_id=district_id, is_active=True)


def _station_officers(station_id: int | None) -> QuerySet[Officer]:
    if station_id is None:
        return Officer.objects.none()
    return Officer.objects.filter(role=Role.STATION_OFFICER, station_id=station_id, is_active=True)


def _npb() -> QuerySet[Officer]:
    return Officer.objects.filter(role=Role.REGISTRY_ADMIN, is_active=True)


def _label(*, district: District, station: PoliceStation | None) -> str:
    return f"{station.name} ({district.name})" if station is not None else district.name


# --- receipts and travel ---------------------------------------------------------------------


def on_notice_filed(*, notice: Notice, actor: Officer) -> None:
    """``notice_filed``: the offender's receipt; the NPB told of travel abroad."""
    offender = notice.offender
    recorded_station = actor.station if actor.station_id else notice.station
    receipt_issue(
        kind=f"notice_{notice.kind}",
        offender_id=offender.pk,
        object_type="notice",
        object_id=notice.pk,
        recorded_at=notice.filed_at,
        station=notice.station,
        recorded_station=recorded_station,
        phone=Offender.objects.values_list("phone", flat=True).get(pk=offender.pk),
        language=offender_sms_language(offender),
    )
    if notice.kind == NoticeKind.INTERNATIONAL_TRAVEL:
        notify_officers(
            officers=_npb(),
            kind="international_travel",
            text=(
                f"International travel notice #{notice.pk}: offender #{offender.pk} to "
                f"{notice.destination_country}, departing {_day(notice.departure_date)}, "
                f"returning {_day(notice.return_date)}."
            ),
            object_type="notice",
            object_id=notice.pk,
        )


def _destination_told(notice: Notice) -> bool:
    return notice.kind == NoticeKind.DOMESTIC_TRAVEL and notice.destination_district_id is not None


def on_travel_acknowledged(*, notice: Notice, actor: Officer) -> None:
    """``travel_acknowledged``: the destination district's control room learns the dates and
    the purpose, nothing more (not who: it supervises no one here)."""
    if not _destination_told(notice):
        return
    notify_officers(
        officers=_control_room(notice.destination_district_id),
        kind="travel_incoming",
        text=(
            f"Travel notice #{notice.pk}: a registered offender will be in your district from "
            f"{_day(notice.departure_date)} to {_day(notice.return_date)}. "
            f"Purpose: {notice.purpose}"
        )[:500],
        object_type="notice",
        object_id=notice.pk,
    )


def on_travel_cancelled(*, notice: Notice, actor: Officer) -> None:
    """``travel_cancelled``: the destination is told again, if it was told at all (a notice
    cancelled before acknowledgement never reached it)."""
    if not _destination_told(notice) or notice.acknowledged_at is None:
        return
    notify_officers(
        officers=_control_room(notice.destination_district_id),
        kind="travel_incoming_cancelled",
        text=(
            f"Travel notice #{notice.pk} ({_day(notice.departure_date)} to "
            f"{_day(notice.return_date)} in your district) was cancelled."
        ),
        object_type="notice",
        object_id=notice.pk,
    )


# --- release and hand-overs ------------------------------------------------------------------


def on_offender_released(*, offender: Offender, actor: Officer) -> None:
    """``offender_released``: the home district's control room and the station of the release
    address are told, with the dues that follow."""
    text = (
        f"Offender #{offender.pk} released on {_day(offender.released_on)} to an address in "
        f"{_label(district=offender.district, station=offender.station)}. First check-in due "
        f"{_day(offender.next_checkin_due)}; first verification due "
        f"{_day(offender.next_verification_due)}."
    )
    notify_officers(
        officers=[*_control_room(offender.district_id), *_station_officers(offender.station_id)],
        kind="offender_released",
        text=text,
        object_type="offender",
        object_id=offender.pk,
    )


def on_supervision_moved(
    *,
    offender: Offender,
    previous: SupervisionPeriod,
    current: SupervisionPeriod,
    actor: Officer,
) -> Handover | None:
    """``supervision_moved``: open the hand-over and tell both sides. The receiving side learns
    what it now owes; the sending side that it is done. An earlier hand-over still pending is
    superseded (supervision moved on before it was accepted)."""
    if offender.status not in _SUPERVISED:
        return None
    now = timezone.now()
    Handover.objects.filter(offender=offender, status=HandoverStatus.PENDING).update(
        status=HandoverStatus.SUPERSEDED, updated_at=now
    )
    handover = Handover.objects.create(
        offender=offender,
        from_period=previous,
        to_period=current,
        from_district_id=previous.district_id,
        from_station_id=previous.station_id,
        to_district_id=current.district_id,
        to_station_id=current.station_id,
        moved_at=previous.ended_at or now,
        next_checkin_due=offender.next_checkin_due,
        next_verification_due=offender.next_verification_due,
    )
    handover = Handover.objects.select_related(
        "from_district", "from_station", "to_district", "to_station"
    ).get(pk=handover.pk)
    from_label = _label(district=handover.from_district, station=handover.from_station)
    to_label = _label(district=handover.to_district, station=handover.to_station)
    notify_officers(
        officers=[
            *_control_room(handover.to_district_id),
            *_station_officers(handover.to_station_id),
        ],
        kind="handover_incoming",
        text=(
            f"Hand-over #{handover.pk}: offender #{offender.pk} is now supervised by {to_label} "
            f"(from {from_label}). Next check-in due {_day(handover.next_checkin_due)}; first "
            f"verification due {_day(handover.next_verification_due)}. The receiving station "
            "accepts the hand-over."
        ),
        object_type="handover",
        object_id=handover.pk,
    )
    sending = list(_station_officers(handover.from_station_id))
    if handover.from_district_id != handover.to_district_id:
        sending += list(_control_room(handover.from_district_id))
    notify_officers(
        officers=sending,
        kind="handover_outgoing",
        text=(
            f"Hand-over #{handover.pk}: offender #{offender.pk} is now supervised by {to_label}. "
            "Your supervision has ended; its history stays readable."
        ),
        object_type="handover",
        object_id=handover.pk,
    )
    return handover


def handover_accept(*, actor: Officer, handover_id: int) -> Handover:
    """The receiving station takes the hand-over on (audited); the receiving district's
    control room when there is no receiving station. Any other officer: 404; an
    accepted or superseded one: 409 (a conditional update, so two officers at once get one
    success and one 409)."""
    if not actor.has_permission("handover.accept"):
        raise Forbidden("You may not accept hand-overs.")
    with transaction.atomic():
        receiving = jurisdiction_q(
            actor, district="to_district_id", station="to_station_id", permission="handover.accept"
        )
        if actor.scope == Scope.DISTRICT:
            # A district accepts only what has no receiving station yet (an address without a
            # point is supervised by the district alone); a station's hand-over is the station's.
            receiving &= Q(to_station__isnull=True)
        handover = Handover.objects.filter(receiving, pk=handover_id).first()
        if handover is None:
            raise NotFound()
        now = timezone.now()
        accepted = Handover.objects.filter(pk=handover.pk, status=HandoverStatus.PENDING).update(
            status=HandoverStatus.ACCEPTED, accepted_at=now, accepted_by=actor, updated_at=now
        )
        if accepted != 1:
            handover.refresh_from_db(fields=["status"])
            raise Conflict(
                f"This hand-over is {handover.status}.",
                code="invalid_transition",
                extra={"status": handover.status},
            )
        handover.refresh_from_db()
        audit_record(
            actor=actor,
            action=AuditAction.TRANSITION,
            object_type="handover",
            object_id=handover.pk,
            details={
                "offender_id": handover.offender_id,
                "from": HandoverStatus.PENDING,
                "to": HandoverStatus.ACCEPTED,
                "to_station_id": handover.to_station_id,
            },
        )
    return handover


# --- end of registration ---------------------------------------------------------------------


def registration_end_announce(*, today: date | None = None) -> int:
    """Daily: tell the NPB and the supervising district's control room of each registration
    that ends within 30 days, once per offender and end date (a unique constraint, so a job
    run twice tells no one twice). Returns how many were announced."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=REGISTRATION_END_NOTICE_DAYS)
    ending = (
        Offender.objects.filter(
            status__in=_SUPERVISED,
            registration_ends_on__isnull=False,
            registration_ends_on__lte=horizon,
        )
        .order_by("registration_ends_on", "pk")
        .only("pk", "district_id", "registration_ends_on")
    )
    npb = list(_npb())
    announced = 0
    for offender in ending.iterator():
        ends_on = offender.registration_ends_on
        if ends_on is None:  # filtered out above; narrows the type
            continue
        with transaction.atomic():
            try:
                with transaction.atomic():
                    RegistrationEndAnnounced.objects.create(
                        offender=offender,
                        ends_on=ends_on,
                        announced_at=timezone.now(),
                    )
            except IntegrityError:
                continue
            notify_officers(
                officers=[*npb, *_control_room(offender.district_id)],
                kind="registration_ending",
                text=(
                    f"Offender #{offender.pk}: the registration period ends on "
                    f"{_day(offender.registration_ends_on)}. The record is removed only when "
                    "an NPB officer confirms it on or after that day."
                ),
                object_type="offender",
                object_id=offender.pk,
            )
            announced += 1
    return announced
