"""The register: offenders, identities, convictions, addresses, reporting policy, lifecycle and
notices of change.

CNIC, phone and the DNA/biometric references are encrypted at rest (``EncryptedTextField``,
AES-256-GCM); exact CNIC lookup goes through the ``cnic_index`` blind index. Names stay in clear
because name search (pg_trgm) needs them; they never reach logs or audit details.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q

from common.fields import EncryptedTextField
from common.models import TimestampedModel


class OffenderStatus(models.TextChoices):
    IN_CUSTODY = "in_custody"
    ACTIVE = "active"  # released and under the duty to report
    ABSCONDED = "absconded"
    REMOVED = "removed"


class RemovalReason(models.TextChoices):
    ACQUITTED_ON_APPEAL = "acquitted_on_appeal"
    REGISTRATION_PERIOD_ENDED = "registration_period_ended"
    DECEASED = "deceased"
    DATA_ERROR = "data_error"


class AccessPurpose(models.TextChoices):
    """Why an officer reads or searches offender records: declared with every full-record read
    and search (``?purpose=``) and written to the audit trail."""

    SUPERVISION = "supervision"
    VERIFICATION = "verification"
    CHECKIN = "checkin"
    NOTICE = "notice"
    RELEASE = "release"
    INVESTIGATION_SUPPORT = "investigation_support"
    DATA_QUALITY = "data_quality"
    AUDIT_REVIEW = "audit_review"


# Recorded by the system itself for the station counter's exact-CNIC lookup (not selectable).
COUNTER_LOOKUP_PURPOSE = "counter_lookup"


class Gender(models.TextChoices):
    MALE = "male"
    FEMALE = "female"
    TRANSGENDER = "transgender"


class ReportingPolicy(TimestampedModel):
    """Per risk tier: how often the offender checks in and is verified, and for how long the
    registration lasts. Data, not constants: NPB can change it and due dates follow."""

    risk_tier = models.PositiveSmallIntegerField(unique=True)
    checkin_interval_days = models.PositiveIntegerField()
    verification_interval_days = models.PositiveIntegerField()
    # Null means registration for life.
    registration_period_years = models.PositiveSmallIntegerField(null=True, blank=True)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["risk_tier"]
        verbose_name_plural = "reporting policies"
        constraints = [
            models.CheckConstraint(name="policy_tier_positive", condition=Q(risk_tier__gte=1)),
            models.CheckConstraint(
                name="policy_intervals_positive",
                condition=Q(checkin_interval_days__gte=1) & Q(verification_interval_days__gte=1),
            ),
        ]

    def __str__(self) -> str:
        return f"Tier {self.risk_tier}"


class Offender(TimestampedModel):
    """A registered offender. ``district``/``station``/``beat`` are the current supervision,
    derived from the current address (the jurisdiction polygons decide) and used for scoping."""

    # Identity
    full_name = models.CharField(max_length=150)
    father_name = models.CharField(max_length=150, help_text="Father's or husband's name")
    full_name_ur = models.CharField(max_length=150, blank=True)
    father_name_ur = models.CharField(max_length=150, blank=True)
    aliases = ArrayField(models.CharField(max_length=150), default=list, blank=True)
    gender = models.CharField(max_length=16, choices=Gender.choices)
    date_of_birth = models.DateField(null=True, blank=True)
    photo = models.ImageField(upload_to="offenders/photos/", blank=True)
    physical_description = models.TextField(blank=True)
    cnic = EncryptedTextField(help_text="Normalised 12345-1234567-1, encrypted")
    cnic_index = models.CharField(max_length=64, unique=True, editable=False)
    phone = EncryptedTextField(blank=True, help_text="E.164 +923XXXXXXXXX, encrypted")
    dna_profile_ref = EncryptedTextField(blank=True)
    biometric_ref = EncryptedTextField(blank=True)

    # Supervision and lifecycle
    risk_tier = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=16, choices=OffenderStatus.choices, default=OffenderStatus.IN_CUSTODY
    )
    removal_reason = models.CharField(max_length=32, choices=RemovalReason.choices, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    district = models.ForeignKey(
        "jurisdictions.District", on_delete=models.PROTECT, related_name="offenders"
    )
    station = models.ForeignKey(
        "jurisdictions.PoliceStation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="offenders",
    )
    beat = models.ForeignKey(
        "jurisdictions.Beat",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="offenders",
    )
    released_on = models.DateField(null=True, blank=True)
    release_prison = models.CharField(max_length=150, blank=True)
    registration_ends_on = models.DateField(null=True, blank=True)
    next_checkin_due = models.DateField(null=True, blank=True, db_index=True)
    next_verification_due = models.DateField(null=True, blank=True, db_index=True)
    # The events the due dates are counted from (``registry.services.dues``): the last
    # confirmed check-in and the last counted confirmed verification visit.
    last_checkin_on = models.DateField(null=True, blank=True)
    last_verified_on = models.DateField(null=True, blank=True)
    # The language of the SMS the register sends the offender (receipts); "" follows the
    # deployment's NIGRANI_SMS_LANGUAGE, so a deployment default can change without a migration.
    sms_language = models.CharField(
        max_length=2, choices=[("ur", "Urdu"), ("en", "English")], blank=True, default=""
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["district", "status"]),
            models.Index(fields=["station", "status"]),
            models.Index(fields=["beat", "status"]),
            # Name search (registry admins only) by trigram similarity; the extension is
            # installed by migration 0002.
            GinIndex(
                fields=["full_name"], name="offender_full_name_trgm", opclasses=["gin_trgm_ops"]
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="offender_removed_has_reason",
                condition=~Q(status="removed") | ~Q(removal_reason=""),
            ),
        ]

    def __str__(self) -> str:
        # Deliberately no name or CNIC: this string reaches logs and admin messages.
        return f"Offender #{self.pk}"


class Conviction(TimestampedModel):
    """A conviction that put the offender on the register."""

    offender = models.ForeignKey(Offender, on_delete=models.CASCADE, related_name="convictions")
    fir_number = models.CharField(max_length=32, help_text="FIR number/year, e.g. 123/2021")
    police_station = models.CharField(max_length=150)
    court = models.CharField(max_length=200)
    case_number = models.CharField(max_length=64)
    conviction_date = models.DateField()
    sentence = models.CharField(max_length=255)
    sections = ArrayField(models.CharField(max_length=16))
    victim_minor = models.BooleanField()

    class Meta:
        ordering = ["-conviction_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["offender", "court", "case_number"], name="conviction_unique_case"
            )
        ]

    def __str__(self) -> str:
        return f"FIR {self.fir_number}"


class Address(TimestampedModel):
    """One entry of the address history. Exactly one open-ended (current) address per offender."""

    offender = models.ForeignKey(Offender, on_delete=models.CASCADE, related_name="addresses")
    text = models.TextField()
    district = models.ForeignKey("jurisdictions.District", on_delete=models.PROTECT)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    station = models.ForeignKey(
        "jurisdictions.PoliceStation", null=True, blank=True, on_delete=models.PROTECT
    )
    beat = models.ForeignKey("jurisdictions.Beat", null=True, blank=True, on_delete=models.PROTECT)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["offender"],
                condition=Q(valid_to__isnull=True),
                name="address_one_current_per_offender",
            ),
            models.CheckConstraint(
                name="address_point_complete",
                condition=(Q(lon__isnull=True) & Q(lat__isnull=True))
                | (Q(lon__isnull=False) & Q(lat__isnull=False)),
            ),
            models.CheckConstraint(
                name="address_validity_ordered",
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
            ),
        ]

    def __str__(self) -> str:
        return f"Address #{self.pk}"

    @property
    def is_current(self) -> bool:
        return self.valid_to is None


class SupervisionPeriod(TimestampedModel):
    """Which district (and station) supervised the offender when. A transfer closes one period
    and opens the next; former districts keep read-only access to their period's history."""

    offender = models.ForeignKey(
        Offender, on_delete=models.CASCADE, related_name="supervision_periods"
    )
    district = models.ForeignKey("jurisdictions.District", on_delete=models.PROTECT)
    station = models.ForeignKey(
        "jurisdictions.PoliceStation", null=True, blank=True, on_delete=models.PROTECT
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["offender"],
                condition=Q(ended_at__isnull=True),
                name="supervision_one_open_per_offender",
            ),
        ]

    def __str__(self) -> str:
        return f"Supervision #{self.pk}"


