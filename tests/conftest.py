"""Shared fixtures: a small two-district world and one named persona per role.

The world (Punjab): ``lahore`` (74.0–75.0 E, 31.0–32.0 N) with station ``lahore-a`` (west
half) and its beats ``lahore-a-1`` (south-west quarter) and ``lahore-a-2`` (north-west quarter),
and station ``lahore-b`` (east half) with beat ``lahore-b-1``; ``kasur`` (74.0–75.0 E,
30.0–31.0 N) with station ``kasur-a`` and beat ``kasur-a-1``. Personas ending ``_elsewhere``
sit in Kasur (or in Lahore's other station/beat where that is the interesting neighbour).
"""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from accounts.models import Officer
from accounts.roles import AgencyKind
from jurisdictions.models import Beat, District, PoliceStation, Province
from registry.models import NoticeDeadline, NoticeKind
from tests.factories import AgencyFactory, OfficerFactory, square

PASSWORD = "correct-horse-battery"


@dataclass
class World:
    punjab: Province
    lahore: District
    kasur: District
    lahore_a: PoliceStation
    lahore_b: PoliceStation
    kasur_a: PoliceStation
    lahore_a_1: Beat
    lahore_a_2: Beat
    lahore_b_1: Beat
    kasur_a_1: Beat


def _station(district: District, code: str, min_lon: float, width: float) -> PoliceStation:
    boundary = {
        "type": "Polygon",
        "coordinates": [
            [
                [min_lon, district.min_lat],
                [min_lon + width, district.min_lat],
                [min_lon + width, district.max_lat],
                [min_lon, district.max_lat],
                [min_lon, district.min_lat],
            ]
        ],
    }
    return PoliceStation.objects.create(
        district=district,
        code=code,
        name=code.replace("-", " ").title(),
        boundary=boundary,
        location={"type": "Point", "coordinates": [min_lon + width / 2, district.min_lat + 0.5]},
    )


@pytest.fixture
def world(db) -> World:
    punjab = Province.objects.create(code="punjab", name="Punjab")
    lahore = District.objects.create(
        province=punjab, code="lahore", name="Lahore", boundary=square(74.0, 31.0, 1.0)
    )
    kasur = District.objects.create(
        province=punjab, code="kasur", name="Kasur", boundary=square(74.0, 30.0, 1.0)
    )
    lahore_a = _station(lahore, "lahore-a", 74.0, 0.5)
    lahore_b = _station(lahore, "lahore-b", 74.5, 0.5)
    kasur_a = _station(kasur, "kasur-a", 74.0, 1.0)
    lahore_a_1 = Beat.objects.create(
        station=lahore_a, code="lahore-a-1", name="Lahore A 1", boundary=square(74.0, 31.0, 0.5)
    )
    lahore_a_2 = Beat.objects.create(
        station=lahore_a, code="lahore-a-2", name="Lahore A 2", boundary=square(74.0, 31.5, 0.5)
    )
    lahore_b_1 = Beat.objects.create(
        station=lahore_b, code="lahore-b-1", name="Lahore B 1", boundary=lahore_b.boundary
    )
    kasur_a_1 = Beat.objects.create(
        station=kasur_a, code="kasur-a-1", name="Kasur A 1", boundary=kasur.boundary
    )
    return World(
        punjab,
        lahore,
        kasur,
        lahore_a,
        lahore_b,
        kasur_a,
        lahore_a_1,
        lahore_a_2,
        lahore_b_1,
        kasur_a_1,
    )


def _agency(kind: AgencyKind):
    names = {
        AgencyKind.NPB: "National Police Bureau",
        AgencyKind.NADRA: "NADRA",
        AgencyKind.POLICE: "Punjab Police",
        AgencyKind.PROSECUTION: "Punjab Prosecution Department",
        AgencyKind.PRISON: "Punjab Prisons Department",
    }
    return AgencyFactory(kind=kind, name=names[kind])


def make_officer(username: str, role: str, agency_kind: AgencyKind, **jurisdiction) -> Officer:
    return OfficerFactory(username=username, role=role, agency=_agency(agency_kind), **jurisdiction)


@pytest.fixture
def registry_admin(world) -> Officer:
    return make_officer("registry-admin", "registry_admin", AgencyKind.NPB)


@pytest.fixture
def auditor(world) -> Officer:
    return make_officer("auditor", "auditor", AgencyKind.NPB)


@pytest.fixture
def system_admin(world) -> Officer:
    return make_officer("system-admin", "system_admin", AgencyKind.NPB)


@pytest.fixture
def data_entry(world) -> Officer:
    return make_officer("data-entry", "data_entry", AgencyKind.PROSECUTION, district=world.lahore)


@pytest.fixture
def data_entry_elsewhere(world) -> Officer:
    return make_officer(
        "data-entry-kasur", "data_entry", AgencyKind.PROSECUTION, district=world.kasur
    )


@pytest.fixture
def prison_officer(world) -> Officer:
    return make_officer(
        "prison-officer", "prison_officer", AgencyKind.PRISON, district=world.lahore
    )


@pytest.fixture
def prison_officer_elsewhere(world) -> Officer:
    return make_officer(
        "prison-officer-kasur", "prison_officer", AgencyKind.PRISON, district=world.kasur
    )


