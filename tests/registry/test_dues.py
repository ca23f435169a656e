"""The register's due dates (``registry.services.dues``): the Python and SQL forms of one rule
agree, a tier change counts from the anchors (the decision in the module docstring), and the
events the apps above report move the dates."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from checkins.models import MissedCheckin
from registry.models import Offender, OffenderStatus, ReportingPolicy, StatusChange
from registry.services.dues import (
    offender_checkin_confirmed,
    offender_dues_for_tier,
    offender_verification_counted,
    reporting_policy_dues_move,
)
from registry.services.offenders import offender_update
from tests.factories import OffenderFactory

TODAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel("2026-03-10 05:00:00+00:00", tick=False):
        yield


def _day(days_ago: int) -> date:
    return TODAY - timedelta(days=days_ago)


def _at(days_ago: int) -> datetime:
    return timezone.now() - timedelta(days=days_ago)


def supervised(world, **fields) -> Offender:
    fields.setdefault("released_on", _day(100))
    return OffenderFactory(district=world.lahore, station=world.lahore_a, **fields)


def restarted(offender: Offender, *, from_status: str, days_ago: int) -> None:
    StatusChange.objects.create(
        offender=offender,
        from_status=from_status,
        to_status=OffenderStatus.ACTIVE,
        changed_at=_at(days_ago),
    )


@pytest.fixture
def cohort(world) -> list[Offender]:
    """Offenders of tier 2 with every kind of anchor."""
    only_released = supervised(world, released_on=_day(20))
    checked_in = supervised(world, last_checkin_on=_day(3), last_verified_on=_day(40))
    long_ago = supervised(world, released_on=_day(400), last_checkin_on=_day(200))
    returned = supervised(world, last_checkin_on=_day(90), last_verified_on=_day(90))
    restarted(returned, from_status=OffenderStatus.ABSCONDED, days_ago=5)
    registered_active = supervised(world, released_on=_day(300))
    restarted(registered_active, from_status="", days_ago=10)
    released_late = supervised(world, released_on=_day(30), status_changed_at=_at(2))
    restarted(released_late, from_status=OffenderStatus.IN_CUSTODY, days_ago=2)
    return [only_released, checked_in, long_ago, returned, registered_active, released_late]


def test_the_python_and_sql_forms_of_the_policy_rule_agree(world, cohort):
    policy = ReportingPolicy.objects.get(risk_tier=2)
    policy.checkin_interval_days, policy.verification_interval_days = 25, 45
    policy.save()
    expected = {
        o.pk: offender_dues_for_tier(offender=o, policy=policy, today=TODAY) for o in cohort
    }

    reporting_policy_dues_move(policy=policy, actor=None)

    for offender in Offender.objects.filter(pk__in=expected):
        dues = expected[offender.pk]
        assert (offender.next_checkin_due, offender.next_verification_due) == (
            dues.next_checkin_due,
            dues.next_verification_due,
        ), offender.pk


def test_the_anchors_of_each_kind_of_offender(world, cohort):
    policy = ReportingPolicy(risk_tier=2, checkin_interval_days=25, verification_interval_days=45)
    dues = [offender_dues_for_tier(offender=o, policy=policy, today=TODAY) for o in cohort]

    assert [(d.next_checkin_due, d.next_verification_due) for d in dues] == [
        (_day(20 - 25), _day(20 - 45)),  # from the release
        (_day(3 - 25), _day(40 - 45)),  # from the last check-in / verification
        (TODAY, _day(400 - 45)),  # the check-in would be long past: today, never the past
        (_day(5 - 25), _day(5 - 45)),  # from the return from absconding
        (_day(10 - 25), _day(10 - 45)),  # from the day registered as released
        (TODAY, _day(30 - 45)),  # from the release date, not the day it was recorded
    ]


def test_policy_change_counts_verification_from_the_release_date_not_its_recording(world):
    """Before, the verification copy counted from ``status_changed_at`` (the day the release
    was recorded) while the register counts from ``released_on``."""
    offender = supervised(world, released_on=_day(30), status_changed_at=_at(2))
    policy = ReportingPolicy.objects.get(risk_tier=2)

    reporting_policy_dues_move(policy=policy, actor=None)

    offender.refresh_from_db()
    assert offender.next_verification_due == _day(30) + timedelta(
        days=policy.verification_interval_days
    )


def test_policy_change_leaves_a_held_missed_period_and_others_of_other_tiers(world):
    held = supervised(world, next_checkin_due=_day(5))
    MissedCheckin.objects.create(offender=held, due_on=_day(5), detected_at=_at(2))
    other_tier = supervised(world, risk_tier=3, next_checkin_due=_day(5))
    in_custody = supervised(world, status=OffenderStatus.IN_CUSTODY, next_checkin_due=None)
    moved = supervised(world, released_on=_day(20), next_checkin_due=_day(5))

    result = reporting_policy_dues_move(policy=ReportingPolicy.objects.get(risk_tier=2), actor=None)

    assert result.checkin_ids == [moved.pk]
    assert Offender.objects.get(pk=held.pk).next_checkin_due == _day(5)
    assert Offender.objects.get(pk=other_tier.pk).next_checkin_due == _day(5)
    assert Offender.objects.get(pk=in_custody.pk).next_checkin_due is None
    assert AuditEvent.objects.get(object_type="checkin_schedule").details["offenders_moved"] == 1


def test_tier_change_counts_from_the_last_checkin_not_from_today(world, registry_admin):
    offender = supervised(world, last_checkin_on=_day(2), last_verified_on=_day(10))

    offender_update(actor=registry_admin, offender_id=offender.pk, data={"risk_tier": 3})

    offender.refresh_from_db()
    tier_3 = ReportingPolicy.objects.get(risk_tier=3)
    assert offender.next_checkin_due == _day(2) + timedelta(days=tier_3.checkin_interval_days)
    assert offender.next_verification_due == _day(10) + timedelta(
        days=tier_3.verification_interval_days
    )
    assert offender.registration_ends_on is None  # tier 3: for life


def test_tier_change_never_puts_the_checkin_in_the_past(world, registry_admin):
    offender = supervised(world, last_checkin_on=_day(60))

    offender_update(actor=registry_admin, offender_id=offender.pk, data={"risk_tier": 3})

    assert Offender.objects.get(pk=offender.pk).next_checkin_due == TODAY


def test_tier_change_keeps_a_missed_period(world, registry_admin):
    offender = supervised(world, last_checkin_on=_day(40), next_checkin_due=_day(5))
    MissedCheckin.objects.create(offender=offender, due_on=_day(5), detected_at=_at(2))

    offender_update(actor=registry_admin, offender_id=offender.pk, data={"risk_tier": 3})

    offender.refresh_from_db()
    assert (offender.risk_tier, offender.next_checkin_due) == (3, _day(5))


def test_tier_change_moves_the_registration_end_with_the_tier(world, registry_admin):
    offender = supervised(world, released_on=date(2026, 1, 1), registration_ends_on=None)

    offender_update(actor=registry_admin, offender_id=offender.pk, data={"risk_tier": 1})

    years = ReportingPolicy.objects.get(risk_tier=1).registration_period_years
    assert Offender.objects.get(pk=offender.pk).registration_ends_on == date(2026 + years, 1, 1)


def test_a_confirmed_checkin_is_the_new_anchor(world):
    offender = supervised(world)

    due = offender_checkin_confirmed(offender=offender, confirmed_on=TODAY)

    offender.refresh_from_db()
    interval = ReportingPolicy.objects.get(risk_tier=2).checkin_interval_days
    assert due == offender.next_checkin_due == TODAY + timedelta(days=interval)
    assert offender.last_checkin_on == TODAY


def test_a_counted_verification_is_the_new_anchor(world):
    offender = supervised(world)

    due = offender_verification_counted(offender_id=offender.pk, risk_tier=2, visited_on=_day(1))

    offender.refresh_from_db()
    interval = ReportingPolicy.objects.get(risk_tier=2).verification_interval_days
    assert due == offender.next_verification_due == _day(1) + timedelta(days=interval)
    assert offender.last_verified_on == _day(1)
