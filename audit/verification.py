"""Verifying the whole trail: the old chain, every seal, every event, and the checkpoints.

One walk behind ``manage.py verify_audit`` and the nightly job. It reads in one snapshot
(REPEATABLE READ when it opens the transaction itself) with server-side cursors, so it runs in
constant memory over any number of events, and appends made meanwhile are simply not seen.

What each check catches (the names in the report):
- the old chain (events before issue 15) event by event, and its length and head against the
  first seal: an edited, removed or re-chained old event, the newest old events removed;
- each seal's MAC under its key id, its link to the previous seal, consecutive numbers and
  touching transaction ranges: a seal forged, rewritten, removed or re-chained without the key;
- each batch's events against their seal (count and digest of the leaves), and each event's
  content against its own hash: events removed (the newest, fifty, most, all), edited (even
  with every hash recomputed), or inserted into the sealed past;
- the signed checkpoints: a line edited or signed by another key, lines removed, and the
  database's newest seal against the newest checkpoint: the newest seals and events deleted,
  both tables truncated, or an older backup restored.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils.timezone import now as timezone_now
from psycopg import sql

from audit.chain import (
    CHAINED_FIELDS,
    ROW_FIELDS,
    SEAL_GENESIS,
    SEALED_FIELDS,
    BatchDigest,
    RowHasher,
    chain_verify,
    seal_mac_valid,
)
from audit.checkpoints import (
    Checkpoint,
    CheckpointSink,
    checkpoints_read,
    settings_checkpoint_sinks,
)
from audit.keys import settings_checkpoint_keys, settings_seal_keys
from audit.models import AuditEvent, AuditSeal, SealKind

# What a seal row is read as: the fields its MAC covers, and the MAC.
SEAL_VALUES = (*SEALED_FIELDS, "mac")


@dataclass
class TrailReport:
    events: int = 0  # every event read
    legacy_events: int = 0
    sealed_events: int = 0  # found inside a sealed range
    unsealed_events: int = 0  # newer than the newest seal: not yet covered
    seals: int = 0
    checkpoints: int = 0
    head_seq: int | None = None
    head_mac: str = ""
    missing_events: int = 0
    first_broken_event_id: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _seal_range(seal: dict[str, Any]) -> str:
    if seal["first_event_id"] is None:
        return f"seal {seal['seq']}"
    return f"seal {seal['seq']} (event ids {seal['first_event_id']}–{seal['last_event_id']})"


class _Walk:
    def __init__(self, report: TrailReport, checkpoints: list[Checkpoint]) -> None:
        self.report = report
        self.keys = settings_seal_keys()
        self.wanted = {checkpoint.seq for checkpoint in checkpoints}
        self.macs: dict[int, str] = {}
        self.previous: dict[str, Any] | None = None

    def seal(self, seal: dict[str, Any]) -> None:
        """Check one seal on its own and against the one before it."""
        report, previous = self.report, self.previous
        report.seals += 1
        seq = seal["seq"]
        if seq in self.wanted:
            self.macs[seq] = seal["mac"]
        expected_seq = previous["seq"] + 1 if previous else 1
        if seq != expected_seq:
            report.problems.append(
                f"seals {expected_seq}–{seq - 1} are missing (seal {seq} follows "
                f"{'seal ' + str(previous['seq']) if previous else 'nothing'})"
            )
        key = self.keys.keys.get(seal["key_id"])
        if key is None:
            report.problems.append(
                f"seal {seq}: made with unknown key {seal['key_id'][:32]!r} (forged, or a "
                "retired key removed from NIGRANI_AUDIT_SEAL_KEYS)"
            )
        elif not seal_mac_valid(seal, key):
            report.problems.append(
                f"seal {seq}: MAC invalid (the seal was forged or rewritten without the key)"
            )
        if previous is None:
            if seal["prev_mac"] != SEAL_GENESIS or seal["kind"] != SealKind.LEGACY:
                report.problems.append(f"seal {seq}: the first seal is not the chain's anchor")
        else:
            if seal["prev_mac"] != previous["mac"]:
                report.problems.append(
                    f"seal {seq}: does not link to seal {previous['seq']} (seals re-chained)"
                )
            if seal["txid_lo"] != previous["txid_hi"]:
                report.problems.append(
                    f"seal {seq}: its transaction range does not start where seal "
                    f"{previous['seq']}'s ends (a batch is missing)"
                )
            if seal["total_events"] != previous["total_events"] + seal["event_count"]:
                report.problems.append(f"seal {seq}: running event total does not add up")
        self.previous = seal

    def batch(self, seal: dict[str, Any], found: BatchDigest) -> None:
        """Compare what a seal covered with the events found in its range."""
        report = self.report
        sealed = seal["event_count"]
        report.sealed_events += found.count
        if found.count < sealed:
            missing = sealed - found.count
            report.missing_events += missing
            report.problems.append(
                f"{_seal_range(seal)}: {missing} of its {sealed} events are missing (deleted)"
            )
        elif found.count > sealed:
            report.problems.append(
                f"{_seal_range(seal)}: {found.count - sealed} events in its range were never "
                "sealed (inserted into the sealed past: forged or backdated)"
            )
        elif found.hexdigest() != seal["digest"]:
            report.problems.append(
                f"{_seal_range(seal)}: its events differ from what was sealed (an event edited "
                "or replaced, its hash recomputed)"
            )


def _legacy(report: TrailReport, anchor: dict[str, Any] | None, chunk_size: int) -> None:
    legacy = (
        AuditEvent.objects.filter(txid__isnull=True)
        .order_by("id")
        .values("id", *CHAINED_FIELDS, "prev_hash", "hash")
        .iterator(chunk_size=chunk_size)
    )
    chain = chain_verify(legacy)
    report.legacy_events = chain.count
    report.events += chain.count
    if chain.first_break is not None:
        report.first_broken_event_id = chain.first_break.event_id
        report.problems.append(
            f"old chain BROKEN at event {chain.first_break.event_id}: {chain.first_break.reason} "
            f"({chain.verified} events verified before it)"
        )
        return
    if anchor is None:
        return
    if chain.count != anchor["event_count"] or chain.head_hash != anchor["digest"]:
        if chain.count < anchor["event_count"]:
            missing = anchor["event_count"] - chain.count
            report.missing_events += missing
            what = f"the newest {missing} of its {anchor['event_count']} events are missing"
        else:
            what = f"its head is not the anchored one ({chain.count} events found)"
        report.problems.append(f"old chain (anchored by seal {anchor['seq']}): {what}")


# The events as ``RowHasher`` reads them (``ROW_FIELDS``), in the text COPY writes: each
# column's output form (``actor_id`` in decimal, ``client_ip`` without a host mask, as the
# ORM reads it too, unlike ``inet::text``; ``details`` as jsonb text), and the instant
# rendered by the database in the canonical UTC form with microseconds.
_ROW_SQL = {
    "occurred_at": "to_char(occurred_at AT TIME ZONE 'UTC',"
    ' \'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\')',
}
# Names from the model, ``where`` from our own code (never from a request).
_EVENT_COPY = (
    "COPY (SELECT id, txid, hash, "  # noqa: S608
    + ", ".join(_ROW_SQL.get(name, name) for name in ROW_FIELDS)
    + f" FROM {AuditEvent._meta.db_table} WHERE {{where}} ORDER BY txid, id) TO STDOUT"
)
_EVENT_TYPES = ["int8", "int8", "text", *["text"] * len(ROW_FIELDS)]


def event_leaves(where: str, params: Sequence[Any] = ()) -> Iterator[tuple[int, int, str, str]]:
    """``(id, txid, stored hash, recomputed content hash)`` of the events matching ``where``
    (SQL over the event table's columns, ``{}`` for each of ``params``), in ``(txid, id)``
    order.

    Streamed by COPY, row tuples straight from psycopg's parser, no ORM instance or dict per
    row: the sealer's batch and the verifier's million events cost what hashing them costs.
    Inside the caller's transaction, so it reads that transaction's snapshot.
    """
    content_hash = RowHasher().content_hash
    with connection.cursor() as cursor:
        # COPY takes no bound parameters: the values are quoted as literals, client-side.
        statement = (
            sql.SQL(_EVENT_COPY.format(where=where))
            .format(*(sql.Literal(value) for value in params))
            .as_string(connection.connection)
        )
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(_EVENT_TYPES)
        for row in copy.rows():
            yield row[0], row[1], row[2], content_hash(row[3:])


def _sealed(report: TrailReport, walk: _Walk, chunk_size: int) -> None:
    seals = AuditSeal.objects.order_by("seq").values(*SEAL_VALUES).iterator(chunk_size=chunk_size)
    anchor = next(seals, None)
    if anchor is not None:
        walk.seal(anchor)
    _legacy(report, anchor if anchor and anchor["kind"] == SealKind.LEGACY else None, chunk_size)

    edited: list[int] = []
    orphans: list[int] = []
    carried: dict[int, list[tuple[int, str]]] = {}  # (id, hash) of transactions still pending

    def open_batch(seal: dict[str, Any] | None) -> tuple[BatchDigest, set[int], int, int]:
        found = BatchDigest()
        if seal is None:
            return found, set(), 0, 0
        walk.seal(seal)
        pending = set(seal["pending_txids"])
        # Carried transactions that ended before this seal join it first: lower txids.
        for txid in sorted(txid for txid in carried if txid not in pending):
            for event_id, hashed in carried.pop(txid):
                found.add_leaf(event_id, txid, hashed)
        return found, pending, seal["txid_lo"], seal["txid_hi"]

    # The walk below runs once per event: locals only, one method call per event (the leaf).
    current = next(seals, None)
    found, pending, txid_lo, txid_hi = open_batch(current)
    add_leaf = found.add_leaf
    events = unsealed = 0
    for event_id, txid, stored, hashed in event_leaves("txid IS NOT NULL"):
        events += 1
        if hashed != stored:
            edited.append(event_id)
        if current is not None and txid >= txid_hi:
            while current is not None and txid >= txid_hi:
                walk.batch(current, found)
                current = next(seals, None)
                found, pending, txid_lo, txid_hi = open_batch(current)
            add_leaf = found.add_leaf
        if current is None:
            unsealed += 1
        elif txid < txid_lo:
            orphans.append(event_id)
        elif txid in pending:
            carried.setdefault(txid, []).append((event_id, hashed))
        else:
            add_leaf(event_id, txid, hashed)
    report.events += events
    report.unsealed_events += unsealed
    while current is not None:
        walk.batch(current, found)
        current = next(seals, None)
        found, *_ = open_batch(current)
    report.unsealed_events += sum(len(events) for events in carried.values())
    if edited:
        report.first_broken_event_id = report.first_broken_event_id or edited[0]
        report.problems.append(
            f"event {edited[0]}: its content does not match its hash (edited)"
            + (f"; {len(edited) - 1} more events likewise" if len(edited) > 1 else "")
        )
    if orphans:
        report.problems.append(
            f"{len(orphans)} events from event {min(orphans)} on lie in no seal's range "
            "(their seal is missing)"
        )
    if walk.previous is not None:
        report.head_seq = walk.previous["seq"]
        report.head_mac = walk.previous["mac"]
        total = walk.previous["total_events"]
        if report.missing_events:
            report.problems.append(
                f"{report.missing_events} of {total} sealed events are missing"
                + (" (the table was truncated)" if report.events == 0 else "")
            )


def _checkpoint_problems(
    report: TrailReport,
    walk: _Walk,
    readings: list[tuple[CheckpointSink, list[Checkpoint]]],
    first_sealed_at: Any,
) -> None:
    """Compare the database's seals with the checkpoints of every sink: any sink's checkpoint
    that the database contradicts or is behind is a problem; each sink must also be current
    (a sink the publisher stopped reaching is named)."""
    checkpoints = [
        checkpoint for _, sink_checkpoints in readings for checkpoint in sink_checkpoints
    ]
    head_seq = report.head_seq or 0
    rewritten = [c for c in checkpoints if c.seq in walk.macs and walk.macs[c.seq] != c.mac]
    if rewritten:
        c = rewritten[0]
        report.problems.append(
            f"seal {c.seq} differs from {c.where} (published {c.published_at})"
            f": the seals were rewritten ({len(rewritten)} checkpoints disagree)"
        )
    ahead = [c for c in checkpoints if c.seq > head_seq]
    if ahead:
        newest = max(ahead, key=lambda c: c.seq)
        held = walk.previous["total_events"] if walk.previous else 0
        report.missing_events += max(0, newest.total_events - held)
        report.problems.append(
            f"{newest.where} (published {newest.published_at}) names seal "
            f"{newest.seq} covering {newest.total_events} events, but the database's newest "
            f"seal is {head_seq or 'none'} covering {held}: seals {head_seq + 1}–{newest.seq} "
            f"and {max(0, newest.total_events - held)} events are missing (the newest deleted, "
            "the tables truncated, or an older backup restored)"
        )
    if first_sealed_at is None:
        return
    interval = timedelta(seconds=2 * settings.NIGRANI_AUDIT_CHECKPOINT_SECONDS)
    for sink, sink_checkpoints in readings:
        if not sink_checkpoints:
            if timezone_now() - first_sealed_at > interval:
                report.problems.append(
                    f"no signed checkpoint at {sink.describe()}, though sealing began "
                    f"{first_sealed_at:%Y-%m-%d %H:%M} UTC (the {sink.unit}s were removed, or "
                    "none was ever published there)"
                )
            continue
        newest = max(sink_checkpoints, key=lambda c: c.seq)
        if (
            walk.previous is not None
            and walk.previous["seq"] > newest.seq
            and timezone_now() - walk.previous["sealed_at"] > interval + timedelta(seconds=60)
        ):
            report.problems.append(
                f"seals {newest.seq + 1}–{walk.previous['seq']} are older than "
                f"{interval.seconds + 60} s and in no checkpoint at {sink.describe()}: the "
                "publisher is not running or cannot reach it (until it does, the newest "
                "events can be cut unnoticed)"
            )
    if checkpoints:
        earliest = min(
            (c for c in checkpoints if c.published_at),
            key=lambda c: c.published_at,
            default=None,
        )
        if earliest is None:
            return
        first = datetime.fromisoformat(earliest.published_at)
        if first - first_sealed_at > interval + timedelta(seconds=60):
            report.problems.append(
                f"the checkpoints start at {earliest.published_at}, long after sealing "
                f"began ({first_sealed_at:%Y-%m-%d %H:%M} UTC): earlier {readings[0][0].unit}s "
                "were removed, or no publisher ran meanwhile"
            )


def audit_trail_verify(*, chunk_size: int = 5000) -> TrailReport:
    """Walk everything and name every problem found (an empty list: the trail is intact)."""
    report = TrailReport()
    keys = settings_checkpoint_keys()
    readings: list[tuple[CheckpointSink, list[Checkpoint]]] = []
    sink_problems: list[str] = []
    for sink in settings_checkpoint_sinks():
        held = sink.read()
        reading = checkpoints_read(held.entries or [], keys=keys, where=sink.where, unit=sink.unit)
        readings.append((sink, reading.checkpoints))
        sink_problems.extend(held.problems)
        sink_problems.extend(reading.problems)
    report.checkpoints = max((len(found) for _, found in readings), default=0)
    all_checkpoints = [checkpoint for _, found in readings for checkpoint in found]
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        walk = _Walk(report, all_checkpoints)
        _sealed(report, walk, chunk_size)
        first_sealed_at = (
            AuditSeal.objects.order_by("seq").values_list("sealed_at", flat=True).first()
        )
    report.problems.extend(sink_problems)
    _checkpoint_problems(report, walk, readings, first_sealed_at)
    return report
