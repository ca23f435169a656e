"""The nightly chain walk: quiet on an intact chain, loud (ids only) on a broken one, and really
scheduled with the procrastinate app."""

import logging

import pytest
from procrastinate.contrib.django import app

from audit import jobs
from audit.models import AuditAction, AuditEvent
from audit.services import AUDIT_CHAIN, CHAIN_BROKEN, CHAIN_OK, audit_record
from tests.audit.helpers import raw_execute, trigger_disabled

pytestmark = pytest.mark.django_db

SCHEDULED_AT = 1_795_000_000  # the timestamp procrastinate passes to a periodic task
# A protected value smuggled into the trail by whoever tampers with it: it must not leak.
PLANTED_CNIC = "35202-1234567-1"


@pytest.fixture
def chain(auditor) -> list[AuditEvent]:
    return [
        audit_record(actor=auditor, action=AuditAction.READ, object_type="offender", object_id=i)
        for i in range(1, 6)
    ]


def _verdict() -> AuditEvent:
    return AuditEvent.objects.filter(object_type=AUDIT_CHAIN).latest("id")


def test_intact_chain_is_reported_ok_and_the_verdict_is_chained(chain, caplog):
    with caplog.at_level(logging.INFO, logger="audit.jobs"):
        assert jobs.verify_chain(timestamp=SCHEDULED_AT) is True

    assert "audit chain OK: 5 events" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    verdict = _verdict()
    assert verdict.id > chain[-1].id  # appended after the walk, to the same chain
    assert verdict.prev_hash == chain[-1].hash
    assert verdict.action == AuditAction.READ
    assert verdict.outcome == CHAIN_OK
    assert verdict.actor_id is None
    assert verdict.object_id == ""
    assert verdict.details == {"verified": 5, "first_broken_id": None}


def test_the_verdict_is_covered_by_the_next_walk(chain):
    jobs.verify_chain(timestamp=SCHEDULED_AT)
    assert jobs.verify_chain(timestamp=SCHEDULED_AT + 86400) is True
    assert _verdict().details["verified"] == 6  # five events and the first verdict


def test_tampered_event_is_named_in_an_error_without_protected_values(chain, caplog):
    tampered = chain[2]
    with trigger_disabled():
        raw_execute(
            "UPDATE audit_auditevent SET details = jsonb_build_object('cnic', %s::text) "
            "WHERE id = %s",
            [PLANTED_CNIC, tampered.id],
        )

    with caplog.at_level(logging.INFO, logger="audit.jobs"):
        assert jobs.verify_chain(timestamp=SCHEDULED_AT) is False

    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    message = errors[0].getMessage()
    assert message.startswith(f"audit chain BROKEN at event {tampered.id}: content hash mismatch")
    assert "2 events verified before it" in message
    assert PLANTED_CNIC not in caplog.text
    assert chain[0].actor_username not in caplog.text

    verdict = _verdict()
    assert verdict.outcome == CHAIN_BROKEN
    assert verdict.object_id == str(tampered.id)
    assert verdict.details == {"verified": 2, "first_broken_id": tampered.id}


def test_removed_event_is_named_on_the_next_one(chain, caplog):
    with trigger_disabled():
        raw_execute("DELETE FROM audit_auditevent WHERE id = %s", [chain[1].id])

    with caplog.at_level(logging.ERROR, logger="audit.jobs"):
        assert jobs.verify_chain(timestamp=SCHEDULED_AT) is False

    assert f"BROKEN at event {chain[2].id}: prev_hash link broken" in caplog.text
    assert _verdict().details["first_broken_id"] == chain[2].id


def test_empty_trail_is_ok(db):
    assert jobs.verify_chain(timestamp=SCHEDULED_AT) is True
    assert _verdict().details == {"verified": 0, "first_broken_id": None}


def test_job_is_registered_and_scheduled_nightly_with_the_app():
    # The app the worker runs (the Django contrib app, after discovery of every jobs.py).
    assert app.tasks["audit.verify_chain"] is jobs.verify_chain
    periodic = app.periodic_registry.periodic_tasks[("audit.verify_chain", "")]
    assert periodic.task is jobs.verify_chain
    assert periodic.cron == "15 21 * * *"  # 02:15 PKT; procrastinate's cron is UTC
