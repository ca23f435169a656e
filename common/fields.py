"""Encrypted model field: AES-256-GCM through ``common.crypto``; plaintext only in Python."""

from typing import Any

from django.db import models

from common.crypto import settings_keyring


class EncryptedTextField(models.TextField):
    """Stores ``v1:<kid>:<ciphertext>``; reads back the plaintext. Not searchable: pair it with
    a blind-index column where exact lookup is needed."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return settings_keyring().decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return settings_keyring().encrypt(str(value))
