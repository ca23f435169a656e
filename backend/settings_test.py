"""Test settings: only what makes the suite faster or deterministic."""

import os

os.environ.setdefault("NIGRANI_DEV", "1")
os.environ.setdefault(
    "NIGRANI_ENCRYPTION_KEYS", "test1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
)
os.environ.setdefault("NIGRANI_BLIND_INDEX_KEY", "YmxpbmQtaW5kZXgta2V5LWZvci10ZXN0cy0wMDAwMDA=")

from backend.settings import *  # noqa: E402,F403

# Argon2 is deliberately slow; tests that check the real hasher override this.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # noqa: S105
