"""The database itself refuses to change or remove audit events."""

import pytest
from django.db import DatabaseError, transaction

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from tests.audit.helpers import TRUNCATE_TRIGGER, raw_execute

pytestmark = pytest.mark.django_db

INSUFFICIENT_PRIVILEGE = "42501"


@pytest.fixture
def event(auditor) -> AuditEvent:
    return audit_record(actor=auditor, action=AuditAction.READ, outcome="ok")


def _assert_refused(excinfo: pytest.ExceptionInfo, operation: str) -> None:
    assert f"audit_auditevent is append-only: {operation} is not allowed" in str(excinfo.value)
    assert excinfo.value.__cause__.sqlstate == INSUFFICIENT_PRIVILEGE


def test_update_through_the_orm_is_rejected(event):
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        AuditEvent.objects.filter(id=event.id).update(outcome="denied")
    _assert_refused(excinfo, "UPDATE")
    event.refresh_from_db()
    assert event.outcome == "ok"


def test_raw_update_is_rejected(event):
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        raw_execute("UPDATE audit_auditevent SET outcome = 'denied' WHERE id = %s", [event.id])
    _assert_refused(excinfo, "UPDATE")


def test_delete_through_the_orm_is_rejected(event):
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        event.delete()
    _assert_refused(excinfo, "DELETE")
    assert AuditEvent.objects.filter(id=event.id).exists()


def test_delete_that_matches_no_row_is_still_rejected(event):
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        raw_execute("DELETE FROM audit_auditevent WHERE false")
    _assert_refused(excinfo, "DELETE")


def test_truncate_is_rejected_outside_the_test_database_flush(event):
    # The test database disables this trigger so Django can flush between transactional
    # tests (tests/conftest.py); here it is switched back on, inside this test's transaction.
    raw_execute(f"ALTER TABLE audit_auditevent ENABLE TRIGGER {TRUNCATE_TRIGGER}")
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        raw_execute("TRUNCATE audit_auditevent")
    _assert_refused(excinfo, "TRUNCATE")
    assert AuditEvent.objects.filter(id=event.id).exists()


def test_appending_still_works(event):
    second = audit_record(actor=None, action=AuditAction.LOGIN_FAILED, username="ghost")
    assert second.prev_hash == event.hash
