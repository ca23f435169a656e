"""The append-only, hash-chained audit trail."""

from django.db import models


class AuditAction(models.TextChoices):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    TRANSITION = "transition"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    LOCKOUT = "lockout"
    UNLOCK = "unlock"
    TOKEN_ISSUED = "token_issued"  # noqa: S105 - an action name, not a secret
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - an action name, not a secret
    MFA_ENROL = "mfa_enrol"
    SEARCH = "search"
    EXPORT = "export"
    IMPORT = "import"
    TRANSFER = "transfer"  # supervision moved to another station or district


class AuditEvent(models.Model):
    """One recorded action. Never holds the protected values themselves (no CNIC, name, phone).

    ``hash`` = SHA-256 over the canonical content and ``prev_hash``; a trigger rejects UPDATE
    and DELETE, and ``verify_audit`` walks the chain. The actor is kept as a plain id plus a
    username snapshot, not a foreign key, so no cascade can ever touch this table.
    """

    occurred_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=32, blank=True)
    agency = models.CharField(max_length=150, blank=True)
    device_id = models.CharField(max_length=128, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # Unique: each event has at most one successor, so the database itself refuses a fork
    # even if the writer's lock were ever bypassed (e.g. a REPEATABLE READ caller).
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["occurred_at"]),
            models.Index(fields=["actor_id", "occurred_at"]),
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["action", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_type}"
