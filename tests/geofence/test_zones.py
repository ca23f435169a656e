"""Zones through the API: who may manage them, GeoJSON in and out, field-level 400s, filters,
and every write moving the zone-set version the engines follow."""

import pytest

from audit.models import AuditEvent
from geofence.models import Zone
from geofence.services.zones import zone_set_version

pytestmark = pytest.mark.django_db

SCHOOL = {
    "name": "Government School 1",
    "kind": "exclusion",
    "category": "school",
    "geometry": {"type": "Point", "coordinates": [74.3, 31.5]},
    "radius_m": 150,
    "buffer_m": 100,
    "applies_to": "victim_minor",
    "schedule": [{"days": [0, 1, 2, 3, 4], "start": "07:30", "end": "14:00"}],
}


def test_registry_admin_creates_a_national_zone_as_geojson(client_for, registry_admin):
    before = zone_set_version()
    response = client_for(registry_admin).post("/api/v1/zones/", SCHOOL, format="json")
    assert response.status_code == 201, response.json()
    feature = response.json()
    assert feature["type"] == "Feature"
    assert feature["geometry"] == SCHOOL["geometry"]
    assert feature["properties"]["district"] is None
    assert feature["properties"]["schedule"] == SCHOOL["schedule"]
    assert zone_set_version() == before + 1
    assert AuditEvent.objects.filter(object_type="zone", action="create").count() == 1


def test_control_room_zone_belongs_to_its_district(client_for, control_room):
    response = client_for(control_room).post("/api/v1/zones/", SCHOOL, format="json")
    assert response.status_code == 201
    assert response.json()["properties"]["district"] == "lahore"


def test_control_room_cannot_edit_another_district_or_national_zone(
    client_for, control_room, control_room_elsewhere, registry_admin
):
    national = client_for(registry_admin).post("/api/v1/zones/", SCHOOL, format="json").json()
    kasur = client_for(control_room_elsewhere).post("/api/v1/zones/", SCHOOL, format="json").json()
    client = client_for(control_room)
    for zone in (national, kasur):
        response = client.patch(f"/api/v1/zones/{zone['id']}/", {"name": "x"}, format="json")
        assert response.status_code == 404
    # It reads the national layer, not the other district's zone.
    listed = [z["id"] for z in client.get("/api/v1/zones/").json()["results"]]
    assert national["id"] in listed
    assert kasur["id"] not in listed


def test_station_officer_reads_but_cannot_create(client_for, station_officer):
    client = client_for(station_officer)
    assert client.get("/api/v1/zones/").status_code == 200
    assert client.post("/api/v1/zones/", SCHOOL, format="json").status_code == 403


def test_anonymous_is_401(api_client):
    assert api_client.get("/api/v1/zones/").status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"geometry": {"type": "Point", "coordinates": [74.3, 31.5]}, "radius_m": None},
            "geometry",
        ),
        ({"geometry": {"type": "Point", "coordinates": [2.35, 48.85]}}, "geometry"),  # Paris
        (
            {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[74, 31], [74.1, 31.1], [74.1, 31], [74, 31.1], [74, 31]]],
                },
                "radius_m": None,
            },
            "geometry",
        ),  # a bow tie: self-intersecting ring
        ({"geometry": {"type": "Polygon", "coordinates": [[[74, 31], [74.1, 31]]]}}, "geometry"),
        ({"schedule": [{"days": [7], "start": "07:30", "end": "14:00"}]}, "schedule"),
        ({"schedule": [{"days": [1], "start": "7:30", "end": "14:00"}]}, "schedule"),
        ({"applies_to": "offender"}, "offender"),
        ({"applies_to": "category", "applies_category": "tall"}, "applies_category"),
        ({"buffer_m": -1}, "geometry"),
        (
            {"valid_from": "2026-02-01T00:00:00Z", "valid_to": "2026-01-01T00:00:00Z"},
            "valid_to",
        ),
    ],
)
def test_bad_zone_is_a_field_level_400_and_stores_nothing(
    client_for, registry_admin, change, field
):
    response = client_for(registry_admin).post(
        "/api/v1/zones/", {**SCHOOL, **change}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    assert not Zone.objects.exists()


def test_filters_by_kind_category_and_bbox(client_for, registry_admin):
    client = client_for(registry_admin)
    school = client.post("/api/v1/zones/", SCHOOL, format="json").json()
    park = client.post(
        "/api/v1/zones/",
        {
            **SCHOOL,
            "category": "playground",
            "geometry": {"type": "Point", "coordinates": [67.0, 24.9]},
        },
        format="json",
    ).json()
    by_category = client.get("/api/v1/zones/?category=school").json()["results"]
    assert [z["id"] for z in by_category] == [school["id"]]
    near_karachi = client.get("/api/v1/zones/?bbox=66.9,24.8,67.1,25.0").json()["results"]
    assert [z["id"] for z in near_karachi] == [park["id"]]
    assert client.get("/api/v1/zones/?kind=inclusion").json()["results"] == []
    assert client.get("/api/v1/zones/?bbox=1,2,3").status_code == 400


def test_edit_and_retire_move_the_version(client_for, registry_admin):
    client = client_for(registry_admin)
    zone = client.post("/api/v1/zones/", SCHOOL, format="json").json()
    version = zone_set_version()
    response = client.patch(f"/api/v1/zones/{zone['id']}/", {"radius_m": 300}, format="json")
    assert response.status_code == 200
    assert response.json()["properties"]["radius_m"] == 300
    assert response.json()["properties"]["schedule"] == SCHOOL["schedule"]  # untouched
    assert zone_set_version() == version + 1
    assert client.post(f"/api/v1/zones/{zone['id']}/retire/").status_code == 200
    assert client.post(f"/api/v1/zones/{zone['id']}/retire/").status_code == 409
    assert Zone.objects.get(pk=zone["id"]).version == version + 2
    assert client.get("/api/v1/zones/").json()["results"] == []
