"""Many writers at once, each in its own connection and transaction: the chain never forks."""

import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from audit.chain import GENESIS_HASH
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record

WRITERS = 8
EVENTS_PER_WRITER = 25


def _write(writer: int, start: threading.Barrier, errors: list[BaseException]) -> None:
    try:
        start.wait()
        for n in range(EVENTS_PER_WRITER):
            with transaction.atomic():
                audit_record(
                    actor=None,
                    username=f"writer-{writer}",
                    action=AuditAction.CREATE,
                    object_type="test",
                    object_id=f"{writer}-{n}",
                )
                # Work after the append and before the commit: the window in which another
                # writer would read a stale head if appends were not serialised.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM audit_auditevent")
                time.sleep(0.001)
    except BaseException as exc:  # noqa: BLE001 - reported by the test thread
        errors.append(exc)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_build_one_unbroken_chain():
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_write, args=(writer, start, errors)) for writer in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    rows = list(AuditEvent.objects.order_by("id").values_list("id", "prev_hash", "hash"))
    assert len(rows) == WRITERS * EVENTS_PER_WRITER
    prev_hashes = [prev for _, prev, _ in rows]
    assert len(set(prev_hashes)) == len(prev_hashes)
    assert prev_hashes[0] == GENESIS_HASH
    for (_, _, previous_hash), (_, prev_hash, _) in zip(rows, rows[1:], strict=False):
        assert prev_hash == previous_hash
    # Writers really interleaved: otherwise this test proves nothing about concurrency.
    writers_in_order = list(
        AuditEvent.objects.order_by("id").values_list("actor_username", flat=True)
    )
    switches = sum(a != b for a, b in zip(writers_in_order, writers_in_order[1:], strict=False))
    assert switches > WRITERS

    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert f"audit chain OK: {WRITERS * EVENTS_PER_WRITER} events" in out.getvalue()
