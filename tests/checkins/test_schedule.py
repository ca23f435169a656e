"""Due dates: the pure arithmetic, across tiers, after check-ins, and after a policy change."""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from checkins import schedule
from checkins.schedule import DueState
from checkins.services.schedule import missed_checkins_sweep
from compliance.models import Severity, Violation
from registry.models import Offender, ReportingPolicy, StatusChange
from registry.services.dues import due_after
from registry.services.lifecycle import offender_release, offender_transition
from tests.checkins.conftest import sent_code, start, supervised_offender, verify

D = date(2026, 3, 10)


def test_next_due_is_one_interval_after_the_anchor():
    assert due_after(D, 30) == date(2026, 4, 9)
    assert due_after(date(2024, 2, 28), 1) == date(2024, 2, 29)
    with pytest.raises(ValueError, match="at least one day"):
        due_after(D, 0)


@pytest.mark.parametrize(
    ("due_on", "state"),
    [
        (D - timedelta(days=1), DueState.OVERDUE),
        (D, DueState.DUE),
        (D + timedelta(days=1), DueState.IN_WINDOW),
        (D + timedelta(days=7), DueState.IN_WINDOW),
        (D + timedelta(days=8), DueState.UPCOMING),
    ],
)
def test_due_state_by_the_window(due_on, state):
    assert schedule.due_state(due_on=due_on, today=D, window_days=7) == state


def test_reminder_bands_cover_each_day_once():
    assert schedule.reminder_bands([7, 1]) == [(7, 2, 7), (1, 0, 1)]
    assert schedule.reminder_bands([1, 7, 7]) == [(7, 2, 7), (1, 0, 1)]
    assert schedule.reminder_bands([3]) == [(3, 0, 3)]
    assert schedule.reminder_bands([]) == []


@pytest.mark.parametrize(("tier", "days"), [(1, 90), (2, 30), (3, 7)])
def test_a_confirmed_checkin_moves_the_due_date_by_the_tiers_interval(
    station_officer, world, tier, days
):
    offender = supervised_offender(world, risk_tier=tier)
    checkin = start(station_officer, offender)
    verify(station_officer, checkin, sent_code(checkin))

    offender.refresh_from_db()
    assert offender.next_checkin_due == timezone.localdate() + timedelta(days=days)


def _policy_change(registry_admin, tier: int, days: int):
    registry_admin.is_staff = True
    registry_admin.save()
    client = Client()
    client.force_login(registry_admin)
    policy = ReportingPolicy.objects.get(risk_tier=tier)
    response = client.post(
        f"/admin/registry/reportingpolicy/{policy.pk}/change/",
        {
            "risk_tier": tier,
            "checkin_interval_days": days,
            "verification_interval_days": policy.verification_interval_days,
            "registration_period_years": policy.registration_period_years or "",
            "description": policy.description,
        },
    )
    assert response.status_code == 302, response.content


def test_policy_change_moves_the_tiers_due_dates_from_their_anchors(
    registry_admin, station_officer, world
):
    today = timezone.localdate()
    released = supervised_offender(world, released_on=today - timedelta(days=20))
    checked_in = supervised_offender(world, released_on=today - timedelta(days=200))
    checkin = start(station_officer, checked_in)
    verify(station_officer, checkin, sent_code(checkin))
    other_tier = supervised_offender(world, risk_tier=3, next_checkin_due=today)
    in_custody = supervised_offender(world, status="in_custody", next_checkin_due=None)

    _policy_change(registry_admin, tier=2, days=14)

    # Released 20 days ago + 14 would be 6 days ago: a policy change sets no past due date.
    assert Offender.objects.get(pk=released.pk).next_checkin_due == today
    assert Offender.objects.get(pk=checked_in.pk).next_checkin_due == today + timedelta(days=14)
    assert Offender.objects.get(pk=other_tier.pk).next_checkin_due == today
    assert Offender.objects.get(pk=in_custody.pk).next_checkin_due is None
    event = AuditEvent.objects.get(object_type="checkin_schedule")
    assert event.details == {
        "risk_tier": 2,
        "checkin_interval_days": 14,
        "offenders_moved": 2,
    }


