"""State of the register's liaison: hand-overs awaiting the receiving station, and which
registration ends have been announced (each once)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from common.models import TimestampedModel


class HandoverStatus(models.TextChoices):
    PENDING = "pending"  # the receiving station has not accepted yet
    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"  # supervision moved on again before it was accepted


class Handover(TimestampedModel):
    """Supervision of one offender moving from one district/station to another.

    Opened by the ``supervision_moved`` hook when the open supervision period changes; the
    receiving station accepts it (audited). Visibility does not wait for acceptance: the
    receiving side supervises at once, the sending side keeps its read-only former access.
    At most one pending hand-over per offender (a unique constraint): a second move
    supersedes the first.
    """

    offender = models.ForeignKey(
        "registry.Offender", on_delete=models.CASCADE, related_name="handovers"
    )
    from_period = models.ForeignKey(
        "registry.SupervisionPeriod", on_delete=models.PROTECT, related_name="+"
    )
    to_period = models.ForeignKey(
        "registry.SupervisionPeriod", on_delete=models.PROTECT, related_name="+"
    )
    from_district = models.ForeignKey(
        "jurisdictions.District", on_delete=models.PROTECT, related_name="+"
    )
    from_station = models.ForeignKey(
        "jurisdictions.PoliceStation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_district = models.ForeignKey(
        "jurisdictions.District", on_delete=models.PROTECT, related_name="+"
    )
    to_station = models.ForeignKey(
        "jurisdictions.PoliceStation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    moved_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=HandoverStatus.choices, default=HandoverStatus.PENDING
    )
    next_checkin_due = models.DateField(null=True, blank=True)
    next_verification_due = models.DateField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-moved_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["offender"],
                condition=Q(status="pending"),
                name="handover_one_pending_per_offender",
            ),
            models.CheckConstraint(
                name="handover_status_valid", condition=Q(status__in=HandoverStatus.values)
            ),
            models.CheckConstraint(
                name="handover_accepted_has_who",
                condition=~Q(status="accepted")
                | (Q(accepted_at__isnull=False) & Q(accepted_by__isnull=False)),
            ),
        ]
        indexes = [models.Index(fields=["status", "moved_at"], name="handover_status_idx")]

    def __str__(self) -> str:
        return f"Hand-over #{self.pk} ({self.status})"


class RegistrationEndAnnounced(models.Model):
    """A registration end already announced to the NPB and the district: the daily job tells
    each once (the unique constraint), however often it runs."""

    offender = models.ForeignKey("registry.Offender", on_delete=models.CASCADE, related_name="+")
    ends_on = models.DateField()
    announced_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["offender", "ends_on"], name="registration_end_announced_once"
            )
        ]

    def __str__(self) -> str:
        return f"registration end {self.ends_on} announced"
