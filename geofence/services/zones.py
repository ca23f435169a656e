"""Writes of zones: create, edit, retire (audited), and the zone-set version every process's
index follows. ``zone_upsert_many`` is the set-based form the importer uses."""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import Scope
from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import Conflict, Forbidden
from common.geo import GeometryError
from geofence import selectors
from geofence.geometry import zone_bounds, zone_geometry_validate
from geofence.models import Applicability, Zone, ZoneKind, ZoneSet
from jurisdictions.models import District
from registry.models import Offender

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_CATEGORY = re.compile(r"^(risk_tier:[1-9]|district:\d+)$")
# Fields an edit may change; the rest (kind, owner district) make a different zone.
EDITABLE = frozenset(
    {
        "name",
        "category",
        "geometry",
        "radius_m",
        "buffer_m",
        "applies_to",
        "offender_id",
        "applies_category",
        "schedule",
        "valid_from",
        "valid_to",
    }
)


def zone_set_bump() -> int:
    """The next zone-set version, taken in the caller's transaction. The one row is locked
    until commit, which orders zone writes (rare) so versions commit in sequence and a
    process that has seen version v has seen every change up to v."""
    ZoneSet.objects.get_or_create(pk=1)
    ZoneSet.objects.filter(pk=1).update(version=F("version") + 1)
    return ZoneSet.objects.values_list("version", flat=True).get(pk=1)


# The committed zone-set version (also read inside the ping ingest's first statement).
ZONE_SET_VERSION_SQL = "SELECT version FROM geofence_zoneset WHERE id = 1"


def zone_set_version() -> int:
    with connection.cursor() as cursor:
        cursor.execute(ZONE_SET_VERSION_SQL)
        row = cursor.fetchone()
    return row[0] if row else 0


