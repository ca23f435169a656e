"""Officers (the users), agencies, device tokens, TOTP and login attempts."""

from datetime import datetime

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q

from accounts.roles import (
    AgencyKind,
    Role,
    Scope,
    role_has_permission,
    role_scope,
    roles_scoped_to,
)
from common.fields import EncryptedTextField
from common.models import TimestampedModel


def _role_in(scope: Scope) -> Q:
    """The officer's role is one bound to ``scope``. A single role is spelt ``role=`` so the
    constraint keeps the form migration 0001 created (no migration for the same rule)."""
    roles = roles_scoped_to(scope)
    return Q(role=roles[0]) if len(roles) == 1 else Q(role__in=roles)


class Agency(TimestampedModel):
    """An authorised agency: NPB, NADRA, a provincial police, prosecution or prison department."""

    kind = models.CharField(max_length=16, choices=[(k.value, k.name) for k in AgencyKind])
    name = models.CharField(max_length=150, unique=True)
    province = models.ForeignKey(
        "jurisdictions.Province", null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Officer(AbstractUser):
    """A person who uses Nigrani: an officer of an agency with one role and one jurisdiction.

    The jurisdiction is the province, district, station or beat the role needs (see
    ``accounts.roles.ROLE_TABLE``); national roles have none.
    """

    # Django's documented way to drop AbstractUser's fields; the stubs type them as CharFields.
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    full_name = models.CharField(max_length=150)
    rank = models.CharField(max_length=64, blank=True)
    badge_number = models.CharField(max_length=32, blank=True)
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT)
    role = models.CharField(max_length=32, choices=[(r.value, r.value) for r in Role])
    province = models.ForeignKey(
        "jurisdictions.Province", null=True, blank=True, on_delete=models.PROTECT
    )
    district = models.ForeignKey(
        "jurisdictions.District", null=True, blank=True, on_delete=models.PROTECT
    )
    station = models.ForeignKey(
        "jurisdictions.PoliceStation", null=True, blank=True, on_delete=models.PROTECT
    )
    beat = models.ForeignKey("jurisdictions.Beat", null=True, blank=True, on_delete=models.PROTECT)
    # Set while locked out; a system_admin's unlock clears it.
    locked_until = models.DateTimeField(null=True, blank=True)
    # Failed logins before this moment no longer count towards a lockout: set by a successful
    # login and by an unlock, so an unlocked officer is not locked again by old failures.
    failures_reset_at = models.DateTimeField(null=True, blank=True)
    # Work phone (E.164) for the SMS fallback of critical alerts: not every officer's phone
    # has Google services for push.
    work_phone = models.CharField(max_length=16, blank=True)

    REQUIRED_FIELDS = ["full_name", "role"]
    objects = UserManager()

    class Meta:
        # A scoped role always carries the jurisdiction it is scoped to. The roles come from
        # ROLE_TABLE, so a new role or a changed scope is one edit there (and makemigrations).
        constraints = [
            models.CheckConstraint(
                name="officer_district_role_has_district",
                condition=~_role_in(Scope.DISTRICT) | Q(district__isnull=False),
            ),
            models.CheckConstraint(
                name="officer_station_role_has_station",
                condition=~_role_in(Scope.STATION) | Q(station__isnull=False),
            ),
            models.CheckConstraint(
                name="officer_beat_role_has_beat",
                condition=~_role_in(Scope.BEAT) | Q(beat__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def scope(self) -> Scope:
        return role_scope(self.role)

    def has_permission(self, permission: str) -> bool:
        return self.is_active and role_has_permission(self.role, permission)


class TOTPDevice(TimestampedModel):
    """The officer's authenticator app. ``last_used_step`` makes each code usable once."""

    officer = models.OneToOneField(Officer, on_delete=models.CASCADE, related_name="totp")
    secret = EncryptedTextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"TOTP of {self.officer_id}"


class RecoveryCode(TimestampedModel):
    """One of ten single-use recovery codes, stored only as a password hash."""

    officer = models.ForeignKey(Officer, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=255)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code {self.pk}"


class DeviceToken(TimestampedModel):
    """A bearer token bound to one enrolled phone, stored only as its SHA-256.

    Revoking a lost phone is one call: every token of that device is revoked.
    """

    officer = models.ForeignKey(Officer, on_delete=models.CASCADE, related_name="device_tokens")
    device_id = models.CharField(max_length=128)
    device_name = models.CharField(max_length=128, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        Officer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The phone's FCM registration token, registered by the app after sign-in; pushes go only
    # to live tokens (so a revoked device or a logged-out officer gets none), never to one FCM
    # reported dead (UNREGISTERED / INVALID_ARGUMENT).
    fcm_token = models.CharField(max_length=4096, blank=True)
    fcm_registered_at = models.DateTimeField(null=True, blank=True)
    fcm_dead_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["officer", "device_id"])]

    def __str__(self) -> str:
        return f"{self.device_name or self.device_id} ({self.officer_id})"

    def is_active_at(self, moment: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > moment


class LoginAttempt(models.Model):
    """Every login attempt, kept durably: lockout and address throttling count these rows.

    ``reason`` says why a failed attempt failed (``accounts.services.LoginFailure``); which
    reasons count towards a lockout or a throttle is decided there.
    """

    username = models.CharField(max_length=150, db_index=True)
    officer = models.ForeignKey(Officer, null=True, blank=True, on_delete=models.SET_NULL)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    succeeded = models.BooleanField()
    reason = models.CharField(max_length=32, blank=True)
    attempted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["username", "attempted_at"]),
            models.Index(fields=["client_ip", "attempted_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.username} {'ok' if self.succeeded else 'failed'}"
