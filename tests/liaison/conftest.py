"""Supervised offenders with an open supervision period, as the register's own release leaves
them, for the hand-over, receipt and travel tests."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import AgencyKind
from registry.models import Offender, SupervisionPeriod
from tests.checkins.conftest import second_officer, supervised_offender

__all__ = ["second_officer"]  # a fixture the receipt tests share with the check-in tests
from tests.conftest import make_officer

IN_LAHORE_B = {"lon": 74.75, "lat": 31.5}
IN_KASUR_A = {"lon": 74.5, "lat": 30.5}


def offender_under_supervision(world, **fields) -> Offender:
    offender = supervised_offender(world, **fields)
    SupervisionPeriod.objects.create(
        offender=offender,
        district=offender.district,
        station=offender.station,
        started_at=timezone.now() - timedelta(days=20),
    )
    return offender


@pytest.fixture
def offender(world) -> Offender:
    return offender_under_supervision(world, next_verification_due=timezone.localdate())


@pytest.fixture
def station_officer_kasur(world):
    return make_officer(
        "station-officer-kasur",
        "station_officer",
        AgencyKind.POLICE,
        district=world.kasur,
        station=world.kasur_a,
    )
