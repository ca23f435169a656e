"""Offenders at known points, their verification tasks, and visit bodies for the tests of
field verification. Points are in the shared test world (tests/conftest.py)."""

import io
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image

from mobile_api.models import VerificationTask
from mobile_api.services import tasks as task_services
from registry.models import Offender, ReportingPolicy
from tests.factories import OffenderFactory

# (lat, lon) inside each beat of the test world.
IN_LAHORE_A_1 = (31.2, 74.2)
IN_LAHORE_A_2 = (31.7, 74.2)
IN_LAHORE_B_1 = (31.5, 74.7)
IN_KASUR_A_1 = (30.5, 74.5)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Files go to a temporary directory, never var/media."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def policies(db) -> None:
    """The seeded reporting policies (a transactional test's flush removes migration data)."""
    for tier, checkin, verification in ((1, 30, 365), (2, 14, 180), (3, 7, 90)):
        ReportingPolicy.objects.get_or_create(
            risk_tier=tier,
            defaults={"checkin_interval_days": checkin, "verification_interval_days": verification},
        )


def located_offender(beat, point: tuple[float, float] | None, **fields) -> Offender:
    """An active offender supervised by ``beat`` (its station and district) living at
    ``point`` (lat, lon); ``point=None``: an address not yet located."""
    station = beat.station if beat is not None else fields.pop("station")
    if point is None:
        return OffenderFactory(district=station.district, station=None, beat=None, **fields)
    return OffenderFactory(
        district=station.district,
        station=station,
        beat=beat,
        address__lat=point[0],
        address__lon=point[1],
        **fields,
    )


def open_task(offender: Offender) -> VerificationTask:
    """The offender's verification task, as the release hook opens it."""
    task_services.on_offender_released(offender=offender)
    return VerificationTask.objects.get(offender=offender, status="open", kind="verification")


def visit_body(
    point: tuple[float, float] = IN_LAHORE_A_1,
    *,
    at: datetime | None = None,
    fix_age_s: float = 30,
    **overrides: Any,
) -> dict[str, Any]:
    at = at or timezone.now()
    body = {
        "client_id": str(uuid.uuid4()),
        "outcome": "confirmed",
        "lat": point[0],
        "lon": point[1],
        "accuracy_m": 10.0,
        "fix_time": (at - timedelta(seconds=fix_age_s)).isoformat(),
        "mock_location": False,
        "visited_at": at.isoformat(),
        "notes": "",
    }
    body.update(overrides)
    return body


def visits_url(task: VerificationTask) -> str:
    return f"/api/v1/mobile/tasks/{task.pk}/visits/"


@pytest.fixture
def task_a1(world, policies) -> VerificationTask:
    """An open task on beat lahore-a-1 (the beat_officer's)."""
    return open_task(located_offender(world.lahore_a_1, IN_LAHORE_A_1))


def jpeg_with_gps_exif() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (31.0, 12.0, 0.0)
    gps[3] = "E"
    gps[4] = (74.0, 12.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="image/jpeg")
