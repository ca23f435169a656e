"""The process's engine index, kept current without a restart.

Every web and worker process holds one ``engine.ZoneIndex``. Before each batch (and each sweep)
``zone_index_current`` reads the one-row zone-set version (an indexed single-row read); when it
moved, the zones written since the index's version (``Zone.version > index.version``) are
patched in — added, replaced, or removed when retired — rather than rebuilding. Zone writes
bump the version in their own transaction, so a committed version means committed zones.
"""

import threading
from collections.abc import Iterable
from datetime import time

from shapely.geometry import shape

from geofence import engine
from geofence.models import Applicability, Zone
from geofence.services.zones import zone_set_version

_lock = threading.Lock()
_index: engine.ZoneIndex | None = None

_APPLIES = {
    Applicability.ALL: engine.AppliesTo.ALL,
    Applicability.VICTIM_MINOR: engine.AppliesTo.VICTIM_MINOR,
    Applicability.OFFENDER: engine.AppliesTo.OFFENDER,
    Applicability.CATEGORY: engine.AppliesTo.CATEGORY,
}


def _schedule(periods: list[dict]) -> tuple[engine.ScheduleInterval, ...] | None:
    if not periods:
        return None
    intervals = []
    for period in periods:
        start = time.fromisoformat(period["start"])
        end = time.fromisoformat(period["end"])
        intervals.extend(engine.ScheduleInterval(day, start, end) for day in period["days"])
    return tuple(intervals)


def engine_zone(zone: Zone) -> engine.Zone:
    """The engine's plain-data form of a zone row."""
    if zone.geometry.get("type") == "Point":
        lon, lat = zone.geometry["coordinates"][:2]
        geometry: engine.Geometry = engine.Circle(float(lon), float(lat), float(zone.radius_m))
    else:
        geometry = shape(zone.geometry)
    return engine.Zone(
        id=zone.pk,
        kind=engine.ZoneKind(zone.kind),
        geometry=geometry,
        buffer_m=zone.buffer_m,
        applies_to=_APPLIES[zone.applies_to],
        offender_id=zone.offender_id,
        category=zone.applies_category or None,
        schedule=_schedule(zone.schedule),
        valid_from=zone.valid_from,
        valid_to=zone.valid_to,
    )


_FIELDS = (
    "id",
    "kind",
    "geometry",
    "radius_m",
    "buffer_m",
    "applies_to",
    "offender_id",
    "applies_category",
    "schedule",
    "valid_from",
    "valid_to",
    "retired_at",
    "version",
)


def _live_zones() -> Iterable[Zone]:
    return Zone.objects.filter(retired_at__isnull=True).only(*_FIELDS).iterator(chunk_size=5000)


def zone_index_build() -> engine.ZoneIndex:
    """A full rebuild from the database (start-up, or after ``zone_index_reset``)."""
    version = zone_set_version()
    return engine.ZoneIndex((engine_zone(z) for z in _live_zones()), version=version)


def zone_index_current() -> engine.ZoneIndex:
    """This process's index, patched up to the committed zone-set version."""
    global _index
    version = zone_set_version()
    with _lock:
        if _index is None:
            _index = zone_index_build()
            return _index
        if _index.version == version:
            return _index
        changed = list(
            Zone.objects.filter(version__gt=_index.version, version__lte=version).only(*_FIELDS)
        )
        retired = [z.pk for z in changed if z.retired_at is not None]
        live = [engine_zone(z) for z in changed if z.retired_at is None]
        if retired:
            _index.remove(retired, version=version)
        if live or not retired:
            _index.add(live, version=version)
        return _index


def zone_index_reset() -> None:
    """Forget the index (tests; a process that wants a full rebuild)."""
    global _index
    with _lock:
        _index = None
