"""verify_audit: OK on an intact chain; names the first tampered or orphaned event."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.chain import CHAINED_FIELDS, event_hash
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from tests.audit.helpers import raw_execute, trigger_disabled

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(auditor) -> list[AuditEvent]:
    return [
        audit_record(actor=auditor, action=AuditAction.READ, object_type="offender", object_id=i)
        for i in range(1, 8)
    ]


def _verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def test_intact_chain_is_reported_ok_with_its_size_and_head(chain):
    output = _verify("--chunk-size", "2")  # several round trips through the cursor
    assert "audit chain OK: 7 events" in output
    assert f"head: {chain[-1].hash}" in output


def test_empty_trail_is_ok(db):
    assert "audit chain OK: 0 events" in _verify()


def test_outcome_changed_behind_the_trigger_is_named_on_exactly_that_event(chain):
    tampered = chain[3]
    with trigger_disabled():
        raw_execute("UPDATE audit_auditevent SET outcome = 'denied' WHERE id = %s", [tampered.id])

    with pytest.raises(CommandError) as excinfo:
        _verify()
    message = str(excinfo.value)
    assert message.startswith(f"audit chain BROKEN at event {tampered.id}: content hash mismatch")
    assert "3 events verified before it" in message


def test_tampering_that_also_recomputes_the_hash_breaks_the_next_link(chain):
    tampered, following = chain[3], chain[4]
    content = AuditEvent.objects.values(*CHAINED_FIELDS).get(id=tampered.id)
    content["outcome"] = "denied"
    with trigger_disabled():
        raw_execute(
            "UPDATE audit_auditevent SET outcome = 'denied', hash = %s WHERE id = %s",
            [event_hash(content, tampered.prev_hash), tampered.id],
        )

    with pytest.raises(CommandError) as excinfo:
        _verify()
    assert f"BROKEN at event {following.id}: prev_hash link broken" in str(excinfo.value)


def test_deleted_middle_event_is_named_as_a_broken_link_on_the_next_one(chain):
    removed, following = chain[3], chain[4]
    with trigger_disabled():
        raw_execute("DELETE FROM audit_auditevent WHERE id = %s", [removed.id])

    with pytest.raises(CommandError) as excinfo:
        _verify()
    message = str(excinfo.value)
    assert f"BROKEN at event {following.id}: prev_hash link broken" in message
    assert f"does not match the hash of event {chain[2].id}" in message


def test_deleted_first_event_is_named_on_the_new_first_one(chain):
    with trigger_disabled():
        raw_execute("DELETE FROM audit_auditevent WHERE id = %s", [chain[0].id])

    with pytest.raises(CommandError, match=f"BROKEN at event {chain[1].id}: .*genesis"):
        _verify()
