"""Tracking devices and gateways, zones, travel windows, per-offender evaluation state and
episodes. Location pings live in a natively partitioned table made by raw SQL (migration
0002): Django cannot declare partitioning, and the ping path writes it by COPY anyway.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from common.models import TimestampedModel


class DeviceKind(models.TextChoices):
    ANKLE_TAG = "ankle_tag"
    PHONE = "phone"


class CredentialStatus(models.TextChoices):
    ACTIVE = "active"
    REVOKED = "revoked"


class Gateway(TimestampedModel):
    """A vendor's monitoring platform that forwards its tags' positions in bulk. Its credential
    (a SHA-256 of a random secret, shown once) posts pings only for the devices bound to it."""

    name = models.CharField(max_length=100, unique=True)
    credential_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=16, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE
    )
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Gateway {self.name}"


class TrackingDevice(TimestampedModel):
    """An ankle tag or an offender's phone, bound to one offender. Its credential is stored only
    as a SHA-256 (a separate credential type from officers' tokens: it opens the ping endpoint
    and nothing else). A replaced tag is revoked and points at its replacement."""

    offender = models.ForeignKey(
        "registry.Offender", on_delete=models.PROTECT, related_name="tracking_devices"
    )
    kind = models.CharField(max_length=16, choices=DeviceKind.choices)
    serial = models.CharField(max_length=64, help_text="The vendor's id for the tag or phone")
    credential_hash = models.CharField(max_length=64, unique=True)
    gateway = models.ForeignKey(
        Gateway, null=True, blank=True, on_delete=models.PROTECT, related_name="devices"
    )
    status = models.CharField(
        max_length=16, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE
    )
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
    revoke_reason = models.CharField(max_length=32, blank=True)
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )
    # The newest fix received; the highest device_seq stored (a ping above it is new without
    # a lookup); the open tag_offline violation while the device is silent.
    last_ping_at = models.DateTimeField(null=True, blank=True)
    max_seq = models.BigIntegerField(null=True, blank=True)
    offline_violation = models.ForeignKey(
        "compliance.Violation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["offender", "kind"],
                condition=Q(status=CredentialStatus.ACTIVE),
                name="tracking_device_one_active_per_kind",
            ),
            models.UniqueConstraint(
                fields=["gateway", "serial"],
                condition=Q(status=CredentialStatus.ACTIVE),
                name="tracking_device_serial_unique_per_gateway",
            ),
        ]
        # No index holds last_ping_at or max_seq: every batch moves them, and an indexed column
        # that changes makes PostgreSQL write a new entry in every index of the table (12
        # here) instead of a heap-only (HOT) update — that was the dearest statement of a
        # batch. The tag-offline sweep reads the active devices once a minute with a scan.
        # The table and OffenderTrack keep free room in each page (fillfactor 70, migration
        # 0003) so that an update finds space beside the row it replaces.

    def __str__(self) -> str:
        return f"{self.kind} {self.serial}"


class PingBatchReceipt(models.Model):
    """The answer given to one batch, by sender and digest of its items: a retried batch gets
    the same answer and stores nothing twice. Pruned with the ping partitions' housekeeping."""

    sender = models.CharField(max_length=32, help_text="device:<id> or gateway:<id>")
    digest = models.CharField(max_length=64)
    response = models.JSONField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sender", "digest"], name="ping_batch_receipt_unique")
        ]

    def __str__(self) -> str:
        return f"Batch {self.digest[:8]} from {self.sender}"


class ZoneKind(models.TextChoices):
    EXCLUSION = "exclusion"
    INCLUSION = "inclusion"


class Applicability(models.TextChoices):
    ALL = "all"
    VICTIM_MINOR = "victim_minor"
    OFFENDER = "offender"
    CATEGORY = "category"


