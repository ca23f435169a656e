"""GeoJSON validation and geometry helpers (pure: shapely only, no Django).

Coordinates are WGS84 longitude/latitude, GeoJSON order ``[lon, lat]``.
"""

import math
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

POLYGON_TYPES = {"Polygon", "MultiPolygon"}
EARTH_RADIUS_M = 6_371_008.8  # WGS84 mean radius (IUGG R1)


class GeometryError(ValueError):
    """The GeoJSON is malformed, invalid or outside WGS84 ranges."""


def _iter_positions(coords: Any):
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        yield coords
        return
    if not isinstance(coords, (list, tuple)):
        raise GeometryError("coordinates must be nested arrays of numbers")
    for item in coords:
        yield from _iter_positions(item)


def _check_rings_closed(geometry: dict[str, Any]) -> None:
    polygons = (
        [geometry["coordinates"]]
        if geometry["type"] == "Polygon"
        else list(geometry["coordinates"])
    )
    for polygon in polygons:
        if not polygon:
            raise GeometryError("a polygon needs at least one ring")
        for ring in polygon:
            if len(ring) < 4:
                raise GeometryError("a ring needs at least four positions")
            if list(ring[0]) != list(ring[-1]):
                raise GeometryError("a ring must be closed (first position equals last)")


def validate_geojson(value: Any, *, allowed_types: set[str]) -> BaseGeometry:
    """Return the shapely geometry for a GeoJSON geometry object, or raise GeometryError."""
    if not isinstance(value, dict) or "type" not in value or "coordinates" not in value:
        raise GeometryError("expected a GeoJSON geometry object with 'type' and 'coordinates'")
    if value["type"] not in allowed_types:
        raise GeometryError(f"geometry type must be one of {sorted(allowed_types)}")
    for position in _iter_positions(value["coordinates"]):
        if len(position) < 2:
            raise GeometryError("a position needs longitude and latitude")
        lon, lat = position[0], position[1]
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (lon, lat)):
            raise GeometryError("coordinates must be finite numbers")
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise GeometryError("coordinates must be WGS84 [lon, lat] within range")
    if value["type"] in POLYGON_TYPES:
        _check_rings_closed(value)
    try:
        geom = shape(value)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise GeometryError(f"malformed geometry: {exc}") from exc
    if geom.is_empty:
        raise GeometryError("geometry is empty")
    if not geom.is_valid:
        raise GeometryError(f"invalid geometry: {shapely.is_valid_reason(geom)}")
    return geom


def validate_polygon(value: Any) -> BaseGeometry:
    return validate_geojson(value, allowed_types=POLYGON_TYPES)


def validate_point(value: Any) -> Point:
    geom = validate_geojson(value, allowed_types={"Point"})
    assert isinstance(geom, Point)  # noqa: S101 - guaranteed by allowed_types
    return geom


def point_geojson(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def check_lon_lat(lon: float, lat: float) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise GeometryError("coordinates must be WGS84 lon in [-180, 180], lat in [-90, 90]")


def bbox(geom: BaseGeometry) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat), stored beside polygons for an indexed prefilter."""
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    return min_lon, min_lat, max_lon, max_lat


def haversine_m(*, lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The one geodesic distance: great-circle (haversine) metres on the WGS84 mean sphere,
    within 0.5% of the ellipsoidal geodesic, far inside a GPS fix's own error at the distances
    we measure. Keyword-only because GeoJSON speaks ``[lon, lat]`` and phones ``lat, lon``: a
    swapped pair must not pass silently."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
