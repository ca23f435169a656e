"""Ping ingest: validate a batch, store it by COPY into the partitioned table, evaluate it with
the engine and turn episodes into violations — one transaction per batch.

Order inside the transaction, on purpose:
1. lock the batch's offenders' ``OffenderTrack`` rows with their devices' rows (ascending
   offender, then device: two batches never deadlock), reading the states, the devices' marks
   and the offenders' applicability facts in the same statement: one row lock per offender per
   batch serialises that offender's state across every process, and nothing else is locked;
2. drop duplicates (same device and ``device_seq``) — safe as a check because every insert for
   a device happens under its offender's lock; a unique index is the backstop;
3. COPY the accepted pings (a large batch);
4. evaluate, then one statement saves the states, the devices' marks, a small batch's pings and
   the batch's receipt;
5. raise / end violations last, for the few breaches only: their alert stream events lock
   the districts' counters until commit, taken once and in order for the whole batch
   (``alert_events_held``), never across the COPY.

A device's batch of a few fixes is thus five round trips (the receipt and zone-set check, BEGIN,
the lock, the save, COMMIT). The hot statements go through ``common.db.bound_cursor``: values
bound on the server, statements prepared once per connection.
"""

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import ujson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from common.db import bound_cursor
from compliance.alerts import alert_events_held
from compliance.models import Severity, Violation
from compliance.services import ViolationRaise, violation_end, violations_raise_many
from geofence import engine
from geofence.models import (
    CredentialStatus,
    Episode,
    EpisodeKind,
    Gateway,
    OffenderTrack,
    TrackingDevice,
)
from geofence.services.partitions import partitions_ensure
from geofence.services.zones import ZONE_SET_VERSION_SQL
from geofence.zone_index import zone_index_current
from registry.models import Offender

PING_COLUMNS = (
    "device_id",
    "offender_id",
    "device_seq",
    "recorded_at",
    "received_at",
    "lon",
    "lat",
    "accuracy_m",
    "battery",
)


@dataclass(slots=True)
class _Device:
    """What ingest reads of a device (plain columns, no model instance: 250 rows a batch)."""

    pk: int
    offender_id: int
    max_seq: int | None = None
    last_ping_at: datetime | None = None
    offline_violation_id: int | None = None


class MalformedBatch(ValueError):
    """The batch as a whole is unusable (not a list, too long, no well-formed item): 400."""


@dataclass(slots=True)
class Accepted:
    index: int
    device: TrackingDevice | _Device
    seq: int
    recorded_at: datetime
    lon: float
    lat: float
    accuracy_m: float
    battery: int | None


@dataclass
class IngestResult:
    accepted: int = 0
    duplicate: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    opened: int = 0
    ended: int = 0

    def response(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": len(self.rejected),
            "errors": self.rejected,
        }


def engine_config() -> engine.EngineConfig:
    return engine.EngineConfig(
        n_fixes=settings.NIGRANI_GEOFENCE_CONSECUTIVE_FIXES,
        max_accuracy_m=settings.NIGRANI_GEOFENCE_MAX_ACCURACY_M,
        last_fix_valid_for=timedelta(minutes=settings.NIGRANI_TAG_OFFLINE_MINUTES),
    )


