"""Audit trail figures: audited writes per second and their latency at 1, 8 and 32 concurrent
clients, the old design (one global advisory lock held to commit, the hash chain written
inline) against the new (a plain insert; the sealer links events afterwards) and against a bare
insert of the same row (the machine's ceiling at that moment); the seal delay
under that load; and ``verify_audit`` over a million events.

Both designs write through the same content and canonical form on real PostgreSQL, each client
its own connection committing one audited transaction at a time. Everything written is removed
at the end: the benchmark runs in a scratch database of its own, dropped afterwards.
"""

import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from audit.chain import CHAINED_FIELDS, GENESIS_HASH, content_hash, event_hash
from audit.models import AuditEvent
from audit.services import audit_checkpoint_publish, audit_record, audit_seal
from audit.verification import audit_trail_verify

# The old design's lock key (audit/services.py before issue 15).
_OLD_CHAIN_LOCK_KEY = 0x4E494752


def locked_audit_record(
    *,
    actor: Any | None,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    username: str = "",
    outcome: str = "ok",
    details: dict | None = None,
) -> AuditEvent:
    """The pre-issue-15 append, kept for the benchmark and for tests that build an old chain:
    every writer in the system queues on one advisory lock until its transaction commits."""
    content: dict[str, Any] = {
        "actor_id": actor.pk if actor is not None else None,
        "actor_username": actor.username if actor is not None else username,
        "role": getattr(actor, "role", "") if actor is not None else "",
        "agency": "",
        "device_id": "",
        "client_ip": None,
        "request_id": "",
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id) if object_id not in (None, "") else "",
        "purpose": "",
        "outcome": outcome,
        "details": details or {},
    }
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_OLD_CHAIN_LOCK_KEY])
        content["occurred_at"] = timezone.now()
        head = (
            AuditEvent.objects.filter(prev_hash__isnull=False)
            .order_by("-id")
            .values_list("hash", flat=True)
            .first()
        )
        prev_hash = head or GENESIS_HASH
        return AuditEvent.objects.create(
            **content, prev_hash=prev_hash, hash=event_hash(content, prev_hash)
        )


# --- the benchmark ----------------------------------------------------------------------------

CLIENTS = (1, 8, 32)
SECONDS = 4.0
VERIFY_EVENTS = 1_000_000
VERIFY_CHUNK = 50_000
# Its own database; NIGRANI_BENCH_AUDIT_DB names another (two benches at once must not share one).
SCRATCH_DB = os.environ.get("NIGRANI_BENCH_AUDIT_DB", "nigrani_bench_audit")


