"""Test settings: only what makes the suite faster or deterministic."""

import os

os.environ.setdefault("NIGRANI_DEV", "1")
os.environ.setdefault(
    "NIGRANI_ENCRYPTION_KEYS", "test1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
)
os.environ.setdefault("NIGRANI_BLIND_INDEX_KEY", "YmxpbmQtaW5kZXgta2V5LWZvci10ZXN0cy0wMDAwMDA=")
os.environ.setdefault(
    "NIGRANI_AUDIT_SEAL_KEYS", "seal1:c2VhbC1rZXktZm9yLXRlc3RzLW9ubHktMDEyMzQ1Njc4OQ=="
)
os.environ.setdefault(
    "NIGRANI_AUDIT_SIGNING_KEY", "sign1:c2lnbmluZy1zZWVkLWZvci10ZXN0cy0wMTIzNDU2Nzg="
)

from backend.settings import *  # noqa: E402,F403

# Argon2 is deliberately slow; tests that check the real hasher override this.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # noqa: S105
