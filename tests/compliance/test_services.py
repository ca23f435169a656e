"""Raising violations idempotently, the alert job deferred with them, and the status machine."""

import json
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from audit.models import AuditEvent
from common.exceptions import Conflict, Forbidden, NotFound
from compliance.models import Severity, Violation, ViolationKind, ViolationStatus
from compliance.services import (
    violation_acknowledge,
    violation_dismiss,
    violation_resolve,
)
from tests.compliance.conftest import raise_for
from tests.factories import OffenderFactory

ALERT_TASK = "compliance.deliver_violation_alert"


class WorkflowFailed(Exception):
    """A later step of the raising workflow failed."""


def alert_jobs(violation_id: int | None = None) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT queue_name, args FROM procrastinate_jobs WHERE task_name = %s ORDER BY id",
            [ALERT_TASK],
        )
        # Django's cursor hands jsonb back as text.
        rows = [{"queue": queue, "args": json.loads(args)} for queue, args in cursor.fetchall()]
    if violation_id is None:
        return rows
    return [row for row in rows if row["args"] == {"violation_id": violation_id}]


# --- raising -------------------------------------------------------------------------------


def test_raise_takes_district_and_station_from_current_supervision(world, lahore_a_offender):
    occurred = timezone.now() - timedelta(hours=3)
    violation, created = raise_for(
        lahore_a_offender, occurred_at=occurred, lon=74.2, lat=31.2, severity=Severity.HIGH
    )

    assert created is True
    violation.refresh_from_db()
    assert violation.district == world.lahore
    assert violation.station == world.lahore_a
    assert violation.status == ViolationStatus.OPEN
    assert violation.occurred_at == occurred
    assert violation.detected_at >= occurred
    assert (violation.lon, violation.lat) == (74.2, 31.2)
    assert violation.cause_id == str(lahore_a_offender.pk)


def test_raise_is_audited_as_the_system_with_the_violation_id(lahore_a_offender):
    violation, _ = raise_for(lahore_a_offender)

    event = AuditEvent.objects.get(object_type="violation", object_id=str(violation.pk))
    assert event.action == "create"
    assert event.actor_id is None
    assert event.details["kind"] == ViolationKind.MISSED_CHECKIN
    assert event.details["offender_id"] == lahore_a_offender.pk


def test_raise_defers_one_alert_job_on_the_alerts_queue(lahore_a_offender):
    violation, _ = raise_for(lahore_a_offender)

    assert alert_jobs(violation.pk) == [{"queue": "alerts", "args": {"violation_id": violation.pk}}]


def test_same_cause_raised_twice_makes_one_violation_one_audit_one_job(lahore_a_offender):
    first, first_created = raise_for(lahore_a_offender, key="2026-01-05")
    second, second_created = raise_for(lahore_a_offender, key="2026-01-05")

    assert (first_created, second_created) == (True, False)
    assert second.pk == first.pk
    assert Violation.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="violation").count() == 1
    assert len(alert_jobs()) == 1


def test_same_cause_with_another_key_or_kind_is_another_violation(lahore_a_offender):
    raise_for(lahore_a_offender, key="2026-01-05")
    raise_for(lahore_a_offender, key="2026-01-06")
    raise_for(lahore_a_offender, key="2026-01-06", kind=ViolationKind.ABSCONDING_SUSPECTED)

    assert Violation.objects.count() == 3


def test_raise_after_the_first_was_closed_still_returns_the_closed_one(
    lahore_a_offender, registry_admin
):
    first, _ = raise_for(lahore_a_offender)
    violation_dismiss(actor=registry_admin, violation_id=first.pk, reason="clock skew")

    again, created = raise_for(lahore_a_offender)

    assert created is False
    assert again.pk == first.pk
    assert again.status == ViolationStatus.DISMISSED


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"kind": "no_such_kind"}, "kind"),
        ({"severity": 9}, "severity"),
        ({"lon": 74.1}, "lon"),
        ({"summary": "  "}, "summary"),
    ],
)
def test_raise_rejects_bad_input_without_writing(lahore_a_offender, fields, error_field):
    with pytest.raises(ValidationError) as excinfo:
        raise_for(lahore_a_offender, **fields)

    assert error_field in excinfo.value.error_dict
    assert Violation.objects.count() == 0
    assert alert_jobs() == []