@pytest.fixture
def station_officer(world) -> Officer:
    return make_officer(
        "station-officer",
        "station_officer",
        AgencyKind.POLICE,
        district=world.lahore,
        station=world.lahore_a,
    )


@pytest.fixture
def station_officer_elsewhere(world) -> Officer:
    return make_officer(
        "station-officer-b",
        "station_officer",
        AgencyKind.POLICE,
        district=world.lahore,
        station=world.lahore_b,
    )


@pytest.fixture
def beat_officer(world) -> Officer:
    return make_officer(
        "beat-officer",
        "beat_officer",
        AgencyKind.POLICE,
        district=world.lahore,
        station=world.lahore_a,
        beat=world.lahore_a_1,
    )


@pytest.fixture
def beat_officer_elsewhere(world) -> Officer:
    return make_officer(
        "beat-officer-2",
        "beat_officer",
        AgencyKind.POLICE,
        district=world.lahore,
        station=world.lahore_a,
        beat=world.lahore_a_2,
    )


@pytest.fixture
def control_room(world) -> Officer:
    return make_officer("control-room", "control_room", AgencyKind.POLICE, district=world.lahore)


@pytest.fixture
def control_room_elsewhere(world) -> Officer:
    return make_officer(
        "control-room-kasur", "control_room", AgencyKind.POLICE, district=world.kasur
    )


@pytest.fixture
def investigating_officer(world) -> Officer:
    return make_officer(
        "investigating-officer",
        "investigating_officer",
        AgencyKind.POLICE,
        district=world.lahore,
        station=world.lahore_a,
    )


@pytest.fixture
def district_prosecutor(world) -> Officer:
    return make_officer(
        "district-prosecutor", "district_prosecutor", AgencyKind.PROSECUTION, district=world.lahore
    )


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for():
    """``client_for(officer)``: an APIClient authenticated as that officer (force_authenticate);
    authentication itself is tested in tests/accounts."""

    def _make(officer: Officer) -> APIClient:
        client = APIClient()
        client.force_authenticate(officer)
        return client

    return _make


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """In the test database only, let TRUNCATE through the audit table's append-only guard.

    Transactional tests (``transaction=True``) are torn down by Django's flush, which empties
    every table with TRUNCATE; audit/migrations/0003 blocks that on audit_auditevent.
    The seals table likewise. UPDATE and DELETE stay blocked; tests/audit re-enables these
    triggers to test them.
    """
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for table in ("audit_auditevent", "audit_auditseal"):
            cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s", [f"{table}_no_truncate"])
            if cursor.fetchone():
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_truncate")

    yield
    # The connection pool (settings: NIGRANI_DB_POOL_*) keeps idle connections to the test
    # database; close it before Django drops the database, or the DROP finds them.
    # A procrastinate worker run in-process (the job tests) checks a pooled connection out on
    # its periodic deferrer's thread and never gives it back, so close_pool cannot close it:
    # end such leftovers of this run's database too, or Django's DROP DATABASE is refused.
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        connection.close()
        connection.close_pool()


@pytest.fixture(autouse=True)
def _audit_checkpoints_in_tmp(settings, tmp_path):
    """Signed audit checkpoints go to a file of this test's own, never under var/."""
    settings.NIGRANI_AUDIT_CHECKPOINT_PATH = str(tmp_path / "audit-checkpoints.jsonl")


@pytest.fixture(autouse=True)
def _migration_seeded_rows(request, django_db_blocker):
    """Put back the rows migrations seed (reporting policies, notice deadlines) when a
    transactional test's flush has emptied them, so later tests see a migrated database.

    Runs only for tests that use the database, after the test database exists.
    """
    uses_db = request.node.get_closest_marker("django_db") is not None or any(
        name in request.fixturenames for name in ("db", "transactional_db")
    )
    if not uses_db:
        return
    request.getfixturevalue("django_db_setup")
    import importlib

    from django.apps import apps as django_apps

    from compliance.models import AlertPolicy
    from registry.models import ReportingPolicy

    with django_db_blocker.unblock():
        if not ReportingPolicy.objects.exists():
            importlib.import_module("registry.migrations.0003_seed_policies").seed(
                django_apps, None
            )

        if not AlertPolicy.objects.exists():
            importlib.import_module("compliance.migrations.0005_seed_alert_policies").seed(
                django_apps, None
            )


@pytest.fixture
def deadlines(db) -> None:
    """The default notice deadlines, stated here so the tests say which rule they exercise
    (the register's and the check-in counter's tests)."""
    for kind in (
        NoticeKind.NAME_CHANGE,
        NoticeKind.ADDRESS_CHANGE,
        NoticeKind.PHONE_CHANGE,
        NoticeKind.EMPLOYMENT_CHANGE,
    ):
        NoticeDeadline.objects.update_or_create(
            kind=kind, defaults={"days_after_change": 3, "days_before_departure": None}
        )
    NoticeDeadline.objects.update_or_create(
        kind=NoticeKind.INTERNATIONAL_TRAVEL,
        defaults={"days_after_change": None, "days_before_departure": 7},
    )
    NoticeDeadline.objects.update_or_create(
        kind=NoticeKind.DOMESTIC_TRAVEL,
        defaults={"days_after_change": None, "days_before_departure": 3},
    )
