"""Is a device inside a police station's area? Pure: shapely, no Django.

The station's boundary is a GeoJSON polygon in longitude/latitude. A phone's fix comes with an
accuracy radius; a fix whose circle touches the area counts as inside (the officer may well be
at the counter while GPS drifts), up to a cap so that a wildly inaccurate fix proves nothing.
Distances are measured in a local equirectangular projection centred on the fix: at the scale
of a station's surroundings (a few kilometres) its error is far below GPS accuracy.
"""

import math
from typing import Any

import shapely
from shapely.geometry import Point, shape

from common.geo import EARTH_RADIUS_M


def _projected(boundary: dict[str, Any], lon: float, lat: float):
    """The boundary in metres around (lon, lat), which becomes the origin."""
    scale_x = math.cos(math.radians(lat)) * EARTH_RADIUS_M * math.pi / 180
    scale_y = EARTH_RADIUS_M * math.pi / 180

    def project(coords: Any) -> Any:
        out = coords.copy()
        out[:, 0] = (coords[:, 0] - lon) * scale_x
        out[:, 1] = (coords[:, 1] - lat) * scale_y
        return out

    return shapely.transform(shape(boundary), project)


def distance_to_area_m(boundary: dict[str, Any], lon: float, lat: float) -> float:
    """0 inside the area, else the distance in metres from the point to its edge."""
    return float(_projected(boundary, lon, lat).distance(Point(0.0, 0.0)))


def is_within_station(
    boundary: dict[str, Any], *, lon: float, lat: float, accuracy_m: float, cap_m: float
) -> bool:
    """Inside the boundary, or within the fix's accuracy of it (at most ``cap_m``)."""
    tolerance = min(max(accuracy_m, 0.0), cap_m)
    return distance_to_area_m(boundary, lon, lat) <= tolerance