def test_raise_inside_a_rolled_back_savepoint_leaves_neither_violation_nor_job(
    lahore_a_offender,
):
    jobs_inside: list[int] = []

    def workflow_that_fails() -> None:
        with transaction.atomic():
            raise_for(lahore_a_offender)
            jobs_inside.append(len(alert_jobs()))
            raise WorkflowFailed

    with pytest.raises(WorkflowFailed):
        workflow_that_fails()

    assert jobs_inside == [1]

    assert Violation.objects.count() == 0
    assert alert_jobs() == []


@pytest.mark.django_db(transaction=True)
def test_alert_job_exists_only_when_the_raising_transaction_commits(world):
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a)
    # procrastinate's tables are not flushed between transactional tests: count from here.
    jobs_before = len(alert_jobs())

    def workflow_that_fails() -> None:
        with transaction.atomic():
            raise_for(offender, key="rolled-back")
            raise WorkflowFailed

    with pytest.raises(WorkflowFailed):
        workflow_that_fails()
    assert len(alert_jobs()) == jobs_before
    assert not Violation.objects.exists()

    with transaction.atomic():
        violation, _ = raise_for(offender, key="committed")
    assert len(alert_jobs()) == jobs_before + 1
    assert alert_jobs(violation.pk) == [{"queue": "alerts", "args": {"violation_id": violation.pk}}]


@pytest.mark.django_db(transaction=True)
def test_concurrent_raises_of_one_cause_make_exactly_one_violation(world):
    """Thread A inserts and holds its transaction open; thread B's insert must wait on the
    unique index, then find A's row instead of failing or making a second one."""
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a)
    jobs_before = len(alert_jobs())
    a_inserted = threading.Event()
    release_a = threading.Event()
    results: dict[str, tuple[int, bool]] = {}
    errors: list[BaseException] = []

    def thread_a() -> None:
        try:
            with transaction.atomic():
                violation, created = raise_for(offender, key="race")
                results["a"] = (violation.pk, created)
                a_inserted.set()
                release_a.wait(timeout=10)
        except BaseException as exc:  # surfaced by the assertions below
            errors.append(exc)
            a_inserted.set()
        finally:
            close_old_connections()
            connection.close()

    def thread_b() -> None:
        try:
            a_inserted.wait(timeout=10)
            with transaction.atomic():
                violation, created = raise_for(offender, key="race")
                results["b"] = (violation.pk, created)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for thread in threads:
        thread.start()
    a_inserted.wait(timeout=10)
    # B is now blocked on A's uncommitted row (or about to be): wait until PostgreSQL says so.
    b_waited_on_a = False
    deadline = timezone.now() + timedelta(seconds=10)
    while not b_waited_on_a and timezone.now() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            b_waited_on_a = cursor.fetchone()[0] >= 1
    release_a.set()
    for thread in threads:
        thread.join(timeout=20)

    assert errors == []
    assert b_waited_on_a, "thread B never blocked on thread A's row: no race was exercised"
    assert results["a"][1] is True
    assert results["b"] == (results["a"][0], False)
    assert Violation.objects.filter(cause_key="race").count() == 1
    assert len(alert_jobs()) == jobs_before + 1


# --- the status machine --------------------------------------------------------------------


def test_acknowledge_then_resolve_records_who_and_why_at_each_step(
    lahore_a_offender, station_officer, control_room
):
    violation, _ = raise_for(lahore_a_offender)

    violation_acknowledge(actor=station_officer, violation_id=violation.pk)
    resolved = violation_resolve(
        actor=control_room, violation_id=violation.pk, reason="offender reported next morning"
    )

    resolved.refresh_from_db()
    assert resolved.status == ViolationStatus.RESOLVED
    assert resolved.status_changed_by == control_room
    assert resolved.status_reason == "offender reported next morning"
    history = list(
        resolved.status_changes.values_list("from_status", "to_status", "actor__username")
    )
    assert history == [
        ("open", "acknowledged", station_officer.username),
        ("acknowledged", "resolved", control_room.username),
    ]


@pytest.mark.parametrize(
    "close", [violation_resolve, violation_dismiss], ids=["resolve", "dismiss"]
)
def test_open_violation_can_be_closed_directly(lahore_a_offender, control_room, close):
    violation, _ = raise_for(lahore_a_offender)

    closed = close(actor=control_room, violation_id=violation.pk, reason="duplicate report")

    assert closed.status in (ViolationStatus.RESOLVED, ViolationStatus.DISMISSED)


