"""Device and gateway credentials: random secrets shown once, stored as SHA-256.

A credential has its own prefix and its own header scheme (``Authorization: Device …``), so it
can never be mistaken for an officer's bearer token, and the ping endpoint accepts no other.
"""

import hashlib
import secrets

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
