"""Supervised offenders made directly, not through the register's services: the compliance and
notice tests need an offender with a current address, not the register's own rules."""

import itertools
from datetime import timedelta

from django.utils import timezone

from registry.models import Address, Offender, OffenderStatus

_serial = itertools.count(1)


def make_offender(*, district, station=None, beat=None, **fields) -> Offender:
    n = next(_serial)
    defaults = {
        "full_name": f"Test Offender {n}",
        "father_name": f"Test Father {n}",
        "gender": "male",
        "cnic": f"35202-{n:07d}-1",
        "cnic_index": f"compliance-test-{n:08d}",
        "phone": "+923001234567",
        "risk_tier": 2,
        "status": OffenderStatus.ACTIVE,
    }
    defaults.update(fields)
    offender = Offender.objects.create(district=district, station=station, beat=beat, **defaults)
    Address.objects.create(
        offender=offender,
        text=f"House {n}, Street {n}",
        district=district,
        station=station,
        beat=beat,
        valid_from=timezone.now() - timedelta(days=400),
    )
    return offender
