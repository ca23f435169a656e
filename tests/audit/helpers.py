"""Reaching behind the append-only guard, as an attacker with table-owner rights would."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

UPDATE_DELETE_TRIGGER = "audit_auditevent_no_update_delete"
TRUNCATE_TRIGGER = "audit_auditevent_no_truncate"


@contextmanager
def trigger_disabled(name: str = UPDATE_DELETE_TRIGGER) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE audit_auditevent DISABLE TRIGGER {name}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE audit_auditevent ENABLE TRIGGER {name}")


def raw_execute(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