class StatusChange(models.Model):
    """One transition of the lifecycle state machine, with who and why."""

    offender = models.ForeignKey(Offender, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=OffenderStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=OffenderStatus.choices)
    reason = models.CharField(max_length=32, blank=True)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class NoticeKind(models.TextChoices):
    NAME_CHANGE = "name_change"
    ADDRESS_CHANGE = "address_change"
    PHONE_CHANGE = "phone_change"
    EMPLOYMENT_CHANGE = "employment_change"
    DOMESTIC_TRAVEL = "domestic_travel"
    INTERNATIONAL_TRAVEL = "international_travel"


TRAVEL_KINDS = (NoticeKind.DOMESTIC_TRAVEL, NoticeKind.INTERNATIONAL_TRAVEL)


class NoticeStatus(models.TextChoices):
    # Filed at a counter that does not supervise the offender: no effect until the offender
    # confirms it with the code sent to the registered phone (registry.services.notices).
    UNCONFIRMED = "unconfirmed"
    FILED = "filed"
    ACKNOWLEDGED = "acknowledged"
    CANCELLED = "cancelled"
    CLOSED = "closed"


class NoticeDeadline(TimestampedModel):
    """How much time the offender has to notify each kind of change (configurable data).

    ``days_after_change``: a change must be notified within N days of happening.
    ``days_before_departure``: travel must be notified at least N days before departure.
    """

    kind = models.CharField(max_length=32, choices=NoticeKind.choices, unique=True)
    days_after_change = models.PositiveSmallIntegerField(null=True, blank=True)
    days_before_departure = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="notice_deadline_one_rule",
                condition=Q(days_after_change__isnull=False)
                | Q(days_before_departure__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return self.kind


class Notice(TimestampedModel):
    """A notice of change, filed at a station by a station officer on the offender's behalf.

    Protected new values (new name, phone, address text, employer) live in the encrypted
    ``details`` JSON; travel facts needed for queries live in plain columns.
    """

    offender = models.ForeignKey(Offender, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=32, choices=NoticeKind.choices)
    status = models.CharField(
        max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.FILED
    )
    filed_at = models.DateTimeField()
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    station = models.ForeignKey(
        "jurisdictions.PoliceStation", null=True, blank=True, on_delete=models.PROTECT
    )
    changed_on = models.DateField(null=True, blank=True, help_text="When the change happened")
    deadline = models.DateField()
    is_late = models.BooleanField(default=False)
    details = EncryptedTextField(blank=True, help_text="JSON of the new values, encrypted")
    # Travel
    destination_district = models.ForeignKey(
        "jurisdictions.District", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    destination_country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1")
    destination_city = models.CharField(max_length=100, blank=True)
    departure_date = models.DateField(null=True, blank=True)
    return_date = models.DateField(null=True, blank=True)
    purpose = models.CharField(max_length=255, blank=True)
    returned_on = models.DateField(null=True, blank=True)
    # Handling
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cancel_reason = models.CharField(max_length=255, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-filed_at", "-id"]
        indexes = [
            models.Index(fields=["offender", "status"]),
            models.Index(fields=["kind", "status", "return_date"]),
        ]
        constraints = [
            models.CheckConstraint(
                name="notice_travel_has_departure",
                condition=~Q(kind__in=[k.value for k in TRAVEL_KINDS])
                | Q(departure_date__isnull=False),
            ),
            models.CheckConstraint(
                name="notice_return_after_departure",
                condition=Q(return_date__isnull=True)
                | Q(departure_date__isnull=True)
                | Q(return_date__gte=models.F("departure_date")),
            ),
        ]

    def __str__(self) -> str:
        return f"Notice #{self.pk} ({self.kind})"


class CounterLookup(models.Model):
    """One exact-CNIC lookup at a station counter (no CNIC kept: only who, where, when and
    whether someone matched), counted for the lookup's rate limits and burst notice."""

    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    station = models.ForeignKey(
        "jurisdictions.PoliceStation", null=True, on_delete=models.CASCADE, related_name="+"
    )
    found = models.BooleanField()
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["officer", "at"]),
            models.Index(fields=["station", "at"]),
        ]

    def __str__(self) -> str:
        return f"Lookup by #{self.officer_id} at {self.at:%Y-%m-%d %H:%M}"
