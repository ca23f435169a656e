"""The alert of a violation: routing to both districts, repeats joining the open episode, the
escalation ladder step by step in frozen time, acknowledgement stopping it, its timeout
restarting it, assignment, and the ladder duties."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.roles import Duty
from audit.models import AuditEvent
from common.exceptions import Forbidden
from compliance.alerts import (
    ACK_TIMEOUT_REASON,
    alert_escalation_sweep,
    officer_duty_grant,
    officer_duty_revoke,
)
from compliance.models import (
    AlertNotice,
    AlertPolicy,
    LadderStep,
    LadderTarget,
    NoticeChannel,
    OfficerDuty,
    Severity,
    Violation,
    ViolationKind,
    ViolationStatus,
)
from compliance.services import (
    violation_acknowledge,
    violation_assign,
    violation_dismiss,
    violation_end,
    violation_resolve,
)
from push.models import AlertEvent, AlertEventType, Notification
from tests.compliance.conftest import raise_for
from tests.conftest import make_officer

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def ladder(world, system_admin, beat_officer, station_officer, control_room, registry_admin):
    """Who stands on the ladder for Lahore A: the beat officer of lahore-a-1, the station
    officer as officer in charge, the control room as supervisor, NPB as the national desk;
    plus Kasur's supervisor for travel breaches."""
    kasur_supervisor = make_officer(
        "kasur-supervisor", "control_room", "police", district=world.kasur
    )
    officer_duty_grant(actor=system_admin, officer=station_officer, duty=Duty.OFFICER_IN_CHARGE)
    officer_duty_grant(actor=system_admin, officer=control_room, duty=Duty.SUPERVISOR)
    officer_duty_grant(actor=system_admin, officer=kasur_supervisor, duty=Duty.SUPERVISOR)
    officer_duty_grant(actor=system_admin, officer=registry_admin, duty=Duty.NATIONAL_DESK)
    return {
        1: {beat_officer.pk},
        2: {station_officer.pk},
        3: {control_room.pk},
        4: {registry_admin.pk},
        "kasur_supervisor": kasur_supervisor,
    }


def told(violation: Violation, level: int, repeat: int = 0) -> set[int]:
    return set(
        AlertNotice.objects.filter(violation=violation, level=level, repeat=repeat).values_list(
            "officer_id", flat=True
        )
    )


def events(district, *, alert_id: int | None = None) -> list[tuple[int, str]]:
    rows = AlertEvent.objects.filter(district=district).order_by("seq")
    if alert_id is not None:
        rows = rows.filter(alert_id=alert_id)
    return list(rows.values_list("seq", "type"))


# --- raising, routing, repeats ---------------------------------------------------------------


def test_a_new_alert_tells_step_one_and_starts_its_deadline(lahore_a_offender, ladder, world):
    with time_machine.travel(T0, tick=False):
        violation, created = raise_for(lahore_a_offender, severity=Severity.CRITICAL)

    violation.refresh_from_db()
    assert created
    assert violation.escalation_level == 1
    assert violation.ack_due_at == T0 + timedelta(minutes=2)  # critical: 2 minutes
    assert told(violation, 1) == ladder[1]
    assert Notification.objects.filter(officer_id__in=ladder[1], object_id=violation.pk).exists()
    assert events(world.lahore) == [(1, AlertEventType.RAISED)]
    assert events(world.kasur) == []


def test_deadline_comes_from_the_severity_policy_row(lahore_a_offender, ladder):
    AlertPolicy.objects.filter(severity=Severity.MEDIUM).update(ack_minutes=7)
    with time_machine.travel(T0, tick=False):
        violation, _ = raise_for(lahore_a_offender, severity=Severity.MEDIUM)

    violation.refresh_from_db()
    assert violation.ack_due_at == T0 + timedelta(minutes=7)


def test_a_one_step_ladder_without_repeats_is_exhausted_as_it_is_raised(lahore_a_offender, ladder):
    LadderStep.objects.filter(severity=Severity.LOW, step__gt=1).delete()
    AlertPolicy.objects.filter(severity=Severity.LOW).update(top_repeats=0)
    with time_machine.travel(T0, tick=False):
        violation, _ = raise_for(lahore_a_offender, severity=Severity.LOW)

    violation.refresh_from_db()
    assert (violation.escalation_level, violation.escalation_exhausted_at) == (1, T0)