@pytest.mark.parametrize(
    "close", [violation_resolve, violation_dismiss], ids=["resolve", "dismiss"]
)
def test_resolve_and_dismiss_require_a_reason(lahore_a_offender, control_room, close):
    violation, _ = raise_for(lahore_a_offender)

    with pytest.raises(ValidationError) as excinfo:
        close(actor=control_room, violation_id=violation.pk, reason="   ")

    assert "reason" in excinfo.value.error_dict
    violation.refresh_from_db()
    assert violation.status == ViolationStatus.OPEN


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("resolve", "acknowledge"),
        ("resolve", "dismiss"),
        ("dismiss", "resolve"),
        ("acknowledge", "acknowledge"),
    ],
)
def test_transition_from_a_state_that_does_not_allow_it_is_a_conflict(
    lahore_a_offender, control_room, first, second
):
    services = {
        "acknowledge": violation_acknowledge,
        "resolve": violation_resolve,
        "dismiss": violation_dismiss,
    }
    violation, _ = raise_for(lahore_a_offender)
    services[first](actor=control_room, violation_id=violation.pk, reason="first")

    with pytest.raises(Conflict):
        services[second](actor=control_room, violation_id=violation.pk, reason="second")


def test_transition_of_a_violation_outside_jurisdiction_is_not_found(
    kasur_offender, control_room, station_officer
):
    violation, _ = raise_for(kasur_offender)

    for officer in (control_room, station_officer):
        with pytest.raises(NotFound):
            violation_acknowledge(actor=officer, violation_id=violation.pk)


def test_role_without_violation_acknowledge_may_not_acknowledge(lahore_a_offender, prison_officer):
    violation, _ = raise_for(lahore_a_offender)

    with pytest.raises(Forbidden):
        violation_acknowledge(actor=prison_officer, violation_id=violation.pk)


def test_a_beat_officer_acknowledges_but_may_not_resolve_or_dismiss(
    lahore_a_offender, beat_officer
):
    violation, _ = raise_for(lahore_a_offender)

    for close in (violation_resolve, violation_dismiss):
        with pytest.raises(Forbidden):
            close(actor=beat_officer, violation_id=violation.pk, reason="seen")
    acknowledged = violation_acknowledge(actor=beat_officer, violation_id=violation.pk)

    assert acknowledged.status == ViolationStatus.ACKNOWLEDGED


def test_transition_is_audited_without_the_free_text_reason(lahore_a_offender, control_room):
    violation, _ = raise_for(lahore_a_offender)
    violation_dismiss(
        actor=control_room, violation_id=violation.pk, reason="Seen by Imran Khalid at home"
    )

    event = AuditEvent.objects.get(action="transition", object_id=str(violation.pk))
    assert event.actor_id == control_room.pk
    assert event.details == {"from": "open", "to": "dismissed", "has_reason": True}
    assert "Imran" not in str(AuditEvent.objects.values_list("details", "outcome"))


@pytest.mark.django_db(transaction=True)
def test_two_officers_acting_at_once_cannot_both_win(world, control_room, station_officer):
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a)
    violation, _ = raise_for(offender)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(officer, service) -> None:
        try:
            barrier.wait(timeout=10)
            service(actor=officer, violation_id=violation.pk, reason="handled")
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=(control_room, violation_resolve)),
        threading.Thread(target=act, args=(station_officer, violation_dismiss)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes) == ["conflict", "won"]
    assert violation.status_changes.count() == 1


# --- hooks -----------------------------------------------------------------------------------


def test_offender_timeline_includes_its_violations_only(
    lahore_a_offender, lahore_b_offender, registry_admin
):
    from registry import hooks

    mine, _ = raise_for(lahore_a_offender, kind=ViolationKind.EXCLUSION_ZONE)
    raise_for(lahore_b_offender)

    entries = [
        e
        for batch in hooks.call(
            "timeline_entries", offender=lahore_a_offender, actor=registry_admin
        )
        for e in batch
    ]

    violation_entries = [e for e in entries if e["object_type"] == "violation"]
    assert violation_entries == [
        {
            "at": mine.detected_at,
            "kind": "violation",
            "summary": "exclusion_zone (open, severity 2): check-in missed",
            "object_type": "violation",
            "object_id": mine.pk,
        }
    ]
