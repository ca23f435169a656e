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


# The canonical payload is ``json.dumps(canonical, sort_keys=True, separators=(",", ":"),
# ensure_ascii=False, allow_nan=False)`` of the chained fields plus ``prev_hash``. Its keys are
# fixed, so it is written out as one template with the values in sorted-key order, each
# encoded as that call encodes it (a string by the same C encoder, anything else by
# ``json.dumps`` itself): the same bytes, at a fraction of the cost of sorting a dict per event.
_PAYLOAD_KEYS = tuple(sorted((*CHAINED_FIELDS, "prev_hash")))
_PAYLOAD = "{" + ",".join(f'"{key}":%s' for key in _PAYLOAD_KEYS) + "}"
_encode_str = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes a str as


def _json_value(value: Any) -> str:
    if isinstance(value, str):
        return _encode_str(value)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def event_hash(content: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 over the sorted-key JSON of the chained fields plus the previous hash."""
    canonical = {name: _normalise(name, content.get(name)) for name in CHAINED_FIELDS}
    canonical["prev_hash"] = prev_hash
    payload = _PAYLOAD % tuple(_json_value(canonical[key]) for key in _PAYLOAD_KEYS)
    return hashlib.sha256(payload.encode()).hexdigest()


# The text columns a row hasher reads, in the payload's key order (``prev_hash`` last, apart).
ROW_FIELDS = tuple(key for key in _PAYLOAD_KEYS if key != "prev_hash")


class RowHasher:
    """Content hashes of events read as text straight from PostgreSQL (no ORM instance, no
    dict per row): what the sealer and the verifier run a million times.

    A row is the ``ROW_FIELDS`` in that order, as the database renders them: strings as
    stored, ``actor_id`` as decimal text or NULL, ``client_ip`` as ``inet`` text or NULL,
    ``details`` as ``jsonb`` text, ``occurred_at`` already in the canonical UTC form. The
    address and the details go through the same ``_normalise`` as every other event (cached
    per distinct text: most events share a handful of both), so a row hashes exactly as
    ``event_hash`` does the same event read through the ORM (tests/audit/test_chain.py).
    """

    _CACHE_LIMIT = 100_000

    def __init__(self) -> None:
        self._ips: dict[str | None, str] = {}
        self._details: dict[str | None, str] = {}

    def _ip(self, text: str | None) -> str:
        encoded = self._ips.get(text)
        if encoded is None:
            if len(self._ips) >= self._CACHE_LIMIT:
                self._ips.clear()
            encoded = self._ips[text] = _json_value(_normalise("client_ip", text))
        return encoded

    def _detail(self, text: str | None) -> str:
        encoded = self._details.get(text)
        if encoded is None:
            if len(self._details) >= self._CACHE_LIMIT:
                self._details.clear()
            value = json.loads(text) if text is not None else None
            encoded = self._details[text] = _json_value(_normalise("details", value))
        return encoded

    def content_hash(self, row: tuple, prev_hash: str = "") -> str:
        """``event_hash`` of one row (``prev_hash`` "" for a sealed, not chained, event)."""
        enc = _encode_str
        (
            action,
            actor_id,
            actor_username,
            agency,
            client_ip,
            details,
            device_id,
            object_id,
            object_type,
            occurred_at,
            outcome,
            purpose,
            request_id,
            role,
        ) = row
        payload = _PAYLOAD % (
            enc(action),
            "null" if actor_id is None else actor_id,
            enc(actor_username),
            enc(agency),
            self._ip(client_ip),
            self._detail(details),
            enc(device_id),
            enc(object_id),
            enc(object_type),
            enc(occurred_at),
            enc(outcome),
            enc(prev_hash),
            enc(purpose),
            enc(request_id),
            enc(role),
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
    too). ``BatchDigest.add_leaf`` inlines it."""
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
        self.add_leaf(event_id, txid, hashed or content_hash(content))

    def add_leaf(self, event_id: int, txid: int, hashed: str) -> None:
        """Add one event by its recomputed content hash (the sealer's and verifier's loop)."""
        self._hash.update(hashlib.sha256(f"{event_id}:{txid}:{hashed}".encode()).digest())
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
