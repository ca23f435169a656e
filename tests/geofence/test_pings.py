"""Ping ingest end to end: storage, duplicates and retries, bad pings, episodes becoming
violations once, the permitted area and travel windows, silent tags, zone edits reaching the
running engine, schedules starting with the offender inside, and partition housekeeping."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from compliance.models import Violation, ViolationKind
from geofence.models import Episode, TrackingDevice
from geofence.services.partitions import partitions_create_ahead, partitions_drop_expired
from geofence.services.pings import pings_ingest
from geofence.services.sweeps import schedule_sweep, tag_offline_sweep
from geofence.services.zones import ZoneInput, zone_create, zone_update
from push.models import AlertEvent, AlertEventType
from tests.geofence.conftest import NOW

pytestmark = pytest.mark.django_db

HOME = (74.30, 31.50)  # inside Lahore
SCHOOL = (74.40, 31.60)
KASUR = (74.50, 30.50)


def _pings(points, *, start_seq=1, start=NOW - timedelta(minutes=4), accuracy=10.0):
    return [
        {
            "device_seq": start_seq + n,
            "recorded_at": (start + timedelta(seconds=30 * n)).isoformat(),
            "lon": lon,
            "lat": lat,
            "accuracy_m": accuracy,
        }
        for n, (lon, lat) in enumerate(points)
    ]


def _stored() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM geofence_ping")
        return cursor.fetchone()[0]


@pytest.fixture
def school(registry_admin):
    return zone_create(
        actor=registry_admin,
        data=ZoneInput(
            name="School",
            kind="exclusion",
            category="school",
            geometry={"type": "Point", "coordinates": list(SCHOOL)},
            radius_m=200,
        ),
    )


def test_three_fixes_inside_open_one_episode_and_three_outside_end_it(enrolled, school, freeze_now):
    device, _ = enrolled
    pings_ingest(items=_pings([HOME, SCHOOL, SCHOOL]), device=device)
    assert not Violation.objects.exists()  # N-1 fixes inside: nothing yet
    pings_ingest(
        items=_pings([SCHOOL, SCHOOL], start_seq=10, start=NOW - timedelta(minutes=2)),
        device=device,
    )
    violation = Violation.objects.get(kind=ViolationKind.EXCLUSION_ZONE)
    episode = Episode.objects.get()
    assert episode.zone_id == school.pk
    assert violation.cause_id == str(episode.pk)
    assert (violation.lon, violation.lat) == SCHOOL
    assert violation.occurred_at == NOW - timedelta(minutes=4, seconds=-30)  # first inside fix
    assert violation.ended_at is None
    pings_ingest(
        items=_pings([HOME] * 3, start_seq=20, start=NOW - timedelta(minutes=1)), device=device
    )
    violation.refresh_from_db()
    assert violation.ended_at == NOW - timedelta(minutes=1)
    assert Violation.objects.count() == 1
    assert Episode.objects.get().ended_at is not None


def test_a_fix_worse_than_the_threshold_is_evidence_of_nothing(enrolled, school, freeze_now):
    device, _ = enrolled
    pings_ingest(items=_pings([SCHOOL] * 3, accuracy=500.0), device=device)
    assert not Violation.objects.exists()
    assert _stored() == 3  # stored all the same


def test_retried_batch_is_answered_the_same_and_stored_once(enrolled, freeze_now):
    device, credential = enrolled
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {credential}")
    batch = _pings([HOME] * 5)
    first = client.post("/api/v1/pings/", batch, format="json")
    again = client.post("/api/v1/pings/", batch, format="json")
    assert first.status_code == again.status_code == 202
    assert (
        first.json() == again.json() == {"accepted": 5, "duplicate": 0, "rejected": 0, "errors": []}
    )
    assert _stored() == 5
    # A different batch repeating two of the seqs: those are duplicates.
    overlap = _pings([HOME] * 3, start_seq=4)
    assert client.post("/api/v1/pings/", overlap, format="json").json()["duplicate"] == 2
    assert _stored() == 6


def test_late_and_out_of_order_pings_are_accepted_and_evaluated_in_time_order(
    enrolled, school, freeze_now
):
    device, _ = enrolled
    # Hours offline, then everything at once, newest first: inside x3 then home x3 in time.
    points = [SCHOOL] * 3 + [HOME] * 3
    batch = list(reversed(_pings(points, start=NOW - timedelta(hours=3))))
    result = pings_ingest(items=batch, device=device)
    assert result.accepted == 6
    violation = Violation.objects.get()
    # Opened and ended within the batch, in recorded_at order.
    assert violation.occurred_at == NOW - timedelta(hours=3)
    assert violation.ended_at == NOW - timedelta(hours=3) + timedelta(seconds=90)


def test_bad_pings_are_rejected_one_by_one(enrolled, freeze_now):
    device, _ = enrolled
    good = _pings([HOME])[0]
    batch = [
        good,
        {**good, "device_seq": 2, "lat": 95},
        {**good, "device_seq": 3, "accuracy_m": 0},
        {**good, "device_seq": 4, "recorded_at": (NOW + timedelta(hours=1)).isoformat()},
        {**good, "device_seq": 5, "recorded_at": (NOW - timedelta(days=91)).isoformat()},
        {**good, "device_seq": "six"},
        "not a ping",
    ]
    result = pings_ingest(items=batch, device=device)
    assert result.accepted == 1
    assert [(e["index"], e["reason"]) for e in result.rejected] == [
        (1, "out_of_range"),
        (2, "bad_accuracy"),
        (3, "in_future"),
        (4, "too_old"),
        (5, "bad_device_seq"),
        (6, "malformed"),
    ]
    assert _stored() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"device_seq": 1},
        [],
        ["a", 1, None],
        [{"lat": "x"}] * 3,
        [
            {"device_seq": n, "lat": 1, "lon": 1, "accuracy_m": 1, "recorded_at": "x"}
            for n in range(1001)
        ],
    ],
)
def test_malformed_batch_is_a_400_that_stores_nothing(enrolled, body, freeze_now):
    _, credential = enrolled
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {credential}")
    response = client.post("/api/v1/pings/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_batch"
    assert _stored() == 0


def test_leaving_the_district_without_notice_is_travel_without_notice(
    enrolled, district_zones, freeze_now
):
    device, _ = enrolled
    pings_ingest(items=_pings([HOME, KASUR, KASUR, KASUR]), device=device)
    violation = Violation.objects.get()
    assert violation.kind == ViolationKind.TRAVEL_WITHOUT_NOTICE
    assert violation.district_id == device.offender.district_id


def test_zone_created_after_the_index_was_built_reaches_the_running_engine(
    enrolled, registry_admin, freeze_now
):
    device, _ = enrolled
    pings_ingest(items=_pings([SCHOOL] * 3), device=device)  # builds the index: no zones
    assert not Violation.objects.exists()
    zone = zone_create(
        actor=registry_admin,
        data=ZoneInput(
            name="New school",
            kind="exclusion",
            category="school",
            geometry={"type": "Point", "coordinates": list(SCHOOL)},
            radius_m=200,
        ),
    )
    pings_ingest(
        items=_pings([SCHOOL] * 3, start_seq=10, start=NOW - timedelta(minutes=2)), device=device
    )
    assert Episode.objects.get().zone_id == zone.pk
    # Shrinking it away from the offender is an edit the engine also follows: they are outside.
    zone_update(
        actor=registry_admin,
        zone_id=zone.pk,
        changes={"geometry": {"type": "Point", "coordinates": [74.9, 31.9]}},
    )
    pings_ingest(
        items=_pings([SCHOOL] * 3, start_seq=20, start=NOW - timedelta(seconds=50)), device=device
    )
    assert Episode.objects.get().ended_at is not None


def test_silent_tag_raises_once_and_ends_when_pings_resume(enrolled, freeze_now):
    device, _ = enrolled
    pings_ingest(items=_pings([HOME]), device=device)
    assert tag_offline_sweep(now=NOW + timedelta(minutes=10)).raised == 0
    later = NOW + timedelta(minutes=20)
    assert tag_offline_sweep(now=later).raised == 1
    assert tag_offline_sweep(now=later + timedelta(minutes=5)).raised == 0
    violation = Violation.objects.get(kind=ViolationKind.TAG_OFFLINE)
    with time_machine.travel(later + timedelta(minutes=6), tick=False):
        pings_ingest(items=_pings([HOME], start_seq=5, start=later), device=device)
    violation.refresh_from_db()
    assert violation.ended_at == later
    assert TrackingDevice.objects.get(pk=device.pk).offline_violation_id is None


def test_schedule_starting_with_the_offender_inside_is_a_breach_from_its_start(
    enrolled, registry_admin
):
    device, _ = enrolled
    # Thursday 1 Jan 2026; the school zone runs 08:00–14:00 PKT (03:00–09:00 UTC).
    zone_create(
        actor=registry_admin,
        data=ZoneInput(
            name="School hours",
            kind="exclusion",
            category="school",
            geometry={"type": "Point", "coordinates": list(SCHOOL)},
            radius_m=200,
            schedule=[{"days": [3], "start": "08:00", "end": "14:00"}],
        ),
    )
    before = datetime(2026, 1, 1, 2, 50, tzinfo=UTC)
    with time_machine.travel(before + timedelta(minutes=5), tick=False):
        pings_ingest(items=_pings([SCHOOL] * 3, start=before), device=device)
    assert not Violation.objects.exists()  # inside, but the schedule has not started
    start = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        opened, _ = schedule_sweep()
    assert opened == 1
    assert Violation.objects.get().occurred_at == start


def test_partitions_are_made_ahead_and_dropped_whole_past_retention(enrolled, freeze_now):
    created = partitions_create_ahead(today=NOW.date())
    assert created == 90 + 7 + 1
    device, _ = enrolled
    pings_ingest(items=_pings([HOME]), device=device)
    later = NOW.date() + timedelta(days=92)
    dropped = partitions_drop_expired(today=later)
    assert "geofence_ping_p20260101" in dropped
    assert _stored() == 0


def test_a_breach_from_pings_reaches_the_control_rooms_alert_stream(enrolled, school, freeze_now):
    """Ping → episode → violation → alert: the district's stream gets ``alert.raised`` when the
    episode opens and ``alert.updated`` (with ``ended_at``) when it ends."""
    device, _ = enrolled
    pings_ingest(items=_pings([SCHOOL] * 3), device=device)
    violation = Violation.objects.get(kind=ViolationKind.EXCLUSION_ZONE)
    assert violation.ack_due_at is not None  # the alert's deadline started
    pings_ingest(
        items=_pings([HOME] * 3, start_seq=20, start=NOW - timedelta(minutes=1)), device=device
    )
    events = list(
        AlertEvent.objects.filter(alert_id=violation.pk)
        .order_by("seq")
        .values_list("type", "payload")
    )
    assert [kind for kind, _ in events] == [AlertEventType.RAISED, AlertEventType.UPDATED]
    assert events[1][1]["ended_at"] == (NOW - timedelta(minutes=1)).isoformat()