@contextmanager
def _scratch_database() -> Iterator[None]:
    """A database of its own, migrated, dropped at the end: the benchmark writes a million
    events and its own seals, which must never mix with a real (or development) trail."""
    alias = connections["default"]
    original = alias.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}"')
        cursor.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
    # The process's connection pool was opened on the original database and would keep
    # handing out its connections (the run would write, and truncate, the real trail); and
    # a pool does not survive the fork of the clients (they would share its sockets). So no
    # pool here: every process, every client, a connection of its own to the scratch one.
    connection.close()
    connection.close_pool()
    pool = alias.settings_dict["OPTIONS"].pop("pool", None)
    alias.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = SCRATCH_DB
    try:
        call_command("migrate", "--noinput", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            assert cursor.fetchone()[0] == SCRATCH_DB  # noqa: S101 - never the real trail
        yield
    finally:
        connection.close()
        alias.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = original
        if pool is not None:
            alias.settings_dict["OPTIONS"]["pool"] = pool
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')


def _client(record_name: str, start_at: float, seconds: float, queue: Any) -> None:
    """One forked client: its own connection, one audited transaction after another."""
    connections["default"].close()  # never share the parent's socket
    record = {"old": locked_audit_record, "new": audit_record, "bare": _bare_insert}[record_name]
    latencies: list[float] = []
    while time.time() < start_at:
        time.sleep(0.001)
    n = 0
    while time.time() < start_at + seconds:
        began = time.perf_counter()
        with transaction.atomic():
            record(actor=None, username="bench", action="create", object_type="bench", object_id=n)
        latencies.append(time.perf_counter() - began)
        n += 1
    connections["default"].close()
    queue.put(latencies)


_BARE_TABLE = "bench_bare_insert"


def _bare_insert(**_: Any) -> None:
    """The machine's ceiling at that moment: the same row into a copy of the events table
    with no trigger, no hash and no lock (the issue's "unlocked insert")."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_BARE_TABLE} (occurred_at, actor_username, role, agency, device_id,"  # noqa: S608
            " request_id, action, object_type, object_id, purpose, outcome, details, hash)"
            " VALUES (now(), 'bench', '', '', '', '', 'create', 'bench', '0', '', 'ok', '{}', '')"
        )


def _sealer_loop(stop: threading.Event, delays: list[float]) -> None:
    """The sealer as deployed (``audit_sealer``: every NIGRANI_AUDIT_SEAL_INTERVAL_SECONDS, back
    to back while a seal takes longer), then, once stopped, how long after its timestamp each
    event it sealed was sealed (counted afterwards, so that counting never delays a seal)."""
    interval = settings.NIGRANI_AUDIT_SEAL_INTERVAL_SECONDS
    seals = []
    try:
        while not stop.is_set():
            began = time.monotonic()
            seal = audit_seal()
            if seal is not None and seal.kind == "batch":
                seals.append(seal)
            stop.wait(max(0.0, interval - (time.monotonic() - began)))
        previous_pending: list[int] = []
        for seal in seals:
            stamps = (
                AuditEvent.objects.filter(
                    Q(txid__gte=seal.txid_lo, txid__lt=seal.txid_hi) | Q(txid__in=previous_pending)
                )
                .exclude(txid__in=seal.pending_txids)
                .values_list("occurred_at", flat=True)
            )
            delays.extend((seal.sealed_at - stamp).total_seconds() for stamp in stamps)
            previous_pending = seal.pending_txids
    finally:
        connections["default"].close()


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _load(design: str, clients: int) -> tuple[float, list[float]]:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    connection.close()
    start_at = time.time() + 0.5 + 0.02 * clients
    workers = [
        context.Process(target=_client, args=(design, start_at, SECONDS, queue))
        for _ in range(clients)
    ]
    for worker in workers:
        worker.start()
    latencies: list[float] = []
    for _ in workers:
        latencies.extend(queue.get(timeout=SECONDS + 120))
    for worker in workers:
        worker.join(timeout=30)
    return len(latencies) / SECONDS, latencies


def _writes() -> list[tuple[str, float, str, str]]:
    figures: list[tuple[str, float, str, str]] = []
    rates: dict[tuple[str, int], float] = {}
    all_delays: list[float] = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {_BARE_TABLE} (LIKE audit_auditevent"
            " INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)"
        )
    for design in ("old", "new", "bare"):
        for clients in CLIENTS:
            stop, delays = threading.Event(), []
            sealer = threading.Thread(target=_sealer_loop, args=(stop, delays))
            if design == "new":
                while audit_seal() is not None:  # what earlier runs left: not this run's delay
                    pass
                connection.close()
                sealer.start()
            rate, latencies = _load(design, clients)
            if design == "new":
                time.sleep(2 * settings.NIGRANI_AUDIT_SEAL_INTERVAL_SECONDS)
                stop.set()
                sealer.join(timeout=60)
                all_delays.extend(delays)
                figures.append(
                    (
                        f"audit_seal_delay_p99_{clients}c",
                        round(_percentile(delays, 0.99), 2),
                        "s",
                        f"event timestamp → its seal, {len(delays):,} events, sealer every "
                        f"{settings.NIGRANI_AUDIT_SEAL_INTERVAL_SECONDS:g} s",
                    )
                )
            rates[(design, clients)] = rate
            what = {
                "old": "one global advisory lock held to commit (before issue 15)",
                "new": "audit_record: plain insert, sealer running alongside",
                "bare": "the ceiling: same row, raw SQL, no trigger/hash/lock, same moment",
            }[design]
            figures.append((f"audit_writes_{design}_{clients}c", round(rate), "writes/s", what))
            figures.append(
                (
                    f"audit_latency_{design}_{clients}c",
                    round(1000 * _percentile(latencies, 0.5), 2),
                    "ms p50",
                    f"p99 {1000 * _percentile(latencies, 0.99):.2f} ms; {clients} clients "
                    f"(processes), {SECONDS:g} s, one audited transaction each",
                )
            )
    for clients in CLIENTS:
        figures.append(
            (
                f"audit_speedup_{clients}c",
                round(rates[("new", clients)] / max(rates[("old", clients)], 1e-9), 2),
                "x",
                "new writes/s ÷ old writes/s, same run",
            )
        )
        figures.append(
            (
                f"audit_new_vs_bare_{clients}c",
                round(rates[("new", clients)] / max(rates[("bare", clients)], 1e-9), 2),
                "x",
                "new writes/s ÷ bare insert writes/s (1 = scales like any insert)",
            )
        )
    return figures


def _bulk_events(count: int) -> None:
    """``count`` events with true content hashes, by COPY, in chunks (one transaction each,
    so they carry different transaction ids), sealing after each chunk as the sealer would."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    columns = (
        "occurred_at, actor_id, actor_username, role, agency, device_id, client_ip, "
        "request_id, action, object_type, object_id, purpose, outcome, details, hash"
    )
    for start in range(0, count, VERIFY_CHUNK):
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.copy(f"COPY audit_auditevent ({columns}) FROM STDIN") as copy,
        ):
            for n in range(start, min(count, start + VERIFY_CHUNK)):
                content = {
                    "occurred_at": base + timedelta(microseconds=n),
                    "actor_id": n % 500,
                    "actor_username": f"officer-{n % 500}",
                    "role": "station_officer",
                    "agency": "Punjab Police",
                    "device_id": "",
                    "client_ip": None,
                    "request_id": f"req-{n:012d}",
                    "action": "read",
                    "object_type": "offender",
                    "object_id": str(n),
                    "purpose": "supervision",
                    "outcome": "ok",
                    "details": {"view": "detail"},
                }
                copy.write_row(
                    [
                        *(content[name] for name in CHAINED_FIELDS[:-1]),
                        '{"view": "detail"}',
                        content_hash(content),
                    ]
                )
        audit_seal()
        audit_checkpoint_publish()  # as the publisher does every minute