def test_a_severity_without_a_policy_row_refuses_the_raise_and_writes_nothing(
    lahore_a_offender, ladder, world
):
    AlertPolicy.objects.filter(severity=Severity.LOW).delete()

    with pytest.raises(AlertPolicy.DoesNotExist), transaction.atomic():
        raise_for(lahore_a_offender, severity=Severity.LOW)

    assert not Violation.objects.filter(offender=lahore_a_offender).exists()
    assert events(world.lahore) == []


def test_a_breach_in_another_district_is_routed_to_both_control_rooms(
    lahore_a_offender, ladder, world, client_for, control_room_elsewhere
):
    # (74.5, 30.5) is in Kasur; the offender is supervised in Lahore.
    violation, _ = raise_for(lahore_a_offender, lon=74.5, lat=30.5, severity=Severity.HIGH)

    violation.refresh_from_db()
    assert violation.district_id == world.lahore.pk
    assert violation.occurred_district_id == world.kasur.pk
    assert events(world.lahore) == [(1, AlertEventType.RAISED)]
    assert events(world.kasur) == [(1, AlertEventType.RAISED)]
    listed = client_for(control_room_elsewhere).get("/api/v1/violations/").json()["results"]
    assert [row["id"] for row in listed] == [violation.pk]
    assert listed[0]["occurred_district"] == "kasur"


def test_a_breach_at_home_is_routed_to_the_supervising_district_only(
    lahore_a_offender, ladder, world
):
    violation, _ = raise_for(lahore_a_offender, lon=74.2, lat=31.2)

    violation.refresh_from_db()
    assert violation.occurred_district_id is None
    assert events(world.kasur) == []


def test_a_repeat_of_an_open_episode_updates_its_alert(lahore_a_offender, ladder, world):
    head, _ = raise_for(lahore_a_offender, key="first", severity=Severity.MEDIUM)
    repeat, created = raise_for(lahore_a_offender, key="second", severity=Severity.HIGH)

    head.refresh_from_db()
    assert created  # the breach itself is recorded
    assert repeat.episode_id == head.pk
    assert repeat.escalation_level == 0  # no second ladder
    assert head.repeat_count == 1
    assert (head.severity, repeat.severity) == (Severity.MEDIUM, Severity.HIGH)
    assert AlertNotice.objects.filter(violation=repeat).count() == 0
    assert events(world.lahore) == [(1, AlertEventType.RAISED), (2, AlertEventType.UPDATED)]


def test_the_same_cause_twice_is_neither_a_repeat_nor_an_event(lahore_a_offender, ladder, world):
    head, _ = raise_for(lahore_a_offender, key="same")
    again, created = raise_for(lahore_a_offender, key="same")

    head.refresh_from_db()
    assert not created
    assert again.pk == head.pk
    assert head.repeat_count == 0
    assert len(events(world.lahore)) == 1


def test_after_the_episode_is_closed_a_new_breach_starts_a_new_alert(
    lahore_a_offender, ladder, control_room, world
):
    head, _ = raise_for(lahore_a_offender, key="first")
    repeat, _ = raise_for(lahore_a_offender, key="second")
    violation_resolve(actor=control_room, violation_id=head.pk, reason="spoke to him")
    fresh, _ = raise_for(lahore_a_offender, key="third")

    repeat.refresh_from_db()
    fresh.refresh_from_db()
    assert repeat.status == ViolationStatus.RESOLVED  # closed with its episode
    assert fresh.episode_id is None
    assert fresh.escalation_level == 1
    assert [t for _, t in events(world.lahore)] == [
        AlertEventType.RAISED,
        AlertEventType.UPDATED,
        AlertEventType.CLOSED,
        AlertEventType.RAISED,
    ]


def test_other_kinds_are_other_episodes(lahore_a_offender, ladder):
    first, _ = raise_for(lahore_a_offender, key="a")
    other, _ = raise_for(lahore_a_offender, key="a", kind=ViolationKind.ABSCONDING_SUSPECTED)

    assert other.episode_id is None
    assert other.escalation_level == 1
    assert first.pk != other.pk


# --- the ladder ------------------------------------------------------------------------------


