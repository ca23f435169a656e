"""The two ways register data leaves the register: the records request (Punjab SOP of
22 August 2024: investigating officer → district prosecutor within 48 hours → NPB → back) and
the public SMS CNIC check.

The database holds what it can of each: a request's state and its clock cannot contradict
each other (check constraints), a match names an offender and a no-match does not, an SMS
sender is kept only as an HMAC (the number's blind index), never as a number.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from common.fields import EncryptedTextField
from common.models import TimestampedModel


class RequestState(models.TextChoices):
    SUBMITTED = "submitted"  # with the district prosecutor; the 48-hour clock runs
    RETURNED = "returned"  # back with the officer for clarification; the clock is stopped
    FORWARDED = "forwarded"  # with the NPB
    ANSWERED = "answered"  # the NPB answered; with the prosecutor to pass on
    DELIVERED = "delivered"  # passed to the officer with the SOP's advisory


class RequestAnswer(models.TextChoices):
    MATCH = "match"
    NO_MATCH = "no_match"


_ANSWERED_STATES = [RequestState.ANSWERED, RequestState.DELIVERED]


class RecordsRequest(TimestampedModel):
    """One records request about one suspect named in one FIR (Annexure A of the SOP).

    ``due_at`` is always ``submitted_at`` + the clock (set together by the services); each
    resubmission after a return restarts both. ``extract`` is the record as the NPB disclosed
    it, frozen at the answer (JSON, encrypted): what the officer reads is what was disclosed,
    not what the record says later.
    """

    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="records_requests"
    )
    station = models.ForeignKey(
        "jurisdictions.PoliceStation", on_delete=models.PROTECT, related_name="+"
    )
    district = models.ForeignKey(
        "jurisdictions.District", on_delete=models.PROTECT, related_name="+"
    )
    fir_number = models.CharField(max_length=16)
    fir_year = models.PositiveSmallIntegerField()
    sections = ArrayField(models.CharField(max_length=24))
    fir_copy = models.FileField(upload_to="records_requests/fir/", max_length=200)
    fir_copy_type = models.CharField(max_length=4, help_text="pdf, jpg or png (decoded)")
    # Annexure A
    suspect_name = models.CharField(max_length=150)
    suspect_father_name = models.CharField(max_length=150)
    suspect_cnic = EncryptedTextField(blank=True, help_text="normalised, encrypted; optional")
    suspect_cnic_index = models.CharField(max_length=64, blank=True, db_index=True)
    suspect_address = EncryptedTextField(help_text="encrypted")
    relation_to_case = models.CharField(max_length=255)
    justification = models.TextField()
    # The SOP forbids asking about anyone not connected to the case: both sides attest.
    officer_attested_at = models.DateTimeField()
    prosecutor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    prosecutor_confirmed_at = models.DateTimeField(null=True, blank=True)

    state = models.CharField(
        max_length=16, choices=RequestState.choices, default=RequestState.SUBMITTED
    )
    first_submitted_at = models.DateTimeField()
    submitted_at = models.DateTimeField()
    due_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resubmissions = models.PositiveSmallIntegerField(default=0)
    returned_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.CharField(max_length=500, blank=True)
    forwarded_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answer = models.CharField(max_length=16, choices=RequestAnswer.choices, blank=True)
    offender = models.ForeignKey(
        "registry.Offender", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    extract = EncryptedTextField(blank=True, help_text="JSON of the disclosed record, encrypted")
    delivered_at = models.DateTimeField(null=True, blank=True)
    access_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["district", "state", "due_at"]),
            models.Index(fields=["officer", "-submitted_at"]),
            models.Index(
                fields=["due_at"],
                name="recordsrequest_clock_idx",
                condition=Q(state="submitted"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="recordsrequest_state_valid", condition=Q(state__in=RequestState.values)
            ),
            models.CheckConstraint(
                name="recordsrequest_clock_after_submission",
                condition=Q(due_at__gt=F("submitted_at"))
                & Q(submitted_at__gte=F("first_submitted_at")),
            ),
            models.CheckConstraint(
                name="recordsrequest_reminder_after_due",
                condition=Q(reminded_at__isnull=True) | Q(reminded_at__gte=F("due_at")),
            ),
            models.CheckConstraint(
                name="recordsrequest_escalation_after_reminder",
                condition=Q(escalated_at__isnull=True)
                | (Q(reminded_at__isnull=False) & Q(escalated_at__gte=F("reminded_at"))),
            ),
            models.CheckConstraint(
                name="recordsrequest_returned_has_reason",
                condition=~Q(state="returned")
                | (Q(returned_at__isnull=False) & ~Q(return_reason="")),
            ),
            models.CheckConstraint(
                name="recordsrequest_forwarded_confirmed",
                condition=Q(state__in=["submitted", "returned"])
                | (
                    Q(forwarded_at__gte=F("submitted_at"))
                    & Q(prosecutor_confirmed_at__isnull=False)
                    & Q(prosecutor__isnull=False)
                ),
            ),
            models.CheckConstraint(
                name="recordsrequest_answered_has_answer",
                condition=~Q(state__in=_ANSWERED_STATES)
                | (Q(answered_at__gte=F("forwarded_at")) & ~Q(answer="")),
            ),
            models.CheckConstraint(
                name="recordsrequest_match_names_offender",
                condition=(Q(answer="match") & Q(offender__isnull=False) & ~Q(extract=""))
                | (~Q(answer="match") & Q(offender__isnull=True) & Q(extract="")),
            ),
            models.CheckConstraint(
                name="recordsrequest_delivered_expires",
                condition=~Q(state="delivered")
                | (
                    Q(delivered_at__gte=F("answered_at"))
                    & Q(access_expires_at__gt=F("delivered_at"))
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Records request {self.number}"

    @property
    def number(self) -> str:
        """``RR-2026-000042``: what officers quote on paper and what the PDF carries."""
        return f"RR-{self.first_submitted_at:%Y}-{self.pk:06d}"

    @property
    def audit_purpose(self) -> str:
        """The purpose recorded with every audited step, view and download of this request."""
        return f"records_request:{self.number}"


# --- the public SMS CNIC check -----------------------------------------------------------------


class SmsAnswerKind(models.TextChoices):
    WARNING = "warning"  # active, absconded or in custody: the Urdu warning with names
    NEUTRAL = "neutral"  # not on the register, removed, or no such CNIC: one answer for all
    HELP = "help"  # no CNIC in the message: help text, once a day per sender
    IGNORED = "ignored"  # help already sent today: silence
    QUOTA = "quota"  # the sender's daily or monthly quota is used up: silence
    CEILING = "ceiling"  # the global rate ceiling: silence
    SILENCED = "silenced"  # the sender was silenced by a detector: silence
    DISABLED = "disabled"  # the service is off: nothing stored but the audit


class SmsSender(TimestampedModel):
    """A number that has written to the public check, known only by its blind index (HMAC):
    quotas, the help-once-a-day rule and silencing need to recognise a sender, never to call
    it back outside the reply to its own message."""

    sender_index = models.CharField(max_length=64, unique=True)
    help_sent_on = models.DateField(null=True, blank=True, help_text="Pakistan date")
    silenced_at = models.DateTimeField(null=True, blank=True)
    silenced_reason = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return f"SMS sender #{self.pk}"


class SmsCheck(models.Model):
    """One CNIC asked by one sender: what the quotas and the detectors count. The CNIC is kept
    as its blind index and, encrypted, as its digits: the sequence detector compares a
    sender's last checks (at most the monthly quota) numerically. No phone number is kept."""

    sender = models.ForeignKey(SmsSender, on_delete=models.CASCADE, related_name="checks")
    cnic_index = models.CharField(max_length=64, db_index=True)
    cnic_digits = EncryptedTextField(help_text="the 13 digits asked, encrypted")
    hit = models.BooleanField()
    checked_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["sender", "checked_at"]),
            models.Index(fields=["cnic_index", "checked_at"]),
        ]

    def __str__(self) -> str:
        return f"SMS check #{self.pk}"


class SecurityEventKind(models.TextChoices):
    SEQUENTIAL_CNICS = "sequential_cnics"
    ONE_CNIC_MANY_SENDERS = "one_cnic_many_senders"
    HIT_RATE = "hit_rate"


class SecurityEvent(TimestampedModel):
    """Something the NPB must look at: an enumeration detector fired and silenced a sender."""

    kind = models.CharField(max_length=32, choices=SecurityEventKind.choices)
    sender = models.ForeignKey(SmsSender, on_delete=models.PROTECT, related_name="events")
    details = models.JSONField(default=dict, help_text="counts and thresholds, no values")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Security event #{self.pk} ({self.kind})"
