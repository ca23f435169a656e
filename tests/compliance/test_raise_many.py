"""``violations_raise_many``: the batch form keeps every rule of ``violation_raise``."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from compliance.models import AlertNotice, Severity, Violation, ViolationKind
from compliance.services import ViolationRaise, violation_raise, violations_raise_many
from push.models import AlertEvent
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


class _Undo(Exception):
    """Rolls one way of raising back, so the other starts from the same database."""


def _snapshot(before: set[int], returned: list) -> dict:
    """What a raise leaves behind, with the new violations' ids replaced by their rank by
    cause (the two runs draw other ids from the sequence, in another order)."""
    rows = list(Violation.objects.exclude(pk__in=before).order_by("kind", "cause_key").values())
    order = {row["id"]: n for n, row in enumerate(rows)}

    def ref(pk):
        return order.get(pk, pk)

    violations = [
        {**{k: v for k, v in row.items() if k != "id"}, "episode_id": ref(row["episode_id"])}
        for row in rows
    ]
    audit = [
        (e.action, ref(int(e.object_id)), {**e.details, "episode": ref(e.details["episode"])})
        for e in AuditEvent.objects.filter(object_type="violation").order_by("id")
    ]
    alert_events = sorted(
        (
            ref(e.alert_id),
            e.district_id,
            e.type,
            json.dumps({**e.payload, "id": ref(e.alert_id)}, sort_keys=True),
        )
        for e in AlertEvent.objects.all()
    )
    # Per alert, the order of its events (what a control room applies) must be the same.
    per_alert: dict[int, list] = {}
    for e in AlertEvent.objects.order_by("district_id", "seq"):
        per_alert.setdefault((ref(e.alert_id), e.district_id), []).append(
            (e.type, e.payload["repeat_count"])
        )
    notices = sorted(
        (ref(n.violation_id), n.level, n.repeat, n.target, n.officer_id, n.channel, n.notified_at)
        for n in AlertNotice.objects.all()
    )
    jobs = [ref(job["args"]["violation_id"]) for job in alert_jobs()]
    return {
        "returned": [(ref(violation.pk), created) for violation, created in returned],
        "violations": violations,
        "audit": audit,
        "alert_events": alert_events,
        "per_alert": per_alert,
        "notices": notices,
        "jobs": jobs,
    }


def test_raise_many_leaves_exactly_what_one_raise_per_item_leaves(
    world, lahore_a_offender, lahore_b_offender, kasur_offender, beat_officer, control_room
):
    """Same rows, audit events, alert events, notices and jobs: new episodes, repeats joining
    an episode opened earlier and one opened by the same batch, a cause raised before, a
    cause twice in the batch, a breach located in another district, several severities."""
    earlier, _ = raise_for(lahore_b_offender, key="earlier")
    already, _ = raise_for(kasur_offender, key="already", kind=ViolationKind.LATE_NOTICE)
    before = set(Violation.objects.values_list("pk", flat=True))
    items = [
        spec(lahore_a_offender, key="a1", lon=74.25, lat=31.75),  # opens lahore_a's episode
        spec(lahore_b_offender, key="b1", severity=Severity.HIGH),  # joins ``earlier``
        spec(lahore_a_offender, key="a2", lon=74.5, lat=30.5),  # joins a1; in Kasur
        spec(kasur_offender, key="already", kind=ViolationKind.LATE_NOTICE),  # raised before
        spec(lahore_a_offender, key="a1", lon=74.25, lat=31.75),  # twice in the batch
        spec(kasur_offender, key="k1", kind=ViolationKind.EXCLUSION_ZONE, lon=74.4, lat=31.6),
        spec(lahore_a_offender, key="a3", severity=Severity.LOW),  # joins a1 again
    ]

    def per_item():
        return [
            violation_raise(
                offender=i.offender,
                kind=i.kind,
                severity=i.severity,
                occurred_at=i.occurred_at,
                cause=i.cause,
                cause_key=i.cause_key,
                lon=i.lon,
                lat=i.lat,
                summary=i.summary,
            )
            for i in items
        ]

    results = {}
    with time_machine.travel(timezone.now(), tick=False):
        for name, way in (("one by one", per_item), ("many", lambda: violations_raise_many(items))):
            try:
                with transaction.atomic():
                    results[name] = _snapshot(before, way())
                    raise _Undo
            except _Undo:
                pass

    one, many = results["one by one"], results["many"]
    created = [True, True, True, False, False, True, True]
    assert [made for _, made in many["returned"]] == created
    assert many["returned"][3][0] == already.pk
    for part in ("violations", "audit", "alert_events", "per_alert", "notices", "jobs", "returned"):
        assert many[part] == one[part], part
    # The scenario is the one described: repeats joined their episodes, the Kasur breach of
    # a Lahore offender is routed there too, and the repeats updated their alerts.
    rows = many["violations"]  # by kind, then cause key
    assert [row["cause_key"] for row in rows] == ["k1", "a1", "a2", "a3", "b1"]
    assert [row["episode_id"] for row in rows] == [None, None, 1, 1, earlier.pk]
    assert rows[2]["occurred_district_id"] == world.kasur.pk
    assert rows[1]["occurred_district_id"] is None
    assert ("alert.updated", 2) in [e for events in many["per_alert"].values() for e in events]


def test_a_batch_larger_than_one_insert_statement_raises_every_item(
    lahore_a_offender, kasur_offender, monkeypatch
):
    from compliance import services

    monkeypatch.setattr(services, "_INSERT_CHUNK", 2)  # so five rows take three statements
    items = [spec(lahore_a_offender, key=f"a{n}") for n in range(3)]
    items += [spec(kasur_offender, key=f"k{n}") for n in range(2)]

    out = violations_raise_many(items)

    assert [created for _, created in out] == [True] * 5
    assert Violation.objects.count() == 5
    heads = [v for v, _ in out if v.episode_id is None]
    assert len(heads) == 2  # each offender's first; the rest joined it
    assert AuditEvent.objects.filter(object_type="violation").count() == 5


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