def test_each_ladder_step_in_time_then_the_top_repeats_then_it_says_it_stopped(
    lahore_a_offender, ladder, world
):
    with time_machine.travel(T0, tick=False):
        violation, _ = raise_for(lahore_a_offender, severity=Severity.CRITICAL)

    def sweep_at(minutes: float) -> dict:
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            return alert_escalation_sweep()

    assert sweep_at(1.9)["escalated"] == 0  # before the 2-minute deadline
    assert sweep_at(2)["escalated"] == 1
    assert told(violation, 2) == ladder[2]
    assert sweep_at(3)["escalated"] == 0  # deadline restarted at minute 2
    assert sweep_at(4)["escalated"] == 1
    assert told(violation, 3) == ladder[3]
    assert sweep_at(6)["escalated"] == 1
    assert told(violation, 4) == ladder[4]
    # The top step repeats top_repeats (3 for critical) times, then the climb ends, loudly.
    assert [sweep_at(8 + 2 * n)["escalated"] for n in range(3)] == [1, 1, 1]
    assert [told(violation, 4, repeat=n) for n in (1, 2, 3)] == [ladder[4]] * 3
    assert sweep_at(20) == {"reopened": 0, "escalated": 0, "exhausted": 0}

    violation.refresh_from_db()
    assert violation.escalation_level == 4
    assert violation.escalation_repeats == 3
    assert violation.escalation_exhausted_at == T0 + timedelta(minutes=12)
    escalations = AlertEvent.objects.filter(
        district=world.lahore, type=AlertEventType.ESCALATED
    ).order_by("seq")
    assert escalations.count() == 6
    assert escalations.last().payload["escalation_exhausted"] is True
    assert (
        AuditEvent.objects.filter(
            object_type="violation", object_id=str(violation.pk), details__escalated_to=4
        ).count()
        == 4
    )


def test_a_step_with_nobody_on_it_is_recorded_not_skipped(lahore_b_offender, ladder):
    # lahore-b-1 has no beat officer.
    violation, _ = raise_for(lahore_b_offender)

    notice = AlertNotice.objects.get(violation=violation)
    assert notice.channel == NoticeChannel.NOBODY
    assert notice.target == LadderTarget.BEAT_OFFICERS


def test_a_travel_breach_climbs_to_both_districts_supervisors(lahore_a_offender, ladder):
    with time_machine.travel(T0, tick=False):
        violation, _ = raise_for(lahore_a_offender, lon=74.5, lat=30.5, severity=Severity.HIGH)
    for minutes in (10, 20):  # high: 10 minutes a step
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            alert_escalation_sweep()

    assert told(violation, 3) == ladder[3] | {ladder["kasur_supervisor"].pk}


def test_acknowledgement_stops_the_climb(lahore_a_offender, ladder, control_room):
    with time_machine.travel(T0, tick=False):
        violation, _ = raise_for(lahore_a_offender, severity=Severity.CRITICAL)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        violation_acknowledge(actor=control_room, violation_id=violation.pk)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        assert alert_escalation_sweep()["escalated"] == 0

    violation.refresh_from_db()
    assert violation.escalation_level == 1
    assert violation.acknowledged_at == T0 + timedelta(minutes=1)
    assert violation.resolve_due_at == T0 + timedelta(minutes=31)  # critical: 30 to resolve


def test_an_acknowledgement_timeout_restarts_the_climb_from_where_it_was(
    lahore_a_offender, ladder, control_room, world
):
    with time_machine.travel(T0, tick=False):
        violation, _ = raise_for(lahore_a_offender, severity=Severity.CRITICAL)
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        alert_escalation_sweep()  # step 2
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        violation_acknowledge(actor=control_room, violation_id=violation.pk)
    with time_machine.travel(T0 + timedelta(minutes=32), tick=False):
        assert alert_escalation_sweep()["escalated"] == 0  # not yet 30 minutes
    with time_machine.travel(T0 + timedelta(minutes=33), tick=False):
        result = alert_escalation_sweep()

    violation.refresh_from_db()
    assert result == {"reopened": 1, "escalated": 1, "exhausted": 0}
    assert violation.status == ViolationStatus.OPEN
    assert violation.escalation_level == 3
    assert told(violation, 3) == ladder[3]
    change = violation.status_changes.last()
    assert (change.from_status, change.to_status, change.actor) == ("acknowledged", "open", None)
    assert change.reason == ACK_TIMEOUT_REASON
    # Acknowledging again stops it again.
    with time_machine.travel(T0 + timedelta(minutes=34), tick=False):
        violation_acknowledge(actor=control_room, violation_id=violation.pk)
        assert alert_escalation_sweep()["escalated"] == 0


