"""Files, offenders and request helpers for the disclosures tests.

Personas come from tests/conftest.py: ``investigating_officer`` (Lahore, station lahore-a),
``district_prosecutor`` (Lahore), ``registry_admin`` (NPB). Added here: a prosecutor of Kasur,
a second officer of lahore-a and an officer of Kasur.
"""

import io
import itertools

import pytest
from PIL import Image
from reportlab.pdfgen import canvas

from accounts.roles import AgencyKind
from disclosures.services import requests as services
from tests.conftest import make_officer
from tests.factories import ConvictionFactory, OffenderFactory

_serial = itertools.count(1)
SUSPECT_CNIC = "35202-5550001-1"


def pdf_bytes(
    text: str = "FIR 123/2026 Samanabad: accused Imtiaz Ahmed s/o Ghulam Rasool",
) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def prosecutor_elsewhere(world):
    return make_officer(
        "district-prosecutor-kasur",
        "district_prosecutor",
        AgencyKind.PROSECUTION,
        district=world.kasur,
    )


@pytest.fixture
def colleague(world):
    """Another investigating officer of the same station."""
    return make_officer(
        "investigating-officer-2",
        "investigating_officer",
        AgencyKind.POLICE,
        district=world.lahore,
        station=world.lahore_a,
    )


@pytest.fixture
def officer_elsewhere(world):
    return make_officer(
        "investigating-officer-kasur",
        "investigating_officer",
        AgencyKind.POLICE,
        district=world.kasur,
        station=world.kasur_a,
    )


def annexure(**overrides) -> services.Annexure:
    values = {
        "suspect_name": "Imtiaz Ahmed",
        "suspect_father_name": "Ghulam Rasool",
        "suspect_address": "House 4, Street 9, Samanabad",
        "relation_to_case": "accused named in the FIR",
        "justification": "Prior convictions bear on the bail hearing.",
        "suspect_cnic": "",
    }
    values.update(overrides)
    return services.Annexure(**values)


def file_request(officer, **overrides):
    """A valid request by ``officer`` of an FIR at lahore-a, with overrides."""
    values = {
        "station_code": "lahore-a",
        "fir_number": str(100 + next(_serial)),
        "fir_year": 2026,
        "sections": ["PPC 376", "PPC 506"],
        "fir_copy": pdf_bytes(),
        "annexure": annexure(),
        "attested": True,
    }
    values.update(overrides)
    return services.records_request_file(actor=officer, **values)


def registered_suspect(world, **fields):
    """An active offender (Lahore) who matches the default annexure, with one conviction."""
    defaults = {
        "full_name": "Imtiaz Ahmed",
        "father_name": "Ghulam Rasool",
        "aliases": ["Billu"],
        "cnic": SUSPECT_CNIC,
    }
    defaults.update(fields)
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a, **defaults)
    ConvictionFactory(offender=offender, fir_number="45/2015", case_number="SC-12/2015")
    return offender


def answered(officer, prosecutor, npb, offender=None, **overrides):
    """A request filed, forwarded and answered (match when ``offender`` is given)."""
    request = file_request(officer, **overrides)
    services.records_request_forward(
        actor=prosecutor, request_id=request.pk, suspect_named_in_fir=True
    )
    return services.records_request_answer(
        actor=npb, request_id=request.pk, offender_id=offender.pk if offender else None
    )
