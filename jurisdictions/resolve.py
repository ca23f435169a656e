"""Point → district, station and beat.

One SQL round trip prefilters candidates at all three levels on the bounding-box columns
(GiST-indexed, see ``models.bbox_box``); shapely then decides exactly. Parsed and prepared
geometries are cached in-process per object, keyed by (id, updated_at): an edited boundary is
picked up by the next resolution without any invalidation signal, and an unchanged one is never
parsed again.

Resolution is hierarchical (the station is sought only in the chosen district, the beat only
in the chosen station), so a point on a shared edge never gets a beat of one station and the
station next door. On a shared edge the smallest id wins, so the answer is deterministic.
"""

import copy
import functools
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Model
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from jurisdictions.models import Beat, District, PoliceStation


@dataclass(frozen=True)
class Resolution:
    district: District | None
    station: PoliceStation | None
    beat: Beat | None


@dataclass(frozen=True)
class _Entry:
    updated_at: datetime
    geometry: BaseGeometry  # prepared
    parent_id: int | None
    field_names: tuple[str, ...]
    values: tuple[Any, ...]  # every concrete field but the boundary, for Model.from_db


# (model, level's parent attname): district → station → beat.
_LEVELS: tuple[tuple[type[Model], str], ...] = (
    (District, "province_id"),
    (PoliceStation, "district_id"),
    (Beat, "station_id"),
)
_cache: dict[tuple[type[Model], int], _Entry] = {}


def clear_geometry_cache() -> None:
    """Forget every cached geometry (benchmarks measure the cold path with it)."""
    _cache.clear()


@functools.cache
def _candidates_sql() -> str:
    """Candidates at every level whose bounding box covers the point (edges included), in one
    round trip. The WHERE clause spells ``models.bbox_box()`` exactly so the GiST index is used.
    """
    quote = connection.ops.quote_name
    selects = [
        f"SELECT {level}, id, updated_at FROM {quote(model._meta.db_table)} "  # noqa: S608 - table names from our own models
        "WHERE box(point(min_lon, min_lat), point(max_lon, max_lat)) "
        "@> box(point(%s, %s), point(%s, %s))"
        for level, (model, _parent) in enumerate(_LEVELS)
    ]
    return " UNION ALL ".join(selects) + " ORDER BY 1, 2"


def _build_entry(obj: Model, parent_attname: str) -> _Entry:
    geometry = shape(obj.boundary)
    shapely.prepare(geometry)
    # GEOS builds a prepared polygon's point locator lazily on first use; build it now, before
    # the entry is shared, so concurrent readers never race to create it.
    shapely.intersects_xy(geometry, 0.0, 0.0)
    fields = [f for f in obj._meta.concrete_fields if f.attname != "boundary"]
    return _Entry(
        updated_at=obj.updated_at,
        geometry=geometry,
        parent_id=getattr(obj, parent_attname),
        field_names=tuple(f.attname for f in fields),
        values=tuple(getattr(obj, f.attname) for f in fields),
    )


def _entries(
    model: type[Model], parent_attname: str, candidates: list[tuple[int, datetime]]
) -> list[tuple[int, _Entry]]:
    """Cached entries for the candidates (in id order), loading stale or missing ones at once."""
    stale = [
        pk
        for pk, updated_at in candidates
        if (entry := _cache.get((model, pk))) is None or entry.updated_at != updated_at
    ]
    if stale:
        for obj in model.objects.filter(pk__in=stale).order_by():
            _cache[(model, obj.pk)] = _build_entry(obj, parent_attname)
    found = [(pk, _cache.get((model, pk))) for pk, _updated_at in candidates]
    return [(pk, entry) for pk, entry in found if entry is not None]


def _instance(model: type[Model], entry: _Entry) -> Model:
    # A fresh instance per call (and copies of JSON values): callers may change what they get
    # without touching the cache.
    values = tuple(copy.deepcopy(v) if isinstance(v, dict | list) else v for v in entry.values)
    return model.from_db(connection.alias, entry.field_names, values)


