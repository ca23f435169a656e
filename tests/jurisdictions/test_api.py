"""Jurisdiction endpoints: wiring, the role × jurisdiction matrix, errors and query counts.

Every role has a persona in tests/conftest.py working in Lahore (station roles at lahore-a,
the beat officer on lahore-a-1) or nationally; Kasur is always another district.
"""

import base64

import pytest

from accounts.roles import Role
from jurisdictions.resolve import clear_geometry_cache

NATIONAL = {Role.REGISTRY_ADMIN, Role.AUDITOR, Role.SYSTEM_ADMIN}
ALL_ROLES = [role.value for role in Role]
BASE = "/api/v1/jurisdictions"


@pytest.fixture(autouse=True)
def _cold_cache():
    clear_geometry_cache()


def _codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(row["code"] for row in response.json()["results"])


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_sees_the_station_in_its_jurisdiction(request, client_for, role):
    officer = request.getfixturevalue(role)

    response = client_for(officer).get(f"{BASE}/stations/lahore-a/")

    assert response.status_code == 200
    assert response.json()["code"] == "lahore-a"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_other_districts_station_is_404_unless_national(request, client_for, role):
    officer = request.getfixturevalue(role)

    response = client_for(officer).get(f"{BASE}/stations/kasur-a/")

    if role in NATIONAL:
        assert response.status_code == 200
    else:
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "path",
    [
        "districts/",
        "districts/lahore/",
        "stations/",
        "stations/lahore-a/",
        "beats/",
        "beats/lahore-a-1/",
        "resolve/?lon=74.25&lat=31.25",
    ],
)
def test_anonymous_caller_is_401(world, api_client, path):
    response = api_client.get(f"{BASE}/{path}")

    assert response.status_code == 401


def test_out_of_scope_station_answers_like_a_missing_one(client_for, control_room):
    client = client_for(control_room)

    hidden = client.get(f"{BASE}/stations/kasur-a/").json()
    missing = client.get(f"{BASE}/stations/no-such-station/").json()

    assert {k: v for k, v in hidden.items() if k != "request_id"} == {
        k: v for k, v in missing.items() if k != "request_id"
    }


@pytest.mark.parametrize(
    ("role", "stations"),
    [
        ("registry_admin", ["kasur-a", "lahore-a", "lahore-b"]),
        ("control_room", ["lahore-a", "lahore-b"]),
        ("control_room_elsewhere", ["kasur-a"]),
        ("station_officer", ["lahore-a"]),
        ("station_officer_elsewhere", ["lahore-b"]),
        ("beat_officer", ["lahore-a"]),
    ],
)
def test_station_list_is_scoped_to_the_caller(request, client_for, role, stations):
    officer = request.getfixturevalue(role)

    assert _codes(client_for(officer).get(f"{BASE}/stations/")) == stations


@pytest.mark.parametrize(
    ("role", "beats"),
    [
        ("auditor", ["kasur-a-1", "lahore-a-1", "lahore-a-2", "lahore-b-1"]),
        ("prison_officer", ["lahore-a-1", "lahore-a-2", "lahore-b-1"]),
        ("investigating_officer", ["lahore-a-1", "lahore-a-2"]),
        ("beat_officer", ["lahore-a-1"]),
        ("beat_officer_elsewhere", ["lahore-a-2"]),
    ],
)
def test_beat_list_is_scoped_to_the_caller(request, client_for, role, beats):
    officer = request.getfixturevalue(role)

    assert _codes(client_for(officer).get(f"{BASE}/beats/")) == beats


def test_beat_officer_sees_own_beat_but_not_the_neighbouring_one(client_for, beat_officer):
    client = client_for(beat_officer)

    assert client.get(f"{BASE}/beats/lahore-a-1/").status_code == 200
    assert client.get(f"{BASE}/beats/lahore-a-2/").status_code == 404
    assert client.get(f"{BASE}/stations/lahore-b/").status_code == 404


def test_station_officer_sees_own_stations_beats_only(client_for, station_officer):
    client = client_for(station_officer)

    assert client.get(f"{BASE}/beats/lahore-a-2/").status_code == 200
    assert client.get(f"{BASE}/beats/lahore-b-1/").status_code == 404


@pytest.mark.parametrize(
    ("role", "districts"),
    [
        ("system_admin", ["kasur", "lahore"]),
        ("data_entry_elsewhere", ["kasur"]),
        ("district_prosecutor", ["lahore"]),
        ("station_officer", ["lahore"]),
        ("beat_officer", ["lahore"]),
    ],
)
def test_district_list_is_all_for_national_roles_and_own_for_others(
    request, client_for, role, districts
):
    officer = request.getfixturevalue(role)

    assert _codes(client_for(officer).get(f"{BASE}/districts/")) == districts


