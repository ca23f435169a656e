"""Query counts of the district, station and beat lists: pinned, and the same for a few rows
as for many."""

from jurisdictions.models import Beat, District, PoliceStation, Province
from tests.factories import square
from tests.helpers import query_count

BASE = "/api/v1/jurisdictions"
MANY = 15


def _district(code: str, province: Province) -> District:
    return District.objects.create(
        province=province, code=code, name=code.title(), boundary=square(70.0, 25.0, 1.0)
    )


def _station(code: str, district: District) -> PoliceStation:
    return PoliceStation.objects.create(
        district=district,
        code=code,
        name=code.title(),
        boundary=square(70.0, 25.0, 1.0),
        location={"type": "Point", "coordinates": [70.5, 25.5]},
    )


def _beat(code: str, station: PoliceStation) -> Beat:
    return Beat.objects.create(
        station=station, code=code, name=code.title(), boundary=square(70.0, 25.0, 0.5)
    )


def test_district_list_query_count_does_not_grow_with_rows(
    client_for, world, registry_admin, django_assert_max_num_queries
):
    client = client_for(registry_admin)
    url = f"{BASE}/districts/"
    few_rows = query_count(lambda: client.get(url))

    # Spread over provinces, so each row's province is a different object.
    for n in range(MANY - 2):
        province = Province.objects.create(code=f"province-{n}", name=f"Province {n}")
        _district(f"district-{n}", province)
    # The page, its provinces joined in.
    with django_assert_max_num_queries(1) as captured:
        response = client.get(url)

    assert len(response.json()["results"]) == MANY
    assert len(captured) == few_rows, f"GET {url} grows with its rows"


def test_station_list_query_count_does_not_grow_with_rows(
    client_for, world, registry_admin, django_assert_max_num_queries
):
    client = client_for(registry_admin)
    url = f"{BASE}/stations/"
    few_rows = query_count(lambda: client.get(url))

    for n in range(MANY - 3):
        _station(f"station-{n}", _district(f"district-{n}", world.punjab))
    # The page, its districts joined in.
    with django_assert_max_num_queries(1) as captured:
        response = client.get(url)

    assert len(response.json()["results"]) == MANY
    assert len(captured) == few_rows, f"GET {url} grows with its rows"


def test_beat_list_query_count_does_not_grow_with_rows(
    client_for, world, registry_admin, django_assert_max_num_queries
):
    client = client_for(registry_admin)
    url = f"{BASE}/beats/"
    few_rows = query_count(lambda: client.get(url))

    for n in range(MANY - 4):
        district = _district(f"district-{n}", world.punjab)
        _beat(f"beat-{n}", _station(f"station-{n}", district))
    # The page, its stations and their districts joined in.
    with django_assert_max_num_queries(1) as captured:
        response = client.get(url)

    assert len(response.json()["results"]) == MANY
    assert len(captured) == few_rows, f"GET {url} grows with its rows"