def test_policy_change_keeps_the_registers_start_rules(registry_admin, prison_officer, world):
    """Released through the register: the release date anchors; back from absconding: the
    day of return anchors (as the register computed them)."""
    today = timezone.localdate()
    released = supervised_offender(world, status="in_custody", next_checkin_due=None)
    offender_release(
        actor=prison_officer,
        offender_id=released.pk,
        released_on=today - timedelta(days=3),
        prison="Camp Jail",
        address={"text": "House 1", "district": "lahore", "lon": 74.2, "lat": 31.2},
    )
    returned = supervised_offender(world, released_on=today - timedelta(days=300))
    offender_transition(
        actor=registry_admin, offender_id=returned.pk, to_status="absconded", note="gone"
    )
    offender_transition(
        actor=registry_admin, offender_id=returned.pk, to_status="active", note="back"
    )
    assert StatusChange.objects.filter(offender=returned, from_status="absconded").exists()
    before = {pk: Offender.objects.get(pk=pk).next_checkin_due for pk in (released.pk, returned.pk)}

    _policy_change(registry_admin, tier=2, days=10)

    assert before == {
        released.pk: today - timedelta(days=3) + timedelta(days=30),
        returned.pk: today + timedelta(days=30),
    }
    assert Offender.objects.get(pk=released.pk).next_checkin_due == today + timedelta(days=7)
    assert Offender.objects.get(pk=returned.pk).next_checkin_due == today + timedelta(days=10)


def test_policy_saved_unchanged_moves_nothing_and_audits_no_move(registry_admin, world):
    offender = supervised_offender(world, released_on=timezone.localdate() - timedelta(days=5))
    Offender.objects.filter(pk=offender.pk).update(
        next_checkin_due=timezone.localdate() + timedelta(days=25)
    )
    _policy_change(registry_admin, tier=2, days=30)
    assert not AuditEvent.objects.filter(object_type="checkin_schedule").exists()


def test_shortening_an_interval_raises_no_missed_checkin_at_once(registry_admin, world):
    """Offenders told of a due date weeks away are not defaulters the moment the policy
    shortens: the new date is today at the earliest, and the grace runs from it."""
    today = timezone.localdate()
    offender = supervised_offender(
        world, released_on=today - timedelta(days=60), next_checkin_due=today + timedelta(days=10)
    )

    _policy_change(registry_admin, tier=2, days=7)

    assert Offender.objects.get(pk=offender.pk).next_checkin_due == today
    assert missed_checkins_sweep(today=today).missed == 0
    assert not Violation.objects.filter(offender=offender).exists()
    # Once the grace from the new date has passed, it is missed like any other period.
    assert missed_checkins_sweep(today=today + timedelta(days=3)).missed == 1


def test_an_offender_already_missed_keeps_the_period_and_is_escalated(registry_admin, world):
    today = timezone.localdate()
    due = today - timedelta(days=3)
    offender = supervised_offender(
        world, released_on=today - timedelta(days=33), next_checkin_due=due
    )
    assert missed_checkins_sweep(today=today).missed == 1

    _policy_change(registry_admin, tier=2, days=7)

    assert Offender.objects.get(pk=offender.pk).next_checkin_due == due
    # Grace 2 days + escalation 7 days after the due date; no second "missed" on the way.
    assert missed_checkins_sweep(today=today + timedelta(days=6)).missed == 0
    assert missed_checkins_sweep(today=today + timedelta(days=7)).escalated == 1
    violations = Violation.objects.filter(offender=offender).order_by("severity")
    assert [(v.severity, v.cause_key) for v in violations] == [
        (Severity.MEDIUM, ""),
        (Severity.HIGH, "escalated"),
    ]