def test_closed_alerts_never_climb(lahore_a_offender, ladder, control_room):
    with time_machine.travel(T0, tick=False):
        violation, _ = raise_for(lahore_a_offender, severity=Severity.CRITICAL)
        violation_dismiss(actor=control_room, violation_id=violation.pk, reason="test ping")
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        assert alert_escalation_sweep()["escalated"] == 0


def test_repeats_never_climb_on_their_own(lahore_a_offender, ladder):
    with time_machine.travel(T0, tick=False):
        head, _ = raise_for(lahore_a_offender, key="1", severity=Severity.CRITICAL)
        raise_for(lahore_a_offender, key="2", severity=Severity.CRITICAL)
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        assert alert_escalation_sweep()["escalated"] == 1  # the episode's alert only


# --- assignment ------------------------------------------------------------------------------


def test_assigning_tells_the_assignee_and_updates_the_alert(
    lahore_a_offender, ladder, control_room, station_officer, world
):
    violation, _ = raise_for(lahore_a_offender)

    violation_assign(actor=control_room, violation_id=violation.pk, officer_id=station_officer.pk)

    violation.refresh_from_db()
    assert violation.assigned_to == station_officer
    assert Notification.objects.filter(
        officer=station_officer, kind="alert_assigned", object_id=violation.pk
    ).exists()
    assert AlertNotice.objects.filter(
        violation=violation, target="assignee", officer=station_officer
    ).exists()
    assert events(world.lahore)[-1] == (2, AlertEventType.UPDATED)
    assert AuditEvent.objects.filter(
        object_type="violation", details__assigned_to=station_officer.pk
    ).exists()


def test_an_officer_who_cannot_see_the_alert_cannot_be_assigned(
    lahore_a_offender, ladder, control_room, station_officer_elsewhere, beat_officer_elsewhere
):
    violation, _ = raise_for(lahore_a_offender)

    for outsider in (station_officer_elsewhere, beat_officer_elsewhere):
        with pytest.raises(ValidationError):
            violation_assign(actor=control_room, violation_id=violation.pk, officer_id=outsider.pk)


# --- duties ----------------------------------------------------------------------------------


def test_duties_are_granted_by_a_system_admin_to_the_right_role_only(
    system_admin, control_room, station_officer
):
    with pytest.raises(Forbidden):
        officer_duty_grant(actor=control_room, officer=control_room, duty=Duty.SUPERVISOR)
    with pytest.raises(Forbidden):
        officer_duty_grant(actor=system_admin, officer=station_officer, duty=Duty.SUPERVISOR)

    officer_duty_grant(actor=system_admin, officer=control_room, duty=Duty.SUPERVISOR)
    officer_duty_grant(actor=system_admin, officer=control_room, duty=Duty.SUPERVISOR)

    assert OfficerDuty.objects.filter(officer=control_room).count() == 1
    assert AuditEvent.objects.filter(details__duty_granted="supervisor").count() == 1
    assert officer_duty_revoke(actor=system_admin, officer=control_room, duty=Duty.SUPERVISOR)
    assert AuditEvent.objects.filter(details__duty_revoked="supervisor").count() == 1


def test_a_revoked_supervisor_is_no_longer_told(
    lahore_a_offender, ladder, system_admin, control_room
):
    officer_duty_revoke(actor=system_admin, officer=control_room, duty=Duty.SUPERVISOR)
    with time_machine.travel(T0, tick=False):
        violation, _ = raise_for(lahore_a_offender, severity=Severity.CRITICAL)
    for minutes in (2, 4):
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            alert_escalation_sweep()

    assert AlertNotice.objects.get(violation=violation, level=3).channel == NoticeChannel.NOBODY


def test_a_breach_the_system_saw_end_tells_the_control_room_and_stays_open(
    lahore_a_offender, ladder, world
):
    with time_machine.travel(T0, tick=False):
        violation, _ = raise_for(lahore_a_offender, severity=Severity.HIGH)
    ended = T0 + timedelta(minutes=5)
    with time_machine.travel(ended, tick=False):
        assert violation_end(violation=violation, ended_at=ended, reason="left_zone")
        assert not violation_end(violation=violation, ended_at=ended, reason="left_zone")

    updates = AlertEvent.objects.filter(alert_id=violation.pk, type=AlertEventType.UPDATED)
    assert [event.payload["ended_at"] for event in updates] == [ended.isoformat()]
    violation.refresh_from_db()
    assert violation.status == ViolationStatus.OPEN  # an officer still has to look at it
    assert violation.ack_due_at == T0 + timedelta(minutes=10)
