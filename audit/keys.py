"""The audit trail's keys: HMAC keys for seals and Ed25519 keys for checkpoints.

None of them is ever stored in the database or derived from ``SECRET_KEY``: they come from the
environment or a file (``<NAME>_FILE``), so whoever owns the database can neither forge a seal
nor sign a checkpoint. Like the encryption keys they carry key ids, so keys rotate: the first
seal key (and the signing key) is used for new seals (checkpoints); older seal keys and older
public keys stay listed only to verify what they made.

Spec formats: seal keys ``kid:base64(>= 32 bytes)[,kid:…]``; signing key
``kid:base64(32-byte Ed25519 private seed)``; verify keys ``kid:base64(32-byte public key)[,…]``.
"""

import base64
import binascii
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


class AuditKeyError(ValueError):
    """An audit key is missing or malformed."""


def _parse(spec: str, *, what: str, min_bytes: int, exact: bool) -> list[tuple[str, bytes]]:
    parsed: list[tuple[str, bytes]] = []
    for part in (p.strip() for p in (spec or "").split(",") if p.strip()):
        kid, sep, encoded = part.partition(":")
        if not sep or not kid or ":" in encoded or len(kid) > 32:
            raise AuditKeyError(f"{what} must look like kid:base64key")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise AuditKeyError(f"{what} {kid!r} is not base64") from exc
        if (exact and len(key) != min_bytes) or len(key) < min_bytes:
            raise AuditKeyError(f"{what} {kid!r} must be {min_bytes} bytes")
        parsed.append((kid, key))
    if not parsed:
        raise AuditKeyError(f"no {what} configured")
    return parsed


@dataclass(frozen=True)
class SealKeys:
    keys: dict[str, bytes]
    active_kid: str

    @classmethod
    def parse(cls, spec: str) -> "SealKeys":
        parsed = _parse(spec, what="audit seal key", min_bytes=32, exact=False)
        return cls(keys=dict(parsed), active_kid=parsed[0][0])

    @property
    def active(self) -> bytes:
        return self.keys[self.active_kid]


@dataclass(frozen=True)
class CheckpointKeys:
    signing_kid: str
    signing_key: Ed25519PrivateKey
    verify_keys: dict[str, Ed25519PublicKey]

    @classmethod
    def parse(cls, signing_spec: str, verify_spec: str = "") -> "CheckpointKeys":
        ((kid, seed),) = _parse(signing_spec, what="audit signing key", min_bytes=32, exact=True)[
            :1
        ]
        private = Ed25519PrivateKey.from_private_bytes(seed)
        verify = {kid: private.public_key()}
        if verify_spec:
            for other_kid, raw in _parse(
                verify_spec, what="audit verify key", min_bytes=32, exact=True
            ):
                verify.setdefault(other_kid, Ed25519PublicKey.from_public_bytes(raw))
        return cls(signing_kid=kid, signing_key=private, verify_keys=verify)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.signing_key.sign(message)).decode()

    def verify(self, kid: str, message: bytes, signature: str) -> bool:
        public = self.verify_keys[kid]
        try:
            public.verify(base64.b64decode(signature), message)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def public_key_b64(private: Ed25519PrivateKey) -> str:
    """The raw public half, base64, as ``NIGRANI_AUDIT_VERIFY_KEYS`` lists it."""
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


@lru_cache(maxsize=4)
def _seal_keys(spec: str) -> SealKeys:
    return SealKeys.parse(spec)


@lru_cache(maxsize=4)
def _checkpoint_keys(signing_spec: str, verify_spec: str) -> CheckpointKeys:
    return CheckpointKeys.parse(signing_spec, verify_spec)


def settings_seal_keys() -> SealKeys:
    from django.conf import settings

    return _seal_keys(settings.NIGRANI_AUDIT_SEAL_KEYS)


def settings_checkpoint_keys() -> CheckpointKeys:
    from django.conf import settings

    return _checkpoint_keys(
        settings.NIGRANI_AUDIT_SIGNING_KEY, settings.NIGRANI_AUDIT_VERIFY_KEYS or ""
    )
