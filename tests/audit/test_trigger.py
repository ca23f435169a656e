"""The database itself refuses to change or remove audit events."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from audit.models import AuditAction, AuditEvent, AuditSeal
from audit.services import audit_record
from tests.audit.helpers import TRUNCATE_TRIGGER, legacy_events, raw_execute

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
    assert AuditEvent.objects.filter(id__in=[event.id, second.id]).count() == 2


@pytest.fixture
def seal(event) -> AuditSeal:
    return AuditSeal.objects.create(
        seq=1,
        kind="legacy",
        txid_lo=0,
        txid_hi=0,
        event_count=0,
        total_events=0,
        digest="0" * 64,
        prev_mac="0" * 64,
        key_id="k",
        mac="1" * 64,
        sealed_at=event.occurred_at,
    )


def test_seals_cannot_be_updated_or_deleted(seal):
    for statement, operation in (
        ("UPDATE audit_auditseal SET event_count = 5", "UPDATE"),
        ("DELETE FROM audit_auditseal", "DELETE"),
    ):
        with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
            raw_execute(statement)
        assert f"audit_auditseal is append-only: {operation} is not allowed" in str(excinfo.value)
    raw_execute("ALTER TABLE audit_auditseal ENABLE TRIGGER audit_auditseal_no_truncate")
    with pytest.raises(DatabaseError, match="TRUNCATE is not allowed"), transaction.atomic():
        raw_execute("TRUNCATE audit_auditseal")
    assert AuditSeal.objects.filter(pk=seal.pk, event_count=0).exists()


def test_old_chain_links_stay_unique_and_new_events_need_none(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'audit_auditevent'"
            " AND indexdef LIKE '%%(prev_hash%%'"
        )
        (definition,) = [row[0] for row in cursor.fetchall()]  # no _like index either
    assert definition.startswith("CREATE UNIQUE INDEX")
    assert definition.endswith("WHERE (prev_hash IS NOT NULL)")  # NULLs of new events: none
    for n in range(3):
        audit_record(actor=None, action=AuditAction.READ, object_id=n)  # prev_hash NULL
    legacy = legacy_events(1)[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.create(
            occurred_at=legacy.occurred_at,
            action=AuditAction.READ,
            prev_hash=legacy.prev_hash,
            hash="f" * 64,
        )
