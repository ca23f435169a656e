"""The control room's filters on /api/v1/violations/ and the assign endpoint."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance.alerts import alert_escalation_sweep
from compliance.models import Severity, ViolationKind
from compliance.services import violation_acknowledge, violation_assign
from tests.compliance.conftest import raise_for
from tests.factories import OffenderFactory

LIST = "/api/v1/violations/"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def board(world, lahore_a_offender, lahore_b_offender, control_room, station_officer):
    """At T0+15 min: a critical alert escalated twice, a high one acknowledged, a medium one
    fresh and assigned to the station officer, a repeat, a closed one."""
    with time_machine.travel(T0, tick=False):
        critical, _ = raise_for(lahore_a_offender, key="c", severity=Severity.CRITICAL)
        acked, _ = raise_for(
            lahore_b_offender, key="a", severity=Severity.HIGH, kind=ViolationKind.LATE_NOTICE
        )
        violation_acknowledge(actor=control_room, violation_id=acked.pk)
        repeat, _ = raise_for(lahore_a_offender, key="r", severity=Severity.CRITICAL)
    for minutes in (2, 4):
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            alert_escalation_sweep()
    with time_machine.travel(T0 + timedelta(minutes=14), tick=False):
        fresh, _ = raise_for(
            lahore_a_offender,
            key="f",
            severity=Severity.MEDIUM,
            kind=ViolationKind.ABSCONDING_SUSPECTED,
        )
        violation_assign(actor=control_room, violation_id=fresh.pk, officer_id=station_officer.pk)
    return {"critical": critical, "acked": acked, "repeat": repeat, "fresh": fresh}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("open=true", {"critical", "acked", "repeat", "fresh"}),
        ("unacknowledged=true", {"critical", "fresh"}),
        ("overdue=true", {"critical"}),
        ("escalated=true", {"critical"}),
        ("severity=3", {"acked"}),
        ("kind=late_notice", {"acked"}),
        ("unacknowledged=true&kind=absconding_suspected", {"fresh"}),
    ],
)
def test_control_room_filters(client_for, control_room, board, query, expected):
    with time_machine.travel(T0 + timedelta(minutes=15), tick=False):
        response = client_for(control_room).get(f"{LIST}?{query}")

    assert ids(response) == {board[name].pk for name in expected}


def test_assigned_to_me_is_the_callers_own(client_for, control_room, station_officer, board):
    assert ids(client_for(station_officer).get(f"{LIST}?assigned_to_me=true")) == {
        board["fresh"].pk
    }
    assert ids(client_for(control_room).get(f"{LIST}?assigned_to_me=true")) == set()


def test_rows_carry_the_alert(client_for, control_room, board, station_officer):
    rows = {row["id"]: row for row in client_for(control_room).get(LIST).json()["results"]}
    critical = rows[board["critical"].pk]
    assert critical["escalation_level"] == 3
    assert critical["repeat_count"] == 1
    assert rows[board["repeat"].pk]["episode"] == board["critical"].pk
    assert rows[board["fresh"].pk]["assigned_to"] == station_officer.username


def test_filtered_list_query_count_does_not_grow_with_rows(
    world, client_for, control_room, station_officer, django_assert_max_num_queries
):
    client = client_for(control_room)
    url = f"{LIST}?open=true&unacknowledged=true&overdue=false"

    def one_offender_alert(n: int):
        offender = OffenderFactory(district=world.lahore, station=world.lahore_a)
        violation, _ = raise_for(offender, key=str(n))
        violation_assign(
            actor=control_room, violation_id=violation.pk, officer_id=station_officer.pk
        )

    one_offender_alert(0)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(url).json()["results"]) == 1
    for n in range(1, 15):
        one_offender_alert(n)
    # The page (district, station, cause type, status changer, assignee, occurred district
    # joined in) and the audit append of the read.
    with django_assert_max_num_queries(6) as many:
        assert len(client.get(url).json()["results"]) == 15

    assert len(many) == len(one)


def test_assign_endpoint(client_for, control_room, station_officer, lahore_a_offender):
    violation, _ = raise_for(lahore_a_offender)
    url = f"/api/v1/violations/{violation.pk}/assign/"

    response = client_for(control_room).post(url, {"officer": station_officer.pk}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["assigned_to"] == station_officer.username


def test_assign_to_an_officer_who_may_not_read_the_alert_is_a_field_error(
    client_for, control_room, station_officer_elsewhere, lahore_a_offender
):
    violation, _ = raise_for(lahore_a_offender)
    url = f"/api/v1/violations/{violation.pk}/assign/"

    response = client_for(control_room).post(
        url, {"officer": station_officer_elsewhere.pk}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["fields"]) == ["officer"]
    violation.refresh_from_db()
    assert violation.assigned_to is None


@pytest.mark.parametrize("whom", ["inactive", "unknown"])
def test_assign_to_an_inactive_or_unknown_officer_is_the_same_field_error(
    client_for, control_room, station_officer, lahore_a_offender, whom
):
    violation, _ = raise_for(lahore_a_offender)
    officer_id = station_officer.pk
    if whom == "inactive":
        station_officer.is_active = False
        station_officer.save(update_fields=["is_active"])
    else:
        officer_id = station_officer.pk + 1000

    response = client_for(control_room).post(
        f"/api/v1/violations/{violation.pk}/assign/", {"officer": officer_id}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["officer"]


def test_assign_without_an_officer_assigns_to_the_caller_and_pushes(
    client_for, control_room, lahore_a_offender
):
    from push.models import Notification

    violation, _ = raise_for(lahore_a_offender)

    response = client_for(control_room).post(
        f"/api/v1/violations/{violation.pk}/assign/", {}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["assigned_to"] == control_room.username
    assert Notification.objects.filter(
        officer=control_room, kind="alert_assigned", object_id=violation.pk
    ).exists()


def test_assignees_are_the_active_officers_who_may_read_the_alert(
    client_for,
    django_assert_max_num_queries,
    world,
    control_room,
    control_room_elsewhere,
    station_officer,
    station_officer_elsewhere,
    registry_admin,
    auditor,
    lahore_a_offender,
):
    from accounts.roles import AgencyKind
    from audit.models import AuditEvent
    from tests.conftest import make_officer

    retired = make_officer(
        "station-officer-retired",
        "station_officer",
        AgencyKind.POLICE,
        district=world.lahore,
        station=world.lahore_a,
    )
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    violation, _ = raise_for(lahore_a_offender)
    url = f"/api/v1/violations/{violation.pk}/assignees/"

    with django_assert_max_num_queries(6):
        response = client_for(control_room).get(url)

    assert response.status_code == 200, response.content
    rows = response.json()
    assert {row["id"] for row in rows} == {control_room.pk, station_officer.pk, registry_admin.pk}
    mine = next(row for row in rows if row["id"] == station_officer.pk)
    # A picker's fields only: no phone, email or anything else of the officer's.
    assert set(mine) == {"id", "username", "full_name", "rank", "badge_number", "role", "station"}
    assert mine["station"] == world.lahore_a.code
    assert AuditEvent.objects.filter(
        object_type="violation", object_id=str(violation.pk), details__assignees=3
    ).exists()
    # Every officer listed can be assigned; the list and the check are one rule.
    for row in rows:
        assigned = client_for(control_room).post(
            f"/api/v1/violations/{violation.pk}/assign/", {"officer": row["id"]}, format="json"
        )
        assert assigned.status_code == 200, (row, assigned.content)


def test_a_travel_breach_can_go_to_either_districts_officers(
    client_for, world, control_room, control_room_elsewhere, lahore_a_offender
):
    violation, _ = raise_for(lahore_a_offender, lon=74.5, lat=30.5)  # happened in Kasur
    assert violation.occurred_district_id == world.kasur.pk

    rows = client_for(control_room).get(f"/api/v1/violations/{violation.pk}/assignees/").json()

    assert {control_room.pk, control_room_elsewhere.pk} <= {row["id"] for row in rows}


def test_assignees_of_another_districts_alert_are_not_found(
    client_for, control_room_elsewhere, lahore_a_offender
):
    violation, _ = raise_for(lahore_a_offender)

    response = client_for(control_room_elsewhere).get(
        f"/api/v1/violations/{violation.pk}/assignees/"
    )

    assert response.status_code == 404


def test_list_follows_a_chosen_district_within_the_callers_scope(
    client_for, world, registry_admin, control_room, lahore_a_offender
):
    kasur_offender = OffenderFactory(
        district=world.kasur, station=world.kasur_a, beat=world.kasur_a_1
    )
    in_lahore, _ = raise_for(lahore_a_offender, key="l")
    in_kasur, _ = raise_for(kasur_offender, key="k")

    assert ids(client_for(registry_admin).get(LIST, {"district": "kasur"})) == {in_kasur.pk}
    assert ids(client_for(registry_admin).get(LIST, {"district": "lahore"})) == {in_lahore.pk}
    assert ids(client_for(control_room).get(LIST, {"district": "kasur"})) == set()
    assert client_for(control_room).get(LIST, {"district": "no such!"}).status_code == 400


def test_assign_by_another_district_is_not_found(
    client_for, control_room_elsewhere, station_officer, lahore_a_offender
):
    violation, _ = raise_for(lahore_a_offender)
    url = f"/api/v1/violations/{violation.pk}/assign/"

    response = client_for(control_room_elsewhere).post(
        url, {"officer": station_officer.pk}, format="json"
    )

    assert response.status_code == 404


def test_assign_without_the_permission_is_refused(client_for, beat_officer, lahore_a_offender):
    violation, _ = raise_for(lahore_a_offender)

    response = client_for(beat_officer).post(
        f"/api/v1/violations/{violation.pk}/assign/", {"officer": beat_officer.pk}, format="json"
    )

    assert response.status_code == 403
