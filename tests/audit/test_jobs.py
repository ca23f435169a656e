"""The nightly verification and the once-a-minute seal: quiet on an intact trail, loud (ids
and counts only) on a broken one, and really scheduled with the procrastinate app."""

import logging
from pathlib import Path

import pytest
from django.conf import settings
from procrastinate.contrib.django import app

from audit import jobs
from audit.models import AuditAction, AuditEvent, AuditSeal
from audit.services import AUDIT_CHAIN, CHAIN_BROKEN, CHAIN_OK, audit_record
from tests.audit.helpers import owner_access, raw_execute

pytestmark = pytest.mark.django_db(transaction=True)

SCHEDULED_AT = 1_795_000_000  # the timestamp procrastinate passes to a periodic task
# A protected value smuggled into the trail by whoever tampers with it: it must not leak.
PLANTED_CNIC = "35202-1234567-1"


@pytest.fixture
def trail() -> list[AuditEvent]:
    events = [
        audit_record(
            actor=None,
            username="auditor",
            action=AuditAction.READ,
            object_type="offender",
            object_id=i,
        )
        for i in range(1, 6)
    ]
    assert jobs.seal_and_checkpoint(timestamp=SCHEDULED_AT) == 2
    return events


def _verdict() -> AuditEvent:
    return AuditEvent.objects.filter(object_type=AUDIT_CHAIN).latest("id")


def test_the_minute_job_seals_and_publishes_a_checkpoint(trail):
    assert AuditSeal.objects.get(seq=2).event_count == 5
    lines = Path(settings.NIGRANI_AUDIT_CHECKPOINT_PATH).read_text().splitlines()
    assert len(lines) == 1
    assert '"seq":2' in lines[0]
    assert jobs.seal_and_checkpoint(timestamp=SCHEDULED_AT + 60) is None  # nothing new
    assert len(Path(settings.NIGRANI_AUDIT_CHECKPOINT_PATH).read_text().splitlines()) == 2


def test_intact_trail_is_reported_ok_and_the_verdict_is_recorded(trail, caplog):
    with caplog.at_level(logging.INFO, logger="audit.jobs"):
        assert jobs.verify_chain(timestamp=SCHEDULED_AT) is True

    assert "audit trail OK: 5 events, 2 seals" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    verdict = _verdict()
    assert verdict.id > trail[-1].id
    assert verdict.outcome == CHAIN_OK
    assert verdict.actor_id is None
    assert verdict.details == {"events": 5, "seals": 2, "problems": 0, "first_broken_id": None}


def test_the_verdict_is_covered_by_a_later_walk(trail):
    jobs.verify_chain(timestamp=SCHEDULED_AT)
    jobs.seal_and_checkpoint(timestamp=SCHEDULED_AT + 60)
    assert jobs.verify_chain(timestamp=SCHEDULED_AT + 86400) is True
    assert _verdict().details["events"] == 6  # five events and the first verdict


def test_tampered_event_is_named_in_an_error_without_protected_values(trail, caplog):
    tampered = trail[2]
    with owner_access():
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
    assert f"event {tampered.id}: its content does not match its hash (edited)" in message
    assert PLANTED_CNIC not in caplog.text
    verdict = _verdict()
    assert verdict.outcome == CHAIN_BROKEN
    assert verdict.object_id == str(tampered.id)
    assert verdict.details["first_broken_id"] == tampered.id


def test_removed_event_is_named_with_its_seal(trail, caplog):
    with owner_access():
        raw_execute("DELETE FROM audit_auditevent WHERE id = %s", [trail[1].id])
    with caplog.at_level(logging.ERROR, logger="audit.jobs"):
        assert jobs.verify_chain(timestamp=SCHEDULED_AT) is False
    assert "1 of its 5 events are missing (deleted)" in caplog.text


def test_empty_trail_is_ok(db):
    assert jobs.verify_chain(timestamp=SCHEDULED_AT) is True
    assert _verdict().details["events"] == 0


def test_jobs_are_registered_and_scheduled_with_the_app():
    # The app the worker runs (the Django contrib app, after discovery of every jobs.py).
    assert app.tasks["audit.verify_chain"] is jobs.verify_chain
    periodic = app.periodic_registry.periodic_tasks[("audit.verify_chain", "")]
    assert periodic.task is jobs.verify_chain
    assert periodic.cron == "15 21 * * *"  # 02:15 PKT; procrastinate's cron is UTC
    sealing = app.periodic_registry.periodic_tasks[("audit.seal_and_checkpoint", "")]
    assert sealing.cron == "* * * * *"
