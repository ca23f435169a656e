import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from common.exceptions import Forbidden, api_exception_handler
from jurisdictions.models import Beat, District, PoliceStation
from jurisdictions.services import (
    beat_create,
    district_create,
    jurisdiction_save,
    station_create,
)
from tests.factories import square

OPEN_RING = {"type": "Polygon", "coordinates": [[[76, 31], [77, 31], [77, 32], [76, 32]]]}
BOWTIE = {"type": "Polygon", "coordinates": [[[76, 31], [77, 32], [77, 31], [76, 32], [76, 31]]]}
LON_OUT_OF_RANGE = {
    "type": "Polygon",
    "coordinates": [[[176, 31], [181, 31], [181, 32], [176, 32], [176, 31]]],
}
WRONG_TYPE = {"type": "Point", "coordinates": [76.5, 31.5]}


def _field_errors_as_http(exc: ValidationError):
    """What a view calling the service would answer: the one error handler's response."""
    return api_exception_handler(exc, {})


def test_district_create_saves_bbox_and_audits_the_creation(world):
    district = district_create(
        actor=None, province=world.punjab, code="okara", name="Okara", boundary=square(73, 30, 1)
    )

    assert (district.min_lon, district.min_lat, district.max_lon, district.max_lat) == (
        73,
        30,
        74,
        31,
    )
    event = AuditEvent.objects.get(object_type="district", object_id=str(district.pk))
    assert (event.action, event.details) == ("create", {"code": "okara"})


@pytest.mark.parametrize(
    ("boundary", "message"),
    [
        (OPEN_RING, "closed"),
        (BOWTIE, "Self-intersection"),
        (LON_OUT_OF_RANGE, "WGS84"),
        (WRONG_TYPE, "geometry type"),
        ("not geojson", "GeoJSON geometry object"),
    ],
    ids=["open-ring", "bowtie", "lon-out-of-range", "wrong-type", "not-an-object"],
)
def test_invalid_geometry_is_a_400_field_error_on_boundary(world, boundary, message):
    with pytest.raises(ValidationError) as caught:
        district_create(
            actor=None, province=world.punjab, code="bad", name="Bad", boundary=boundary
        )

    response = _field_errors_as_http(caught.value)
    assert response.status_code == 400
    assert response.data["code"] == "validation_error"
    assert message in response.data["fields"]["boundary"][0]
    assert not District.objects.filter(code="bad").exists()
    assert not AuditEvent.objects.filter(object_type="district").exists()


def test_invalid_station_location_is_a_field_error_on_location(world):
    with pytest.raises(ValidationError) as caught:
        station_create(
            actor=None,
            district=world.lahore,
            code="bad-station",
            name="Bad",
            boundary=square(74.0, 31.0, 0.1),
            location={"type": "Point", "coordinates": [200, 31.05]},
        )
    assert "location" in caught.value.message_dict


def test_station_outside_its_district_is_rejected_on_boundary(world):
    with pytest.raises(ValidationError) as caught:
        station_create(
            actor=None,
            district=world.lahore,
            code="straddles",
            name="Straddles",
            boundary=square(74.9, 31.5, 0.2),  # crosses Lahore's east edge at 75.0
            location={"type": "Point", "coordinates": [74.95, 31.6]},
        )
    assert caught.value.message_dict["boundary"] == ["The boundary must lie within its district."]
    assert not PoliceStation.objects.filter(code="straddles").exists()


def test_beat_outside_its_station_is_rejected_on_boundary(world):
    with pytest.raises(ValidationError) as caught:
        beat_create(
            actor=None,
            station=world.lahore_a,
            code="in-the-other-station",
            name="Wrong",
            boundary=square(74.6, 31.1, 0.1),  # inside Lahore B, not Lahore A
        )
    assert caught.value.message_dict["boundary"] == ["The boundary must lie within its station."]


def test_beat_straying_past_its_station_by_float_noise_is_accepted(world):
    stray = 5e-7  # well under the 1e-6 degree tolerance
    boundary = square(74.0, 31.0, 0.5 + stray)  # Lahore A ends at 74.5

    beat = beat_create(
        actor=None, station=world.lahore_a, code="noisy", name="Noisy", boundary=boundary
    )

    assert Beat.objects.filter(pk=beat.pk).exists()


def test_beat_straying_past_the_tolerance_is_rejected(world):
    with pytest.raises(ValidationError):
        beat_create(
            actor=None,
            station=world.lahore_a,
            code="too-far",
            name="Too far",
            boundary=square(74.0, 31.0, 0.5 + 1e-4),
        )


def test_duplicate_code_is_a_field_error_on_code(world):
    with pytest.raises(ValidationError) as caught:
        beat_create(
            actor=None,
            station=world.lahore_a,
            code="lahore-a-1",
            name="Again",
            boundary=square(74.0, 31.0, 0.1),
        )
    assert "code" in caught.value.message_dict


def test_officer_without_manage_permission_may_not_create(station_officer, world):
    with pytest.raises(Forbidden):
        beat_create(
            actor=station_officer,
            station=world.lahore_a,
            code="sneaky",
            name="Sneaky",
            boundary=square(74.0, 31.0, 0.1),
        )
    assert not Beat.objects.filter(code="sneaky").exists()


def test_system_admin_creates_and_is_recorded_as_the_actor(system_admin, world):
    beat = beat_create(
        actor=system_admin,
        station=world.lahore_a,
        code="new-beat",
        name="New beat",
        boundary=square(74.0, 31.0, 0.1),
    )

    event = AuditEvent.objects.get(object_type="beat", object_id=str(beat.pk))
    assert (event.actor_id, event.role) == (system_admin.pk, "system_admin")


def test_saving_an_edit_audits_an_update(system_admin, world):
    beat = world.lahore_a_1
    beat.boundary = square(74.0, 31.0, 0.25)

    jurisdiction_save(actor=system_admin, area=beat)

    beat.refresh_from_db()
    assert beat.max_lon == 74.25
    assert AuditEvent.objects.filter(
        object_type="beat", object_id=str(beat.pk), action="update"
    ).exists()


def test_station_edit_that_would_strand_its_beats_is_rejected(system_admin, world):
    station = world.lahore_a
    station.boundary = square(74.0, 31.0, 0.5)  # drops the north-west quarter, lahore-a-2

    with pytest.raises(ValidationError) as caught:
        jurisdiction_save(actor=system_admin, area=station)

    assert "lahore-a-2" in caught.value.message_dict["boundary"][0]
    station.refresh_from_db()
    assert station.max_lat == 32.0
