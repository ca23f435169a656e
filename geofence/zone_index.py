"""The process's engine index, kept current without a restart.

Every web and worker process holds one ``engine.ZoneIndex``. Before each batch (and each sweep)
``zone_index_current`` reads the one-row zone-set version (an indexed single-row read); when it
moved, the zones written since the index's version (``Zone.version > index.version``) are
patched in — added, replaced, or removed when retired — rather than rebuilding. Zone writes
bump the version in their own transaction, so a committed version means committed zones.
"""

import json
import threading
from collections.abc import Iterable
from datetime import time

import numpy as np
import ujson
from django.db import connection
from shapely.geometry import MultiPolygon, Polygon, shape

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


def _polygon(rings: list) -> Polygon:
    # From numpy arrays: shapely's list path walks every vertex in Python (2,000 per district).
    return Polygon(
        np.asarray(rings[0], dtype=float), [np.asarray(h, dtype=float) for h in rings[1:]]
    )


def _polygonal(geometry: dict) -> Polygon | MultiPolygon:
    if geometry["type"] == "Polygon":
        return _polygon(geometry["coordinates"])
    if geometry["type"] == "MultiPolygon":
        return MultiPolygon([_polygon(p) for p in geometry["coordinates"]])
    return shape(geometry)


def engine_zone(zone: Zone) -> engine.Zone:
    """The engine's plain-data form of a zone row."""
    return _engine_zone(*(getattr(zone, name) for name in _FIELDS[:11]))


def _engine_zone(
    zone_id: int,
    kind: str,
    geometry: dict,
    radius_m: float | None,
    buffer_m: float,
    applies_to: str,
    offender_id: int | None,
    applies_category: str,
    schedule: list[dict],
    valid_from,  # noqa: ANN001 - datetime | None
    valid_to,  # noqa: ANN001 - datetime | None
) -> engine.Zone:
    if geometry.get("type") == "Point":
        lon, lat = geometry["coordinates"][:2]
        shape_: engine.Geometry = engine.Circle(float(lon), float(lat), float(radius_m))
    else:
        shape_ = _polygonal(geometry)
    return engine.Zone(
        id=zone_id,
        kind=engine.ZoneKind(kind),
        geometry=shape_,
        buffer_m=buffer_m,
        applies_to=_APPLIES[applies_to],
        offender_id=offender_id,
        category=applies_category or None,
        schedule=_schedule(schedule),
        valid_from=valid_from,
        valid_to=valid_to,
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


# Point zones come as columns: one row per set of circles sharing every rule attribute (a
# school layer is one or a few rows), their ids, centres, radii and buffers as packed binary
# (``int8send``/``float8send``: big-endian, read with ``np.frombuffer``) — no JSON, no object
# per circle, and none of the text formatting and parsing of 1.25 million numbers that
# ``array_agg`` costs. Everything else (polygons, a handful) comes as rows.
_CIRCLES_SQL = """
SELECT kind, applies_to, offender_id, applies_category,
       CASE WHEN schedule = '[]'::jsonb THEN NULL ELSE schedule END, valid_from, valid_to,
       string_agg(int8send(id), ''),
       string_agg(float8send((geometry->'coordinates'->>0)::float8), ''),
       string_agg(float8send((geometry->'coordinates'->>1)::float8), ''),
       string_agg(float8send(radius_m), ''), string_agg(float8send(buffer_m), '')
FROM geofence_zone WHERE retired_at IS NULL AND geometry->>'type' = 'Point'
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""

_SHAPES_SQL = """
SELECT id, kind, geometry, radius_m, buffer_m, applies_to, offender_id, applies_category,
       CASE WHEN schedule = '[]'::jsonb THEN NULL ELSE schedule END, valid_from, valid_to
FROM geofence_zone WHERE retired_at IS NULL AND geometry->>'type' <> 'Point'
"""


def _live_circles() -> list[engine.CircleColumns]:
    groups = []
    with connection.cursor() as cursor:
        cursor.execute(_CIRCLES_SQL)
        for kind, applies_to, offender_id, category, schedule, vfrom, vto, *arrays in cursor:
            ids, lons, lats, radii, buffers = arrays
            # Django hands jsonb to Python as text (its JSONField decodes it itself).
            template = _engine_zone(
                0,
                kind,
                {"type": "Point", "coordinates": [0.0, 0.0]},
                1.0,
                0.0,
                applies_to,
                offender_id,
                category,
                json.loads(schedule) if schedule else [],
                vfrom,
                vto,
            )
            groups.append(
                engine.CircleColumns(
                    template=template,
                    ids=np.frombuffer(ids, dtype=">i8").astype(np.int64),
                    lons=np.frombuffer(lons, dtype=">f8").astype(np.float64),
                    lats=np.frombuffer(lats, dtype=">f8").astype(np.float64),
                    radii=np.frombuffer(radii, dtype=">f8").astype(np.float64),
                    buffers=np.frombuffer(buffers, dtype=">f8").astype(np.float64),
                )
            )
    return groups


def _live_shapes() -> Iterable[engine.Zone]:
    with connection.cursor() as cursor:
        cursor.execute(_SHAPES_SQL)
        while rows := cursor.fetchmany(1_000):
            for zone_id, kind, geometry, *rest in rows:
                rest[5] = json.loads(rest[5]) if rest[5] else []
                # ujson: the same floats as json (shortest round-trip text, correctly rounded),
                # about 4x faster on a district's thousands of vertices.
                yield _engine_zone(zone_id, kind, ujson.loads(geometry), *rest)


def zone_index_build() -> engine.ZoneIndex:
    """A full rebuild from the database (start-up, or after ``zone_index_reset``)."""
    version = zone_set_version()
    return engine.ZoneIndex(_live_shapes(), circles=_live_circles(), version=version)


def zone_index_current(version: int | None = None) -> engine.ZoneIndex:
    """This process's index, patched up to the committed zone-set version (``version`` when
    the caller read it already, in a statement of its own)."""
    global _index
    if version is None:
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
