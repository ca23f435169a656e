import pytest
from django.core.exceptions import ValidationError

from jurisdictions.resolve import clear_geometry_cache, district_ids_at, jurisdiction_resolve
from jurisdictions.services import beat_create, district_create, jurisdiction_save, station_create
from tests.factories import square


@pytest.fixture(autouse=True)
def _cold_cache():
    clear_geometry_cache()


def _codes(resolution) -> tuple[str | None, str | None, str | None]:
    return tuple(
        area.code if area else None
        for area in (resolution.district, resolution.station, resolution.beat)
    )


def _half_tiled_district(world):
    """Sialkot (76–77 E, 31–32 N): one station on its west half with one beat on that half's
    south-west quarter, so parts of the station and of the district have no beat/station."""
    district = district_create(
        actor=None,
        province=world.punjab,
        code="sialkot",
        name="Sialkot",
        boundary=square(76, 31, 1),
    )
    station = station_create(
        actor=None,
        district=district,
        code="sialkot-west",
        name="Sialkot West",
        boundary={
            "type": "Polygon",
            "coordinates": [[[76, 31], [76.5, 31], [76.5, 32], [76, 32], [76, 31]]],
        },
        location={"type": "Point", "coordinates": [76.25, 31.5]},
    )
    beat_create(
        actor=None,
        station=station,
        code="sialkot-west-1",
        name="Sialkot West 1",
        boundary=square(76, 31, 0.5),
    )


def test_point_inside_a_beat_resolves_all_three_levels(world):
    resolution = jurisdiction_resolve(lon=74.25, lat=31.75)

    assert _codes(resolution) == ("lahore", "lahore-a", "lahore-a-2")
    assert resolution.beat.station_id == world.lahore_a.pk


def test_point_inside_a_station_but_outside_its_beats_has_no_beat(world):
    _half_tiled_district(world)

    assert _codes(jurisdiction_resolve(lon=76.25, lat=31.75)) == (
        "sialkot",
        "sialkot-west",
        None,
    )


def test_point_in_a_district_outside_every_station_has_only_a_district(world):
    _half_tiled_district(world)

    assert _codes(jurisdiction_resolve(lon=76.75, lat=31.5)) == ("sialkot", None, None)


def test_point_outside_every_district_resolves_to_nothing(world):
    assert _codes(jurisdiction_resolve(lon=67.0, lat=24.9)) == (None, None, None)


def test_point_on_a_shared_station_edge_goes_to_the_smallest_id(world):
    district = district_create(
        actor=None,
        province=world.punjab,
        code="sialkot",
        name="Sialkot",
        boundary=square(76, 31, 1),
    )
    # Created first, so the smaller id, though its name and code sort last.
    west = station_create(
        actor=None,
        district=district,
        code="zz-west",
        name="Zz West",
        boundary={
            "type": "Polygon",
            "coordinates": [[[76, 31], [76.5, 31], [76.5, 32], [76, 32], [76, 31]]],
        },
        location={"type": "Point", "coordinates": [76.25, 31.5]},
    )
    east = station_create(
        actor=None,
        district=district,
        code="aa-east",
        name="Aa East",
        boundary={
            "type": "Polygon",
            "coordinates": [[[76.5, 31], [77, 31], [77, 32], [76.5, 32], [76.5, 31]]],
        },
        location={"type": "Point", "coordinates": [76.75, 31.5]},
    )
    assert west.pk < east.pk

    for _ in range(3):
        assert jurisdiction_resolve(lon=76.5, lat=31.5).station.code == "zz-west"


def test_point_on_a_shared_edge_gets_a_beat_of_the_chosen_station(world):
    # 74.5 is the edge between Lahore A (and its beat lahore-a-1) and Lahore B (lahore-b-1).
    resolution = jurisdiction_resolve(lon=74.5, lat=31.25)

    assert _codes(resolution) == ("lahore", "lahore-a", "lahore-a-1")


def test_point_on_the_district_border_goes_to_the_smaller_district_id(world):
    assert world.lahore.pk < world.kasur.pk

    assert _codes(jurisdiction_resolve(lon=74.25, lat=31.0)) == ("lahore", "lahore-a", "lahore-a-1")


def test_resolved_objects_are_usable_model_instances(world):
    station = jurisdiction_resolve(lon=74.75, lat=31.5).station

    assert station.pk == world.lahore_b.pk
    assert station.location == world.lahore_b.location
    assert station.district.code == "lahore"
    assert station.boundary == world.lahore_b.boundary  # deferred, loaded on access


def test_changing_a_returned_object_does_not_change_the_next_answer(world):
    first = jurisdiction_resolve(lon=74.75, lat=31.5).station
    first.location["coordinates"][0] = 0.0
    first.name = "Changed"

    second = jurisdiction_resolve(lon=74.75, lat=31.5).station
    assert (second.name, second.location) == ("Lahore B", world.lahore_b.location)


def test_repeated_resolution_is_one_query_and_does_not_reload_geometry(
    world, django_assert_num_queries
):
    jurisdiction_resolve(lon=74.25, lat=31.25)

    with django_assert_num_queries(1):
        assert _codes(jurisdiction_resolve(lon=74.3, lat=31.3)) == (
            "lahore",
            "lahore-a",
            "lahore-a-1",
        )


def test_edited_boundary_is_picked_up_by_the_next_resolution(world):
    assert jurisdiction_resolve(lon=74.4, lat=31.2).beat.code == "lahore-a-1"
    beat = world.lahore_a_1
    beat.boundary = square(74.0, 31.0, 0.25)
    jurisdiction_save(actor=None, area=beat)

    assert _codes(jurisdiction_resolve(lon=74.4, lat=31.2)) == ("lahore", "lahore-a", None)


@pytest.mark.parametrize(
    ("lon", "lat", "field"),
    [(181.0, 31.0, "lon"), (74.0, -90.5, "lat"), (float("nan"), 31.0, "lon")],
)
def test_out_of_range_coordinates_are_field_errors(world, lon, lat, field):
    with pytest.raises(ValidationError) as caught:
        jurisdiction_resolve(lon=lon, lat=lat)
    assert list(caught.value.message_dict) == [field]


def test_many_points_get_the_districts_one_resolution_each_would_give_in_one_query(
    world, django_assert_num_queries
):
    _half_tiled_district(world)
    # Inside Lahore, on the Lahore/Kasur border (smaller id wins), in Kasur, in Sialkot
    # outside any station, and outside every district.
    points = [(74.25, 31.75), (74.25, 31.0), (74.5, 30.5), (76.75, 31.5), (67.0, 24.9)]
    expected = [
        resolution.district.pk if resolution.district else None
        for resolution in (jurisdiction_resolve(lon=lon, lat=lat) for lon, lat in points)
    ]
    assert expected[1] == world.lahore.pk
    assert expected[-1] is None

    with django_assert_num_queries(1):
        assert district_ids_at(points) == expected
    assert district_ids_at([]) == []


def test_many_points_with_one_out_of_range_is_a_field_error(world):
    with pytest.raises(ValidationError) as caught:
        district_ids_at([(74.25, 31.75), (181.0, 31.0)])
    assert list(caught.value.message_dict) == ["lon"]
