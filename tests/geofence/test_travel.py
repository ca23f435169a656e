"""Travel windows from the register's notice hooks, and the overdue-return sweep."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from compliance.models import Violation, ViolationKind
from geofence.models import TravelWindow, WindowStatus, Zone
from geofence.services.travel import overdue_returns_sweep
from geofence.services.zones import zone_set_version
from registry.models import Notice, NoticeKind, NoticeStatus
from registry.services.notices import notice_acknowledge, notice_cancel, notice_close

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 12:00 in Pakistan


def _notice(offender, *, kind=NoticeKind.DOMESTIC_TRAVEL, destination=None, **fields) -> Notice:
    values = {
        "offender": offender,
        "kind": kind,
        "filed_at": NOW - timedelta(days=10),
        "deadline": date(2026, 2, 25),
        "station": offender.station,
        "destination_district": destination,
        "destination_country": "AE" if kind == NoticeKind.INTERNATIONAL_TRAVEL else "",
        "departure_date": date(2026, 3, 3),
        "return_date": date(2026, 3, 6),
    }
    values.update(fields)
    return Notice.objects.create(**values)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def test_acknowledging_a_domestic_notice_opens_the_destination_for_its_dates(
    world, offender, station_officer
):
    notice = _notice(offender, destination=world.kasur)
    version = zone_set_version()
    notice_acknowledge(actor=station_officer, notice_id=notice.pk)
    window = TravelWindow.objects.get(notice=notice)
    assert window.status == WindowStatus.OPEN
    zone = window.zone
    assert (zone.kind, zone.applies_to, zone.offender_id) == ("inclusion", "offender", offender.pk)
    assert zone.geometry == world.kasur.boundary
    # Departure day 00:00 PKT (2 Mar 19:00 UTC) minus 12 h grace; return day's end plus grace.
    assert zone.valid_from == datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert zone.valid_to == datetime(2026, 3, 7, 7, 0, tzinfo=UTC)
    assert zone_set_version() > version


def test_international_notice_permits_the_whole_world_from_departure(offender, station_officer):
    notice = _notice(offender, kind=NoticeKind.INTERNATIONAL_TRAVEL)
    notice_acknowledge(actor=station_officer, notice_id=notice.pk)
    window = TravelWindow.objects.get(notice=notice)
    assert window.is_international
    assert window.zone.min_lon == -180
    assert window.zone.max_lon == 180


def test_cancelling_closes_the_window_and_retires_its_zone(world, offender, station_officer):
    notice = _notice(offender, destination=world.kasur)
    notice_acknowledge(actor=station_officer, notice_id=notice.pk)
    notice_cancel(actor=station_officer, notice_id=notice.pk, reason="trip off")
    window = TravelWindow.objects.get(notice=notice)
    assert window.status == WindowStatus.CANCELLED
    assert Zone.objects.get(pk=window.zone_id).retired_at is not None


def test_a_change_notice_opens_no_window(offender, station_officer):
    notice = _notice(offender, kind=NoticeKind.PHONE_CHANGE, departure_date=None, return_date=None)
    notice_acknowledge(actor=station_officer, notice_id=notice.pk)
    assert not TravelWindow.objects.exists()


def test_overdue_return_is_raised_once_after_the_grace_and_ends_on_return(
    world, offender, station_officer
):
    notice = _notice(offender, destination=world.kasur)
    notice_acknowledge(actor=station_officer, notice_id=notice.pk)
    # Due back by the end of 6 March PKT plus 12 h: 7 March 07:00 UTC.
    assert overdue_returns_sweep(now=datetime(2026, 3, 7, 6, 59, tzinfo=UTC)).raised == 0
    late = datetime(2026, 3, 7, 7, 1, tzinfo=UTC)
    result = overdue_returns_sweep(now=late)
    assert result.raised == 1
    assert overdue_returns_sweep(now=late + timedelta(hours=1)).raised == 0
    violation = Violation.objects.get(kind=ViolationKind.OVERDUE_RETURN)
    assert violation.ended_at is None
    with time_machine.travel(datetime(2026, 3, 8, 7, 0, tzinfo=UTC), tick=False):
        notice_close(actor=station_officer, notice_id=notice.pk, returned_on=date(2026, 3, 8))
    violation.refresh_from_db()
    assert violation.ended_at is not None
    assert TravelWindow.objects.get(notice=notice).status == WindowStatus.CLOSED


def test_overdue_return_needs_no_device_and_skips_closed_and_cancelled(
    world, offender, kasur_offender, station_officer
):
    open_notice = _notice(offender, destination=world.kasur)
    _notice(kasur_offender, destination=world.lahore, status=NoticeStatus.CANCELLED)
    _notice(
        kasur_offender,
        destination=world.lahore,
        status=NoticeStatus.CLOSED,
        returned_on=date(2026, 3, 5),
    )
    result = overdue_returns_sweep(now=datetime(2026, 3, 9, tzinfo=UTC))
    assert result.raised == 1
    assert Violation.objects.get().cause_id == str(open_notice.pk)
    assert timezone.is_aware(Violation.objects.get().occurred_at)
