from django.apps import AppConfig
from django.core import checks


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        checks.register(_audit_keys_parse, checks.Tags.security)
        from audit.selectors import checkpoint_publication_health
        from common import health

        health.register_check(
            "audit_checkpoints", checkpoint_publication_health, affects_readiness=False
        )


def _audit_keys_parse(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A malformed seal or signing key fails ``check`` (and so every deploy), not the first
    seal hours later. A key that is absent is not an error here: the web process must not
    hold them (audit_sealer and verify_audit refuse to start without them instead)."""
    from django.conf import settings

    from audit.keys import AuditKeyError, settings_checkpoint_keys, settings_seal_keys

    errors = []
    for reader, setting, given in (
        (settings_seal_keys, "NIGRANI_AUDIT_SEAL_KEYS", settings.NIGRANI_AUDIT_SEAL_KEYS),
        (
            settings_checkpoint_keys,
            "NIGRANI_AUDIT_SIGNING_KEY / NIGRANI_AUDIT_VERIFY_KEYS",
            settings.NIGRANI_AUDIT_SIGNING_KEY,
        ),
    ):
        if not given:
            continue
        try:
            reader()
        except (AuditKeyError, ValueError) as exc:
            errors.append(checks.Error(f"{setting}: {exc}", id="audit.E001"))
    return errors
