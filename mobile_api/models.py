"""Field verification: address-verification tasks, the visits that answer them, their photos,
and the change log that the beat officer's app syncs from."""

from django.conf import settings
from django.db import models
from django.db.models import Func, Q
from django.db.models.functions import Now

from common.models import TimestampedModel


class TaskKind(models.TextChoices):
    VERIFICATION = "verification"  # does the offender live at the registered address?
    FOLLOW_UP = "follow_up"  # the station acts on a visit that found the offender gone


class TaskSource(models.TextChoices):
    RELEASE = "release"
    ADDRESS_CHANGE = "address_change"
    PERIODIC = "periodic"
    AD_HOC = "ad_hoc"
    VISIT = "visit"  # a follow-up opened by a visit's outcome


class TaskStatus(models.TextChoices):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Priority(models.IntegerChoices):
    NORMAL = 1
    HIGH = 2
    URGENT = 3


class Outcome(models.TextChoices):
    CONFIRMED = "confirmed"
    NOT_AT_HOME = "not_at_home"
    MOVED = "moved"
    NO_SUCH_ADDRESS = "no_such_address"
    REFUSED = "refused"


# Outcomes that suggest the offender no longer lives where registered.
ABSCONDING_OUTCOMES = (Outcome.MOVED, Outcome.NO_SUCH_ADDRESS, Outcome.REFUSED)


class ReviewStatus(models.TextChoices):
    NONE = ""  # the visit passed the rules
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class CurrentXactId(Func):
    """The id of the writing transaction (``pg_current_xact_id()``, 64-bit, never wraps)."""

    template = "(pg_current_xact_id()::text::bigint)"
    output_field = models.BigIntegerField()


class VerificationTask(TimestampedModel):
    """One question for the field: does ``offender`` live at ``address``?

    Assigned to the beat whose polygon contains the address point (the register resolves it
    when the address is recorded), or — no point yet — to a station of the district with
    ``needs_point`` set, until a station officer gives it to a beat. ``version`` grows with
    every change so the officer's app can drop stale copies it receives twice.
    """

    offender = models.ForeignKey(
        "registry.Offender", on_delete=models.PROTECT, related_name="verification_tasks"
    )
    address = models.ForeignKey("registry.Address", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=TaskKind.choices)
    source = models.CharField(max_length=16, choices=TaskSource.choices)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    resolution = models.CharField(max_length=32, blank=True)
    cancel_reason = models.CharField(
        max_length=255, blank=True, db_default="", help_text="free text; not audited"
    )
    district = models.ForeignKey("jurisdictions.District", on_delete=models.PROTECT)
    station = models.ForeignKey(
        "jurisdictions.PoliceStation", null=True, blank=True, on_delete=models.PROTECT
    )
    beat = models.ForeignKey("jurisdictions.Beat", null=True, blank=True, on_delete=models.PROTECT)
    needs_point = models.BooleanField(default=False)
    due_on = models.DateField()
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    version = models.PositiveIntegerField(default=1)
    escalated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cause_visit = models.OneToOneField(
        "mobile_api.Visit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_up",
    )
    last_visit_outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    last_visit_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["beat", "status"]),
            models.Index(fields=["station", "status", "due_on"]),
            models.Index(fields=["district", "status", "due_on"]),
        ]
        constraints = [
            # At most one open verification per offender: the hooks, the periodic job and ad
            # hoc creation all rest on it instead of checking first.
            models.UniqueConstraint(
                fields=["offender"],
                condition=Q(status="open", kind="verification"),
                name="task_one_open_verification",
            ),
            models.CheckConstraint(
                name="task_closed_has_time",
                condition=Q(status="open") | Q(closed_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Task #{self.pk} ({self.kind}, {self.status})"


class TaskChange(models.Model):
    """One change of a task as seen from one beat's list (delta sync, ``selectors``).

    Written in the transaction that changes the task, one row per beat whose list it touches
    (a reassignment writes one for the old beat, which must get a tombstone, and one for the
    new). ``xid`` is that transaction's id: the sync cursor is a PostgreSQL snapshot, and the
    rows a later call returns are those whose transaction that snapshot did not see.
    """

    task = models.ForeignKey(VerificationTask, on_delete=models.CASCADE, related_name="changes")
    beat = models.ForeignKey("jurisdictions.Beat", on_delete=models.CASCADE, related_name="+")
    xid = models.BigIntegerField(db_default=CurrentXactId())
    # Rows older than a sync cursor may live are pruned (``services.task_changes_prune``).
    created_at = models.DateTimeField(db_default=Now(), db_index=True)

    class Meta:
        indexes = [models.Index(fields=["beat", "xid"])]

    def __str__(self) -> str:
        return f"Task #{self.task_id} changed for beat {self.beat_id}"


class Visit(TimestampedModel):
    """One visit by a beat officer, with the phone's GPS fix and the server's verdict.

    ``client_id`` (made on the phone) is unique: a visit queued offline and sent twice is
    stored once, and the replay gets ``response_body`` — the first answer — back.
    """

    client_id = models.UUIDField(unique=True)
    task = models.ForeignKey(VerificationTask, on_delete=models.PROTECT, related_name="visits")
    offender = models.ForeignKey("registry.Offender", on_delete=models.PROTECT, related_name="+")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    lat = models.FloatField()
    lon = models.FloatField()
    accuracy_m = models.FloatField()
    fix_time = models.DateTimeField()
    mock_location = models.BooleanField()
    visited_at = models.DateTimeField()
    notes = models.TextField(blank=True)
    distance_m = models.FloatField(null=True, blank=True)
    flag_reasons = models.JSONField(default=list, blank=True)
    counted = models.BooleanField(default=False)
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.NONE, blank=True
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.CharField(max_length=255, blank=True)
    response_status = models.PositiveSmallIntegerField(default=200)
    response_body = models.JSONField(default=dict)

    class Meta:
        ordering = ["-visited_at", "-id"]
        indexes = [
            models.Index(fields=["task", "outcome"]),
            models.Index(fields=["offender", "counted", "visited_at"]),
            models.Index(
                fields=["review_status"],
                condition=Q(review_status="pending"),
                name="visit_pending_review",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="visit_accuracy_non_negative", condition=Q(accuracy_m__gte=0)
            ),
        ]

    def __str__(self) -> str:
        return f"Visit #{self.pk} ({self.outcome})"


class VisitPhoto(models.Model):
    """A photo taken at the visit: re-encoded from its pixels (no EXIF), stored through the
    default storage under a random name, served only through the API."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to="visits/photos/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Photo #{self.pk} of visit {self.visit_id}"
