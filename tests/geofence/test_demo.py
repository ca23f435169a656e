"""The demo: seeded once, and simulate_pings makes each violation appear."""

from io import StringIO

from django.core.management import call_command

from accounts.demo import seed_world
from compliance.models import Violation, ViolationKind
from geofence.demo import seed_demo_geofence
from geofence.models import TrackingDevice
from registry.demo import seed_offenders


def test_simulated_walk_drive_and_silence_raise_each_violation(db, settings):
    settings.DEV_MODE = True
    seed_world()
    seed_offenders()
    first = seed_demo_geofence()
    again = seed_demo_geofence()
    assert first.created["devices"] == 3
    assert first.created["zones"] == 1
    assert again.created["devices"] == 0
    assert TrackingDevice.objects.count() == 3

    out = StringIO()
    call_command("simulate_pings", stdout=out)
    kinds = set(Violation.objects.values_list("kind", flat=True))
    assert {
        ViolationKind.EXCLUSION_ZONE,
        ViolationKind.TRAVEL_WITHOUT_NOTICE,
        ViolationKind.TAG_OFFLINE,
    } <= kinds, out.getvalue()
    assert "exclusion_zone" in out.getvalue()
