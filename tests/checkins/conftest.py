"""Offenders, locations, a second officer and the SMS outbox for the check-in tests.

The world's station ``lahore-a`` covers 74.0–74.5 E, 31.0–32.0 N; ``AT_STATION`` is well
inside it, ``NEAR_EDGE`` about 95 m east of its edge (inside only with that much accuracy).
"""

import re
from datetime import timedelta

import pyotp
import pytest
from django.utils import timezone

from accounts.models import DeviceToken, Officer, TOTPDevice
from accounts.roles import AgencyKind
from checkins.models import Checkin
from checkins.services.counter import Declaration, Location, checkin_start, checkin_verify
from push.models import SmsMessage
from registry.models import Offender
from tests.conftest import PASSWORD, make_officer
from tests.factories import OffenderFactory

AT_STATION = Location(lon=74.25, lat=31.5, accuracy_m=10)
NEAR_EDGE = (74.501, 31.5)  # ~95 m outside lahore-a's east edge (inside lahore-b)
FAR_AWAY = Location(lon=74.25, lat=30.5, accuracy_m=10)  # in Kasur
PHONE = "+923001234567"
UNCHANGED = Declaration(unchanged=True)


def supervised_offender(world, *, station=None, **fields) -> Offender:
    """An active offender of ``lahore-a`` (by default), released 20 days ago and due in 10."""
    station = station or world.lahore_a
    defaults = {
        "phone": PHONE,
        "released_on": timezone.localdate() - timedelta(days=20),
        "next_checkin_due": timezone.localdate() + timedelta(days=10),
    }
    defaults.update(fields)
    return OffenderFactory(district=station.district, station=station, **defaults)


@pytest.fixture
def offender(world) -> Offender:
    return supervised_offender(world)


@pytest.fixture
def second_officer(world) -> Officer:
    """Another station officer of lahore-a, with a confirmed authenticator."""
    officer = make_officer(
        "station-officer-2",
        "station_officer",
        AgencyKind.POLICE,
        district=world.lahore,
        station=world.lahore_a,
    )
    TOTPDevice.objects.create(
        officer=officer, secret=pyotp.random_base32(), confirmed_at=timezone.now()
    )
    return officer


def totp_now(officer: Officer) -> str:
    return pyotp.TOTP(TOTPDevice.objects.get(officer=officer).secret).now()


def override_credentials(officer: Officer) -> dict:
    return {"username": officer.username, "password": PASSWORD, "otp_code": totp_now(officer)}


def sent_code(checkin: Checkin | int) -> str:
    """The code the offender received: read from the newest OTP SMS of the check-in's
    offender (the outbox keeps the text until hand-over)."""
    checkin_id = checkin if isinstance(checkin, int) else checkin.pk
    offender_id = Checkin.objects.values_list("offender_id", flat=True).get(pk=checkin_id)
    message = SmsMessage.objects.filter(offender_id=offender_id, purpose="checkin_otp").latest("id")
    match = re.search(r"\b(\d{6})\b", message.text)
    assert match, "no code in the SMS"
    return match.group(1)


def start(actor, offender, **kwargs) -> Checkin:
    kwargs.setdefault("location", AT_STATION)
    return checkin_start(actor=actor, offender_id=offender.pk, **kwargs)


def enrol_device(officer: Officer, device_id: str) -> DeviceToken:
    return DeviceToken.objects.create(
        officer=officer,
        device_id=device_id,
        device_name="counter",
        token_hash=f"hash-{device_id}",
        expires_at=timezone.now() + timedelta(hours=12),
    )


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def verify(actor, checkin, code, declaration=UNCHANGED):
    return checkin_verify(actor=actor, checkin_id=checkin.pk, code=code, declaration=declaration)