def _check_point(lon: float, lat: float) -> None:
    errors = {}
    if not (isinstance(lon, int | float) and math.isfinite(lon) and -180 <= lon <= 180):
        errors["lon"] = "Longitude must be a number between -180 and 180."
    if not (isinstance(lat, int | float) and math.isfinite(lat) and -90 <= lat <= 90):
        errors["lat"] = "Latitude must be a number between -90 and 90."
    if errors:
        raise ValidationError(errors)


def _covering(
    entries: list[tuple[int, _Entry]], *, lon: float, lat: float, parent_pk: int | None
) -> tuple[int, _Entry] | None:
    """The first candidate (smallest id: the tie-break on a shared edge) covering the point,
    within the parent when one is given."""
    for pk, entry in entries:
        in_parent = parent_pk is None or entry.parent_id == parent_pk
        # For a point, "intersects" is exactly "covers": inside or on the boundary.
        if in_parent and shapely.intersects_xy(entry.geometry, lon, lat):
            return pk, entry
    return None


_DISTRICT_CANDIDATES_SQL = """
SELECT p.n, d.id, d.updated_at
FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(lon, lat, n)
JOIN {table} d ON box(point(d.min_lon, d.min_lat), point(d.max_lon, d.max_lat))
    @> box(point(p.lon, p.lat), point(p.lon, p.lat))
ORDER BY p.n, d.id
"""


def district_ids_at(points: list[tuple[float, float]]) -> list[int | None]:
    """The id of the district covering each ``(lon, lat)`` (None where none does), in one
    round trip for all: the district level of ``jurisdiction_resolve``, for callers that
    route many points at once (a ping batch's breaches)."""
    for lon, lat in points:
        _check_point(lon, lat)
    if not points:
        return []
    sql = _DISTRICT_CANDIDATES_SQL.format(table=connection.ops.quote_name(District._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [[p[0] for p in points], [p[1] for p in points]])
        rows = cursor.fetchall()
    candidates: list[list[int]] = [[] for _ in points]
    for n, pk, _updated_at in rows:
        candidates[n - 1].append(pk)
    # One load of the stale or missing entries for all the points.
    entries = dict(_entries(District, "province_id", sorted({(r[1], r[2]) for r in rows})))
    found: list[int | None] = []
    for (lon, lat), mine in zip(points, candidates, strict=True):
        match = _covering(
            [(pk, entries[pk]) for pk in mine if pk in entries], lon=lon, lat=lat, parent_pk=None
        )
        found.append(match[0] if match else None)
    return found


def jurisdiction_resolve(*, lon: float, lat: float) -> Resolution:
    """The district, station and beat covering (lon, lat); each None where nothing covers it.

    The returned objects carry every field but ``boundary``, which is deferred (reading it
    costs a query).
    """
    _check_point(lon, lat)
    with connection.cursor() as cursor:
        cursor.execute(_candidates_sql(), [lon, lat, lon, lat] * len(_LEVELS))
        rows = cursor.fetchall()
    by_level: list[list[tuple[int, datetime]]] = [[] for _ in _LEVELS]
    for level, pk, updated_at in rows:
        by_level[level].append((pk, updated_at))

    chosen: list[Model | None] = []
    parent_pk: int | None = None
    for level, (model, parent_attname) in enumerate(_LEVELS):
        match = None
        if level == 0 or parent_pk is not None:
            match = _covering(
                _entries(model, parent_attname, by_level[level]),
                lon=lon,
                lat=lat,
                parent_pk=None if level == 0 else parent_pk,
            )
        parent_pk = match[0] if match else None
        chosen.append(_instance(model, match[1]) if match else None)
    district, station, beat = chosen
    # ``chosen`` holds a District, a PoliceStation and a Beat in that order (the levels above),
    # which a list's one element type (Model | None) cannot say.
    return Resolution(district=district, station=station, beat=beat)  # type: ignore[arg-type]
