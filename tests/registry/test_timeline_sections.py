"""Each timeline section applies its own read permission and jurisdiction (issue 11, item 1).

The timeline used to show violations, check-ins (with an override's second officer) and
notices to anyone who could read the record: a beat officer saw violations and check-ins
although ``GET /violations/?offender=`` answers it 403.
"""

import pytest
from django.utils import timezone

from checkins.models import Checkin, CheckinMethod, CheckinStatus
from mobile_api.models import VerificationTask
from mobile_api.services import tasks as task_services
from registry.models import Notice, NoticeKind, NoticeStatus, Offender
from tests.compliance.conftest import raise_for
from tests.factories import OffenderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def offender(world, station_officer):
    """Supervised by lahore-a, beat lahore-a-1 (an open task there), with a violation, a
    check-in and a notice."""
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)
    task_services.on_offender_released(offender=offender)
    assert VerificationTask.objects.filter(offender=offender, beat=world.lahore_a_1).exists()
    raise_for(offender)
    now = timezone.now()
    Checkin.objects.create(
        offender=offender,
        station=world.lahore_a,
        status=CheckinStatus.CONFIRMED,
        started_by=station_officer,
        method=CheckinMethod.SMS_OTP,
        lon=74.2,
        lat=31.2,
        accuracy_m=10,
        confirmed_at=now,
        confirmed_on=timezone.localdate(now),
        confirmed_by=station_officer,
    )
    Notice.objects.create(
        offender=offender,
        kind=NoticeKind.EMPLOYMENT_CHANGE,
        status=NoticeStatus.FILED,
        filed_at=now,
        filed_by=station_officer,
        station=world.lahore_a,
        changed_on=timezone.localdate(now),
        deadline=timezone.localdate(now),
    )
    return offender


def _kinds(client, offender) -> set[str]:
    response = client.get(f"/api/v1/offenders/{offender.pk}/timeline/", {"purpose": "supervision"})
    assert response.status_code == 200, response.json()
    return {entry["kind"] for entry in response.json()["results"]}


def test_the_supervising_station_sees_every_section(client_for, station_officer, offender):
    kinds = _kinds(client_for(station_officer), offender)

    assert {"violation", "checkin", "notice", "address"} <= kinds


def test_a_beat_officer_sees_its_beats_violations_but_neither_check_ins_nor_notices(
    client_for, beat_officer, offender
):
    """Beat officers read the violations of the offenders on their beat (the alert ladder's
    first step): the timeline shows exactly those ``GET /violations/`` does, no more."""
    client = client_for(beat_officer)
    listed = client.get("/api/v1/violations/", {"offender": offender.pk})
    assert listed.status_code == 200
    listed_ids = {str(row["id"]) for row in listed.json()["results"]}
    assert listed_ids

    response = client.get(f"/api/v1/offenders/{offender.pk}/timeline/", {"purpose": "supervision"})
    entries = response.json()["results"]

    kinds = {entry["kind"] for entry in entries}
    assert "address" in kinds  # the record itself, which it may read
    assert kinds.isdisjoint({"checkin", "missed_checkin", "notice"})
    assert {e["object_id"] for e in entries if e["kind"] == "violation"} == listed_ids


def test_a_beat_officer_sees_no_violation_of_another_beat_on_the_timeline(
    client_for, beat_officer, offender, world
):
    """The offender moved to the next beat while its task stays with this officer: the record
    still opens (the task), its violations no longer do, on the list and the timeline alike."""
    Offender.objects.filter(pk=offender.pk).update(beat=world.lahore_a_2)
    client = client_for(beat_officer)

    listed = client.get("/api/v1/violations/", {"offender": offender.pk})
    kinds = _kinds(client, offender)

    assert listed.json()["results"] == []
    assert "violation" not in kinds


def test_data_entry_sees_no_check_ins(client_for, data_entry, offender):
    kinds = _kinds(client_for(data_entry), offender)

    assert kinds.isdisjoint({"checkin", "missed_checkin", "violation"})
    assert "notice" in kinds  # data entry holds notice.read in its district


def test_a_control_room_sees_its_districts_sections(client_for, control_room, offender):
    kinds = _kinds(client_for(control_room), offender)

    assert {"violation", "checkin", "notice"} <= kinds
