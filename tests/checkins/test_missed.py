"""The missed-check-in sweep: one violation per missed period after grace, idempotent,
escalated once when the offender is still missing."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from checkins.models import MissedCheckin
from checkins.services.schedule import missed_checkins_sweep
from compliance.models import Severity, Violation
from registry.selectors import offender_timeline
from tests.checkins.conftest import sent_code, start, supervised_offender, verify
from tests.factories import CheckinFactory


def test_nothing_is_missed_within_the_grace_period(world):
    today = timezone.localdate()
    supervised_offender(world, next_checkin_due=today - timedelta(days=2))
    assert missed_checkins_sweep(today=today).missed == 0
    assert not Violation.objects.exists()


def test_one_violation_per_missed_period_however_often_the_sweep_runs(world):
    today = timezone.localdate()
    offender = supervised_offender(world, next_checkin_due=today - timedelta(days=3))
    supervised_offender(world, status="in_custody", next_checkin_due=today - timedelta(days=30))

    first = missed_checkins_sweep(today=today)
    again = missed_checkins_sweep(today=today)
    later = missed_checkins_sweep(today=today + timedelta(days=2))

    assert (first.missed, again.missed, later.missed) == (1, 0, 0)
    violation = Violation.objects.get()
    assert (violation.kind, violation.severity, violation.offender_id) == (
        "missed_checkin",
        Severity.MEDIUM,
        offender.pk,
    )
    missed = MissedCheckin.objects.get()
    assert (violation.cause_type.model, violation.cause_id, violation.cause_key) == (
        "missedcheckin",
        str(missed.pk),
        "",
    )
    assert missed.due_on == today - timedelta(days=3)
    assert violation.station_id == offender.station_id


def test_grace_is_a_setting(world, settings):
    settings.NIGRANI_CHECKIN_GRACE_DAYS = 0
    today = timezone.localdate()
    supervised_offender(world, next_checkin_due=today - timedelta(days=1))
    assert missed_checkins_sweep(today=today).missed == 1


def test_still_missing_after_the_escalation_period_raises_a_graver_violation_once(world):
    today = timezone.localdate()
    offender = supervised_offender(world, next_checkin_due=today - timedelta(days=3))
    missed_checkins_sweep(today=today)

    # Grace 2 days + escalation 7 days after the due date.
    assert missed_checkins_sweep(today=today + timedelta(days=6)).escalated == 0
    assert missed_checkins_sweep(today=today + timedelta(days=7)).escalated == 1
    assert missed_checkins_sweep(today=today + timedelta(days=8)).escalated == 0

    violations = Violation.objects.filter(offender=offender).order_by("severity")
    assert [(v.severity, v.cause_key) for v in violations] == [
        (Severity.MEDIUM, ""),
        (Severity.HIGH, "escalated"),
    ]
    assert violations[0].cause_id == violations[1].cause_id


def test_no_escalation_once_the_offender_checked_in(world, station_officer):
    today = timezone.localdate()
    offender = supervised_offender(world, next_checkin_due=today - timedelta(days=3))
    missed_checkins_sweep(today=today)
    checkin = start(station_officer, offender)
    verify(station_officer, checkin, sent_code(checkin))

    assert missed_checkins_sweep(today=today + timedelta(days=30)).escalated == 0
    assert Violation.objects.filter(offender=offender).count() == 1


def test_a_new_period_missed_is_a_new_violation(world):
    today = timezone.localdate()
    offender = supervised_offender(world, next_checkin_due=today - timedelta(days=3))
    missed_checkins_sweep(today=today)
    offender.next_checkin_due = today - timedelta(days=4)  # e.g. another period
    offender.save(update_fields=["next_checkin_due"])
    assert missed_checkins_sweep(today=today).missed == 1
    assert Violation.objects.filter(offender=offender).count() == 2


def test_missed_periods_show_on_the_timeline(world, station_officer):
    today = timezone.localdate()
    offender = supervised_offender(world, next_checkin_due=today - timedelta(days=3))
    missed_checkins_sweep(today=today)
    kinds = [entry["kind"] for entry in offender_timeline(actor=station_officer, offender=offender)]
    assert "missed_checkin" in kinds


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_raise_each_violation_once(world):
    today = timezone.localdate()
    for _ in range(5):
        supervised_offender(world, next_checkin_due=today - timedelta(days=20))
    barrier = threading.Barrier(2)
    results, errors = [], []

    def sweep():
        try:
            barrier.wait()
            results.append(missed_checkins_sweep(today=today))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(r.missed for r in results) == 5
    assert sum(r.escalated for r in results) == 5
    assert Violation.objects.count() == 10


def test_only_confirmed_checkins_show_on_the_timeline(world, station_officer):
    offender = supervised_offender(world)
    confirmed = CheckinFactory(offender=offender, started_by=station_officer, confirmed=True)
    CheckinFactory(offender=offender, started_by=station_officer)  # still waiting for its code

    entries = [
        e
        for e in offender_timeline(actor=station_officer, offender=offender)
        if e["kind"] == "checkin"
    ]

    assert [e["object_id"] for e in entries] == [confirmed.pk]
