"""Two processes ingesting for the same offender at once (threads with their own database
connections, on real PostgreSQL): the offender's track row lock serialises them, so the state
sees every fix and the breach is one episode, one violation."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from compliance.models import Violation
from geofence.models import Episode, OffenderTrack
from geofence.services.devices import tracking_device_enrol
from geofence.services.partitions import partitions_create_ahead
from geofence.services.pings import pings_ingest
from geofence.services.zones import ZoneInput, zone_create
from geofence.zone_index import zone_index_current
from tests.geofence.conftest import NOW
from tests.helpers import wait_until_a_backend_waits_on_a_lock

SCHOOL = (74.40, 31.60)


def _one_offender_two_devices(enrolled, registry_admin, station_officer):
    """A school zone, the offender's two devices (phone and tag, so only the offender's track
    lock can serialise their batches), and one batch of 3 fixes inside the school for each,
    their times interleaved."""
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
    return device, tag, batches


def _assert_one_episode_that_saw_every_fix(device) -> None:
    assert Episode.objects.count() == 1
    assert Violation.objects.count() == 1
    # Serialised, the later batch saw the earlier's state: the newest fix is the last of all.
    track = OffenderTrack.objects.get(offender_id=device.offender_id)
    assert track.last_fix_at == NOW - timedelta(minutes=4) + timedelta(seconds=45)


@pytest.mark.django_db(transaction=True)
def test_two_devices_of_one_offender_posting_at_once_make_one_episode(
    enrolled, registry_admin, station_officer, freeze_now
):
    """A real race: both batches released together."""
    device, tag, batches = _one_offender_two_devices(enrolled, registry_admin, station_officer)
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
    _assert_one_episode_that_saw_every_fix(device)


@pytest.mark.django_db(transaction=True)
def test_a_second_batch_for_the_offender_waits_for_the_first_to_commit(
    enrolled, registry_admin, station_officer, freeze_now
):
    """The overlap forced, not hoped for: the first batch (two fixes inside the school, one
    short of the three that open an episode) has evaluated and written inside a transaction
    that is still open when the second (the third fix, later, from the other device) arrives.
    The second must wait on the offender's lock (seen in pg_stat_activity) and, once the first
    commits, evaluate on its state: three in a row, one episode. Read without the lock, the
    second would see no fix before its own and open nothing."""
    device, tag, batches = _one_offender_two_devices(enrolled, registry_admin, station_officer)
    batches = [batches[0][:2], batches[1][2:]]
    first_done, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                pings_ingest(items=batches[0], device=device)
                first_done.set()
                assert release.wait(20)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            first_done.set()
            connection.close()

    def second() -> None:
        try:
            pings_ingest(items=batches[1], device=tag)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    holder = threading.Thread(target=first)
    holder.start()
    assert first_done.wait(20)
    waiter = threading.Thread(target=second)
    waiter.start()
    try:
        blocked = wait_until_a_backend_waits_on_a_lock()
        still_waiting = waiter.is_alive()
    finally:
        release.set()
        holder.join(30)
        waiter.join(30)
    assert errors == []
    assert blocked
    assert still_waiting
    _assert_one_episode_that_saw_every_fix(device)


@pytest.mark.django_db(transaction=True)
def test_a_batch_chosen_as_a_deadlock_victim_is_run_again_not_a_500(enrolled, freeze_now):
    """Another transaction holds the device's row and then asks for the offender's track row,
    which the batch holds while it waits for the device: a real deadlock, in which PostgreSQL
    aborts the batch (the other side waits longer before it checks). The batch's transaction
    is rolled back whole, so the endpoint runs it again and answers 202."""
    device, credential = enrolled
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {credential}")
    first = [{"device_seq": 1, "recorded_at": "2026-01-01T00:00:00Z", "lat": 31.5, "lon": 74.3,
              "accuracy_m": 10}]  # fmt: skip
    assert client.post("/api/v1/pings/", first, format="json").status_code == 202  # track row
    holding = threading.Event()
    errors: list[BaseException] = []

    def other_transaction() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL deadlock_timeout = '20s'")  # the batch detects it
                cursor.execute(
                    "SELECT id FROM geofence_trackingdevice WHERE id = %s FOR UPDATE", [device.pk]
                )
                holding.set()
                assert wait_until_a_backend_waits_on_a_lock()  # the batch, on the device row
                cursor.execute(
                    "SELECT offender_id FROM geofence_offendertrack WHERE offender_id = %s "
                    "FOR UPDATE",
                    [device.offender_id],
                )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=other_transaction)
    thread.start()
    assert holding.wait(10)
    second = [{**first[0], "device_seq": 2, "recorded_at": "2026-01-01T00:00:30Z"}]
    response = client.post("/api/v1/pings/", second, format="json")
    thread.join(30)

    assert errors == []
    assert response.status_code == 202, response.content
    assert response.json()["accepted"] == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT device_seq FROM geofence_ping WHERE device_id = %s", [device.pk])
        assert sorted(row[0] for row in cursor.fetchall()) == [1, 2]
