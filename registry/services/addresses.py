"""Address history and the supervision it decides.

The current address's point decides the supervising station and beat (jurisdiction polygons);
its district decides the supervising district. A change of district or station closes the open
``SupervisionPeriod`` and opens the next, so the former supervisors keep a read-only view of
their period (``registry.selectors``) and the new ones see the offender at once.
"""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Officer
from audit.models import AuditAction
from audit.services import audit_record
from jurisdictions.models import Beat, District, PoliceStation
from jurisdictions.resolve import jurisdiction_resolve
from registry import hooks
from registry.models import Address, Offender, SupervisionPeriod


def address_point_resolve(
    *, district: District, lon: float | None, lat: float | None, field_prefix: str = "address"
) -> tuple[PoliceStation | None, Beat | None]:
    """The (station, beat) covering the point, checked against the declared district.

    No point, or a point inside the district but outside every loaded station: supervision by
    the district alone (station and beat None) until the address is verified. A point inside
    another district, or outside every district (a sign slip such as -31.5 for 31.5), is a
    mistake in the point or the district and is refused, naming both: the district does not
    follow the point (the declared district is the clerk's statement; a point alone could move
    supervision), and a record nobody's station covers would go unsupervised."""
    if (lon is None) != (lat is None):
        raise ValidationError({f"{field_prefix}.lat": ["Give both lat and lon, or neither."]})
    if lon is None or lat is None:
        return None, None
    try:
        resolution = jurisdiction_resolve(lon=lon, lat=lat)
    except ValidationError as exc:
        raise ValidationError(
            {f"{field_prefix}.{key}": value for key, value in exc.message_dict.items()}
        ) from exc
    if resolution.district is None:
        outside = [f"The point is outside district {district.code}."]
        raise ValidationError(
            {
                f"{field_prefix}.lat": outside,
                f"{field_prefix}.lon": outside,
                f"{field_prefix}.district": [
                    f"District {district.code} does not contain the point given."
                ],
            }
        )
    if resolution.district.pk != district.pk:
        raise ValidationError(
            {
                f"{field_prefix}.district": [
                    f"The point lies in district {resolution.district.code}, not {district.code}."
                ]
            }
        )
    return resolution.station, resolution.beat


def supervision_sync(*, offender: Offender, at: datetime | None = None) -> SupervisionPeriod:
    """Make the open supervision period match the offender's district and station: keep it
    when it does, else close it and open the next."""
    at = at or timezone.now()
    current = SupervisionPeriod.objects.filter(offender=offender, ended_at__isnull=True).first()
    if (
        current is not None
        and current.district_id == offender.district_id
        and current.station_id == offender.station_id
    ):
        return current
    if current is not None:
        current.ended_at = at
        current.save(update_fields=["ended_at", "updated_at"])
    return SupervisionPeriod.objects.create(
        offender=offender,
        district_id=offender.district_id,
        station_id=offender.station_id,
        started_at=at,
    )


def _supervise_at(
    *,
    offender: Offender,
    district: District,
    station: PoliceStation | None,
    beat: Beat | None,
    at: datetime,
) -> tuple[SupervisionPeriod | None, SupervisionPeriod]:
    """Supervision follows the current address: the record's district, station and beat, and
    the open supervision period with them. Returns the period open before and the one open
    now (the same period when supervision did not move)."""
    offender.district = district
    offender.station = station
    offender.beat = beat
    offender.save(update_fields=["district", "station", "beat", "updated_at"])
    previous = SupervisionPeriod.objects.filter(offender=offender, ended_at__isnull=True).first()
    current = supervision_sync(offender=offender, at=at)
    return previous, current


def address_change(
    *,
    actor: Officer,
    offender: Offender,
    text: str,
    district: District,
    lon: float | None,
    lat: float | None,
) -> Address:
    """Close the current address, open the new one and move supervision with it.

    No permission check here: callers (offender update, release, a notice of change) decide
    who may change an address; ``offender`` should be locked by the caller. Calls
    ``address_changed`` always and ``offender_transferred`` when the district changes."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"address.text": ["The address text is required."]})
    station, beat = address_point_resolve(district=district, lon=lon, lat=lat)
    with transaction.atomic():
        now = timezone.now()
        Address.objects.filter(offender=offender, valid_to__isnull=True).update(
            valid_to=now, updated_at=now
        )
        address = Address.objects.create(
            offender=offender,
            text=text,
            district=district,
            lon=lon,
            lat=lat,
            station=station,
            beat=beat,
            valid_from=now,
        )
        old_district = offender.district if offender.district_id else None
        old_station_id = offender.station_id
        transferred = old_district is not None and old_district.pk != district.pk
        previous, current = _supervise_at(
            offender=offender, district=district, station=station, beat=beat, at=now
        )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="offender",
            object_id=offender.pk,
            details={
                "fields": ["address"],
                "address_id": address.pk,
                "district_id": district.pk,
                "station_id": offender.station_id,
                "previous_station_id": old_station_id,
                "transferred": transferred,
            },
        )
        hooks.call("address_changed", offender=offender, address=address, actor=actor)
        if previous is not None and previous.pk != current.pk:
            previous.refresh_from_db(fields=["ended_at"])
            hooks.call(
                "supervision_moved",
                offender=offender,
                previous=previous,
                current=current,
                actor=actor,
            )
        if transferred:
            hooks.call(
                "offender_transferred", offender=offender, old_district=old_district, actor=actor
            )
    return address


def address_locate(
    *,
    actor: Officer,
    address: Address,
    lon: float,
    lat: float,
    audit_details: dict[str, Any] | None = None,
) -> bool:
    """The first fix of an address recorded without a point (a counted confirmed
    verification visit found the offender there): the address gets the point and, when it is
    the current one, supervision the station and beat its polygon falls in — the same move as
    ``address_change``, without a new address (nothing moved; the register learnt where).

    Returns whether the point was recorded. A fix in another district than the address's is
    not (that is a change of address, for the register: ``address_change``); nor is one for an
    address that got its point meanwhile (the conditional UPDATE: of two visits, one wins).
    ``audit_details`` names what found the point (``visit_id``)."""
    try:
        station, beat = address_point_resolve(district=address.district, lon=lon, lat=lat)
    except ValidationError:
        return False
    now = timezone.now()
    updated = Address.objects.filter(pk=address.pk, lat__isnull=True).update(
        lat=lat,
        lon=lon,
        station=station,
        beat=beat,
        updated_at=now,
    )
    if not updated or address.valid_to is not None:
        return False
    address.lat, address.lon, address.station, address.beat = lat, lon, station, beat
    offender = Offender.objects.select_for_update().get(pk=address.offender_id)
    _supervise_at(offender=offender, district=offender.district, station=station, beat=beat, at=now)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="offender",
        object_id=offender.pk,
        details={
            "fields": ["address_point"],
            "address_id": address.pk,
            **(audit_details or {}),
            "station_id": station.pk if station else None,
            "beat_id": beat.pk if beat else None,
        },
    )
    return True
