"""Input that would make a record unsupervised or unreadable (issue 11, items 9 and 10).

Booleans are not coordinates; a point outside the declared district is refused (the district
does not silently follow, nor is the record left without a station); identity text is NFC,
without control or format characters, and a name has a visible letter. Urdu names still work.
"""

import unicodedata

import pytest

from registry.models import Offender
from tests.registry.offender_data import LAHORE_A_1, body

URL = "/api/v1/offenders/"
pytestmark = pytest.mark.django_db


def _create(client_for, registry_admin, **change):
    return client_for(registry_admin).post(URL, body(**change), format="json")


@pytest.mark.parametrize(
    "point",
    [{"lat": True, "lon": 74.2}, {"lat": 31.2, "lon": False}, {"lat": False, "lon": False}],
)
def test_booleans_are_not_coordinates(client_for, world, registry_admin, point):
    address = {"text": "House 1", "district": "lahore", **point}

    response = _create(client_for, registry_admin, address=address)

    assert response.status_code == 400, response.json()
    assert {"address.lat", "address.lon"} & set(response.json()["fields"])
    assert not Offender.objects.exists()


def test_a_point_outside_the_declared_district_names_the_point_and_the_district(
    client_for, world, registry_admin
):
    address = {"text": "House 1", "district": "lahore", "lat": -31.5, "lon": 74.3}

    response = _create(client_for, registry_admin, address=address)

    assert response.status_code == 400, response.json()
    fields = response.json()["fields"]
    assert {"address.lat", "address.lon", "address.district"} <= set(fields)
    assert not Offender.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("full_name", "\u200b\u200b\u200b"),  # zero-width spaces only
        ("full_name", "\ufeff"),  # a lone BOM
        ("full_name", "Ali \u202eKhan"),  # right-to-left override
        ("father_name", "Ali\x1b[31m Khan"),  # an ESC sequence
        ("full_name", "Ali\r\nKhan"),  # CR/LF
        ("full_name", "12345"),  # no letter
        ("aliases", ["Ali\u202e"]),
    ],
)
def test_invisible_and_control_characters_are_refused_in_names(
    client_for, world, registry_admin, field, value
):
    response = _create(client_for, registry_admin, **{field: value})

    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]


def test_control_characters_are_refused_in_address_and_conviction_text(
    client_for, world, registry_admin
):
    data = body(address={"text": "House 4\x07", "district": "lahore", **LAHORE_A_1})
    data["convictions"][0]["court"] = "Sessions\u202e Court"

    response = client_for(registry_admin).post(URL, data, format="json")

    assert response.status_code == 400, response.json()
    assert {"address.text", "convictions[0].court"} <= set(response.json()["fields"])


def test_urdu_names_work_and_are_stored_nfc(client_for, world, registry_admin):
    # "محمد عمران" and "غلام رسول", the first with a decomposed hamza form to normalise.
    decomposed = unicodedata.normalize("NFD", "آصف")
    response = _create(
        client_for,
        registry_admin,
        full_name_ur="محمد عمران",
        father_name_ur="غلام رسول",
        aliases=[decomposed, "نو\u200cید"],  # ZWNJ is part of Urdu spelling
    )

    assert response.status_code == 201, response.json()
    offender = Offender.objects.get()
    assert offender.full_name_ur == "محمد عمران"
    assert unicodedata.normalize("NFC", "آصف") in offender.aliases
    assert "نو\u200cید" in offender.aliases


def test_a_name_change_notice_refuses_invisible_names(client_for, world, station_officer):
    from tests.factories import OffenderFactory

    offender = OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)

    response = client_for(station_officer).post(
        f"/api/v1/offenders/{offender.pk}/notices/",
        {"kind": "name_change", "changed_on": "2026-01-01", "details": {"full_name": "\u200b"}},
        format="json",
    )

    assert response.status_code == 400, response.json()
    assert "details.full_name" in response.json()["fields"]
