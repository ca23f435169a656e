import pytest

from common.geo import GeometryError, haversine_m, validate_point, validate_polygon
from tests.factories import square


def test_valid_square_is_accepted():
    assert validate_polygon(square(74.0, 31.0, 0.5)).area == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "closed"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            "invalid geometry",
        ),
        ({"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]}, "range"),
        ({"type": "Point", "coordinates": [74, 31]}, "type must be"),
        ({"coordinates": []}, "GeoJSON"),
        ({"type": "Polygon", "coordinates": [[["a", 0], [1, 0], [1, 1], ["a", 0]]]}, "numbers"),
    ],
)
def test_bad_polygons_are_rejected_with_a_reason(geometry, message):
    with pytest.raises(GeometryError, match=message):
        validate_polygon(geometry)


def test_a_triangle_is_a_valid_polygon():
    validate_polygon({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]})


def test_point_latitude_out_of_range_is_rejected():
    with pytest.raises(GeometryError):
        validate_point({"type": "Point", "coordinates": [74.3, 95]})


def test_haversine_one_degree_of_latitude_is_about_111_km():
    assert haversine_m(lat1=31.0, lon1=74.0, lat2=32.0, lon2=74.0) == pytest.approx(111_195, abs=1)
    assert haversine_m(lat1=31.0, lon1=74.0, lat2=31.0, lon2=74.0) == 0


def test_haversine_one_degree_of_longitude_shrinks_with_latitude():
    # cos(31°) of a degree at the equator: a swapped lat/lon would give ~111 km instead.
    assert haversine_m(lat1=31.0, lon1=74.0, lat2=31.0, lon2=75.0) == pytest.approx(95_310, abs=10)


def test_haversine_refuses_positional_arguments():
    with pytest.raises(TypeError):
        haversine_m(74.0, 31.0, 74.0, 32.0)  # type: ignore[misc]  # the call this test forbids
