"""The station's, control room's and NPB's endpoints: who may call them (403 by role, 404
outside the jurisdiction, 401 anonymous), the overdue list, ad hoc creation, reassignment,
coverage, and the audit of reads."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from mobile_api.models import VerificationTask
from mobile_api.selectors import coverage_rows
from mobile_api.services import visits as visit_services
from registry.models import Offender
from tests.mobile_api.conftest import (
    IN_KASUR_A_1,
    IN_LAHORE_A_1,
    IN_LAHORE_A_2,
    IN_LAHORE_B_1,
    located_offender,
    open_task,
    visit_body,
    visits_url,
)

TASKS = "/api/v1/verification/tasks/"
COVERAGE = "/api/v1/verification/coverage/"


@pytest.fixture
def spread_tasks(world, policies) -> dict[str, VerificationTask]:
    """One open task per beat of the world; the lahore-a-2 one overdue."""
    tasks = {
        "a1": open_task(located_offender(world.lahore_a_1, IN_LAHORE_A_1)),
        "a2": open_task(located_offender(world.lahore_a_2, IN_LAHORE_A_2)),
        "b1": open_task(located_offender(world.lahore_b_1, IN_LAHORE_B_1)),
        "kasur": open_task(located_offender(world.kasur_a_1, IN_KASUR_A_1)),
    }
    VerificationTask.objects.filter(pk=tasks["a2"].pk).update(
        due_on=timezone.localdate() - timedelta(days=1)
    )
    return tasks


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_station_sees_its_station_control_room_its_district_npb_all(
    client_for, spread_tasks, station_officer, control_room, registry_admin
):
    t = spread_tasks
    assert sorted(ids(client_for(station_officer).get(TASKS))) == sorted([t["a1"].pk, t["a2"].pk])
    assert sorted(ids(client_for(control_room).get(TASKS))) == sorted(
        [t["a1"].pk, t["a2"].pk, t["b1"].pk]
    )
    assert len(ids(client_for(registry_admin).get(TASKS))) == 4


def test_overdue_tasks_are_listed_for_the_station_and_the_control_room(
    client_for, spread_tasks, station_officer, control_room, station_officer_elsewhere
):
    overdue = [spread_tasks["a2"].pk]
    assert ids(client_for(station_officer).get(TASKS, {"overdue": "1"})) == overdue
    assert ids(client_for(control_room).get(TASKS, {"overdue": "true"})) == overdue
    assert ids(client_for(station_officer_elsewhere).get(TASKS, {"overdue": "1"})) == []
    row = client_for(control_room).get(TASKS, {"overdue": "1"}).json()["results"][0]
    assert row["overdue"] is True
    assert row["beat"] == "lahore-a-2"
    assert "full_name" not in str(row)


def test_task_list_read_is_audited_without_identity(client_for, spread_tasks, control_room):
    client_for(control_room).get(TASKS, {"overdue": "1"})
    event = AuditEvent.objects.filter(object_type="verification_task", action="read").last()
    assert event.purpose == "verification"
    assert event.details["count"] == 1
    offender = Offender.objects.get(pk=spread_tasks["a2"].offender_id)
    assert offender.full_name not in str(event.details)


def test_mobile_list_read_is_audited(client_for, spread_tasks, beat_officer):
    client_for(beat_officer).get("/api/v1/mobile/tasks/")
    event = AuditEvent.objects.filter(object_type="verification_task", action="read").last()
    assert event.details["tasks"] == [spread_tasks["a1"].pk]
    assert event.actor_id == beat_officer.pk


@pytest.mark.parametrize(
    ("persona", "method", "url", "status"),
    [
        ("beat_officer", "get", TASKS, 403),
        ("beat_officer", "get", "/api/v1/verification/reviews/", 403),
        ("beat_officer", "get", COVERAGE + "?district=lahore", 403),
        ("station_officer", "get", "/api/v1/mobile/tasks/", 403),
        ("control_room", "post", "/api/v1/mobile/visits/batch/", 403),
        ("auditor", "get", TASKS, 403),
        ("control_room", "get", "/api/v1/verification/reviews/", 403),
        ("station_officer", "get", COVERAGE + "?district=lahore", 403),
    ],
)
def test_roles_without_the_permission_get_403(
    request, client_for, world, persona, method, url, status
):
    officer = request.getfixturevalue(persona)
    response = getattr(client_for(officer), method)(url, {}, format="json")
    assert response.status_code == status


def test_anonymous_gets_401(api_client, world):
    for url in ("/api/v1/mobile/tasks/", TASKS, COVERAGE + "?district=lahore"):
        assert api_client.get(url).status_code == 401


def test_ad_hoc_creation_through_the_api(client_for, world, policies, control_room):
    offender = located_offender(world.lahore_b_1, IN_LAHORE_B_1)
    due = (timezone.localdate() + timedelta(days=3)).isoformat()
    client = client_for(control_room)

    response = client.post(TASKS, {"offender": offender.pk, "due_on": due, "priority": 2})

    assert response.status_code == 201, response.json()
    assert (response.json()["beat"], response.json()["source"]) == ("lahore-b-1", "ad_hoc")
    again = client.post(TASKS, {"offender": offender.pk, "due_on": due})
    assert (again.status_code, again.json()["code"]) == (409, "task_exists")
    kasur = located_offender(world.kasur_a_1, IN_KASUR_A_1)
    assert client.post(TASKS, {"offender": kasur.pk, "due_on": due}).status_code == 404
    bad = client.post(TASKS, {"offender": offender.pk, "due_on": "2001-01-01"})
    assert bad.status_code == 400
    assert "due_on" in bad.json()["fields"]


def test_reassign_through_the_api(client_for, spread_tasks, station_officer, beat_officer):
    url = f"{TASKS}{spread_tasks['a1'].pk}/reassign/"
    client = client_for(station_officer)
    assert client.post(url, {"beat": "lahore-b-1"}).status_code == 400
    response = client.post(url, {"beat": "lahore-a-2"})
    assert response.status_code == 200
    assert response.json()["beat"] == "lahore-a-2"
    other = f"{TASKS}{spread_tasks['b1'].pk}/reassign/"
    assert client.post(other, {"beat": "lahore-a-2"}).status_code == 404
    assert client_for(beat_officer).post(url, {"beat": "lahore-a-1"}).status_code == 403


def test_bad_filters_are_400(client_for, world, station_officer):
    client = client_for(station_officer)
    assert client.get(TASKS, {"status": "nope"}).status_code == 400
    assert client.get(TASKS, {"overdue": "perhaps"}).status_code == 400
    response = client.get(TASKS, {"cursor": "garbage"})
    assert response.status_code == 400
    assert "cursor" in response.json()["fields"]


# --- coverage -------------------------------------------------------------------------------------


def test_coverage_per_station_and_beat(
    client_for, spread_tasks, beat_officer, control_room, world, policies
):
    # lahore-a-1: two active offenders, one verified; a flagged visit waits on the other.
    verified = spread_tasks["a1"]
    client = client_for(beat_officer)
    client.post(visits_url(verified), visit_body(), format="json")
    waiting = open_task(located_offender(world.lahore_a_1, IN_LAHORE_A_1))
    client.post(visits_url(waiting), visit_body(mock_location=True), format="json")

    response = client_for(control_room).get(COVERAGE, {"district": "lahore"})

    assert response.status_code == 200, response.json()
    rows = {(r["station"], r["beat"]): r for r in response.json()["rows"]}
    assert set(rows) == {
        ("lahore-a", "lahore-a-1"),
        ("lahore-a", "lahore-a-2"),
        ("lahore-b", "lahore-b-1"),
    }
    a1 = rows[("lahore-a", "lahore-a-1")]
    assert (a1["active_offenders"], a1["verified_within_interval"], a1["verified_share"]) == (
        2,
        1,
        0.5,
    )
    assert (a1["open_tasks"], a1["overdue_tasks"], a1["awaiting_review"]) == (1, 0, 1)
    a2 = rows[("lahore-a", "lahore-a-2")]
    assert (a2["verified_share"], a2["overdue_tasks"]) == (0.0, 1)


def test_coverage_counts_only_visits_within_the_tiers_interval(spread_tasks, world):
    from mobile_api.models import Visit

    client_task = spread_tasks["b1"]
    visit_services.visit_record(
        actor=_beat_b1_officer(world),
        task_id=client_task.pk,
        data=_input(visit_body(IN_LAHORE_B_1)),
    )
    rows = {r.beat: r for r in coverage_rows(district=world.lahore)}
    assert rows["lahore-b-1"].verified_within_interval == 1
    Visit.objects.update(visited_at=timezone.now() - timedelta(days=181))  # tier 2: 180 days
    rows = {r.beat: r for r in coverage_rows(district=world.lahore)}
    assert rows["lahore-b-1"].verified_within_interval == 0


def test_coverage_of_another_district_is_not_found_but_the_npb_reads_any(
    client_for, world, control_room, control_room_elsewhere, registry_admin
):
    assert (
        client_for(control_room_elsewhere).get(COVERAGE, {"district": "lahore"}).status_code == 404
    )
    assert client_for(control_room).get(COVERAGE, {"district": "atlantis"}).status_code == 404
    assert client_for(registry_admin).get(COVERAGE, {"district": "kasur"}).status_code == 200
    assert client_for(registry_admin).get(COVERAGE).status_code == 400


def _beat_b1_officer(world):
    from tests.conftest import make_officer

    return make_officer(
        "beat-officer-b1",
        "beat_officer",
        "police",
        district=world.lahore,
        station=world.lahore_b,
        beat=world.lahore_b_1,
    )


def _input(body: dict) -> visit_services.VisitInput:
    from datetime import datetime

    return visit_services.VisitInput(
        client_id=body["client_id"],
        outcome=body["outcome"],
        lat=body["lat"],
        lon=body["lon"],
        accuracy_m=body["accuracy_m"],
        fix_time=datetime.fromisoformat(body["fix_time"]),
        mock_location=body["mock_location"],
        visited_at=datetime.fromisoformat(body["visited_at"]),
    )


def test_station_cancels_a_follow_up_with_a_reason(
    client_for, world, policies, beat_officer, station_officer, station_officer_elsewhere
):
    task = open_task(located_offender(world.lahore_a_1, IN_LAHORE_A_1))
    client_for(beat_officer).post(visits_url(task), visit_body(outcome="moved"), format="json")
    follow_up = VerificationTask.objects.get(kind="follow_up")
    url = f"{TASKS}{follow_up.pk}/cancel/"

    assert client_for(station_officer_elsewhere).post(url, {"reason": "x"}).status_code == 404
    assert client_for(station_officer).post(url, {}).status_code == 400
    response = client_for(station_officer).post(url, {"reason": "reported at the counter"})

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["resolution"]) == (
        "cancelled",
        "cancelled_by_station",
    )
    event = AuditEvent.objects.filter(object_type="verification_task").last()
    assert event.details["to"] == "cancelled"
    assert "counter" not in str(event.details)
    again = client_for(station_officer).post(url, {"reason": "again"})
    assert (again.status_code, again.json()["code"]) == (409, "task_not_open")
