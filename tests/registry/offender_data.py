"""Offenders made through the register's own services, and the request body that makes them."""

import copy
import itertools
from typing import Any

from accounts.models import Officer
from registry.models import Offender
from registry.services.offenders import offender_create

_serial = itertools.count(1)

# Points in the test world (tests/conftest.py).
LAHORE_A_1 = {"lon": 74.2, "lat": 31.2}  # station lahore-a, beat lahore-a-1
LAHORE_A_2 = {"lon": 74.2, "lat": 31.7}  # station lahore-a, beat lahore-a-2
LAHORE_B_1 = {"lon": 74.7, "lat": 31.5}  # station lahore-b, beat lahore-b-1
KASUR_A_1 = {"lon": 74.5, "lat": 30.5}  # station kasur-a, beat kasur-a-1

BODY: dict[str, Any] = {
    "cnic": "35202-1234567-1",
    "full_name": "Imtiaz Ahmed",
    "father_name": "Ghulam Rasool",
    "gender": "male",
    "date_of_birth": "1985-03-02",
    "phone": "+923001234567",
    "risk_tier": 2,
    "status": "in_custody",
    "address": {"text": "House 4, Street 9, Samanabad", "district": "lahore", **LAHORE_A_1},
    "convictions": [
        {
            "fir_number": "123/2021",
            "police_station": "Samanabad",
            "court": "Sessions Court Lahore",
            "case_number": "SC-45/2021",
            "conviction_date": "2021-06-01",
            "sentence": "10 years rigorous imprisonment",
            "sections": ["PPC 376"],
            "victim_minor": True,
        }
    ],
}


def body(**overrides: Any) -> dict[str, Any]:
    """The create body of the API (and of ``offender_create``), with overrides."""
    data = copy.deepcopy(BODY)
    data.update(overrides)
    return data


def unique_cnic() -> str:
    return f"35202-{next(_serial) + 1000000:07d}-3"


def register(actor: Officer, *, point: dict | None = None, district: str = "lahore", **fields):
    """A new in-custody offender registered by ``actor`` with a fresh CNIC."""
    data = body(**{"cnic": unique_cnic(), **fields})
    if point is not None or district != "lahore":
        data["address"] = {"text": "House 1", "district": district, **(point or {})}
    return offender_create(actor=actor, data=data)


def reload(offender: Offender) -> Offender:
    return Offender.objects.get(pk=offender.pk)
