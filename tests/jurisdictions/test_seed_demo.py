import itertools
import json
from io import StringIO

import pyotp
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts.models import Agency, Officer, TOTPDevice
from accounts.roles import Role
from audit.models import AuditEvent
from common.geo import validate_point, validate_polygon
from jurisdictions.models import Beat, District, PoliceStation, Province
from jurisdictions.resolve import clear_geometry_cache, jurisdiction_resolve

SEEDED_MODELS = (Province, District, PoliceStation, Beat, Agency, Officer, TOTPDevice, AuditEvent)


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in SEEDED_MODELS}


def _secrets() -> dict[str, str]:
    return {d.officer.username: d.secret for d in TOTPDevice.objects.select_related("officer")}


def test_seeding_twice_changes_nothing(db):
    _seed()
    counts, secrets = _counts(), _secrets()
    password_hashes = dict(Officer.objects.values_list("username", "password"))

    _seed()

    assert _counts() == counts
    assert _secrets() == secrets
    assert dict(Officer.objects.values_list("username", "password")) == password_hashes


def test_seed_builds_lahore_with_four_stations_and_a_second_district(db):
    _seed()

    lahore = District.objects.get(code="lahore")
    assert lahore.province.code == "punjab"
    assert set(lahore.stations.values_list("name", flat=True)) == {
        "Model Town",
        "Gulberg",
        "Township",
        "Ichhra",
    }
    assert District.objects.filter(code="kasur").exists()
    assert lahore.min_lon >= 74.2
    assert lahore.max_lon <= 74.5
    assert lahore.min_lat >= 31.4
    assert lahore.max_lat <= 31.6
    for station in PoliceStation.objects.all():
        assert 2 <= station.beats.count() <= 3
    assert set(Agency.objects.values_list("name", flat=True)) == {
        "National Police Bureau",
        "NADRA",
        "Punjab Police",
        "Punjab Prosecution Department",
        "Punjab Prisons Department",
    }


def test_json_prints_only_the_logins(db):
    logins = json.loads(_seed("--json"))

    assert {login["role"] for login in logins} == {role.value for role in Role}
    assert len(logins) == len(Role)
    for login in logins:
        assert set(login) == {"username", "role", "password", "totp_secret", "jurisdiction"}
        assert login["username"] == "demo-" + login["role"].replace("_", "-")
        assert login["password"] == settings.DEMO_PASSWORD
        officer = Officer.objects.get(username=login["username"])
        assert officer.check_password(login["password"])
        assert officer.totp.confirmed_at is not None
        assert officer.totp.secret == login["totp_secret"]
        assert pyotp.TOTP(login["totp_secret"]).now().isdigit()  # a usable base32 secret
    by_role = {login["role"]: login["jurisdiction"] for login in logins}
    assert by_role["beat_officer"] == "lahore/model-town/model-town-1"
    assert by_role["station_officer"] == "lahore/model-town"
    assert by_role["control_room"] == "lahore"
    assert by_role["registry_admin"] == "national"


def test_second_json_run_reports_the_same_secrets(db):
    first = json.loads(_seed("--json"))
    second = json.loads(_seed("--json"))

    assert first == second


def test_demo_officers_hold_the_jurisdiction_their_role_needs(db):
    _seed()

    beat_officer = Officer.objects.get(username="demo-beat-officer")
    assert (beat_officer.district.code, beat_officer.station.code, beat_officer.beat.code) == (
        "lahore",
        "model-town",
        "model-town-1",
    )
    assert Officer.objects.get(username="demo-control-room").district.code == "lahore"
    assert Officer.objects.get(username="demo-auditor").district is None


@override_settings(DEV_MODE=False)
def test_refuses_outside_development_mode(db):
    with pytest.raises(CommandError, match="NIGRANI_DEV"):
        _seed()

    assert not Officer.objects.exists()
    assert not District.objects.exists()


def test_stations_of_a_district_tile_without_overlapping(db):
    _seed()

    for district in District.objects.all():
        stations = [validate_polygon(s.boundary) for s in district.stations.all()]
        for a, b in itertools.combinations(stations, 2):
            assert a.intersection(b).area == pytest.approx(0, abs=1e-12)
        district_shape = validate_polygon(district.boundary)
        assert all(district_shape.covers(station) for station in stations)


def test_every_beat_is_inside_its_station_and_beats_tile_the_station(db):
    _seed()

    for station in PoliceStation.objects.prefetch_related("beats"):
        station_shape = validate_polygon(station.boundary)
        beats = [validate_polygon(b.boundary) for b in station.beats.all()]
        assert all(station_shape.covers(beat) for beat in beats)
        for a, b in itertools.combinations(beats, 2):
            assert a.intersection(b).area == pytest.approx(0, abs=1e-12)
        assert sum(beat.area for beat in beats) == pytest.approx(station_shape.area)


def test_each_station_building_resolves_to_its_own_station(db):
    _seed()
    clear_geometry_cache()

    for station in PoliceStation.objects.all():
        lon, lat = validate_point(station.location).coords[0]
        assert jurisdiction_resolve(lon=lon, lat=lat).station.code == station.code
