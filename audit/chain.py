"""The trail's canonical forms (pure: no Django), shared by writing, sealing and verifying.

Two generations live side by side. Events written before issue 15 form one SHA-256 hash chain
(``event_hash`` over the content and ``prev_hash``). Events written since carry only their own
content hash and are linked afterwards by the sealer into batches: each seal holds a digest of
its events' leaves (id, transaction id and content hash, in (txid, id) order) and an HMAC over
its own canonical form, which names the previous seal's MAC, so seals form a keyed chain.

The canonical form must give the same bytes for a value as written and as read back from
PostgreSQL, on any Python version: datetimes are rendered in UTC with microseconds, IP
addresses in a fixed spelling (PostgreSQL's ``inet`` and Python's ``ipaddress`` disagree on
how to print some IPv6 forms), and integral floats in ``details`` as integers (``jsonb`` keeps
numbers as decimals, so ``1e16`` comes back as ``10000000000000000``).
"""

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
CHAINED_FIELDS = (
    "occurred_at",
    "actor_id",
    "actor_username",
    "role",
    "agency",
    "device_id",
    "client_ip",
    "request_id",
    "action",
    "object_type",
    "object_id",
    "purpose",
    "outcome",
    "details",
)


def _canonical_datetime(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _canonical_ip(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    address = ipaddress.ip_address(value)
    # ``exploded`` is spelled the same by every Python version; ``str()`` of an IPv4-mapped
    # IPv6 address changed in 3.13.
    return address.exploded if address.version == 6 else str(address)


def _canonical_json(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: _canonical_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical_json(item) for item in value]
    return value


def _normalise(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return _canonical_datetime(value)
    if name == "client_ip":
        return _canonical_ip(value)
    if name == "details":
        return _canonical_json(value or {})
    return value


def content_hash(content: Mapping[str, Any]) -> str:
    """The hash a new (sealed, not chained) event carries: its content alone."""
    return event_hash(content, "")


def event_hash(content: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 over the sorted-key JSON of the chained fields plus the previous hash."""
    canonical = {name: _normalise(name, content.get(name)) for name in CHAINED_FIELDS}
    canonical["prev_hash"] = prev_hash
    payload = json.dumps(
        canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    count: int
    head_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None

    @property
    def verified(self) -> int:
        """Events verified intact (the walk stops at, and counts, the breaking event)."""
        return self.count if self.first_break is None else self.count - 1


def chain_verify(events: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Walk events in id order (each with ``id``, the chained fields, ``prev_hash`` and
    ``hash``) and stop at the first one that breaks the chain.

    Holds only the previous event, so it verifies a table of any size in constant memory.
    """
    count = 0
    previous: Mapping[str, Any] | None = None
    for event in events:
        count += 1
        expected_prev = previous["hash"] if previous else GENESIS_HASH
        if event["prev_hash"] != expected_prev:
            if previous is not None and event["prev_hash"] == previous["prev_hash"]:
                reason = (
                    f"hash reused: prev_hash is also the prev_hash of event {previous['id']} "
                    "(the chain forks)"
                )
            elif previous is None:
                reason = "prev_hash link broken: the first event does not start from genesis"
            else:
                reason = (
                    f"prev_hash link broken: does not match the hash of event {previous['id']} "
                    "(an event was removed or inserted)"
                )
            return ChainReport(count, expected_prev, ChainBreak(event["id"], reason))
        if event_hash(event, event["prev_hash"]) != event["hash"]:
            reason = "content hash mismatch: the stored content does not give the stored hash"
            return ChainReport(count, expected_prev, ChainBreak(event["id"], reason))
        previous = event
    return ChainReport(count, previous["hash"] if previous else GENESIS_HASH, None)


# --- seals ------------------------------------------------------------------------------------

SEAL_GENESIS = "0" * 64
SEALED_FIELDS = (
    "seq",
    "kind",
    "txid_lo",
    "txid_hi",
    "pending_txids",
    "event_count",
    "total_events",
    "first_event_id",
    "last_event_id",
    "digest",
    "prev_mac",
    "key_id",
    "sealed_at",
)


def event_leaf(*, event_id: int, txid: int, hashed: str) -> bytes:
    """One event's leaf in its batch digest: its id, transaction id and content hash as
    recomputed from the row (never the stored one, which whoever edits the row can recompute
    too)."""
    return hashlib.sha256(f"{event_id}:{txid}:{hashed}".encode()).digest()


class BatchDigest:
    """Running SHA-256 over the leaves of one batch, in (txid, id) order: constant memory."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256(b"nigrani-audit-batch-v1")
        self.count = 0
        self.first_event_id: int | None = None
        self.last_event_id: int | None = None

    def add(
        self, *, event_id: int, txid: int, content: Mapping[str, Any], hashed: str | None = None
    ) -> None:
        """Add one event; ``hashed`` is its ``content_hash`` when the caller has it already."""
        leaf = event_leaf(event_id=event_id, txid=txid, hashed=hashed or content_hash(content))
        self._hash.update(leaf)
        self.count += 1
        if self.first_event_id is None or event_id < self.first_event_id:
            self.first_event_id = event_id
        if self.last_event_id is None or event_id > self.last_event_id:
            self.last_event_id = event_id

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def seal_message(seal: Mapping[str, Any]) -> bytes:
    """The canonical bytes a seal's MAC covers (every sealed field, the key id included)."""
    canonical = {name: _normalise(name, seal.get(name)) for name in SEALED_FIELDS}
    canonical["pending_txids"] = sorted(canonical["pending_txids"] or [])
    return json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()


def seal_mac(seal: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, seal_message(seal), hashlib.sha256).hexdigest()


def seal_mac_valid(seal: Mapping[str, Any], key: bytes) -> bool:
    return hmac.compare_digest(seal_mac(seal, key), seal.get("mac") or "")
