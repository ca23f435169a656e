"""Reads of the register's liaison, already limited to what the actor may see."""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Officer
from accounts.scoping import jurisdiction_q
from liaison.models import Handover, HandoverStatus
from liaison.services import REGISTRATION_END_NOTICE_DAYS
from registry.models import Notice, NoticeKind, NoticeStatus, Offender, OffenderStatus


def handover_overdue_before(*, now: datetime | None = None) -> datetime:
    """A pending hand-over moved before this instant is overdue
    (``NIGRANI_HANDOVER_ACCEPT_HOURS``)."""
    return (now or timezone.now()) - timedelta(hours=settings.NIGRANI_HANDOVER_ACCEPT_HOURS)


def handover_list(
    *, actor: Officer, status: str | None = None, overdue: bool = False
) -> QuerySet[Handover]:
    """Hand-overs whose sending or receiving side is the actor's (national roles: all);
    ``overdue``: pending ones not accepted in time."""
    sending = jurisdiction_q(
        actor, district="from_district_id", station="from_station_id", permission="handover.read"
    )
    receiving = jurisdiction_q(
        actor, district="to_district_id", station="to_station_id", permission="handover.read"
    )
    handovers = Handover.objects.filter(sending | receiving)
    if overdue:
        handovers = handovers.filter(
            status=HandoverStatus.PENDING, moved_at__lt=handover_overdue_before()
        )
    elif status:
        handovers = handovers.filter(status=status)
    return handovers.select_related(
        "from_district", "from_station", "to_district", "to_station"
    ).order_by("moved_at", "pk")


def registration_ending_list(
    *, actor: Officer, today: date | None = None, within_days: int = REGISTRATION_END_NOTICE_DAYS
) -> QuerySet[Offender]:
    """Offenders still on the register whose registration ends within ``within_days`` (or has
    ended, awaiting the NPB's confirmation), soonest first: the NPB sees all, a district's
    control room its own."""
    today = today or timezone.localdate()
    return (
        Offender.objects.filter(
            jurisdiction_q(actor, district="district_id", permission="registration_end.read"),
            status__in=(OffenderStatus.ACTIVE, OffenderStatus.ABSCONDED),
            registration_ends_on__isnull=False,
            registration_ends_on__lte=today + timedelta(days=within_days),
        )
        .select_related("district", "station")
        .order_by("registration_ends_on", "pk")
    )


def international_travel_upcoming(*, actor: Officer, today: date | None = None) -> QuerySet[Notice]:
    """International travel not yet over (filed or acknowledged, returning today or later):
    what the FIA's immigration check needs. National roles with ``travel.export`` only."""
    today = today or timezone.localdate()
    return (
        Notice.objects.filter(
            jurisdiction_q(actor, permission="travel.export"),
            kind=NoticeKind.INTERNATIONAL_TRAVEL,
            status__in=(NoticeStatus.FILED, NoticeStatus.ACKNOWLEDGED),
            return_date__gte=today,
        )
        .select_related("offender")
        .order_by("departure_date", "pk")
    )