def _empty_trail() -> None:
    """The write runs' events out (scratch database; the owner's bypass of the triggers)."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("TRUNCATE audit_auditevent, audit_auditseal")
        cursor.execute("SET session_replication_role = DEFAULT")


def _verify() -> list[tuple[str, float, str, str]]:
    _empty_trail()
    _bulk_events(VERIFY_EVENTS)
    while audit_seal() is not None:
        pass
    audit_checkpoint_publish()
    started = time.perf_counter()
    report = audit_trail_verify()
    elapsed = time.perf_counter() - started
    state = "intact" if report.ok else f"NOT intact: {report.problems[:2]}"
    return [
        (
            "verify_audit_1m_events",
            round(elapsed, 1),
            "s",
            f"{report.events:,} events in {report.seals} seals + checkpoints ({state})",
        )
    ]


def run() -> list[tuple[str, float, str, str]]:
    with tempfile.TemporaryDirectory() as scratch:
        checkpoints = settings.NIGRANI_AUDIT_CHECKPOINT_PATH
        settings.NIGRANI_AUDIT_CHECKPOINT_PATH = str(Path(scratch) / "checkpoints.jsonl")
        try:
            with _scratch_database():
                return _writes() + _verify()
        finally:
            settings.NIGRANI_AUDIT_CHECKPOINT_PATH = checkpoints
