"""Travel windows from the register's notices (its hooks), and the overdue-return sweep.

A window is carried to every engine as an offender-scoped inclusion zone with valid dates: the
destination district for a domestic trip, the whole world for an international one (the home
district rule is suspended from departure). Cancelling or closing the notice retires the zone.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import BigIntegerField
from django.db.models.functions import Cast
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from compliance.models import Severity, Violation, ViolationKind
from compliance.services import violation_end, violation_raise
from geofence.models import Applicability, TravelWindow, WindowStatus, Zone, ZoneKind
from geofence.services.zones import zone_set_bump
from registry.models import TRAVEL_KINDS, Notice, NoticeKind, NoticeStatus

TRAVEL_CATEGORY = "travel_window"
# An international trip's permitted area: the whole world (engine.WORLD as GeoJSON).
WORLD_GEOJSON = {
    "type": "Polygon",
    "coordinates": [[[-180, -89], [180, -89], [180, 89], [-180, 89], [-180, -89]]],
}
WORLD_BOUNDS = (-180.0, -89.0, 180.0, 89.0)


def _day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in Pakistan time (the legal day)."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def _grace() -> timedelta:
    return timedelta(hours=settings.NIGRANI_TRAVEL_GRACE_HOURS)


def travel_window_bounds(notice: Notice) -> tuple[datetime, datetime | None]:
    """From the departure day's start minus grace to the return day's end plus grace (open
    ended when no return date was given)."""
    starts_at = _day_start(notice.departure_date) - _grace()
    if notice.return_date is None:
        return starts_at, None
    return starts_at, _day_start(notice.return_date + timedelta(days=1)) + _grace()


def travel_window_open(*, notice: Notice, actor: Any = None) -> TravelWindow | None:
    """Hook ``travel_acknowledged``: permit the destination for the trip's dates."""
    if notice.kind not in TRAVEL_KINDS or notice.departure_date is None:
        return None
    international = notice.kind == NoticeKind.INTERNATIONAL_TRAVEL
    if not international and notice.destination_district is None:
        return None  # a domestic trip without a district opens nothing to evaluate against
    starts_at, ends_at = travel_window_bounds(notice)
    if international:
        geometry, bounds = WORLD_GEOJSON, WORLD_BOUNDS
    else:
        district = notice.destination_district
        geometry = district.boundary
        bounds = (district.min_lon, district.min_lat, district.max_lon, district.max_lat)
    with transaction.atomic():
        version = zone_set_bump()
        zone = Zone.objects.create(
            name=f"Travel notice #{notice.pk}",
            kind=ZoneKind.INCLUSION,
            category=TRAVEL_CATEGORY,
            geometry=geometry,
            min_lon=bounds[0],
            min_lat=bounds[1],
            max_lon=bounds[2],
            max_lat=bounds[3],
            applies_to=Applicability.OFFENDER,
            offender_id=notice.offender_id,
            valid_from=starts_at,
            valid_to=ends_at,
            version=version,
        )
        window = TravelWindow.objects.create(
            notice=notice,
            offender_id=notice.offender_id,
            destination_district=None if international else notice.destination_district,
            is_international=international,
            zone=zone,
            starts_at=starts_at,
            ends_at=ends_at or starts_at + timedelta(days=3650),
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="travel_window",
            object_id=window.pk,
            details={"notice_id": notice.pk, "zone_id": zone.pk, "international": international},
        )
    return window


def _window_finish(*, notice: Notice, status: str, actor: Any) -> TravelWindow | None:
    window = (
        TravelWindow.objects.select_for_update()
        .filter(notice=notice, status=WindowStatus.OPEN)
        .first()
    )
    if window is None:
        return None
    now = timezone.now()
    version = zone_set_bump()
    Zone.objects.filter(pk=window.zone_id).update(retired_at=now, version=version, updated_at=now)
    TravelWindow.objects.filter(pk=window.pk).update(status=status, updated_at=now)
    window.status = status
    audit_record(
        actor=actor,
        action=AuditAction.TRANSITION,
        object_type="travel_window",
        object_id=window.pk,
        details={"notice_id": notice.pk, "to": status},
    )
    return window


def travel_window_cancel(*, notice: Notice, actor: Any = None) -> TravelWindow | None:
    """Hook ``travel_cancelled``: the trip is off, so is its permission."""
    with transaction.atomic():
        return _window_finish(notice=notice, status=WindowStatus.CANCELLED, actor=actor)


def travel_window_close(*, notice: Notice, actor: Any = None) -> TravelWindow | None:
    """Hook ``travel_returned``: the offender is back; the window closes and an overdue return
    already raised ends on the return day."""
    with transaction.atomic():
        window = _window_finish(notice=notice, status=WindowStatus.CLOSED, actor=actor)
        overdue = Violation.objects.filter(
            kind=ViolationKind.OVERDUE_RETURN,
            cause_type__model="notice",
            cause_type__app_label="registry",
            cause_id=str(notice.pk),
            ended_at__isnull=True,
        ).first()
        if overdue is not None:
            returned_at = _day_start(notice.returned_on) if notice.returned_on else timezone.now()
            violation_end(
                violation=overdue,
                ended_at=max(returned_at, overdue.occurred_at),
                reason="returned",
            )
    return window


@dataclass
class OverdueResult:
    raised: int = 0
    violation_ids: list[int] = field(default_factory=list)


def overdue_returns_sweep(*, now: datetime | None = None) -> OverdueResult:
    """Raise ``overdue_return`` once per travel notice whose return day plus grace has passed
    and which is not closed (filed or acknowledged): no pings needed, so it covers offenders
    without a device. One query selects the set; ``violation_raise`` is idempotent on the
    notice, so re-runs and concurrent runs raise nothing twice."""
    now = now or timezone.now()
    grace = _grace()
    # A coarse date prefilter; the exact instant is checked per row below.
    latest_due = timezone.localtime(now - grace).date() - timedelta(days=1)
    notices = list(
        Notice.objects.filter(
            kind__in=list(TRAVEL_KINDS),
            status__in=[NoticeStatus.FILED, NoticeStatus.ACKNOWLEDGED],
            return_date__isnull=False,
            return_date__lte=latest_due,
        )
        .exclude(
            pk__in=Violation.objects.filter(
                kind=ViolationKind.OVERDUE_RETURN, cause_type__model="notice"
            )
            .annotate(notice_id=Cast("cause_id", BigIntegerField()))
            .values("notice_id")
        )
        .select_related("offender")
    )
    result = OverdueResult()
    with transaction.atomic():
        for notice in notices:
            due_at = _day_start(notice.return_date + timedelta(days=1)) + grace
            if due_at > now:
                continue
            violation, created = violation_raise(
                offender=notice.offender,
                kind=ViolationKind.OVERDUE_RETURN,
                severity=Severity.HIGH
                if notice.kind == NoticeKind.INTERNATIONAL_TRAVEL
                else Severity.MEDIUM,
                occurred_at=due_at,
                detected_at=now,
                cause=notice,
                summary=f"not back from {notice.kind} notice #{notice.pk} "
                f"(return due {notice.return_date.isoformat()})",
            )
            if created:
                result.raised += 1
                result.violation_ids.append(violation.pk)
    return result
