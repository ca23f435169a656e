"""Two processes ingesting for the same offender at once (threads with their own database
connections, on real PostgreSQL): the offender's track row lock serialises them, so the state
sees every fix and the breach is one episode, one violation."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from compliance.models import Violation
from geofence.models import Episode, OffenderTrack
from geofence.services.devices import tracking_device_enrol
from geofence.services.partitions import partitions_create_ahead
from geofence.services.pings import pings_ingest
from geofence.services.zones import ZoneInput, zone_create
from geofence.zone_index import zone_index_current
from tests.geofence.conftest import NOW

SCHOOL = (74.40, 31.60)


@pytest.mark.django_db(transaction=True)
def test_two_devices_of_one_offender_posting_at_once_make_one_episode(
    enrolled, registry_admin, station_officer, freeze_now
):
    # Two devices (phone and tag), so only the offender's track lock can serialise them.
    device, _ = enrolled
    tag = tracking_device_enrol(
        actor=station_officer, offender_id=device.offender_id, kind="ankle_tag", serial="T"
    ).obj
    zone_create(
        actor=registry_admin,
        data=ZoneInput(
            name="School",
            kind="exclusion",
            category="school",
            geometry={"type": "Point", "coordinates": list(SCHOOL)},
            radius_m=200,
        ),
    )
    batches = [
        [
            {
                "device_seq": base + n,
                "recorded_at": (
                    NOW - timedelta(minutes=4) + timedelta(seconds=offset + 20 * n)
                ).isoformat(),
                "lon": SCHOOL[0],
                "lat": SCHOOL[1],
                "accuracy_m": 10,
            }
            for n in range(3)
        ]
        for base, offset in ((1, 0), (100, 5))
    ]
    partitions_create_ahead(today=NOW.date())  # no DDL to serialise the two by accident
    zone_index_current()  # nor the first index build
    # The track row exists already (an offender seen before): a first-ever INSERT of it would
    # serialise the two by itself, and hide whether the row lock does.
    OffenderTrack.objects.create(offender_id=device.offender_id)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def ingest(batch, sender):
        try:
            barrier.wait()
            pings_ingest(items=batch, device=sender)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=ingest, args=(b, d))
        for b, d in zip(batches, (device, tag), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Episode.objects.count() == 1
    assert Violation.objects.count() == 1
    # Serialised, the later batch saw the earlier's state: the newest fix is the last of all.
    track = OffenderTrack.objects.get(offender_id=device.offender_id)
    assert track.last_fix_at == NOW - timedelta(minutes=4) + timedelta(seconds=45)
