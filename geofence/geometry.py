"""Zone geometry checks and metre buffers (pure: shapely only, no Django).

Coordinates are WGS84 ``[lon, lat]``. Buffers in metres are applied in a local equirectangular
plane around the geometry's centre, exact enough for school-sized buffers at Pakistan's
latitudes (the scale error across a 10 km zone is well under a metre).
"""

import math
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from common.geo import GeometryError, validate_geojson

# Pakistan's bounding box (the figures), generous by a few kilometres.
PAKISTAN_BBOX = (60.85, 23.55, 77.85, 37.15)
METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LON_EQUATOR = 111_320.0
MAX_RADIUS_M = 50_000.0
MAX_BUFFER_M = 5_000.0
# A zone larger than this (degrees of bounding box on a side) is a mistake, not a zone: the
# largest district (Chagai) spans about 5 degrees.
MAX_SPAN_DEG = 8.0


def _to_local(geom: BaseGeometry, lon0: float, lat0: float) -> BaseGeometry:
    kx = METRES_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(lat0))
    return shapely.transform(geom, lambda xy: (xy - (lon0, lat0)) * (kx, METRES_PER_DEGREE_LAT))


def _from_local(geom: BaseGeometry, lon0: float, lat0: float) -> BaseGeometry:
    kx = METRES_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(lat0))
    return shapely.transform(geom, lambda xy: xy / (kx, METRES_PER_DEGREE_LAT) + (lon0, lat0))


def buffer_m(geom: BaseGeometry, metres: float) -> BaseGeometry:
    """``geom`` grown by ``metres`` (a no-op for 0)."""
    if metres <= 0:
        return geom
    centre = geom.centroid
    local = _to_local(geom, centre.x, centre.y)
    return _from_local(local.buffer(metres, quad_segs=8), centre.x, centre.y)


def zone_geometry_validate(
    geometry: Any, *, radius_m: float | None, buffer: float, within_pakistan: bool = True
) -> BaseGeometry:
    """The shapely geometry of a zone, or ``GeometryError`` naming what is wrong.

    A Point needs ``radius_m``; a Polygon or MultiPolygon must not have one. Valid rings,
    WGS84, inside Pakistan's box unless ``within_pakistan`` is false (a travel destination
    abroad), and a sane size."""
    geom = validate_geojson(geometry, allowed_types={"Point", "Polygon", "MultiPolygon"})
    if geom.geom_type == "Point":
        if radius_m is None:
            raise GeometryError("a point zone needs radius_m")
        if not (0 < radius_m <= MAX_RADIUS_M):
            raise GeometryError(f"radius_m must be between 0 and {MAX_RADIUS_M:.0f}")
    elif radius_m is not None:
        raise GeometryError("radius_m is only for point zones")
    if not (0 <= buffer <= MAX_BUFFER_M):
        raise GeometryError(f"buffer_m must be between 0 and {MAX_BUFFER_M:.0f}")
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    if within_pakistan:
        p_min_lon, p_min_lat, p_max_lon, p_max_lat = PAKISTAN_BBOX
        if (
            min_lon < p_min_lon
            or max_lon > p_max_lon
            or min_lat < p_min_lat
            or max_lat > (p_max_lat)
        ):
            raise GeometryError("the zone lies outside Pakistan")
    if max_lon - min_lon > MAX_SPAN_DEG or max_lat - min_lat > MAX_SPAN_DEG:
        raise GeometryError("the zone is implausibly large")
    if geom.geom_type != "Point" and geom.area == 0:
        raise GeometryError("the zone has no area")
    return geom


def zone_bounds(
    geom: BaseGeometry, *, radius_m: float | None, buffer: float
) -> tuple[float, float, float, float]:
    """Bounding box of the zone as evaluated (radius and buffer included)."""
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    reach = (radius_m or 0.0) + buffer
    if reach:
        lat = (min_lat + max_lat) / 2
        dlat = reach / METRES_PER_DEGREE_LAT
        dlon = reach / (METRES_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(abs(lat) + dlat)))
        return (min_lon - dlon, min_lat - dlat, max_lon + dlon, max_lat + dlat)
    return (min_lon, min_lat, max_lon, max_lat)


def geometry_shape(geometry: dict[str, Any]) -> BaseGeometry:
    """The shapely form of stored (already validated) GeoJSON."""
    return shape(geometry)
