"""Creating and changing districts, stations and beats.

Every write is validated (``full_clean``: GeoJSON shape, closed rings, validity, WGS84 ranges),
checked to lie inside its parent, and audited in the same transaction. ``actor=None`` is the
system itself (``seed_demo``, data loads); an officer needs ``jurisdiction.manage``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from shapely.geometry.base import BaseGeometry

from accounts.roles import PermissionHolder
from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import Forbidden
from common.geo import validate_polygon
from jurisdictions.models import Beat, BoundedArea, District, PoliceStation, Province

# Boundaries are digitised by hand: a child drawn on its parent's edge may stray by float noise
# (about 10 cm at 1e-6 degrees), which must not count as lying outside.
CONTAINMENT_TOLERANCE_DEG = 1e-6


def _require_manage(actor: PermissionHolder | None) -> None:
    if actor is not None and not actor.has_permission("jurisdiction.manage"):
        raise Forbidden("You may not change jurisdictions.")


def _ensure_within(child: BaseGeometry, parent: BoundedArea, *, parent_kind: str) -> None:
    parent_geometry = validate_polygon(parent.boundary)
    if not parent_geometry.buffer(CONTAINMENT_TOLERANCE_DEG).covers(child):
        raise ValidationError({"boundary": f"The boundary must lie within its {parent_kind}."})


def _ensure_children_within(geometry: BaseGeometry, children: Any, *, kind: str) -> None:
    padded = geometry.buffer(CONTAINMENT_TOLERANCE_DEG)
    outside = [
        child.code for child in children if not padded.covers(validate_polygon(child.boundary))
    ]
    if outside:
        raise ValidationError(
            {"boundary": f"The boundary would leave {kind} outside it: {', '.join(outside)}."}
        )


# The three kinds of area the register uses (all with a ``code``), kept apart for the checker.
_Area = TypeVar("_Area", District, PoliceStation, Beat)

_OBJECT_TYPES: dict[type[BoundedArea], str] = {
    District: "district",
    PoliceStation: "station",
    Beat: "beat",
}


def jurisdiction_validate(*, area: BoundedArea) -> None:
    """Raise ValidationError (on ``boundary`` for geometry) unless ``area`` may be saved: valid
    fields and GeoJSON, inside its parent, and (when it exists already) still around its
    children. Exposed for the admin form, which shows these errors before saving."""
    area.full_clean()  # shape, closed rings, validity, WGS84 ranges, unique code
    geometry = validate_polygon(area.boundary)
    if isinstance(area, District):
        if area.pk is not None:
            _ensure_children_within(geometry, area.stations.all(), kind="stations")
    elif isinstance(area, PoliceStation):
        _ensure_within(geometry, area.district, parent_kind="district")
        if area.pk is not None:
            _ensure_children_within(geometry, area.beats.all(), kind="beats")
    elif isinstance(area, Beat):
        _ensure_within(geometry, area.station, parent_kind="station")
    else:
        raise TypeError(f"not a jurisdiction: {type(area).__name__}")


@transaction.atomic
def jurisdiction_save(*, actor: PermissionHolder | None, area: _Area) -> _Area:
    """Validate and save a district, station or beat built or edited by the caller (the Django
    admin's forms), auditing a create or an update."""
    _require_manage(actor)
    jurisdiction_validate(area=area)
    action = AuditAction.CREATE if area.pk is None else AuditAction.UPDATE
    area.save()
    audit_record(
        actor=actor,
        action=action,
        object_type=_OBJECT_TYPES[type(area)],
        object_id=area.pk,
        details={"code": area.code},
    )
    return area


def district_create(
    *,
    actor: PermissionHolder | None,
    province: Province,
    code: str,
    name: str,
    boundary: dict[str, Any],
) -> District:
    district = District(province=province, code=code, name=name, boundary=boundary)
    return jurisdiction_save(actor=actor, area=district)


def station_create(
    *,
    actor: PermissionHolder | None,
    district: District,
    code: str,
    name: str,
    boundary: dict[str, Any],
    location: dict[str, Any],
) -> PoliceStation:
    """A station's boundary must lie within its district."""
    station = PoliceStation(
        district=district, code=code, name=name, boundary=boundary, location=location
    )
    return jurisdiction_save(actor=actor, area=station)


def beat_create(
    *,
    actor: PermissionHolder | None,
    station: PoliceStation,
    code: str,
    name: str,
    boundary: dict[str, Any],
) -> Beat:
    """A beat's boundary must lie within its station's."""
    beat = Beat(station=station, code=code, name=name, boundary=boundary)
    return jurisdiction_save(actor=actor, area=beat)
