"""Violations: every breach of an offender's duties, raised one way by every workflow."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models


class ViolationKind(models.TextChoices):
    """Extendable: add a member here (no migration needed: the column has no DB choices
    constraint) when a workflow learns to detect a new breach."""

    LATE_NOTICE = "late_notice"
    MISSED_CHECKIN = "missed_checkin"
    ABSCONDING_SUSPECTED = "absconding_suspected"
    EXCLUSION_ZONE = "exclusion_zone"
    TRAVEL_WITHOUT_NOTICE = "travel_without_notice"
    OVERDUE_RETURN = "overdue_return"
    TAG_OFFLINE = "tag_offline"


class Severity(models.IntegerChoices):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


class ViolationStatus(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class Violation(models.Model):
    """A breach. The cause (the object that caused it, plus an optional ``cause_key`` such as an
    escalation level or a period) is unique per kind, so the same cause never makes two."""

    kind = models.CharField(max_length=32)
    offender = models.ForeignKey(
        "registry.Offender", on_delete=models.PROTECT, related_name="violations"
    )
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    occurred_at = models.DateTimeField()
    detected_at = models.DateTimeField()
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    district = models.ForeignKey(
        "jurisdictions.District", on_delete=models.PROTECT, related_name="violations"
    )
    station = models.ForeignKey(
        "jurisdictions.PoliceStation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="violations",
    )
    cause_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    cause_id = models.CharField(max_length=64)
    cause_key = models.CharField(max_length=64, blank=True, default="")
    summary = models.CharField(max_length=255, help_text="No names, CNIC or phone numbers")
    status = models.CharField(
        max_length=16, choices=ViolationStatus.choices, default=ViolationStatus.OPEN
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status_reason = models.CharField(max_length=255, blank=True)
    # When the breach itself stopped (the offender left the zone, the tag reported again), set
    # by the system through ``violation_end``; independent of the officers' status machine.
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "cause_type", "cause_id", "cause_key"],
                name="violation_unique_cause",
            ),
            models.CheckConstraint(
                name="violation_point_complete",
                condition=(models.Q(lon__isnull=True) & models.Q(lat__isnull=True))
                | (models.Q(lon__isnull=False) & models.Q(lat__isnull=False)),
            ),
        ]
        indexes = [
            models.Index(fields=["district", "status", "-detected_at"]),
            models.Index(fields=["offender", "-detected_at"]),
        ]

    def __str__(self) -> str:
        return f"Violation #{self.pk} ({self.kind})"


class ViolationStatusChange(models.Model):
    """One step of a violation's status machine, with who and why. ``Violation`` keeps only the
    latest step; this keeps them all (who acknowledged, then who resolved)."""

    violation = models.ForeignKey(
        Violation, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=16, choices=ViolationStatus.choices)
    to_status = models.CharField(max_length=16, choices=ViolationStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=255, blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"
