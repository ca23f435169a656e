from django.apps import AppConfig
from django.core import checks


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        checks.register(_audit_keys_parse, checks.Tags.security)


def _audit_keys_parse(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A malformed seal or signing key fails ``check`` (and so every deploy), not the first
    seal hours later."""
    from audit.keys import AuditKeyError, settings_checkpoint_keys, settings_seal_keys

    errors = []
    for reader, setting in (
        (settings_seal_keys, "NIGRANI_AUDIT_SEAL_KEYS"),
        (settings_checkpoint_keys, "NIGRANI_AUDIT_SIGNING_KEY / NIGRANI_AUDIT_VERIFY_KEYS"),
    ):
        try:
            reader()
        except (AuditKeyError, ValueError) as exc:
            errors.append(checks.Error(f"{setting}: {exc}", id="audit.E001"))
    return errors
