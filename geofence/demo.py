"""Demo data of the geofence app for ``seed_demo`` (development only), after the register's
demo offenders: every district's inclusion zone, a school exclusion zone a short walk from one
offender's home, and a phone enrolled for three offenders of the demo station — the walker, the
driver and the silent tag that ``manage.py simulate_pings`` drives. Idempotent."""

import math

from django.conf import settings

from accounts.models import Officer
from accounts.roles import Role
from geofence.models import CredentialStatus, TrackingDevice, Zone
from geofence.services.devices import tracking_device_enrol
from geofence.services.districts import district_zones_sync
from geofence.services.zones import ZoneInput, zone_create
from jurisdictions.demo import SeedSummary, demo_username
from registry.models import Address, Offender, OffenderStatus

DEMO_SERIALS = ("DEMO-WALK", "DEMO-DRIVE", "DEMO-SILENT")
SCHOOL_SOURCE_ID = "demo-school"
SCHOOL_RADIUS_M = 150.0
# The school is this far north-east of the walker's home.
SCHOOL_OFFSET_M = 600.0


def offender_home(offender: Offender) -> tuple[float, float]:
    """The current address's point, or the supervising station's."""
    address = (
        Address.objects.filter(offender=offender, valid_to__isnull=True, lon__isnull=False)
        .order_by("-valid_from")
        .first()
    )
    if address is not None:
        return address.lon, address.lat
    lon, lat = offender.station.location["coordinates"][:2]
    return lon, lat


def offset_m(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point ``east_m``/``north_m`` metres from (lon, lat), for demo paths."""
    return (
        lon + east_m / (111_320.0 * math.cos(math.radians(lat))),
        lat + north_m / 110_574.0,
    )


def seed_demo_geofence() -> SeedSummary:
    if not settings.DEV_MODE:
        raise RuntimeError("demo data is for development only (NIGRANI_DEV=1)")
    summary = SeedSummary(name="geofence")
    summary.count("district_zones", bool(district_zones_sync()))
    officer = Officer.objects.get(username=demo_username(Role.STATION_OFFICER))
    admin = Officer.objects.get(username=demo_username(Role.REGISTRY_ADMIN))
    offenders = list(
        Offender.objects.filter(station_id=officer.station_id, status=OffenderStatus.ACTIVE)
        .select_related("station")
        .order_by("pk")[: len(DEMO_SERIALS)]
    )
    for offender, serial in zip(offenders, DEMO_SERIALS, strict=False):
        exists = TrackingDevice.objects.filter(
            serial=serial, status=CredentialStatus.ACTIVE
        ).exists()
        if not exists:
            tracking_device_enrol(
                actor=officer, offender_id=offender.pk, kind="phone", serial=serial
            )
        summary.count("devices", not exists)
    if offenders and not Zone.objects.filter(source_id=SCHOOL_SOURCE_ID).exists():
        lon, lat = offender_home(offenders[0])
        step = SCHOOL_OFFSET_M / math.sqrt(2)
        school_lon, school_lat = offset_m(lon, lat, step, step)
        zone_create(
            actor=admin,
            data=ZoneInput(
                name="Demo Government Girls School",
                kind="exclusion",
                category="school",
                geometry={"type": "Point", "coordinates": [school_lon, school_lat]},
                radius_m=SCHOOL_RADIUS_M,
                buffer_m=50,
                source_id=SCHOOL_SOURCE_ID,
            ),
        )
        summary.count("zones", True)
    return summary