def _number(value: Any) -> float | None:
    """A finite JSON number as a float (``type() is``: a bool is not a number here)."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int:
        try:
            return float(value)
        except OverflowError:  # an integer beyond any float
            return None
    return None


def _parse_time(value: Any) -> datetime | None:
    if type(value) is not str:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


_REQUIRED = frozenset(("device_seq", "recorded_at", "lat", "lon", "accuracy_m"))
_SEQ_MAX = 2**63


def _check_item(
    item: Any, *, now: datetime, oldest: datetime, newest: datetime
) -> tuple[tuple[int, datetime, float, float, float, int | None] | None, str]:
    """The parsed ping ``(seq, recorded_at, lon, lat, accuracy_m, battery)``, or None and why
    not (a machine-readable reason). Run for every ping of every batch: plain type checks."""
    if type(item) is not dict or not item.keys() >= _REQUIRED:
        return None, "malformed"
    seq = item["device_seq"]
    if type(seq) is not int or not 0 <= seq < _SEQ_MAX:
        return None, "bad_device_seq"
    lat, lon, accuracy = _number(item["lat"]), _number(item["lon"]), _number(item["accuracy_m"])
    if lat is None or lon is None or accuracy is None:
        return None, "malformed"
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, "out_of_range"
    if accuracy <= 0:
        return None, "bad_accuracy"
    recorded_at = _parse_time(item["recorded_at"])
    if recorded_at is None:
        return None, "bad_recorded_at"
    if recorded_at > newest:
        return None, "in_future"
    if recorded_at < oldest:
        return None, "too_old"
    battery = item.get("battery")
    if battery is not None and (type(battery) is not int or not 0 <= battery <= 100):
        return None, "bad_battery"
    return (seq, recorded_at, lon, lat, accuracy, battery), ""


def batch_digest(items: list[Any]) -> str:
    """The identity of a batch for its receipt: SHA-256 of its canonical JSON (sorted keys;
    ujson, about 2.5× json's speed on a batch of 1,000)."""
    return hashlib.sha256(ujson.dumps(items, sort_keys=True).encode()).hexdigest()


def pings_ingest(
    *,
    items: Any,
    device: TrackingDevice | None = None,
    gateway: Gateway | None = None,
    now: datetime | None = None,
) -> IngestResult | dict[str, Any]:
    """Ingest one batch from a device (its own pings) or a gateway (each item names its
    ``device`` by serial; only devices bound to the gateway). Returns the result, or the stored
    answer of an identical earlier batch."""
    if (device is None) == (gateway is None):
        raise ValueError("give exactly one of device or gateway")
    if not isinstance(items, list):
        raise MalformedBatch("The batch must be a list of pings.")
    if not items:
        raise MalformedBatch("The batch is empty.")
    if len(items) > settings.NIGRANI_PING_BATCH_MAX:
        raise MalformedBatch(f"A batch holds at most {settings.NIGRANI_PING_BATCH_MAX} pings.")
    if not any(isinstance(item, dict) for item in items):
        raise MalformedBatch("No item of the batch is a ping object.")
    now = now or timezone.now()
    sender = f"device:{device.pk}" if device else f"gateway:{gateway.pk}"
    digest = batch_digest(items)
    with bound_cursor() as cursor:
        cursor.execute(_BEFORE, [sender, digest])
        version, stored = cursor.fetchone()
    if stored is not None:
        return json.loads(stored)
    oldest = now - timedelta(days=settings.NIGRANI_PING_RETENTION_DAYS)
    newest = now + timedelta(seconds=settings.NIGRANI_PING_CLOCK_SKEW_SECONDS)
    result = IngestResult()
    devices = _gateway_devices(gateway, items) if gateway else {}
    parsed: list[Accepted] = []
    for index, item in enumerate(items):
        ping, reason = _check_item(item, now=now, oldest=oldest, newest=newest)
        target = device
        if ping is not None and gateway is not None:
            serial = item.get("device")
            target = devices.get(serial) if isinstance(serial, str) else None
            if target is None:
                ping, reason = None, "unknown_device"
        if ping is None:
            result.rejected.append({"index": index, "reason": reason})
            continue
        parsed.append(Accepted(index, target, *ping))
    if (
        result.rejected
        and len(result.rejected) == len(items)
        and all(r["reason"] == "malformed" for r in result.rejected)
    ):
        raise MalformedBatch("No item of the batch is a well-formed ping.")
    receipt = (sender, digest)
    index = None
    if parsed:
        partitions_ensure({p.recorded_at for p in parsed})
        # Before any lock: a cold process's first build (seconds at national scale) or a
        # patch must not hold the offenders' rows.
        index = zone_index_current(version or 0)
    with transaction.atomic():
        if parsed:
            _ingest_locked(parsed, now=now, result=result, index=index, receipt=receipt)
        else:
            # One statement; a concurrent identical batch that stored its receipt first keeps it.
            _save(now=now, result=result, receipt=receipt)
    return result


# The zone-set version and an identical batch's stored answer, in one round trip.
_BEFORE = (
    f"SELECT ({ZONE_SET_VERSION_SQL}), "  # noqa: S608 - composed of module constants only
    "(SELECT response::text FROM geofence_pingbatchreceipt WHERE sender = %s AND digest = %s)"
)


def _gateway_devices(gateway: Gateway, items: list[Any]) -> dict[str, _Device]:
    serials = {item.get("device") for item in items if isinstance(item, dict)}
    serials = [s for s in serials if isinstance(s, str)]
    return {
        serial: _Device(pk, offender_id)
        for serial, pk, offender_id in TrackingDevice.objects.filter(
            gateway=gateway, serial__in=serials, status=CredentialStatus.ACTIVE
        ).values_list("serial", "id", "offender_id")
    }


def _ingest_locked(
    parsed: list[Accepted],
    *,
    now: datetime,
    result: IngestResult,
    index: engine.ZoneIndex,
    receipt: tuple[str, str],
) -> None:
    offender_ids = sorted({p.device.offender_id for p in parsed})
    device_ids = sorted({p.device.pk for p in parsed})
    with bound_cursor() as cursor:
        tracks, facts, live = _lock(cursor, offender_ids, device_ids)
    fresh: list[Accepted] = []
    for ping in parsed:
        # Re-read under the lock: a revocation committed a moment ago stops acceptance now.
        if ping.device.pk not in live:
            result.rejected.append({"index": ping.index, "reason": "device_revoked"})
        else:
            ping.device = live[ping.device.pk]
            fresh.append(ping)
    fresh = _drop_duplicates(fresh, result)
    result.rejected.sort(key=lambda r: r["index"])
    result.accepted = len(fresh)
    if not fresh:
        _save(now=now, result=result, receipt=receipt)
        return
    inline = len(fresh) <= COPY_FROM
    if not inline:
        _copy_pings(fresh, received_at=now)
    by_offender: dict[int, list[Accepted]] = defaultdict(list)
    for ping in fresh:
        by_offender[ping.device.offender_id].append(ping)
    work = []
    for offender_id, pings in by_offender.items():
        pings.sort(key=lambda p: (p.recorded_at, p.seq))
        fixes = [engine.Fix(p.recorded_at, p.lon, p.lat, p.accuracy_m) for p in pings]
        work.append((tracks[offender_id], facts[offender_id], fixes))
    outcomes = engine.evaluate_batch(work, index=index, config=engine_config())
    events: list[engine.Event] = []
    states = []
    for state, new_events in outcomes:
        states.append(state)
        events.extend(new_events)
    resumed = _save(
        now=now,
        result=result,
        receipt=receipt,
        states=states,
        pings=fresh,
        live=live,
        inline=inline,
    )
    # Last, and with their alert stream events held to one append: the writes that lock the
    # districts' stream counters until commit, so that two processes' batches take them in
    # one go and in order (taken step by step, they deadlocked).
    with alert_events_held():
        for violation_id, first_at in resumed:
            violation = Violation.objects.filter(pk=violation_id).first()
            if violation is not None:
                violation_end(
                    violation=violation,
                    ended_at=max(first_at, violation.occurred_at),
                    reason="pings_resumed",
                )
        opened, ended = episodes_apply(events)
    result.opened, result.ended = opened, ended


# A batch of at most this many accepted pings is inserted by the save statement; a larger one
# by a binary COPY first (per row several times cheaper, but a round trip more).
COPY_FROM = 16

# Applicability facts of an offender ``o``: the risk tier, the supervising district, and
# whether any conviction had a minor victim (``offender_facts`` and the ingest lock read them).
_FACTS = (
    "o.risk_tier, o.district_id, EXISTS (SELECT 1 FROM registry_conviction c "
    "WHERE c.offender_id = o.id AND c.victim_minor)"
)

# The batch's tracks and devices, locked in ascending (offender, device) order, with what the
# engine needs: one row per device (whatever its status: a revoked one is locked and reported).
_LOCK = f"""
SELECT t.offender_id, t.state::text, {_FACTS},
    d.id, d.status, d.max_seq, d.last_ping_at, d.offline_violation_id
FROM geofence_offendertrack t
JOIN registry_offender o ON o.id = t.offender_id
JOIN geofence_trackingdevice d ON d.offender_id = t.offender_id AND d.id = ANY(%b::bigint[])
WHERE t.offender_id = ANY(%b::bigint[])
ORDER BY t.offender_id, d.id
FOR UPDATE OF t, d
"""  # noqa: S608 - composed of module constants only


def _lock(
    cursor: Any, offender_ids: list[int], device_ids: list[int]
) -> tuple[dict[int, engine.OffenderState], dict[int, engine.OffenderFacts], dict[int, _Device]]:
    """Lock the batch's offenders' tracks and devices and read them: one statement once every
    offender has a track. Offenders seen for the first time get their row (``ON CONFLICT DO
    NOTHING``: a concurrent first batch may make it) and are locked after the others."""
    cursor.execute(_LOCK, [device_ids, offender_ids])
    rows = cursor.fetchall()
    have = {row[0] for row in rows}
    if len(have) < len(offender_ids):
        missing = [o for o in offender_ids if o not in have]
        cursor.execute(
            "INSERT INTO geofence_offendertrack (offender_id, state, updated_at) "
            "SELECT unnest(%s::bigint[]), '{}'::jsonb, now() ON CONFLICT DO NOTHING",
            [missing],
        )
        cursor.execute(_LOCK, [device_ids, missing])
        rows += cursor.fetchall()
    states: dict[int, engine.OffenderState] = {}
    facts: dict[int, engine.OffenderFacts] = {}
    live: dict[int, _Device] = {}
    active = CredentialStatus.ACTIVE.value
    for offender_id, state, tier, district_id, minor, device_id, status, *marks in rows:
        if offender_id not in states:
            # ujson: the same floats as json (shortest round trip), 2–4× faster a state.
            data = ujson.loads(state)
            states[offender_id] = (
                engine.OffenderState.from_dict(data)
                if data
                else engine.OffenderState(offender_id=offender_id)
            )
            facts[offender_id] = _facts(offender_id, tier, district_id, minor)
        if status == active:
            live[device_id] = _Device(device_id, offender_id, *marks)
    return states, facts, live


def _facts(
    offender_id: int, tier: int, district_id: int | None, victim_minor: bool
) -> engine.OffenderFacts:
    return engine.OffenderFacts(
        offender_id=offender_id,
        victim_minor=victim_minor,
        categories=frozenset({f"risk_tier:{tier}", f"district:{district_id}"}),
    )


def _drop_duplicates(pings: list[Accepted], result: IngestResult) -> list[Accepted]:
    """Keep the first of each (device, seq) not already stored. A seq above the device's
    high-water mark is new without a lookup; only lower ones (late or retried) are looked up,
    all in one statement."""
    seen: set[tuple[int, int]] = set()
    to_check: list[tuple[int, int]] = []
    for ping in pings:
        mark = ping.device.max_seq
        if mark is not None and ping.seq <= mark:
            to_check.append((ping.device.pk, ping.seq))
    stored: set[tuple[int, int]] = set()
    if to_check:
        with bound_cursor() as cursor:
            cursor.execute(
                "SELECT p.device_id, p.device_seq FROM geofence_ping p "
                "JOIN unnest(%s::bigint[], %s::bigint[]) AS v(device_id, seq) "
                "ON p.device_id = v.device_id AND p.device_seq = v.seq",
                [[d for d, _ in to_check], [q for _, q in to_check]],
            )
            stored.update(cursor.fetchall())
    kept = []
    for ping in pings:
        key = (ping.device.pk, ping.seq)
        if key in seen or key in stored:
            result.duplicate += 1
            continue
        seen.add(key)
        kept.append(ping)
    return kept


# The columns' types (migration 0002): COPY in binary skips formatting every value as text
# in Python and parsing it again in the server (about 3× cheaper for a batch of 1,000).
PING_TYPES = (
    "int8",
    "int8",
    "int8",
    "timestamptz",
    "timestamptz",
    "float8",
    "float8",
    "float4",
    "int2",
)


def _copy_pings(pings: list[Accepted], *, received_at: datetime) -> None:
    sql = f"COPY geofence_ping ({', '.join(PING_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.set_types(PING_TYPES)
        write_row = copy.write_row
        for p in pings:
            write_row(
                (
                    p.device.pk,
                    p.device.offender_id,
                    p.seq,
                    p.recorded_at,
                    received_at,
                    p.lon,
                    p.lat,
                    p.accuracy_m,
                    p.battery,
                )
            )


# Everything a batch writes but its violations, in one statement: the offenders' states, the
# devices' newest fix and seq mark (and the end of a silence), a small batch's pings, and the
# batch's receipt (a concurrent identical batch that stored its receipt first keeps it).
# Data-modifying CTEs all run, referenced or not, and the statement is atomic.
_SAVE = f"""
WITH tracks AS (
    UPDATE geofence_offendertrack t SET state = v.state::jsonb, last_fix_at = v.at,
        last_lon = v.lon, last_lat = v.lat, updated_at = now()
    FROM unnest(%(t_id)b::bigint[], %(t_state)b::text[], %(t_at)b::timestamptz[],
        %(t_lon)b::float8[], %(t_lat)b::float8[]) AS v(id, state, at, lon, lat)
    WHERE t.offender_id = v.id
), devices AS (
    UPDATE geofence_trackingdevice d SET last_ping_at = v.last, max_seq = v.mark,
        offline_violation_id = NULL
    FROM unnest(%(d_id)b::bigint[], %(d_last)b::timestamptz[], %(d_mark)b::bigint[])
        AS v(id, last, mark)
    WHERE d.id = v.id
), pings AS (
    INSERT INTO geofence_ping ({", ".join(PING_COLUMNS)})
    SELECT v.device_id, v.offender_id, v.seq, v.recorded_at, %(now)s, v.lon, v.lat, v.acc,
        v.battery
    FROM unnest(%(p_device)b::bigint[], %(p_offender)b::bigint[], %(p_seq)b::bigint[],
        %(p_at)b::timestamptz[], %(p_lon)b::float8[], %(p_lat)b::float8[],
        %(p_acc)b::float4[], %(p_battery)b::int2[])
        AS v(device_id, offender_id, seq, recorded_at, lon, lat, acc, battery)
)
INSERT INTO geofence_pingbatchreceipt (sender, digest, response, created_at)
VALUES (%(sender)s, %(digest)s, %(response)s::jsonb, %(now)s)
ON CONFLICT (sender, digest) DO NOTHING
"""  # noqa: S608 - composed of module constants only


def _save(
    *,
    now: datetime,
    result: IngestResult,
    receipt: tuple[str, str],
    states: Sequence[engine.OffenderState] = (),
    pings: Sequence[Accepted] = (),
    live: dict[int, _Device] | None = None,
    inline: bool = False,
) -> list[tuple[int, datetime]]:
    """Write the batch (``_SAVE``); return the devices that were silent (an open
    ``tag_offline``) with their first new fix."""
    params: dict[str, Any] = {
        "now": now,
        "sender": receipt[0],
        "digest": receipt[1],
        "response": json.dumps(result.response()),
    }
    params.update(_track_columns(states))
    marks, resumed = _device_marks(pings, live or {})
    params.update(marks)
    params.update(_ping_columns(pings if inline else []))
    with bound_cursor() as cursor:
        cursor.execute(_SAVE, params)
    return resumed


def _track_columns(states: Sequence[engine.OffenderState]) -> dict[str, list[Any]]:
    ids, blobs, times, lons, lats = [], [], [], [], []
    for state in states:
        last = state.last_fix
        ids.append(state.offender_id)
        blobs.append(ujson.dumps(state.to_dict()))
        times.append(last.recorded_at if last else None)
        lons.append(last.lon if last else None)
        lats.append(last.lat if last else None)
    return {"t_id": ids, "t_state": blobs, "t_at": times, "t_lon": lons, "t_lat": lats}


def _device_marks(
    pings: Sequence[Accepted], live: dict[int, _Device]
) -> tuple[dict[str, list[Any]], list[tuple[int, datetime]]]:
    """Each device's newest fix and seq mark, moved forward only; and the devices that were
    silent (an open ``tag_offline``) with their first new fix."""
    newest: dict[int, datetime] = {}
    first: dict[int, datetime] = {}
    top: dict[int, int] = {}
    for p in pings:
        pk = p.device.pk
        newest[pk] = max(newest.get(pk, p.recorded_at), p.recorded_at)
        first[pk] = min(first.get(pk, p.recorded_at), p.recorded_at)
        top[pk] = max(top.get(pk, p.seq), p.seq)
    resumed = []
    ids, lasts, tops = [], [], []
    for pk, device in live.items():
        if pk not in newest:
            continue
        ids.append(pk)
        lasts.append(max(device.last_ping_at or newest[pk], newest[pk]))
        tops.append(max(device.max_seq if device.max_seq is not None else top[pk], top[pk]))
        if device.offline_violation_id is not None:
            resumed.append((device.offline_violation_id, first[pk]))
    return {"d_id": ids, "d_last": lasts, "d_mark": tops}, resumed


def _ping_columns(pings: Sequence[Accepted]) -> dict[str, list[Any]]:
    return {
        "p_device": [p.device.pk for p in pings],
        "p_offender": [p.device.offender_id for p in pings],
        "p_seq": [p.seq for p in pings],
        "p_at": [p.recorded_at for p in pings],
        "p_lon": [p.lon for p in pings],
        "p_lat": [p.lat for p in pings],
        "p_acc": [p.accuracy_m for p in pings],
        "p_battery": [p.battery for p in pings],
    }


def offender_facts(offender_ids: list[int]) -> dict[int, engine.OffenderFacts]:
    """Applicability facts: a minor victim in any conviction, the risk tier and the
    supervising district as categories (``risk_tier:<n>``, ``district:<id>``)."""
    with bound_cursor() as cursor:
        cursor.execute(
            f"SELECT o.id, {_FACTS} FROM registry_offender o WHERE o.id = ANY(%s::bigint[])",  # noqa: S608
            [list(offender_ids)],
        )
        return {row[0]: _facts(*row) for row in cursor.fetchall()}


def track_state(track: OffenderTrack) -> engine.OffenderState:
    if not track.state:
        return engine.OffenderState(offender_id=track.offender_id)
    return engine.OffenderState.from_dict(track.state)


def track_save(track: OffenderTrack, state: engine.OffenderState) -> None:
    last = state.last_fix
    OffenderTrack.objects.filter(pk=track.pk).update(
        state=state.to_dict(),
        last_fix_at=last.recorded_at if last else None,
        last_lon=last.lon if last else None,
        last_lat=last.lat if last else None,
        updated_at=timezone.now(),
    )


_EPISODE_KIND = {
    engine.RULE_EXCLUSION: EpisodeKind.EXCLUSION_ZONE,
    engine.RULE_TRAVEL: EpisodeKind.TRAVEL_WITHOUT_NOTICE,
}


def episodes_apply(events: list[engine.Event]) -> tuple[int, int]:
    """Turn engine events into episodes and violations (the violation's cause is the episode,
    so a re-delivered event raises nothing twice).

    Set-based: the events go in rounds — round k holds the k-th event of each (offender, kind,
    zone) — so one episode's open, end and re-open keep their order while each round is one
    INSERT of the new episodes, one ``violations_raise_many`` and one UPDATE of the ended."""
    opened = ended = 0
    if not events:
        return 0, 0
    offenders = Offender.objects.only("id", "district_id", "station_id").in_bulk(
        {e.offender_id for e in events}
    )
    rounds: list[list[engine.Event]] = []
    seen: dict[tuple, int] = defaultdict(int)
    for event in events:
        key = (event.offender_id, event.rule, event.zone_id)
        n = seen[key]
        seen[key] += 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(event)
    for batch in rounds:
        opens = [e for e in batch if isinstance(e, engine.EpisodeOpened)]
        ends = [e for e in batch if not isinstance(e, engine.EpisodeOpened)]
        if ends:
            ended += _episodes_end(ends)
        if opens:
            opened += _episodes_open(opens, offenders)
    return opened, ended


_EPISODES_OPEN = """
INSERT INTO geofence_episode (offender_id, kind, zone_id, started_at, ended_at, lon, lat)
SELECT v.offender_id, v.kind, v.zone_id, v.started_at, NULL, v.lon, v.lat
FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[], %s::timestamptz[], %s::float8[],
    %s::float8[]) WITH ORDINALITY AS v(offender_id, kind, zone_id, started_at, lon, lat, n)
ORDER BY v.n
ON CONFLICT (offender_id, kind, zone_id) WHERE ended_at IS NULL DO NOTHING
RETURNING id, offender_id, kind, zone_id
"""


def _episodes_open(opens: list[engine.EpisodeOpened], offenders: dict[int, Offender]) -> int:
    """One INSERT for the round's new episodes (the partial unique constraint skips one
    already open), then their violations at once."""
    kinds = [_EPISODE_KIND[e.rule] for e in opens]
    with connection.cursor() as cursor:
        cursor.execute(
            _EPISODES_OPEN,
            [
                [e.offender_id for e in opens],
                [str(k) for k in kinds],
                [e.zone_id for e in opens],
                [e.started_at for e in opens],
                [e.lon for e in opens],
                [e.lat for e in opens],
            ],
        )
        made = {(o, k, z): pk for pk, o, k, z in cursor.fetchall()}
    raises, episode_ids = [], []
    for event, kind in zip(opens, kinds, strict=True):
        pk = made.pop((event.offender_id, str(kind), event.zone_id), None)
        if pk is None:
            continue
        episode = Episode(pk=pk, offender_id=event.offender_id, kind=kind, zone_id=event.zone_id)
        episode_ids.append(pk)
        raises.append(
            ViolationRaise(
                offender=offenders[event.offender_id],
                kind=kind,
                severity=Severity.HIGH if kind == EpisodeKind.EXCLUSION_ZONE else Severity.MEDIUM,
                occurred_at=event.started_at,
                detected_at=event.detected_at,
                cause=episode,
                lon=event.lon,
                lat=event.lat,
                summary=_summary(kind, event.zone_id),
            )
        )
    if not raises:
        return 0
    violations = violations_raise_many(raises)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE geofence_episode e SET violation_id = v.violation FROM "
            "unnest(%s::bigint[], %s::bigint[]) AS v(id, violation) WHERE e.id = v.id",
            [episode_ids, [v.pk for v, _ in violations]],
        )
    return len(raises)


