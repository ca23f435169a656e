"""The hash chain's canonical form (pure: no Django), shared by writing and verifying."""

import hashlib
import json
from datetime import datetime
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


def _normalise(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return value


def event_hash(content: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 over the sorted-key JSON of the chained fields plus the previous hash."""
    canonical = {name: _normalise(content.get(name)) for name in CHAINED_FIELDS}
    canonical["prev_hash"] = prev_hash
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()
