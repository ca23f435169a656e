"""Make audit_auditevent append-only in the database itself.

UPDATE and DELETE are rejected by a statement-level trigger (so even a no-op ``DELETE ... WHERE
false`` fails loudly), and TRUNCATE by a separate statement trigger: TRUNCATE bypasses row
triggers, and keeping it separate lets the *test* database alone disable it so Django can flush
tables between transactional tests (see tests/conftest.py). No role in production should own
this table; the owner could still disable a trigger, which is what ``verify_audit`` is for.

The error is SQLSTATE 42501 (insufficient_privilege, as for "permission denied for table"), so
it reaches Django as ``django.db.utils.ProgrammingError``, a ``DatabaseError``.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION audit_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_auditevent is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'The audit trail can only be appended to (audit.services.audit_record).';
END
$$;

CREATE TRIGGER audit_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditevent_append_only();

CREATE TRIGGER audit_auditevent_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditevent_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_auditevent_no_update_delete ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_auditevent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_prev_hash_unique"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
