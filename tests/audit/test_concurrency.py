"""Many writers at once, each in its own connection and transaction, with the sealer running
between them: nobody waits for anybody, no event is lost or sealed twice, the order is the one
the verifier recomputes, and a transaction that commits after later ones is sealed later."""

import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection, connections, transaction

from audit.models import AuditAction, AuditEvent, AuditSeal, SealKind
from audit.services import audit_record, audit_seal
from bench.bench_audit import locked_audit_record

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 8
EVENTS_PER_WRITER = 25


def _record(tag: str, n: int = 0) -> AuditEvent:
    return audit_record(
        actor=None, username=tag, action=AuditAction.CREATE, object_type="test", object_id=n
    )


def _batches() -> list[AuditSeal]:
    return list(AuditSeal.objects.filter(kind=SealKind.BATCH).order_by("seq"))


def _seal_until(done, timeout: float = 30.0) -> AuditSeal:
    """Seal until ``done(newest seal)``. Transaction ids are cluster-wide, so a write
    transaction open in another database on this server (another suite) can hold the horizon
    back for a moment; this waits it out instead of failing."""
    deadline = time.monotonic() + timeout
    while True:
        audit_seal()
        newest = AuditSeal.objects.order_by("-seq").first()
        if newest is not None and done(newest):
            return newest
        assert time.monotonic() < deadline, "the sealer never caught up"
        time.sleep(0.05)


def _covering_seals(event: AuditEvent, seals: list[AuditSeal]) -> list[int]:
    """The seals an event belongs to by the rule in AuditSeal's docstring."""
    covering, carried = [], []
    for seal in seals:
        in_batch = seal.txid_lo <= event.txid < seal.txid_hi or event.txid in carried
        if in_batch and event.txid not in seal.pending_txids:
            covering.append(seal.seq)
        carried = seal.pending_txids
    return covering


def _verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_concurrent_writers_and_a_running_sealer_lose_nothing_and_seal_nothing_twice():
    start = threading.Barrier(WRITERS + 1)
    errors: list[BaseException] = []
    done = threading.Event()

    def write(writer: int) -> None:
        try:
            start.wait()
            for n in range(EVENTS_PER_WRITER):
                with transaction.atomic():
                    _record(f"writer-{writer}", n)
                    # Work after the append and before the commit: transactions overlap.
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT count(*) FROM audit_auditevent")
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    def seal_while_writing() -> None:
        try:
            start.wait()
            while not done.is_set():
                audit_seal()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    sealer = threading.Thread(target=seal_while_writing)
    for thread in [*threads, sealer]:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    sealer.join(timeout=60)
    _seal_until(lambda seal: seal.total_events == WRITERS * EVENTS_PER_WRITER)

    assert not errors, errors
    events = list(AuditEvent.objects.order_by("id"))
    assert len(events) == WRITERS * EVENTS_PER_WRITER
    seals = _batches()
    assert len(seals) > 2, "the sealer must have sealed while writers were still writing"
    # Every event in exactly one seal; the seals' counts add up to the events, no more.
    assert all(len(_covering_seals(event, seals)) == 1 for event in events)
    assert sum(seal.event_count for seal in seals) == len(events)
    assert seals[-1].total_events == len(events)
    for before, after in zip(seals, seals[1:], strict=False):
        assert after.txid_lo == before.txid_hi
        assert after.prev_mac == before.mac
    # Writers really interleaved: otherwise this test proves nothing about concurrency.
    names = [event.actor_username for event in events]
    assert sum(a != b for a, b in zip(names, names[1:], strict=False)) > WRITERS
    assert f"audit trail OK: {len(events)} events" in _verify()


def test_a_writer_that_commits_after_later_ones_is_sealed_in_a_later_batch_not_skipped():
    first = _record("first")
    in_transaction, may_commit = threading.Event(), threading.Event()
    late: dict[str, int] = {}

    def late_writer() -> None:
        try:
            with transaction.atomic():
                late["id"] = _record("late").id  # lower id and txid than the events below
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_current_xact_id()::text::bigint")
                    late["txid"] = cursor.fetchone()[0]
                in_transaction.set()
                may_commit.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=late_writer)
    thread.start()
    assert in_transaction.wait(timeout=30)
    later = [_record("later", n) for n in range(3)]  # committed while the late one is open
    assert all(event.id > late["id"] for event in later)

    sealed_early = _seal_until(lambda seal: seal.total_events >= 4)
    late_txid = late["txid"]
    # The later events are sealed at once; the open transaction is carried as pending, its
    # event not sealed (an id watermark would have sealed past it and skipped it for good).
    assert sealed_early.event_count == 4
    assert sealed_early.first_event_id == first.id
    assert sealed_early.last_event_id == later[-1].id
    assert late_txid in sealed_early.pending_txids
    assert late_txid < sealed_early.txid_hi

    may_commit.set()
    thread.join(timeout=30)
    sealed_late = _seal_until(lambda seal: seal.total_events == 5)
    assert sealed_late.seq == sealed_early.seq + 1
    assert sealed_late.event_count == 1
    assert sealed_late.first_event_id == sealed_late.last_event_id == late["id"]
    assert late_txid not in sealed_late.pending_txids
    assert "audit trail OK: 5 events" in _verify()


def test_appending_takes_no_lock_another_writer_holds():
    holding, release = threading.Event(), threading.Event()

    def open_writer(record) -> None:
        try:
            with transaction.atomic():
                record()
                holding.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=open_writer, args=(lambda: _record("open"),))
    thread.start()
    assert holding.wait(timeout=30)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
            _record("second")  # would wait for the open transaction under the old design
    finally:
        release.set()
        thread.join(timeout=30)
    assert AuditEvent.objects.count() == 2


def test_the_old_locked_append_does_wait_for_an_open_writer():
    """The guard of the test above: the old design, same scenario, times out."""
    holding, release = threading.Event(), threading.Event()

    def open_writer() -> None:
        try:
            with transaction.atomic():
                locked_audit_record(actor=None, action=AuditAction.CREATE, username="open")
                holding.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=open_writer)
    thread.start()
    assert holding.wait(timeout=30)

    def second_writer() -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
            locked_audit_record(actor=None, action=AuditAction.CREATE, username="second")

    try:
        with pytest.raises(OperationalError, match="lock timeout"):
            second_writer()
    finally:
        release.set()
        thread.join(timeout=30)


def test_a_second_sealer_skips_its_turn_instead_of_sealing_the_same_events():
    _record("one")
    started, release = threading.Event(), threading.Event()

    def slow_sealer() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x4E475345])
                started.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_sealer)
    thread.start()
    assert started.wait(timeout=30)
    try:
        assert audit_seal() is None
    finally:
        release.set()
        thread.join(timeout=30)
    assert _seal_until(lambda seal: seal.total_events == 1).event_count == 1
    assert audit_seal() is None