class ZoneSet(models.Model):
    """One row: the version of the zone set. Every zone write bumps it in the same transaction;
    each process compares it with its index's version before a batch and patches the zones
    changed since (``Zone.version``)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(name="zone_set_one_row", condition=Q(id=1))]

    def __str__(self) -> str:
        return f"zone set v{self.version}"


class Zone(TimestampedModel):
    """An exclusion zone (a school, a victim's home) or an inclusion zone (the permitted area).

    ``geometry`` is GeoJSON (Polygon, MultiPolygon, or a Point with ``radius_m``) as given;
    ``buffer_m`` grows it at evaluation. Applicability: everyone, offenders with a minor
    victim, one offender, or an offender category (``applies_category``: ``risk_tier:<n>``, or
    ``district:<id>`` — the district inclusion zone of everyone that district supervises).
    ``schedule`` is a list of ``{"days": [0-6, Monday 0], "start": "HH:MM", "end": "HH:MM"}``
    in Pakistan time;
    empty means always. ``source_id`` is the stable id of an imported feature, so a re-import
    updates rather than duplicates. ``version`` is the zone-set version of its last change.
    """

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=ZoneKind.choices)
    category = models.CharField(max_length=32, help_text="school, playground, victim_home…")
    geometry = models.JSONField()
    radius_m = models.FloatField(null=True, blank=True)
    buffer_m = models.FloatField(default=0)
    min_lon = models.FloatField()
    min_lat = models.FloatField()
    max_lon = models.FloatField()
    max_lat = models.FloatField()
    applies_to = models.CharField(
        max_length=16, choices=Applicability.choices, default=Applicability.ALL
    )
    offender = models.ForeignKey(
        "registry.Offender",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    applies_category = models.CharField(
        max_length=64,
        blank=True,
        help_text="For applies_to=category: risk_tier:<n> or district:<id>",
    )
    schedule = models.JSONField(default=list, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    district = models.ForeignKey(
        "jurisdictions.District",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The district that owns the zone (none: national layer)",
    )
    source_id = models.CharField(max_length=100, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    version = models.BigIntegerField(default=0, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["category", "source_id"],
                condition=~Q(source_id=""),
                name="zone_source_id_unique_per_category",
            ),
            models.CheckConstraint(
                name="zone_offender_applicability",
                condition=(Q(applies_to=Applicability.OFFENDER) & Q(offender__isnull=False))
                | (~Q(applies_to=Applicability.OFFENDER) & Q(offender__isnull=True)),
            ),
            models.CheckConstraint(
                name="zone_category_applicability",
                condition=(Q(applies_to=Applicability.CATEGORY) & ~Q(applies_category=""))
                | (~Q(applies_to=Applicability.CATEGORY) & Q(applies_category="")),
            ),
        ]
        indexes = [models.Index(fields=["kind", "category"])]

    def __str__(self) -> str:
        return f"{self.kind} zone {self.name}"


class WindowStatus(models.TextChoices):
    OPEN = "open"
    CANCELLED = "cancelled"
    CLOSED = "closed"


class TravelWindow(TimestampedModel):
    """An acknowledged travel notice's permission: the destination district is permitted from
    ``starts_at`` to ``ends_at`` (dates plus grace); an international trip suspends the home
    district rule from departure (``destination_district`` empty) until the offender is back."""

    notice = models.OneToOneField(
        "registry.Notice", on_delete=models.CASCADE, related_name="travel_window"
    )
    offender = models.ForeignKey(
        "registry.Offender", on_delete=models.CASCADE, related_name="travel_windows"
    )
    destination_district = models.ForeignKey(
        "jurisdictions.District",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    is_international = models.BooleanField(default=False)
    # The offender-scoped inclusion zone that carries the permission to every engine.
    zone = models.OneToOneField(Zone, on_delete=models.PROTECT, related_name="travel_window")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=WindowStatus.choices, default=WindowStatus.OPEN
    )

    class Meta:
        indexes = [models.Index(fields=["offender", "status", "starts_at"])]

    def __str__(self) -> str:
        return f"Travel window for notice #{self.notice_id}"


class OffenderTrack(models.Model):
    """Per-offender evaluation state: the engine's state machine (consecutive counts, open
    episodes, the newest fix) as JSON. Its row is the lock that serialises one offender's
    batches across processes (``SELECT … FOR UPDATE``), never a global lock."""

    offender = models.OneToOneField(
        "registry.Offender", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    state = models.JSONField(default=dict)
    last_fix_at = models.DateTimeField(null=True, blank=True)
    last_lon = models.FloatField(null=True, blank=True)
    last_lat = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Track of offender #{self.offender_id}"


class EpisodeKind(models.TextChoices):
    EXCLUSION_ZONE = "exclusion_zone"
    TRAVEL_WITHOUT_NOTICE = "travel_without_notice"


class Episode(models.Model):
    """One breach from its first fix to its last: inside an exclusion zone, or outside every
    permitted area. The violation's cause; at most one open per offender, kind and zone
    (a database constraint, so two processes can never open the same one twice)."""

    offender = models.ForeignKey(
        "registry.Offender", on_delete=models.CASCADE, related_name="geofence_episodes"
    )
    kind = models.CharField(max_length=32, choices=EpisodeKind.choices)
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.PROTECT)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    lon = models.FloatField()
    lat = models.FloatField()
    violation = models.ForeignKey(
        "compliance.Violation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["offender", "kind", "zone"],
                condition=Q(ended_at__isnull=True),
                nulls_distinct=False,
                name="episode_one_open_per_zone",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} episode #{self.pk}"
