"""Device and gateway credentials: random secrets shown once, stored as SHA-256.

A credential has its own prefix and its own header scheme (``Authorization: Device …``), so it
can never be mistaken for an officer's bearer token, and the ping endpoint accepts no other.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass

DEVICE_PREFIX = "ngd_"
GATEWAY_PREFIX = "ngg_"


def credential_new(prefix: str) -> tuple[str, str]:
    """A fresh ``(raw, sha256)`` pair; only the hash is stored."""
    raw = prefix + secrets.token_urlsafe(32)
    return raw, credential_hash(raw)


def credential_hash(raw: str) -> str:
    # A 256-bit random secret needs no slow hash: SHA-256 is preimage-resistant enough and
    # lets the ping path look it up by index on every request.
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


# --- remembered device credentials ------------------------------------------------------------
# The ping path authenticates every batch; at 20,000 devices × a batch a minute the credential
# lookup was one query in 14 per request. Each process remembers, for a short while, which
# device an active credential belongs to (the hash, the device and its offender never change
# together: a device is bound to one offender for life). Only "active" can go stale, and the
# ping path checks that again under the device's lock (geofence/services/pings.py), so a
# revocation committed by any process stops acceptance at once; the view then forgets the
# credential and answers 401 (geofence/apis.py). Gateways are not remembered: their batches
# are large, so one lookup each costs little.

KNOWN_DEVICES_MAX = 200_000


@dataclass(frozen=True, slots=True)
class KnownDevice:
    device_id: int
    offender_id: int
    gateway_id: int | None
    expires_at: float  # time.monotonic()


_known_devices: dict[str, KnownDevice] = {}


def known_device_get(hashed: str) -> KnownDevice | None:
    """The device an active credential was found to belong to, unless that is too old."""
    known = _known_devices.get(hashed)
    if known is None:
        return None
    if known.expires_at <= time.monotonic():
        _known_devices.pop(hashed, None)
        return None
    return known


def known_device_put(
    hashed: str, *, device_id: int, offender_id: int, gateway_id: int | None, ttl_s: float
) -> KnownDevice:
    known = KnownDevice(device_id, offender_id, gateway_id, time.monotonic() + ttl_s)
    if ttl_s > 0:
        if len(_known_devices) >= KNOWN_DEVICES_MAX:  # bounded; the hot set refills at once
            _known_devices.clear()
        _known_devices[hashed] = known
    return known


def known_device_forget(hashed: str) -> None:
    _known_devices.pop(hashed, None)
