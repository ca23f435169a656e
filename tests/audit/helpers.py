"""Reaching behind the append-only guard, as an attacker with table-owner rights would, and
writing the trail as it was before issue 15 (the old hash chain)."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from bench.bench_audit import locked_audit_record

UPDATE_DELETE_TRIGGER = "audit_auditevent_no_update_delete"
TRUNCATE_TRIGGER = "audit_auditevent_no_truncate"
STAMP_TXID_TRIGGER = "audit_auditevent_stamp_txid"
SEAL_UPDATE_DELETE_TRIGGER = "audit_auditseal_no_update_delete"
SEAL_TRUNCATE_TRIGGER = "audit_auditseal_no_truncate"


@contextmanager
def trigger_disabled(
    name: str = UPDATE_DELETE_TRIGGER, table: str = "audit_auditevent"
) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {name}")


@contextmanager
def owner_access() -> Iterator[None]:
    """Every guard off, as the owner would (session_replication_role skips user triggers)."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")


def raw_execute(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def legacy_events(count: int, **kwargs) -> list:
    """Events as written before issue 15: hash-chained one by one, no transaction id (the
    column added by audit/migrations/0004 is NULL on every row that existed before it)."""
    with trigger_disabled(STAMP_TXID_TRIGGER):
        return [
            locked_audit_record(
                actor=None,
                username="before",
                action="read",
                object_type="offender",
                object_id=n,
                **kwargs,
            )
            for n in range(1, count + 1)
        ]