_EPISODES_END = """
UPDATE geofence_episode e SET ended_at = GREATEST(v.ended_at, e.started_at)
FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[], %s::timestamptz[])
    AS v(offender_id, kind, zone_id, ended_at)
WHERE e.offender_id = v.offender_id AND e.kind = v.kind
  AND e.zone_id IS NOT DISTINCT FROM v.zone_id AND e.ended_at IS NULL
RETURNING e.id, e.violation_id, e.ended_at, v.kind, v.offender_id, v.zone_id
"""


def _episodes_end(ends: list[engine.Event]) -> int:
    """One UPDATE ends the round's open episodes; their violations end (and audit) each."""
    reasons = {(e.offender_id, str(_EPISODE_KIND[e.rule]), e.zone_id): e.reason for e in ends}
    with connection.cursor() as cursor:
        cursor.execute(
            _EPISODES_END,
            [
                [e.offender_id for e in ends],
                [str(_EPISODE_KIND[e.rule]) for e in ends],
                [e.zone_id for e in ends],
                [e.ended_at for e in ends],
            ],
        )
        rows = cursor.fetchall()
    violations = Violation.objects.in_bulk([r[1] for r in rows if r[1] is not None])
    for _pk, violation_id, ended_at, kind, offender_id, zone_id in sorted(rows):
        violation = violations.get(violation_id)
        if violation is not None:
            violation_end(
                violation=violation,
                ended_at=ended_at,
                reason=reasons[(offender_id, kind, zone_id)],
            )
    return len(rows)


def _summary(kind: str, zone_id: int | None) -> str:
    if kind == EpisodeKind.EXCLUSION_ZONE:
        return f"entered exclusion zone #{zone_id}"
    if zone_id is None:
        return "outside the permitted area with no travel window"
    return f"outside scheduled inclusion zone #{zone_id}"
