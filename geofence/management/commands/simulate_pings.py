"""``manage.py simulate_pings [--scenario walk|drive|silent|all]`` (development only).

Drives the demo devices that ``seed_demo`` enrolled through the same service the ping
endpoint calls, so a newcomer sees each violation appear under ``make run``:

- ``walk``: the first demo offender walks from home into the demo school zone and stays
  (``exclusion_zone``);
- ``drive``: the second drives south out of the supervising district (``travel_without_notice``);
- ``silent``: the third's phone reports once, 20 minutes ago, and falls silent; the tag-offline
  sweep then raises ``tag_offline``.

Fixes are timestamped in the recent past (20 s apart, ending now) and sent in one batch each.
"""

import math
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from compliance.models import Violation
from geofence.demo import DEMO_SERIALS, SCHOOL_SOURCE_ID, offender_home, offset_m
from geofence.models import CredentialStatus, TrackingDevice, Zone
from geofence.services.pings import IngestResult, pings_ingest
from geofence.services.sweeps import tag_offline_sweep

STEP_SECONDS = 20


class Command(BaseCommand):
    help = "Drive the demo tracking devices: a walk into a school, a drive out, a silent tag."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scenario", choices=["walk", "drive", "silent", "all"], default="all")

    def handle(self, *args: Any, scenario: str, **options: Any) -> None:
        if not settings.DEV_MODE:
            raise CommandError("simulate_pings only runs with NIGRANI_DEV=1 (development mode).")
        devices = {
            d.serial: d
            for d in TrackingDevice.objects.filter(
                serial__in=DEMO_SERIALS, status=CredentialStatus.ACTIVE
            ).select_related("offender__station")
        }
        if len(devices) < len(DEMO_SERIALS):
            raise CommandError("Run `manage.py seed_demo` first (it enrols the demo devices).")
        before = Violation.objects.order_by("-id").values_list("id", flat=True).first() or 0
        walk, drive, silent = (devices[s] for s in DEMO_SERIALS)
        if scenario in ("walk", "all"):
            self._walk(walk)
        if scenario in ("drive", "all"):
            self._drive(drive)
        if scenario in ("silent", "all"):
            self._silent(silent)
        for violation in Violation.objects.filter(id__gt=before).order_by("id"):
            self.stdout.write(
                self.style.WARNING(
                    f"violation #{violation.pk} {violation.kind}: {violation.summary} "
                    f"(offender #{violation.offender_id})"
                )
            )

    def _send(self, device: TrackingDevice, path: list[tuple[float, float]], label: str) -> None:
        now = timezone.now()
        seq = (device.max_seq or 0) + 1
        start = now - timedelta(seconds=STEP_SECONDS * (len(path) - 1))
        items = [
            {
                "device_seq": seq + n,
                "recorded_at": (start + timedelta(seconds=STEP_SECONDS * n)).isoformat(),
                "lon": round(lon, 6),
                "lat": round(lat, 6),
                "accuracy_m": 8.0,
                "battery": 80,
            }
            for n, (lon, lat) in enumerate(path)
        ]
        result = pings_ingest(items=items, device=device)
        accepted = result.accepted if isinstance(result, IngestResult) else result["accepted"]
        self.stdout.write(f"{label}: {accepted} pings accepted from {device.serial}")

    def _walk(self, device: TrackingDevice) -> None:
        home = offender_home(device.offender)
        school = Zone.objects.get(source_id=SCHOOL_SOURCE_ID).geometry["coordinates"]
        steps = 10
        path = [
            (
                home[0] + (school[0] - home[0]) * n / steps,
                home[1] + (school[1] - home[1]) * n / steps,
            )
            for n in range(steps + 1)
        ]
        self._send(device, path + [tuple(school)] * 3, "walk into the school zone")

    def _drive(self, device: TrackingDevice) -> None:
        lon, lat = offender_home(device.offender)
        district = device.offender.district
        # South past the district's southern edge, 2 km a fix, then 3 fixes beyond it.
        reach_m = (lat - district.min_lat) * 110_574.0 + 6_000
        steps = max(3, math.ceil(reach_m / 2_000))
        path = [offset_m(lon, lat, 0, -reach_m * n / steps) for n in range(steps + 1)]
        self._send(device, path + [path[-1]] * 3, "drive out of the district")

    def _silent(self, device: TrackingDevice) -> None:
        lon, lat = offender_home(device.offender)
        now = timezone.now()
        silence = timedelta(minutes=settings.NIGRANI_TAG_OFFLINE_MINUTES + 5)
        item = {
            "device_seq": (device.max_seq or 0) + 1,
            "recorded_at": (now - silence).isoformat(),
            "lon": lon,
            "lat": lat,
            "accuracy_m": 8.0,
        }
        pings_ingest(items=[item], device=device)
        raised = tag_offline_sweep(now=now).raised
        self.stdout.write(f"silent tag: last ping {silence} ago, {raised} tag_offline raised")
