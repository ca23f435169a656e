"""/api/v1/violations/: scoped to the caller, filtered, paginated, audited; status changes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from compliance.models import Severity, Violation, ViolationKind, ViolationStatus
from tests.compliance.conftest import raise_for
from tests.factories import OffenderFactory

LIST = "/api/v1/violations/"


def detail(violation_id: int) -> str:
    return f"/api/v1/violations/{violation_id}/"


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def violations(lahore_a_offender, lahore_b_offender, kasur_offender):
    """One violation per station: lahore-a, lahore-b, kasur-a."""
    return {
        "lahore_a": raise_for(lahore_a_offender)[0],
        "lahore_b": raise_for(lahore_b_offender)[0],
        "kasur": raise_for(kasur_offender)[0],
    }


# --- who sees what ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "visible"),
    [
        ("registry_admin", {"lahore_a", "lahore_b", "kasur"}),
        ("control_room", {"lahore_a", "lahore_b"}),
        ("control_room_elsewhere", {"kasur"}),
        ("station_officer", {"lahore_a"}),
        ("station_officer_elsewhere", {"lahore_b"}),
    ],
)
def test_list_is_scoped_to_the_callers_jurisdiction(
    request, client_for, violations, persona, visible
):
    officer = request.getfixturevalue(persona)

    response = client_for(officer).get(LIST)

    assert ids(response) == {violations[name].pk for name in visible}


@pytest.mark.parametrize("persona", ["data_entry", "auditor", "investigating_officer"])
def test_roles_without_violation_read_are_refused(request, client_for, violations, persona):
    officer = request.getfixturevalue(persona)

    assert client_for(officer).get(LIST).status_code == 403
    assert client_for(officer).get(detail(violations["lahore_a"].pk)).status_code == 403


def test_anonymous_caller_gets_nothing(api_client, violations):
    assert api_client.get(LIST).status_code in (401, 403)


@pytest.mark.parametrize(
    ("persona", "station"),
    [("control_room_elsewhere", "lahore_a"), ("station_officer_elsewhere", "lahore_a")],
)
def test_violation_outside_jurisdiction_is_not_found(
    request, client_for, violations, persona, station
):
    officer = request.getfixturevalue(persona)
    violation = violations[station]
    client = client_for(officer)

    assert client.get(detail(violation.pk)).status_code == 404
    for action in ("acknowledge", "resolve", "dismiss"):
        response = client.post(f"{detail(violation.pk)}{action}/", {"reason": "x"})
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    violation.refresh_from_db()
    assert violation.status == ViolationStatus.OPEN


def test_detail_shows_the_violation_and_its_history(client_for, control_room, violations):
    violation = violations["lahore_a"]
    client = client_for(control_room)
    client.post(f"{detail(violation.pk)}acknowledge/", {})

    body = client.get(detail(violation.pk)).json()

    assert body["id"] == violation.pk
    assert body["district"] == "lahore"
    assert body["station"] == "lahore-a"
    assert body["kind"] == ViolationKind.MISSED_CHECKIN
    assert body["cause"] == {
        "type": "offender",
        "id": str(violation.offender_id),
        "key": "",
    }
    assert body["status"] == "acknowledged"
    assert [(h["from_status"], h["to_status"], h["actor"]) for h in body["history"]] == [
        ("open", "acknowledged", control_room.username)
    ]


# --- filters and paging ----------------------------------------------------------------------


@pytest.fixture
def mixed(lahore_a_offender, world, control_room):
    other = OffenderFactory(district=world.lahore, station=world.lahore_a)
    now = timezone.now()
    made = {
        "old_low": raise_for(
            lahore_a_offender,
            key="1",
            severity=Severity.LOW,
            detected_at=now - timedelta(days=10),
        )[0],
        "high_zone": raise_for(
            lahore_a_offender,
            key="2",
            severity=Severity.HIGH,
            kind=ViolationKind.EXCLUSION_ZONE,
            lon=74.1,
            lat=31.1,
        )[0],
        "other_critical": raise_for(other, key="3", severity=Severity.CRITICAL)[0],
    }
    from compliance.services import violation_acknowledge

    violation_acknowledge(actor=control_room, violation_id=made["other_critical"].pk)
    return made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "open"}, {"old_low", "high_zone"}),
        ({"status": "acknowledged"}, {"other_critical"}),
        ({"kind": "exclusion_zone"}, {"high_zone"}),
        ({"severity_min": 3}, {"high_zone", "other_critical"}),
        ({"severity_min": 4}, {"other_critical"}),
        ({"since": "RECENT"}, {"high_zone", "other_critical"}),
    ],
)
def test_list_filters(client_for, control_room, mixed, query, expected):
    if query.get("since") == "RECENT":
        query = {"since": (timezone.now() - timedelta(days=1)).isoformat()}

    response = client_for(control_room).get(LIST, query)

    assert ids(response) == {mixed[name].pk for name in expected}


def test_list_filters_by_offender(client_for, control_room, mixed, lahore_a_offender):
    response = client_for(control_room).get(LIST, {"offender": lahore_a_offender.pk})

    assert ids(response) == {mixed["old_low"].pk, mixed["high_zone"].pk}


@pytest.mark.parametrize(
    "query",
    [{"status": "closed"}, {"kind": "nonsense"}, {"severity_min": 7}, {"since": "yesterday"}],
)
def test_bad_filter_is_a_400_with_the_field_named(client_for, control_room, query):
    response = client_for(control_room).get(LIST, query)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["fields"]) == set(query)


def test_list_is_newest_first_and_cursor_paginated(client_for, control_room, mixed):
    client = client_for(control_room)

    first = client.get(LIST, {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    newest_first = [mixed["other_critical"].pk, mixed["high_zone"].pk]
    assert [row["id"] for row in first["results"]] == newest_first
    assert [row["id"] for row in second["results"]] == [mixed["old_low"].pk]
    assert second["next"] is None


def test_list_query_count_does_not_grow_with_rows(
    client_for, control_room, world, django_assert_num_queries
):
    client = client_for(control_room)
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a)
    for n in range(3):
        raise_for(offender, key=f"few-{n}")

    # 1 select of the page (district, station, cause type and changer joined in) + the audit
    # append (one insert, no lock).
    with django_assert_num_queries(2):
        assert len(client.get(LIST).json()["results"]) == 3

    for n in range(12):
        raise_for(offender, key=f"many-{n}")
    with django_assert_num_queries(2):
        assert len(client.get(LIST).json()["results"]) == 15


def test_list_read_is_audited_with_the_filters(client_for, control_room, violations):
    client_for(control_room).get(LIST, {"status": "open", "severity_min": 2})

    event = AuditEvent.objects.get(action="read", object_type="violation")
    assert event.actor_id == control_room.pk
    assert event.details == {"filters": {"status": "open", "severity_min": 2}, "count": 2}


# --- status changes --------------------------------------------------------------------------


def test_acknowledge_then_resolve_through_the_api(client_for, station_officer, violations):
    violation = violations["lahore_a"]
    client = client_for(station_officer)

    acknowledged = client.post(f"{detail(violation.pk)}acknowledge/", {})
    resolved = client.post(f"{detail(violation.pk)}resolve/", {"reason": "reported in person"})

    assert acknowledged.status_code == 200
    assert acknowledged.json()["status"] == "acknowledged"
    assert resolved.status_code == 200
    body = resolved.json()
    assert body["status"] == "resolved"
    assert body["status_changed_by"] == station_officer.username
    assert body["status_reason"] == "reported in person"
    assert AuditEvent.objects.filter(action="transition", object_id=str(violation.pk)).count() == 2


@pytest.mark.parametrize("action", ["resolve", "dismiss"])
def test_resolve_and_dismiss_without_reason_are_400(client_for, control_room, violations, action):
    violation = violations["lahore_a"]

    response = client_for(control_room).post(f"{detail(violation.pk)}{action}/", {})

    assert response.status_code == 400
    assert "reason" in response.json()["fields"]


def test_second_officer_acting_on_a_closed_violation_gets_409(
    client_for, control_room, station_officer, violations
):
    violation = violations["lahore_a"]
    client_for(control_room).post(f"{detail(violation.pk)}dismiss/", {"reason": "duplicate"})

    response = client_for(station_officer).post(
        f"{detail(violation.pk)}resolve/", {"reason": "handled"}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    violation.refresh_from_db()
    assert violation.status == ViolationStatus.DISMISSED
    assert violation.status_changed_by == control_room


def test_unknown_violation_is_404(client_for, registry_admin, db):
    assert client_for(registry_admin).get(detail(424242)).status_code == 404
    assert Violation.objects.count() == 0


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "1899-01-01"])
def test_out_of_range_since_is_a_400_on_the_field(client_for, control_room, since):
    response = client_for(control_room).get(LIST, {"since": since})

    assert response.status_code == 400
    assert "since" in response.json()["fields"]
