"""Station terminals: a device enrolled as a station's counter terminal, and its revocation.
System administrators do both (the admin); every enrolment and revocation is audited with the
ids (the device id is not personal data)."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import DeviceToken, Officer
from audit.models import AuditAction
from audit.services import audit_record
from checkins.models import StationTerminal
from common.exceptions import Forbidden
from jurisdictions.models import PoliceStation

PERMISSION = "device.revoke_any"


def _may_manage(actor: Officer) -> bool:
    return bool(actor.is_active and (actor.is_superuser or actor.has_permission(PERMISSION)))


def station_terminal_errors(*, station: PoliceStation, device_id: str) -> dict[str, list[str]]:
    """Why ``device_id`` cannot become a terminal of ``station`` (none: it can): it must be an
    enrolled device of one of the station's officers, and not a terminal of it already."""
    enrolled = DeviceToken.objects.filter(
        device_id=device_id, officer__station=station, revoked_at__isnull=True
    ).exists()
    if not enrolled:
        return {"device_id": ["No enrolled device with this id belongs to this station."]}
    if StationTerminal.objects.filter(
        station=station, device_id=device_id, revoked_at__isnull=True
    ).exists():
        return {"device_id": ["Already a terminal of this station."]}
    return {}


def station_terminal_enrol(
    *, actor: Officer, station: PoliceStation, device_id: str, name: str = "", via: str = "admin"
) -> StationTerminal:
    """Enrol ``device_id`` as a counter terminal of ``station``. The one-active-terminal-per-
    device constraint is the last guard against two enrolments at once."""
    if not _may_manage(actor):
        raise Forbidden("Only a system administrator can enrol station terminals.")
    errors = station_terminal_errors(station=station, device_id=device_id)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        terminal = StationTerminal.objects.create(
            station=station, device_id=device_id, name=name, enrolled_by=actor
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="station_terminal",
            object_id=terminal.pk,
            details={"via": via, "station_id": station.pk, "device_id": device_id},
        )
    return terminal


def station_terminal_revoke(
    *, actor: Officer, terminal_ids: Iterable[int], via: str = "admin"
) -> list[int]:
    """Revoke the given terminals still active; returns the ids revoked (one audit event
    each). Already revoked ones are left as they are."""
    if not _may_manage(actor):
        raise Forbidden("Only a system administrator can revoke station terminals.")
    now = timezone.now()
    with transaction.atomic():
        revoked = list(
            StationTerminal.objects.select_for_update()
            .filter(pk__in=list(terminal_ids), revoked_at__isnull=True)
            .values_list("id", flat=True)
        )
        StationTerminal.objects.filter(pk__in=revoked).update(revoked_at=now, revoked_by=actor)
        for terminal_id in revoked:
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                object_type="station_terminal",
                object_id=terminal_id,
                details={"via": via, "revoked": True},
            )
    return revoked
