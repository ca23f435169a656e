"""AES-256-GCM encryption at rest with key ids, and an HMAC blind index for exact lookups.

Stored form: ``v1:<kid>:<base64(nonce || ciphertext+tag)>``. The key id lets several keys coexist
during rotation; the first key of the ring encrypts, any key in the ring decrypts. The blind index
uses its own key so that knowing the index reveals nothing about the encryption keys.
"""

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1"


class CryptoError(ValueError):
    """A key is missing or a value cannot be decrypted."""


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]
    active_kid: str

    @classmethod
    def parse(cls, spec: str) -> "KeyRing":
        """Parse ``kid:base64key[,kid:base64key…]``; the first is the active key."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            kid, sep, encoded = part.partition(":")
            if not sep or not kid or ":" in encoded:
                raise CryptoError("encryption keys must look like kid:base64key")
            key = base64.b64decode(encoded)
            if len(key) != 32:
                raise CryptoError(f"key {kid!r} must be 32 bytes (AES-256)")
            keys[kid] = key
            order.append(kid)
        if not order:
            raise CryptoError("no encryption key configured")
        return cls(keys=keys, active_kid=order[0])

    def encrypt(self, plaintext: str, *, associated_data: bytes = b"") -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.active_kid]).encrypt(
            nonce, plaintext.encode(), associated_data
        )
        return f"{PREFIX}:{self.active_kid}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, *, associated_data: bytes = b"") -> str:
        try:
            prefix, kid, payload = stored.split(":", 2)
        except ValueError as exc:
            raise CryptoError("not an encrypted value") from exc
        if prefix != PREFIX or kid not in self.keys:
            raise CryptoError("unknown key id")
        raw = base64.b64decode(payload)
        try:
            return AESGCM(self.keys[kid]).decrypt(raw[:12], raw[12:], associated_data).decode()
        except Exception as exc:  # InvalidTag: tampered or wrong key
            raise CryptoError("value cannot be decrypted") from exc

    @staticmethod
    def key_id_of(stored: str) -> str:
        return stored.split(":", 2)[1]


def blind_index(value: str, *, key: bytes, purpose: str) -> str:
    """Deterministic HMAC-SHA256 of a normalised value, domain-separated by ``purpose``."""
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=4)
def keyring_from_spec(spec: str) -> KeyRing:
    return KeyRing.parse(spec)


def settings_keyring() -> KeyRing:
    from django.conf import settings

    return keyring_from_spec(settings.NIGRANI_ENCRYPTION_KEYS)


def settings_blind_index(value: str, *, purpose: str) -> str:
    from django.conf import settings

    return blind_index(
        value, key=base64.b64decode(settings.NIGRANI_BLIND_INDEX_KEY), purpose=purpose
    )