def test_other_district_detail_is_404(client_for, control_room):
    client = client_for(control_room)

    assert client.get(f"{BASE}/districts/lahore/").status_code == 200
    assert client.get(f"{BASE}/districts/kasur/").status_code == 404


def test_station_detail_is_geojson_with_its_district(client_for, station_officer, world):
    body = client_for(station_officer).get(f"{BASE}/stations/lahore-a/").json()

    assert body == {
        "code": "lahore-a",
        "name": "Lahore A",
        "district": {"code": "lahore", "name": "Lahore"},
        "location": world.lahore_a.location,
        "boundary": world.lahore_a.boundary,
        "bbox": [74.0, 31.0, 74.5, 32.0],
    }
    assert body["boundary"]["type"] == "Polygon"


def test_beat_detail_names_station_and_district(client_for, beat_officer):
    body = client_for(beat_officer).get(f"{BASE}/beats/lahore-a-1/").json()

    assert body["station"] == {"code": "lahore-a", "name": "Lahore A"}
    assert body["district"] == {"code": "lahore", "name": "Lahore"}
    assert body["boundary"]["type"] == "Polygon"


def test_stations_filter_by_district(client_for, registry_admin):
    client = client_for(registry_admin)

    assert _codes(client.get(f"{BASE}/stations/?district=kasur")) == ["kasur-a"]
    assert _codes(client.get(f"{BASE}/stations/?district=nowhere")) == []


def test_beats_filter_by_station_stays_within_scope(client_for, station_officer):
    client = client_for(station_officer)

    assert _codes(client.get(f"{BASE}/beats/?station=lahore-a")) == ["lahore-a-1", "lahore-a-2"]
    assert _codes(client.get(f"{BASE}/beats/?station=lahore-b")) == []


def test_lists_are_cursor_paginated(client_for, registry_admin):
    client = client_for(registry_admin)

    first = client.get(f"{BASE}/beats/?page_size=3").json()
    second = client.get(first["next"]).json()

    assert [b["code"] for b in first["results"]] == ["kasur-a-1", "lahore-a-1", "lahore-a-2"]
    assert [b["code"] for b in second["results"]] == ["lahore-b-1"]
    assert second["next"] is None


def test_station_list_query_count_is_pinned(client_for, registry_admin, django_assert_num_queries):
    client = client_for(registry_admin)

    with django_assert_num_queries(1):
        response = client.get(f"{BASE}/stations/")

    assert len(response.json()["results"]) == 3


def test_beat_list_query_count_is_pinned(client_for, registry_admin, django_assert_num_queries):
    client = client_for(registry_admin)

    with django_assert_num_queries(1):
        response = client.get(f"{BASE}/beats/")

    assert len(response.json()["results"]) == 4


def test_resolve_names_district_station_and_beat(client_for, beat_officer):
    response = client_for(beat_officer).get(f"{BASE}/resolve/?lon=74.75&lat=31.5")

    assert response.status_code == 200
    assert response.json() == {
        "district": {"code": "lahore", "name": "Lahore"},
        "station": {"code": "lahore-b", "name": "Lahore B"},
        "beat": {"code": "lahore-b-1", "name": "Lahore B 1"},
    }


def test_resolve_outside_everything_is_all_null(client_for, control_room):
    response = client_for(control_room).get(f"{BASE}/resolve/?lon=67.0&lat=24.9")

    assert response.json() == {"district": None, "station": None, "beat": None}


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("", {"lon", "lat"}),
        ("?lon=74.3", {"lat"}),
        ("?lon=181&lat=31.5", {"lon"}),
        ("?lon=74.3&lat=-91", {"lat"}),
        ("?lon=east&lat=31.5", {"lon"}),
        ("?lon=nan&lat=31.5", {"lon"}),
    ],
)
def test_resolve_with_bad_coordinates_is_400_with_field_errors(
    client_for, control_room, query, fields
):
    response = client_for(control_room).get(f"{BASE}/resolve/{query}")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["fields"]) == fields


@pytest.mark.parametrize("kind", ["districts", "stations", "beats"])
def test_cursor_with_a_nul_byte_is_400_not_a_database_error(client_for, registry_admin, kind):
    # Regression: the code position went to PostgreSQL, which refuses NUL in text (DataError).
    cursor = base64.b64encode(b"p=lahore\x00").decode()

    response = client_for(registry_admin).get(f"{BASE}/{kind}/", {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["fields"] == {"cursor": ["Invalid cursor."]}
