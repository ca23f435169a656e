"""Reads of tracking devices, gateways and zones, already limited to what the actor may see."""

from django.db.models import Q, QuerySet

from accounts.models import Officer
from accounts.roles import Role
from accounts.scoping import NOTHING, jurisdiction_q
from common.exceptions import NotFound
from geofence.models import Gateway, TrackingDevice, Zone


def tracking_device_queryset_for(
    *, actor: Officer, permission: str = "tracking_device.read"
) -> QuerySet[TrackingDevice]:
    """Devices of the offenders the actor's jurisdiction supervises (a station officer its
    station's, a district role its district's, a registry admin all)."""
    return TrackingDevice.objects.filter(
        jurisdiction_q(
            actor,
            district="offender__district",
            station="offender__station",
            permission=permission,
        )
    )


def tracking_device_list(
    *, actor: Officer, offender_id: int | None = None, status: str | None = None
) -> QuerySet[TrackingDevice]:
    devices = tracking_device_queryset_for(actor=actor).select_related("gateway")
    if offender_id is not None:
        devices = devices.filter(offender_id=offender_id)
    if status:
        devices = devices.filter(status=status)
    return devices.order_by("-id")


def gateway_list(*, actor: Officer) -> QuerySet[Gateway]:
    if not actor.is_active or not actor.has_permission("gateway.manage"):
        return Gateway.objects.none()
    return Gateway.objects.order_by("-id")


def zone_queryset_for(*, actor: Officer, permission: str = "zone.read") -> QuerySet[Zone]:
    """Reading: a district role sees its district's zones and the national layers; a station
    officer those of its station's district. Managing (``zone.manage``): a control room only its
    district's own zones, a registry admin every zone."""
    scoped = jurisdiction_q(
        actor, district="district", station="district__stations", permission=permission
    )
    if scoped == NOTHING:
        return Zone.objects.none()
    if permission == "zone.read" and actor.role != Role.REGISTRY_ADMIN:
        scoped = scoped | Q(district__isnull=True)
    # The station path joins one row (the actor's station), so no duplicates to remove.
    return Zone.objects.filter(scoped)


def zone_list(
    *,
    actor: Officer,
    kind: str | None = None,
    category: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    include_retired: bool = False,
) -> QuerySet[Zone]:
    """Zones the actor may see; ``bbox`` (min_lon, min_lat, max_lon, max_lat) keeps those whose
    bounding box meets it."""
    zones = zone_queryset_for(actor=actor).select_related("district")
    if not include_retired:
        zones = zones.filter(retired_at__isnull=True)
    if kind:
        zones = zones.filter(kind=kind)
    if category:
        zones = zones.filter(category=category)
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        zones = zones.filter(
            max_lon__gte=min_lon, min_lon__lte=max_lon, max_lat__gte=min_lat, min_lat__lte=max_lat
        )
    return zones.order_by("-id")


def zone_get(*, actor: Officer, zone_id: int, permission: str = "zone.read") -> Zone:
    zone = zone_queryset_for(actor=actor, permission=permission).filter(pk=zone_id).first()
    if zone is None:
        raise NotFound()
    return zone
