"""Violations: every breach of an offender's duties, raised one way by every workflow."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

from accounts.roles import Duty


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

    # --- the alert: routing, dedupe of repeats, acknowledgement deadline, ladder, assignee ---
    # Where it happened, when that is another district than the supervising one (a travel
    # breach concerns both control rooms). Null when unknown or the same district.
    occurred_district = models.ForeignKey(
        "jurisdictions.District",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # A repeat of an open episode (same offender and kind while the first is open) points at
    # the episode's first violation, which carries the alert; the repeat carries none.
    episode = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="repeats"
    )
    repeat_count = models.PositiveIntegerField(default=0)
    last_repeated_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # Open: the ladder climbs a step when ack_due_at passes. Acknowledged: it climbs again
    # from where it was when resolve_due_at passes (the acknowledgement timed out).
    ack_due_at = models.DateTimeField(null=True, blank=True)
    resolve_due_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalation_repeats = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # The top step was repeated as often as the policy says: no more climbing, and said so.
    escalation_exhausted_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_violations",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)

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
            # One open alert per offender and kind: a concurrent second raise fails here and
            # joins the episode instead of starting a second ladder.
            models.UniqueConstraint(
                fields=["offender", "kind"],
                condition=Q(
                    status__in=[ViolationStatus.OPEN, ViolationStatus.ACKNOWLEDGED],
                    episode__isnull=True,
                ),
                name="violation_one_open_episode",
            ),
        ]
        indexes = [
            models.Index(fields=["district", "status", "-detected_at"]),
            models.Index(fields=["offender", "-detected_at"]),
            models.Index(
                fields=["ack_due_at"],
                name="violation_ack_due_idx",
                condition=Q(status=ViolationStatus.OPEN, episode__isnull=True),
            ),
            models.Index(
                fields=["resolve_due_at"],
                name="violation_resolve_due_idx",
                condition=Q(status=ViolationStatus.ACKNOWLEDGED, episode__isnull=True),
            ),
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


class AlertPolicy(models.Model):
    """Per severity: how long an alert may stay unacknowledged before it climbs a step, how
    long acknowledged but unresolved before it climbs again, and how often the top step is
    repeated. Data, not constants: NPB edits the rows (seeded by migration 0004)."""

    severity = models.PositiveSmallIntegerField(choices=Severity.choices, unique=True)
    ack_minutes = models.PositiveIntegerField()
    resolve_minutes = models.PositiveIntegerField()
    top_repeats = models.PositiveSmallIntegerField(default=3)
    # A critical alert still unacknowledged after its push is also sent by SMS.
    sms_fallback = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "alert policies"
        constraints = [
            models.CheckConstraint(name="alertpolicy_ack_positive", condition=Q(ack_minutes__gt=0)),
            models.CheckConstraint(
                name="alertpolicy_resolve_positive", condition=Q(resolve_minutes__gt=0)
            ),
        ]

    def __str__(self) -> str:
        return f"alert policy for severity {self.severity}"


class LadderTarget(models.TextChoices):
    BEAT_OFFICERS = "beat_officers"  # beat officers of the offender's beat
    OFFICERS_IN_CHARGE = "officers_in_charge"  # the station's officers in charge
    DISTRICT_SUPERVISORS = "district_supervisors"  # the district control rooms' supervisors
    NATIONAL_DESK = "national_desk"  # NPB


class LadderStep(models.Model):
    """One rung of a severity's escalation ladder (step 1 is told when the alert is raised)."""

    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    step = models.PositiveSmallIntegerField()
    target = models.CharField(max_length=32, choices=LadderTarget.choices)

    class Meta:
        ordering = ["severity", "step"]
        constraints = [
            models.UniqueConstraint(fields=["severity", "step"], name="ladderstep_unique"),
            models.CheckConstraint(name="ladderstep_step_positive", condition=Q(step__gt=0)),
        ]

    def __str__(self) -> str:
        return f"severity {self.severity} step {self.step}: {self.target}"


class OfficerDuty(models.Model):
    """A ladder duty held by an officer on top of its role (``accounts.roles.DUTY_TABLE``).
    Granted and revoked only through ``compliance.services.officer_duty_grant/revoke``."""

    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duties"
    )
    duty = models.CharField(max_length=32, choices=[(d.value, d.value) for d in Duty])
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["officer", "duty"], name="officerduty_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.officer_id} {self.duty}"


class NoticeChannel(models.TextChoices):
    IN_APP = "in_app"
    PUSH = "push"
    SMS = "sms"
    NOBODY = "nobody"  # the step had no officer to tell: recorded, never silent


class AlertNotice(models.Model):
    """Who was told of an alert, when, through which channel, at which ladder step."""

    violation = models.ForeignKey(Violation, on_delete=models.CASCADE, related_name="notices")
    level = models.PositiveSmallIntegerField()
    repeat = models.PositiveSmallIntegerField(default=0)
    target = models.CharField(max_length=32)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=16, choices=NoticeChannel.choices)
    notified_at = models.DateTimeField()

    class Meta:
        ordering = ["notified_at", "id"]
        indexes = [models.Index(fields=["violation", "level"])]

    def __str__(self) -> str:
        return f"alert {self.violation_id} step {self.level} → {self.officer_id} ({self.channel})"