def schedule_validate(value: Any) -> list[dict[str, Any]]:
    """A weekly schedule in Pakistan time: ``[{"days": [0..6], "start": "HH:MM", "end":
    "HH:MM"}]`` (Monday 0). ``end`` before ``start`` runs past midnight (a night curfew)."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValidationError({"schedule": ["A schedule is a list of weekly periods."]})
    periods = []
    for index, period in enumerate(value):
        where = f"period {index}"
        if not isinstance(period, dict) or set(period) != {"days", "start", "end"}:
            raise ValidationError({"schedule": [f"{where}: give days, start and end."]})
        days = period["days"]
        if (
            not isinstance(days, list)
            or not days
            or any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in days)
        ):
            raise ValidationError({"schedule": [f"{where}: days are 0 (Monday) to 6."]})
        for key in ("start", "end"):
            if not isinstance(period[key], str) or not _HHMM.match(period[key]):
                raise ValidationError({"schedule": [f"{where}: {key} must be HH:MM."]})
        if period["start"] == period["end"]:
            raise ValidationError({"schedule": [f"{where}: start and end must differ."]})
        periods.append({"days": sorted(set(days)), "start": period["start"], "end": period["end"]})
    return periods


@dataclass
class ZoneInput:
    """A zone as given, before validation."""

    name: str
    kind: str
    category: str
    geometry: Any
    radius_m: float | None = None
    buffer_m: float = 0.0
    applies_to: str = Applicability.ALL
    offender_id: int | None = None
    applies_category: str = ""
    schedule: Any = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    district_code: str | None = None
    source_id: str = ""
    within_pakistan: bool = True


def zone_fields_validate(data: ZoneInput) -> dict[str, Any]:
    """Field-level errors for every bad field at once, or the model fields of the zone."""
    errors: dict[str, list[str]] = {}
    fields: dict[str, Any] = {}
    if not (data.name or "").strip():
        errors["name"] = ["A name is required."]
    if data.kind not in ZoneKind.values:
        errors["kind"] = [f"kind must be one of {ZoneKind.values}."]
    if not (data.category or "").strip():
        errors["category"] = ["A category is required."]
    try:
        geom = zone_geometry_validate(
            data.geometry,
            radius_m=data.radius_m,
            buffer=data.buffer_m or 0.0,
            within_pakistan=data.within_pakistan,
        )
    except GeometryError as exc:
        errors["geometry"] = [str(exc)]
        geom = None
    if data.applies_to not in Applicability.values:
        errors["applies_to"] = [f"applies_to must be one of {Applicability.values}."]
    elif data.applies_to == Applicability.OFFENDER:
        if data.offender_id is None or not Offender.objects.filter(pk=data.offender_id).exists():
            errors["offender"] = ["A zone for one offender needs an existing offender."]
    elif data.offender_id is not None:
        errors["offender"] = ["Only a zone for one offender names an offender."]
    if data.applies_to == Applicability.CATEGORY:
        if not _CATEGORY.match(data.applies_category or ""):
            errors["applies_category"] = ["Give risk_tier:<n> or district:<id>."]
    elif data.applies_category:
        errors["applies_category"] = ["Only a zone for a category names one."]
    try:
        schedule = schedule_validate(data.schedule)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        schedule = []
    if data.valid_from and data.valid_to and data.valid_to <= data.valid_from:
        errors["valid_to"] = ["valid_to must be after valid_from."]
    if errors:
        raise ValidationError(errors)
    min_lon, min_lat, max_lon, max_lat = zone_bounds(
        geom, radius_m=data.radius_m, buffer=data.buffer_m or 0.0
    )
    fields.update(
        name=data.name.strip(),
        kind=data.kind,
        category=data.category.strip(),
        geometry=data.geometry,
        radius_m=data.radius_m,
        buffer_m=data.buffer_m or 0.0,
        min_lon=min_lon,
        min_lat=min_lat,
        max_lon=max_lon,
        max_lat=max_lat,
        applies_to=data.applies_to,
        offender_id=data.offender_id if data.applies_to == Applicability.OFFENDER else None,
        applies_category=data.applies_category if data.applies_to == Applicability.CATEGORY else "",
        schedule=schedule,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
    )
    return fields


def _owner_district(actor: Officer, district_code: str | None) -> District | None:
    """A control room's zones belong to its district; a registry admin's to the one it names,
    or to none (a national layer)."""
    if actor.scope == Scope.NATIONAL:
        if not district_code:
            return None
        district = District.objects.filter(code=district_code).first()
        if district is None:
            raise ValidationError({"district": ["No such district."]})
        return district
    if district_code and district_code != getattr(actor.district, "code", None):
        raise ValidationError({"district": ["You may only create zones in your district."]})
    return actor.district


def _audit(actor: Officer | None, action: str, zone: Zone, details: dict[str, Any]) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="zone",
        object_id=zone.pk,
        details={"kind": zone.kind, "category": zone.category, "version": zone.version, **details},
    )


def zone_create(*, actor: Officer, data: ZoneInput) -> Zone:
    if not actor.has_permission("zone.manage"):
        raise Forbidden("You may not manage zones.")
    fields = zone_fields_validate(data)
    district = _owner_district(actor, data.district_code)
    with transaction.atomic():
        version = zone_set_bump()
        zone = Zone.objects.create(
            **fields, district=district, source_id=data.source_id, version=version
        )
        _audit(actor, AuditAction.CREATE, zone, {"district_id": zone.district_id})
    return zone


def zone_update(*, actor: Officer, zone_id: int, changes: dict[str, Any]) -> Zone:
    """Edit a live zone; every process's index picks the change up before its next batch."""
    if not actor.has_permission("zone.manage"):
        raise Forbidden("You may not manage zones.")
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in unknown})
    with transaction.atomic():
        zone = selectors.zone_get(actor=actor, zone_id=zone_id, permission="zone.manage")
        if zone.retired_at is not None:
            raise Conflict("A retired zone cannot be edited.", code="zone_retired")
        current = ZoneInput(
            name=zone.name,
            kind=zone.kind,
            category=zone.category,
            geometry=zone.geometry,
            radius_m=zone.radius_m,
            buffer_m=zone.buffer_m,
            applies_to=zone.applies_to,
            offender_id=zone.offender_id,
            applies_category=zone.applies_category,
            schedule=zone.schedule,
            valid_from=zone.valid_from,
            valid_to=zone.valid_to,
        )
        for name, value in changes.items():
            setattr(current, name, value)
        if "geometry" in changes and "radius_m" not in changes:
            kind = changes["geometry"].get("type") if isinstance(changes["geometry"], dict) else ""
            if kind != "Point":
                current.radius_m = None
        fields = zone_fields_validate(current)
        fields["version"] = zone_set_bump()
        Zone.objects.filter(pk=zone.pk).update(**fields, updated_at=timezone.now())
        for name, value in fields.items():
            setattr(zone, name, value)
        _audit(actor, AuditAction.UPDATE, zone, {"fields": sorted(changes)})
    return zone


def zone_retire(*, actor: Officer, zone_id: int) -> Zone:
    """Take a zone out of evaluation (kept for the violations that name it)."""
    if not actor.has_permission("zone.manage"):
        raise Forbidden("You may not manage zones.")
    with transaction.atomic():
        zone = selectors.zone_get(actor=actor, zone_id=zone_id, permission="zone.manage")
        if zone.retired_at is not None:
            raise Conflict("The zone is already retired.", code="zone_retired")
        now = timezone.now()
        version = zone_set_bump()
        Zone.objects.filter(pk=zone.pk).update(retired_at=now, version=version, updated_at=now)
        zone.retired_at, zone.version = now, version
        _audit(actor, AuditAction.TRANSITION, zone, {"to": "retired"})
    return zone
