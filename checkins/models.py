"""Check-ins at police stations, their OTP challenges, reminders, missed periods and the
devices enrolled as station terminals.

A check-in period is identified by (offender, due date): ``Offender.next_checkin_due`` says
which one is open, a confirmed ``Checkin`` moves it on, a ``MissedCheckin`` row records that
a period passed its grace unserved (the cause of its ``missed_checkin`` violations).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from common.fields import EncryptedTextField
from common.models import TimestampedModel


class CheckinStatus(models.TextChoices):
    OTP_SENT = "otp_sent"  # waiting for the code the offender reads out
    NO_PHONE = "no_phone"  # no registered phone: only the four-eyes override can confirm
    CONFIRMED = "confirmed"
    LOCKED = "locked"  # too many wrong codes
    EXPIRED = "expired"  # the code's lifetime passed
    CANCELLED = "cancelled"  # superseded by a newer check-in, or supervision moved away


# A check-in still waiting for its confirmation.
OPEN_STATUSES = (CheckinStatus.OTP_SENT, CheckinStatus.NO_PHONE)


class CheckinMethod(models.TextChoices):
    SMS_OTP = "sms_otp"
    OVERRIDE = "override"  # a second officer of the station confirmed (four eyes)


class StationTerminal(TimestampedModel):
    """A device enrolled as a station's counter terminal: check-ins started from it are
    accepted without a location fix (a desktop at the counter has no GPS). ``device_id`` is the
    ``accounts.DeviceToken.device_id`` the terminal signs in with."""

    station = models.ForeignKey(
        "jurisdictions.PoliceStation", on_delete=models.PROTECT, related_name="terminals"
    )
    device_id = models.CharField(max_length=128)
    name = models.CharField(max_length=128, blank=True)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["station", "device_id"],
                condition=Q(revoked_at__isnull=True),
                name="terminal_one_active_per_station_device",
            )
        ]

    def __str__(self) -> str:
        return f"Terminal {self.name or self.device_id} ({self.station_id})"


class Checkin(TimestampedModel):
    """One visit of an offender to the station counter: started by a station officer, confirmed
    by the OTP the offender received on the registered phone, or by a second officer's
    override. Records who, where (the device's fix and accuracy, or the terminal), when, how,
    and what the offender declared."""

    offender = models.ForeignKey(
        "registry.Offender", on_delete=models.PROTECT, related_name="checkins"
    )
    station = models.ForeignKey(
        "jurisdictions.PoliceStation", on_delete=models.PROTECT, related_name="checkins"
    )
    status = models.CharField(max_length=16, choices=CheckinStatus.choices)
    due_on = models.DateField(null=True, help_text="the period served: the due date at start")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    accuracy_m = models.FloatField(null=True, blank=True)
    terminal = models.ForeignKey(
        StationTerminal, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    method = models.CharField(max_length=16, choices=CheckinMethod.choices, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_on = models.DateField(null=True, blank=True, help_text="Pakistan day")
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the second officer of an override (four eyes)",
    )
    override_reason = models.CharField(max_length=500, blank=True)
    details_unchanged = models.BooleanField(
        null=True, help_text="address, phone and employment declared unchanged"
    )
    notices = models.ManyToManyField(
        "registry.Notice", blank=True, related_name="+", help_text="changes filed in the visit"
    )
    travel_notices_closed = models.ManyToManyField(
        "registry.Notice", blank=True, related_name="+", help_text="closed on return"
    )
    photo = models.ImageField(upload_to="checkins/photos/", blank=True)
    next_due_on = models.DateField(null=True, blank=True, help_text="set on confirmation")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["offender", "-created_at"]),
            models.Index(fields=["station", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                name="checkin_point_complete",
                condition=(Q(lon__isnull=True) & Q(lat__isnull=True))
                | (Q(lon__isnull=False) & Q(lat__isnull=False)),
            ),
            models.CheckConstraint(
                name="checkin_located",
                condition=Q(lon__isnull=False) | Q(terminal__isnull=False),
            ),
            models.CheckConstraint(
                name="checkin_confirmed_complete",
                condition=~Q(status="confirmed")
                | (Q(confirmed_at__isnull=False) & Q(confirmed_by__isnull=False) & ~Q(method="")),
            ),
            models.CheckConstraint(
                name="checkin_override_has_second_officer",
                condition=~Q(method="override")
                | (Q(override_by__isnull=False) & ~Q(override_reason="")),
            ),
            models.CheckConstraint(
                name="checkin_override_four_eyes",
                condition=Q(override_by__isnull=True) | ~Q(override_by=models.F("confirmed_by")),
            ),
        ]

    def __str__(self) -> str:
        return f"Check-in #{self.pk} ({self.status})"


class ChallengeState(models.TextChoices):
    OPEN = "open"
    USED = "used"
    LOCKED = "locked"
    EXPIRED = "expired"
    ENDED = "ended"  # the check-in was cancelled or confirmed by override


class ChallengeFields(models.Model):
    """What every one-time-code challenge keeps (a check-in's, a counter notice's): the HOTP
    secret, encrypted and erased when the challenge ends (a check constraint on each table),
    the counter of the latest SMS (only its code verifies), sends, wrong attempts, lifetime."""

    state = models.CharField(
        max_length=16, choices=ChallengeState.choices, default=ChallengeState.OPEN
    )
    secret = EncryptedTextField(blank=True)
    counter = models.PositiveIntegerField(default=0)
    sends = models.PositiveSmallIntegerField(default=1)
    last_sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    sms_message_id = models.BigIntegerField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class OtpChallenge(ChallengeFields):
    """The OTP challenge of a check-in. The secret is encrypted at rest and erased when the
    challenge ends; the code itself is never stored. ``counter`` is the HOTP counter of the
    latest SMS: only its code verifies."""

    checkin = models.OneToOneField(
        Checkin, on_delete=models.CASCADE, primary_key=True, related_name="challenge"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="challenge_secret_only_while_open",
                condition=Q(state="open") | Q(secret=""),
            )
        ]

    def __str__(self) -> str:
        return f"Challenge of check-in #{self.checkin_id} ({self.state})"


class CheckinReminder(models.Model):
    """One reminder SMS for one due date: the unique constraint makes each one go out once."""

    offender = models.ForeignKey("registry.Offender", on_delete=models.CASCADE, related_name="+")
    due_on = models.DateField()
    days_before = models.PositiveSmallIntegerField()
    sms_message_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["offender", "due_on", "days_before"], name="reminder_once_per_due"
            )
        ]

    def __str__(self) -> str:
        return f"Reminder {self.days_before}d before {self.due_on} ({self.offender_id})"


class MissedCheckin(models.Model):
    """A check-in period (offender, due date) that passed its grace period unserved: the cause
    of one ``missed_checkin`` violation, and of a second, graver one when escalated."""

    offender = models.ForeignKey(
        "registry.Offender", on_delete=models.CASCADE, related_name="missed_checkins"
    )
    due_on = models.DateField()
    detected_at = models.DateTimeField()
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-due_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["offender", "due_on"], name="missed_once_per_period")
        ]
        indexes = [
            models.Index(
                fields=["due_on"], name="missed_unescalated", condition=Q(escalated_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"Missed check-in due {self.due_on} ({self.offender_id})"


class NoticeChallenge(ChallengeFields):
    """The one-time code that confirms a notice filed at a station that does not supervise the
    offender (``registry`` keeps the notice ``unconfirmed`` until then). The same machinery as
    a check-in's ``OtpChallenge``: HOTP secret encrypted and erased when the challenge ends,
    the code itself never stored, wrong attempts counted, a lifetime."""

    notice = models.OneToOneField(
        "registry.Notice", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    station = models.ForeignKey(
        "jurisdictions.PoliceStation",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the counter that filed the notice: only its officers confirm it",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="notice_challenge_secret_only_while_open",
                condition=Q(state="open") | Q(secret=""),
            )
        ]

    def __str__(self) -> str:
        return f"Challenge of notice #{self.notice_id} ({self.state})"
