"""The serving role cannot cut the trail: with the grants ``grant_app_role`` gives it, it can
append and read, but not delete, truncate, update, disable a trigger or bypass triggers."""

import uuid

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def app_role() -> str:
    """A login role that owns nothing, as compose's ``nigrani_app`` (rolled back with the test:
    CREATE ROLE is transactional)."""
    name = f"nigrani_app_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{name}" NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
    call_command("grant_app_role", name, stdout=None)
    return name


def _as(role: str, statement: str, params: list | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{role}"')
        cursor.execute(statement, params or [])


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("DELETE FROM audit_auditevent", "permission denied for table audit_auditevent"),
        ("UPDATE audit_auditevent SET outcome = 'x'", "permission denied for table"),
        ("TRUNCATE audit_auditevent", "permission denied for table audit_auditevent"),
        ("DELETE FROM audit_auditseal", "permission denied for table audit_auditseal"),
        ("TRUNCATE audit_auditseal", "permission denied for table audit_auditseal"),
        (
            "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_no_update_delete",
            "must be owner of table audit_auditevent",
        ),
        ("ALTER TABLE audit_auditevent DISABLE TRIGGER ALL", "must be owner"),
        ("DROP TRIGGER audit_auditevent_no_update_delete ON audit_auditevent", "must be owner"),
        ("SET session_replication_role = replica", "permission denied to set parameter"),
    ],
)
def test_the_app_role_cannot_cut_or_unguard_the_trail(app_role, statement, refusal):
    audit_record(actor=None, action=AuditAction.READ, username="kept")
    with pytest.raises(DatabaseError, match=refusal):
        _as(app_role, statement)
    assert AuditEvent.objects.filter(actor_username="kept").exists()


def test_the_app_role_can_append_read_and_work_other_tables(app_role):
    _as(
        app_role,
        "INSERT INTO audit_auditevent (occurred_at, actor_username, role, agency, device_id,"
        " request_id, action, object_type, object_id, purpose, outcome, details, hash)"
        " VALUES (now(), 'app', '', '', '', '', 'read', '', '', '', 'ok', '{}', 'h')",
    )
    _as(app_role, "SELECT count(*) FROM audit_auditevent")
    _as(app_role, "SELECT count(*) FROM audit_auditseal")
    _as(app_role, "DELETE FROM audit_denialwindow")  # an ordinary table: full row access
    event = AuditEvent.objects.get(actor_username="app")
    assert event.txid is not None  # stamped by the trigger, whoever inserts
