"""Geofence fixtures: offenders of the shared world, district inclusion zones, enrolled
devices, and a clean per-process index and partition cache for each test."""

from datetime import UTC, datetime

import pytest
import time_machine

from geofence.services import credentials, partitions
from geofence.services.devices import tracking_device_enrol
from geofence.services.districts import district_zones_sync
from geofence.zone_index import zone_index_reset
from tests.factories import OffenderFactory


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Each test's database starts without the last test's partitions, zones and devices, so
    this process must not remember them."""
    partitions._known.clear()
    zone_index_reset()
    credentials._known_devices.clear()
    yield
    partitions._known.clear()
    zone_index_reset()
    credentials._known_devices.clear()


@pytest.fixture
def offender(world):
    """Supervised by station lahore-a (district lahore: 74–75 E, 31–32 N)."""
    return OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)


@pytest.fixture
def kasur_offender(world):
    return OffenderFactory(district=world.kasur, station=world.kasur_a, beat=world.kasur_a_1)


@pytest.fixture
def district_zones(world):
    return district_zones_sync()


@pytest.fixture
def enrolled(offender, station_officer):
    """A phone enrolled for ``offender``: (device, credential)."""
    result = tracking_device_enrol(
        actor=station_officer, offender_id=offender.pk, kind="phone", serial="PHONE-1"
    )
    return result.obj, result.credential


NOW = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)  # a Thursday, 05:05 in Pakistan


@pytest.fixture
def freeze_now():
    """Time frozen a few minutes after the pings' timestamps (2026-01-01T00:00Z)."""
    with time_machine.travel(NOW, tick=False):
        yield NOW
