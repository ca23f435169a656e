"""Enrolment, revocation and replacement of tracking devices and gateways (all audited)."""

from dataclasses import dataclass
from functools import partial

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import Role
from accounts.scoping import jurisdiction_q
from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import Conflict, Forbidden, NotFound
from geofence.models import CredentialStatus, DeviceKind, Gateway, TrackingDevice
from geofence.services.credentials import (
    DEVICE_PREFIX,
    GATEWAY_PREFIX,
    credential_new,
    known_device_forget,
)
from registry.models import Offender, OffenderStatus


@dataclass(frozen=True)
class Enrolled:
    """A new device or gateway and its credential, which is never shown again."""

    obj: TrackingDevice | Gateway
    credential: str


def _enrollable_offenders(actor: Officer):
    """A prison officer enrols at release (its district, in custody or just released); a
    station officer enrols offenders its station supervises."""
    offenders = Offender.objects.filter(
        jurisdiction_q(
            actor, district="district", station="station", permission="tracking_device.enrol"
        )
    )
    if actor.role == Role.PRISON_OFFICER:
        offenders = offenders.filter(status__in=[OffenderStatus.IN_CUSTODY, OffenderStatus.ACTIVE])
    return offenders


def tracking_device_enrol(
    *,
    actor: Officer,
    offender_id: int,
    kind: str,
    serial: str,
    gateway_id: int | None = None,
    replaces: TrackingDevice | None = None,
) -> Enrolled:
    """Bind a new device to an offender and return its one-time credential."""
    if not actor.has_permission("tracking_device.enrol"):
        raise Forbidden("You may not enrol tracking devices.")
    errors: dict[str, list[str]] = {}
    if kind not in DeviceKind.values:
        errors["kind"] = [f"Unknown device kind {kind!r}."]
    serial = serial.strip()
    if not serial:
        errors["serial"] = ["A serial is required."]
    gateway = None
    if gateway_id is not None:
        gateway = Gateway.objects.filter(pk=gateway_id, status=CredentialStatus.ACTIVE).first()
        if gateway is None:
            errors["gateway"] = ["No such active gateway."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        offender = _enrollable_offenders(actor).filter(pk=offender_id).first()
        if offender is None:
            raise NotFound()
        raw, hashed = credential_new(DEVICE_PREFIX)
        try:
            with transaction.atomic():
                device = TrackingDevice.objects.create(
                    offender=offender,
                    kind=kind,
                    serial=serial,
                    gateway=gateway,
                    credential_hash=hashed,
                    enrolled_by=actor,
                )
        except IntegrityError as exc:
            raise Conflict(
                "The offender already has an active device of this kind (replace it), or the "
                "gateway already serves this serial.",
                code="device_exists",
            ) from exc
        if replaces is not None:
            TrackingDevice.objects.filter(pk=replaces.pk).update(replaced_by=device)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="tracking_device",
            object_id=device.pk,
            details={
                "offender_id": offender.pk,
                "kind": kind,
                "gateway_id": gateway.pk if gateway else None,
                "replaces": replaces.pk if replaces else None,
            },
        )
    return Enrolled(device, raw)


def _device_for_write(*, actor: Officer, device_id: int) -> TrackingDevice:
    # Imported here: selectors import this module's neighbours, not the other way round.
    from geofence.selectors import tracking_device_queryset_for

    device = (
        tracking_device_queryset_for(actor=actor, permission="tracking_device.revoke")
        .select_for_update(of=("self",))
        .filter(pk=device_id)
        .first()
    )
    if device is None:
        raise NotFound()
    return device


def tracking_device_revoke(
    *, actor: Officer, device_id: int, reason: str = "revoked"
) -> TrackingDevice:
    """Stop accepting the device's pings at once (the credential is checked on every request)."""
    if not actor.has_permission("tracking_device.revoke"):
        raise Forbidden("You may not revoke tracking devices.")
    with transaction.atomic():
        device = _device_for_write(actor=actor, device_id=device_id)
        _revoke(device=device, actor=actor, reason=reason)
    return device


def _revoke(*, device: TrackingDevice, actor: Officer, reason: str) -> None:
    if device.status != CredentialStatus.ACTIVE:
        raise Conflict("The device is already revoked.", code="already_revoked")
    now = timezone.now()
    TrackingDevice.objects.filter(pk=device.pk).update(
        status=CredentialStatus.REVOKED,
        revoked_at=now,
        revoked_by=actor,
        revoke_reason=reason,
        updated_at=now,
    )
    device.status, device.revoked_at, device.revoke_reason = CredentialStatus.REVOKED, now, reason
    # This process forgets it now; others find it revoked under the ping path's lock.
    transaction.on_commit(partial(known_device_forget, device.credential_hash))
    audit_record(
        actor=actor,
        action=AuditAction.TOKEN_REVOKED,
        object_type="tracking_device",
        object_id=device.pk,
        details={"offender_id": device.offender_id, "reason": reason},
    )


def tracking_device_replace(*, actor: Officer, device_id: int, serial: str) -> Enrolled:
    """A lost or broken tag: revoke it and enrol its replacement for the same offender, same
    kind and gateway, in one transaction (never a moment with two live credentials)."""
    if not actor.has_permission("tracking_device.enrol"):
        raise Forbidden("You may not enrol tracking devices.")
    with transaction.atomic():
        old = _device_for_write(actor=actor, device_id=device_id)
        _revoke(device=old, actor=actor, reason="replaced")
        return tracking_device_enrol(
            actor=actor,
            offender_id=old.offender_id,
            kind=old.kind,
            serial=serial,
            gateway_id=old.gateway_id,
            replaces=old,
        )


def gateway_enrol(*, actor: Officer, name: str) -> Enrolled:
    """A vendor platform with its own credential; devices are bound to it at enrolment."""
    if not actor.has_permission("gateway.manage"):
        raise Forbidden("You may not enrol gateways.")
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["A name is required."]})
    raw, hashed = credential_new(GATEWAY_PREFIX)
    with transaction.atomic():
        try:
            with transaction.atomic():
                gateway = Gateway.objects.create(
                    name=name, credential_hash=hashed, enrolled_by=actor
                )
        except IntegrityError as exc:
            raise ValidationError({"name": ["A gateway with this name exists."]}) from exc
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="gateway",
            object_id=gateway.pk,
            details={"name": name},
        )
    return Enrolled(gateway, raw)


def gateway_revoke(*, actor: Officer, gateway_id: int) -> Gateway:
    if not actor.has_permission("gateway.manage"):
        raise Forbidden("You may not revoke gateways.")
    with transaction.atomic():
        now = timezone.now()
        updated = Gateway.objects.filter(
            Q(pk=gateway_id), Q(status=CredentialStatus.ACTIVE)
        ).update(status=CredentialStatus.REVOKED, revoked_at=now, updated_at=now)
        gateway = Gateway.objects.filter(pk=gateway_id).first()
        if gateway is None:
            raise NotFound()
        if not updated:
            raise Conflict("The gateway is already revoked.", code="already_revoked")
        audit_record(
            actor=actor,
            action=AuditAction.TOKEN_REVOKED,
            object_type="gateway",
            object_id=gateway.pk,
            details={},
        )
    return gateway
