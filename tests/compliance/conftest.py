"""Offenders and violations for the compliance tests."""

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.models import Severity, ViolationKind
from compliance.services import violation_raise
from registry.models import Offender
from tests.factories import OffenderFactory


@pytest.fixture
def lahore_a_offender(world) -> Offender:
    """Supervised by station lahore-a (district lahore)."""
    return OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)


@pytest.fixture
def lahore_b_offender(world) -> Offender:
    """Supervised by station lahore-b (district lahore)."""
    return OffenderFactory(district=world.lahore, station=world.lahore_b, beat=world.lahore_b_1)


@pytest.fixture
def kasur_offender(world) -> Offender:
    return OffenderFactory(district=world.kasur, station=world.kasur_a, beat=world.kasur_a_1)


def raise_for(offender: Offender, *, key: str = "", **fields):
    """A violation caused by the offender record itself (``cause_key`` tells causes apart)."""
    params = {
        "kind": ViolationKind.MISSED_CHECKIN,
        "severity": Severity.MEDIUM,
        "occurred_at": timezone.now() - timedelta(hours=1),
        "summary": "check-in missed",
    }
    params.update(fields)
    return violation_raise(offender=offender, cause=offender, cause_key=key, **params)
