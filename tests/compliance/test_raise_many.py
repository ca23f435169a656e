"""``violations_raise_many``: the batch form keeps every rule of ``violation_raise``."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from compliance.models import Severity, Violation, ViolationKind
from compliance.services import ViolationRaise, violations_raise_many
from tests.compliance.conftest import raise_for
from tests.compliance.test_services import alert_jobs


def spec(offender, *, key: str = "", **fields) -> ViolationRaise:
    params = {
        "kind": ViolationKind.MISSED_CHECKIN,
        "severity": Severity.MEDIUM,
        "occurred_at": timezone.now() - timedelta(hours=1),
        "summary": "check-in missed",
    }
    params.update(fields)
    return ViolationRaise(offender=offender, cause=offender, cause_key=key, **params)


def test_many_raises_each_once_with_its_own_audit_event_and_alert_job(
    world, lahore_a_offender, kasur_offender
):
    out = violations_raise_many(
        [
            spec(lahore_a_offender, key="a", lon=74.3, lat=31.5),
            spec(kasur_offender, key="a", severity=Severity.HIGH),
        ]
    )

    assert [created for _, created in out] == [True, True]
    first, second = (v for v, _ in out)
    assert (first.district_id, first.station_id) == (world.lahore.pk, world.lahore_a.pk)
    assert (first.lon, first.lat) == (74.3, 31.5)
    assert second.district_id == world.kasur.pk
    assert second.severity == Severity.HIGH
    assert Violation.objects.count() == 2
    for violation, offender in ((first, lahore_a_offender), (second, kasur_offender)):
        event = AuditEvent.objects.get(object_type="violation", object_id=str(violation.pk))
        assert event.action == "create"
        assert event.actor_id is None
        assert event.details["offender_id"] == offender.pk
        assert event.details["cause_key"] == "a"
        assert alert_jobs(violation.pk) == [
            {"queue": "alerts", "args": {"violation_id": violation.pk}}
        ]


def test_a_cause_already_raised_or_repeated_in_the_batch_makes_nothing_new(lahore_a_offender):
    earlier, _ = raise_for(lahore_a_offender, key="old")

    out = violations_raise_many(
        [
            spec(lahore_a_offender, key="old"),
            spec(lahore_a_offender, key="new"),
            spec(lahore_a_offender, key="new"),
        ]
    )

    assert [created for _, created in out] == [False, True, False]
    assert out[0][0].pk == earlier.pk
    assert out[1][0].pk == out[2][0].pk != earlier.pk
    assert Violation.objects.count() == 2
    assert AuditEvent.objects.filter(object_type="violation").count() == 2
    # The new cause joins the open episode of the earlier one (same offender and kind): its
    # alert is updated, no second delivery job or ladder.
    assert len(alert_jobs()) == 1
    assert out[1][0].episode_id == earlier.pk


def test_one_bad_item_writes_nothing(lahore_a_offender):
    with pytest.raises(ValidationError) as excinfo:
        violations_raise_many(
            [spec(lahore_a_offender, key="ok"), spec(lahore_a_offender, key="x", lon=74.1)]
        )

    assert "lon" in excinfo.value.error_dict
    assert Violation.objects.count() == 0
    assert alert_jobs() == []


def test_the_single_raise_sees_a_cause_the_batch_raised(lahore_a_offender):
    ((made, _),) = violations_raise_many([spec(lahore_a_offender, key="k")])

    again, created = raise_for(lahore_a_offender, key="k")

    assert created is False
    assert again.pk == made.pk


def test_empty_batch_is_a_no_op():
    assert violations_raise_many([]) == []


def test_the_batch_appends_its_stream_events_once_at_the_end_in_district_order(
    world, lahore_a_offender, kasur_offender
):
    """Each district's sequence counter is locked until commit: taken per raise, in raise
    order, two ingest processes' batches deadlocked on them (seen under the alerts bench's
    load). The batch takes them once, after all the raises' work, in district order."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from push.models import AlertEvent

    with CaptureQueriesContext(connection) as captured:
        violations_raise_many(
            [
                spec(kasur_offender, key="b", severity=Severity.HIGH),
                spec(lahore_a_offender, key="b", lon=74.3, lat=31.5),
            ]
        )

    sql = [q["sql"] for q in captured.captured_queries]
    appends = [n for n, s in enumerate(sql) if "push_alertsequence" in s]
    last_audit = max(n for n, s in enumerate(sql) if s.startswith('INSERT INTO "audit_auditevent"'))
    assert len(appends) == 2  # one statement per district
    assert min(appends) > last_audit
    districts = list(AlertEvent.objects.order_by("id").values_list("district_id", flat=True))
    assert districts == sorted({world.kasur.pk, world.lahore.pk})
    assert set(AlertEvent.objects.values_list("seq", flat=True)) == {1}
