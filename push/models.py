"""Outbound delivery: the SMS outbox, delivery-receipt replay guard, and officers' in-app notices.

Numbers and texts of SMS are encrypted at rest; numbers are found through a blind index. The
database holds the rules it can: a sensitive text (an OTP) cannot outlive the send, a gateway id
names one message, a receipt signature is accepted once.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from common.fields import EncryptedTextField
from common.models import TimestampedModel
from push.text import Encoding


class SmsStatus(models.TextChoices):
    QUEUED = "queued"  # waiting for (another) attempt
    SENDING = "sending"  # claimed by a worker, handed or being handed to the gateway
    SENT = "sent"  # accepted by the gateway; gateway_id recorded
    DELIVERED = "delivered"  # the handset has it (receipt)
    FAILED = "failed"  # refused by the gateway, undeliverable (receipt) or out of attempts
    CANCELLED = "cancelled"  # withdrawn before it reached the gateway
    EXPIRED = "expired"  # its expires_at passed before it could be sent


UNSENT_STATUSES = (SmsStatus.QUEUED, SmsStatus.SENDING)
# Out of the queue: the nightly prune may take these past NIGRANI_SMS_RETENTION_DAYS.
LEFT_QUEUE_STATUSES = tuple(s for s in SmsStatus if s not in UNSENT_STATUSES)
FINAL_STATUSES = (
    SmsStatus.DELIVERED,
    SmsStatus.FAILED,
    SmsStatus.CANCELLED,
    SmsStatus.EXPIRED,
)


class SmsMessage(TimestampedModel):
    """One outbound SMS, written in the transaction of the event that causes it.

    ``reference`` (a UUID) is sent to the gateway as the client reference and idempotency key,
    so a retry after a lost answer is de-duplicated there: at-least-once delivery from our side,
    never twice for one message on the handset. ``text`` of a sensitive message is wiped ("")
    once the gateway accepted it or the message ends unsent; the check constraint holds that.
    ``offender_id`` is a plain id, not a foreign key: push sits below the register.
    """

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    to = EncryptedTextField(help_text="E.164, encrypted")
    to_index = models.CharField(max_length=64, db_index=True, help_text="blind index of `to`")
    text = EncryptedTextField(blank=True, help_text="encrypted; wiped when sensitive")
    text_wiped_at = models.DateTimeField(null=True, blank=True)
    encoding = models.CharField(max_length=8, choices=[(e.value, e.value) for e in Encoding])
    units = models.PositiveIntegerField(help_text="septets (GSM-7) or UTF-16 units (UCS-2)")
    segments = models.PositiveSmallIntegerField()
    purpose = models.CharField(max_length=40, db_index=True)
    sensitive = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    offender_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    # No index of its own: the queue's queries use the partial indexes below (queued and
    # sending only), and the prune takes the rows that left the queue, nearly all of them.
    status = models.CharField(max_length=16, choices=SmsStatus.choices, default=SmsStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    backend = models.CharField(max_length=16, blank=True)
    gateway_id = models.CharField(max_length=128, blank=True)
    last_error = models.CharField(max_length=64, blank=True, help_text="an error code, no text")
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                name="smsmessage_status_valid", condition=Q(status__in=SmsStatus.values)
            ),
            models.CheckConstraint(
                name="smsmessage_sensitive_text_wiped",
                condition=Q(sensitive=False) | Q(status__in=UNSENT_STATUSES) | Q(text=""),
            ),
            models.CheckConstraint(
                name="smsmessage_sensitive_expires",
                condition=Q(sensitive=False) | Q(expires_at__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["backend", "gateway_id"],
                condition=~Q(gateway_id=""),
                name="smsmessage_unique_gateway_id",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="smsmessage_unsent_idx",
                condition=Q(status__in=UNSENT_STATUSES),
            ),
            models.Index(
                fields=["expires_at"],
                name="smsmessage_expiring_idx",
                condition=Q(status__in=UNSENT_STATUSES, expires_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"SMS #{self.pk} {self.purpose} {self.status}"


class SmsReceiptSignature(models.Model):
    """A delivery-receipt signature already accepted: the unique constraint refuses a replay
    within the max age; older signatures are refused as stale and pruned by a job."""

    signature = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"receipt signature at {self.received_at:%Y-%m-%d %H:%M:%S}"


class Notification(TimestampedModel):
    """An in-app notice for one officer, pointing at an object by type and id. ``text`` is
    shown as is: it must not hold names, CNIC or phone numbers."""

    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    text = models.CharField(max_length=500)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["officer", "-id"], name="notification_officer_idx")]

    def __str__(self) -> str:
        return f"notification #{self.pk} {self.kind}"


class Receipt(TimestampedModel):
    """The written acknowledgement the offender gets of a notice or a check-in.

    ``reference`` is the short code the offender quotes; it resolves, for the supervising
    station (``station``, scoping), to the recorded object (``object_type``/``object_id``).
    ``offender_id`` and ``object_id`` are plain ids: push sits below the apps whose records a
    receipt acknowledges. ``sms`` is empty when the offender has no phone (the printable page).
    """

    reference = models.CharField(max_length=9, unique=True)
    kind = models.CharField(max_length=40)
    offender_id = models.BigIntegerField(db_index=True)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    recorded_at = models.DateTimeField()
    station = models.ForeignKey(
        "jurisdictions.PoliceStation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the offender's supervising station (who may look the reference up)",
    )
    recorded_station = models.ForeignKey(
        "jurisdictions.PoliceStation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="where it was recorded (named in the text)",
    )
    language = models.CharField(max_length=2)
    # ON DELETE SET NULL in PostgreSQL (migration 0006), not in Django: with Django's
    # SET_NULL an SMS could not be fast-deleted, and the outbox prune would load and decrypt
    # every chunk of messages before deleting it. The receipt outlives its SMS either way.
    sms = models.ForeignKey(
        SmsMessage, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "object_id"], name="receipt_one_per_object"
            ),
        ]

    def __str__(self) -> str:
        return f"receipt {self.reference}"


class AlertEventType(models.TextChoices):
    """What a control room is told about an alert (the websocket message types)."""

    RAISED = "alert.raised"
    UPDATED = "alert.updated"  # acknowledged, assigned, a repeat joined the episode
    ESCALATED = "alert.escalated"  # climbed (or repeated) a ladder step
    CLOSED = "alert.closed"  # resolved or dismissed


class AlertSequence(models.Model):
    """The last sequence number handed out in a district's alert stream. Taking the next one
    is ``UPDATE … SET last_seq = last_seq + n RETURNING``: the row lock is held until commit,
    so events of one district commit in sequence order and a reader never sees a gap fill in
    later."""

    district = models.OneToOneField(
        "jurisdictions.District", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"district {self.district_id} at {self.last_seq}"


class AlertEvent(models.Model):
    """One event of a district's alert stream, written in the transaction that caused it (an
    outbox): group sends are at-most-once, so a socket that missed one backfills from here.
    ``payload`` carries ids, codes and times only: no names, CNIC, phone numbers, addresses."""

    district = models.ForeignKey(
        "jurisdictions.District", on_delete=models.CASCADE, related_name="+"
    )
    seq = models.BigIntegerField()
    type = models.CharField(max_length=32, choices=AlertEventType.choices)
    alert_id = models.BigIntegerField(help_text="the violation id (push sits below compliance)")
    payload = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["district", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["district", "seq"], name="alertevent_unique_seq"),
        ]
        indexes = [models.Index(fields=["created_at"], name="alertevent_created_idx")]

    def __str__(self) -> str:
        return f"{self.type} #{self.seq} of district {self.district_id}"


class WsTicket(models.Model):
    """A short-lived, single-use ticket that opens one websocket (stored as its SHA-256).

    It remembers what the officer signed in with (the web session or the device token), so an
    open socket can be closed when that sign-in ends."""

    ticket_hash = models.CharField(max_length=64, unique=True)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    session_key = models.CharField(max_length=40, blank=True)
    device_token = models.ForeignKey(
        "accounts.DeviceToken", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="wsticket_one_sign_in",
                condition=(Q(session_key="") & Q(device_token__isnull=False))
                | (~Q(session_key="") & Q(device_token__isnull=True)),
            ),
        ]

    def __str__(self) -> str:
        return f"ws ticket {self.pk} of {self.officer_id}"


class AlertCursor(models.Model):
    """The last sequence of a district's stream an officer's client acknowledged: where a
    reconnect without an explicit ``after`` resumes."""

    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    district = models.ForeignKey(
        "jurisdictions.District", on_delete=models.CASCADE, related_name="+"
    )
    acked_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["officer", "district"], name="alertcursor_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.officer_id} at {self.acked_seq} in {self.district_id}"


class PushStatus(models.TextChoices):
    QUEUED = "queued"  # waiting for (another) attempt
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"  # FCM accepted it
    DEAD = "dead"  # FCM says the registration token is gone (UNREGISTERED / INVALID_ARGUMENT)
    FAILED = "failed"  # refused for another reason, or out of attempts
    CANCELLED = "cancelled"  # the device was revoked or the officer signed out before sending


class PushMessage(TimestampedModel):
    """One data-only push to one enrolled phone, written in the caller's transaction.

    ``message_id`` travels in the payload and stays the same across retries: delivery is
    at-least-once (a worker that dies after FCM accepted a message sends it again) and the app
    drops a message id it has already seen. ``data`` holds ids and codes only."""

    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    device_token = models.ForeignKey(
        "accounts.DeviceToken", on_delete=models.CASCADE, related_name="+"
    )
    purpose = models.CharField(max_length=40)
    data = models.JSONField()
    status = models.CharField(max_length=16, choices=PushStatus.choices, default=PushStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=64, blank=True, help_text="an error code, no text")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                name="pushmessage_status_valid", condition=Q(status__in=PushStatus.values)
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="pushmessage_queued_idx",
                condition=Q(status=PushStatus.QUEUED),
            ),
            models.Index(
                fields=["claimed_at"],
                name="pushmessage_sending_idx",
                condition=Q(status=PushStatus.SENDING),
            ),
            # The nightly prune (final statuses, ``updated_at`` past retention). Its chunks
            # are ordered by id; a chunk that finds fewer rows than its size (the last one,
            # and every night with nothing to prune) used to read the whole table.
            models.Index(fields=["status", "updated_at"], name="pushmessage_status_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"push #{self.pk} {self.purpose} {self.status}"
