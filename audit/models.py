"""The append-only audit trail and the keyed seals that make it tamper-evident."""

from django.contrib.postgres.fields import ArrayField
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

    Written in the caller's transaction with no shared lock. ``txid`` is the writing
    transaction's id, stamped by a database trigger (the application cannot choose it); the
    sealer links events by it (see ``audit/services.py: audit_seal``). ``hash`` is the SHA-256
    of the canonical content (``chain.content_hash``). Events written before issue 15 have no
    ``txid`` and form the old hash chain instead (``hash`` over content and ``prev_hash``).
    Triggers reject UPDATE, DELETE and TRUNCATE. The actor is kept as a plain id plus a
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
    # Old chain only (null since issue 15). Unique: each chained event has one successor. A
    # partial unique index (``audit_event_prev_hash_unique``): the NULLs of every new event
    # would fill two indexes (the constraint's and Django's ``_like`` one) for nothing.
    prev_hash = models.CharField(max_length=64, null=True, blank=True)
    hash = models.CharField(max_length=64)
    txid = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["occurred_at"]),
            models.Index(fields=["actor_id", "occurred_at"]),
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["action", "occurred_at"]),
            models.Index(fields=["txid", "id"], name="audit_event_txid_id_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["prev_hash"],
                condition=models.Q(prev_hash__isnull=False),
                name="audit_event_prev_hash_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_type}"


class SealKind(models.TextChoices):
    LEGACY = "legacy"  # anchors the pre-issue-15 hash chain: its length and head hash
    BATCH = "batch"  # the events whose transactions have ids in [txid_lo, txid_hi)


class AuditSeal(models.Model):
    """One link of the keyed chain over batches of events (append-only, like the events).

    A batch is every event whose writing transaction id is in ``[txid_lo, txid_hi)`` or in
    the previous seal's ``pending_txids``, less this seal's ``pending_txids`` (transactions
    still running), in ``(txid, id)`` order. The ranges of consecutive seals touch and a
    pending transaction is carried until it has ended, so every event falls in exactly one.
    ``digest`` covers the batch's leaves; ``mac`` is an HMAC (key ``key_id``, never stored
    here) over every field and ``prev_mac``, the previous seal's ``mac``.
    ``total_events`` counts every event sealed so far, the old chain included.
    """

    seq = models.PositiveBigIntegerField(unique=True)
    kind = models.CharField(max_length=8, choices=SealKind.choices)
    txid_lo = models.BigIntegerField()
    txid_hi = models.BigIntegerField()
    # Transactions below txid_hi still running when sealed: their events join a later seal.
    pending_txids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    event_count = models.BigIntegerField()
    total_events = models.BigIntegerField()
    first_event_id = models.BigIntegerField(null=True, blank=True)
    last_event_id = models.BigIntegerField(null=True, blank=True)
    digest = models.CharField(max_length=64)
    prev_mac = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=32)
    mac = models.CharField(max_length=64, unique=True)
    sealed_at = models.DateTimeField()

    class Meta:
        ordering = ["-seq"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(txid_hi__gte=models.F("txid_lo")), name="audit_seal_range"
            ),
        ]

    def __str__(self) -> str:
        return f"seal {self.seq} ({self.event_count} events)"


class DenialWindow(models.Model):
    """Refused requests (403/404 on offender data) per officer per minute: the cap that keeps
    a flood from filling the trail, and the once-per-minute burst notice. Not evidence itself
    (the events are); rows older than a day are pruned."""

    actor_id = models.BigIntegerField()
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["actor_id", "window_start"], name="audit_denial_window_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"officer {self.actor_id} {self.window_start:%H:%M}: {self.count} refused"


class CheckpointPublication(models.Model):
    """How publishing signed checkpoints to each sink is going: one row per sink, updated by
    the publisher, read by ``/readyz`` and ``audit_checkpoint_status``, so a checkpoint that
    could not be published is seen by monitoring (the web process holds no sink credentials,
    so it reads this rather than the sink). Not evidence: the sinks themselves are, and
    ``verify_audit`` reads them. Names and counts only: never a protected value."""

    sink = models.CharField(max_length=16, unique=True)  # "file", "s3"
    last_published_at = models.DateTimeField(null=True, blank=True)
    last_seq = models.PositiveBigIntegerField(null=True, blank=True)
    # Set at the first failure since the last success, cleared by a success.
    failing_since = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)  # consecutive
    last_error = models.CharField(max_length=200, blank=True)  # exception class and code

    def __str__(self) -> str:
        return f"checkpoints to {self.sink}: {self.failures} failures"
