"""The engine's spatial answers against an independent brute-force oracle.

The oracle shares nothing with the engine but shapely's point-in-polygon and distance on plain
planar geometry: it loops over every zone (no index, no grid), measures on the ellipsoid with
its own Vincenty inverse, and projects each zone into an azimuthal equidistant plane centred on
the fix (exact distances from the centre), where the accuracy circle is a true circle.
"""

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from geofence import engine as geofence_engine
from geofence.engine import (
    PAKISTAN_BBOX,
    AppliesTo,
    Circle,
    OffenderFacts,
    Relation,
    Zone,
    ZoneIndex,
    ZoneKind,
)

A = 6378137.0
F = 1 / 298.257223563
B = A * (1 - F)

# Pairs whose oracle margin to a decision threshold is below this are numerically a tie (the
# two methods differ by micrometres); the test counts them so they cannot hide a real fault.
TIE_M = 0.001


def vincenty_inverse(lon1, lat1, lon2, lat2):
    """Geodesic distance (m) and initial azimuth (rad) from point 1 to points 2 (arrays)."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2)
    )
    lon1, lat1, lon2, lat2 = np.broadcast_arrays(lon1, lat1, lon2, lat2)
    u1 = np.arctan((1 - F) * np.tan(lat1))
    u2 = np.arctan((1 - F) * np.tan(lat2))
    big_l = lon2 - lon1
    lam = big_l.copy()
    su1, cu1, su2, cu2 = np.sin(u1), np.cos(u1), np.sin(u2), np.cos(u2)
    for _ in range(200):
        sl, cl = np.sin(lam), np.cos(lam)
        sin_sigma = np.hypot(cu2 * sl, cu1 * su2 - su1 * cu2 * cl)
        cos_sigma = su1 * su2 + cu1 * cu2 * cl
        sigma = np.arctan2(sin_sigma, cos_sigma)
        safe = np.where(sin_sigma == 0, 1.0, sin_sigma)
        sin_alpha = cu1 * cu2 * sl / safe
        cos2_alpha = 1 - sin_alpha**2
        cos_2sm = np.where(
            cos2_alpha == 0,
            0.0,
            cos_sigma - 2 * su1 * su2 / np.where(cos2_alpha == 0, 1.0, cos2_alpha),
        )
        c = F / 16 * cos2_alpha * (4 + F * (4 - 3 * cos2_alpha))
        previous = lam
        lam = big_l + (1 - c) * F * sin_alpha * (
            sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm**2))
        )
        if np.all(np.abs(lam - previous) < 1e-13):
            break
    u_sq = cos2_alpha * (A**2 - B**2) / B**2
    big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    delta_sigma = (
        big_b
        * sin_sigma
        * (
            cos_2sm
            + big_b
            / 4
            * (
                cos_sigma * (-1 + 2 * cos_2sm**2)
                - big_b / 6 * cos_2sm * (-3 + 4 * sin_sigma**2) * (-3 + 4 * cos_2sm**2)
            )
        )
    )
    distance = B * big_a * (sigma - delta_sigma)
    sl, cl = np.sin(lam), np.cos(lam)
    azimuth = np.arctan2(cu2 * sl, cu1 * su2 - su1 * cu2 * cl)
    return np.where(sin_sigma == 0, 0.0, distance), azimuth


class Oracle:
    """Every zone, every fix: no index. Per fix, one Vincenty call over all circle centres and
    all polygon vertices, then shapely on the azimuthal-equidistant copies of every polygon."""

    def __init__(self, zones):
        self.zones = zones
        self.circles = [z for z in zones if isinstance(z.geometry, Circle)]
        self.polygons = [z for z in zones if not isinstance(z.geometry, Circle)]
        self.centres = np.array([(z.geometry.lon, z.geometry.lat) for z in self.circles])
        self.radii = np.array([z.geometry.radius_m for z in self.circles])
        self.geometries = np.array([z.geometry for z in self.polygons], dtype=object)
        self.coords = shapely.get_coordinates(self.geometries)

    def signed(self, lon, lat):
        """{zone id: signed metres from the fix to the zone's edge, positive inside}."""
        distance, _ = vincenty_inverse(lon, lat, self.centres[:, 0], self.centres[:, 1])
        out = dict(zip((z.id for z in self.circles), (self.radii - distance).tolist(), strict=True))
        distance, azimuth = vincenty_inverse(lon, lat, self.coords[:, 0], self.coords[:, 1])
        plane = np.column_stack([distance * np.sin(azimuth), distance * np.cos(azimuth)])
        projected = shapely.set_coordinates(self.geometries.copy(), plane)
        origin = Point(0.0, 0.0)
        edge = shapely.distance(shapely.boundary(projected), origin)
        signed = np.where(shapely.contains(projected, origin), edge, -edge)
        out.update(zip((z.id for z in self.polygons), signed.tolist(), strict=True))
        return out


def oracle_relation(signed: float, accuracy_m: float, buffer_m: float) -> Relation:
    if signed >= accuracy_m - buffer_m:
        return Relation.INSIDE
    if signed <= -(accuracy_m + buffer_m):
        return Relation.OUTSIDE
    return Relation.NEITHER


def oracle_margin(signed: float, accuracy_m: float, buffer_m: float) -> float:
    return min(abs(signed - (accuracy_m - buffer_m)), abs(signed + accuracy_m + buffer_m))


# --- random zones and points ----------------------------------------------------------------


def offset(rng, lon, lat, metres, bearing=None):
    """A point ``metres`` from (lon, lat) on a bearing, by a simple local scale (the oracle
    measures the result itself, so this need not be exact)."""
    bearing = rng.uniform(0, 2 * math.pi) if bearing is None else bearing
    dlat = metres * math.cos(bearing) / 111_000.0
    dlon = metres * math.sin(bearing) / (111_320.0 * math.cos(math.radians(lat)))
    return lon + dlon, lat + dlat


def star(rng, lon, lat, radius_m, vertices):
    angles = np.sort(rng.uniform(0, 2 * math.pi, vertices))
    radii = radius_m * rng.uniform(0.45, 1.0, vertices)
    return Polygon([offset(rng, lon, lat, r, a) for r, a in zip(radii, angles, strict=True)])


def random_centre(rng, near_north=False):
    lon0, lat0, lon1, lat1 = PAKISTAN_BBOX
    if near_north:
        return rng.uniform(lon0, lon1), rng.uniform(36.8, 37.05)
    return rng.uniform(lon0 + 0.05, lon1 - 0.05), rng.uniform(lat0 + 0.05, lat1 - 0.05)


def random_zones(rng):
    zones = []
    next_id = iter(range(1, 10_000))
    clusters = [random_centre(rng) for _ in range(12)] + [
        random_centre(rng, True) for _ in range(6)
    ]

    def near_cluster():
        lon, lat = clusters[rng.integers(len(clusters))]
        return offset(rng, lon, lat, rng.uniform(0, 900))

    for _ in range(140):  # circles, overlapping in clusters, many near 37° N
        lon, lat = near_cluster()
        kind = ZoneKind.EXCLUSION if rng.random() < 0.85 else ZoneKind.INCLUSION
        buffer_m = (
            float(rng.choice([0, rng.uniform(1, 150)])) if kind == ZoneKind.EXCLUSION else 0.0
        )
        zones.append(Zone(next(next_id), kind, Circle(lon, lat, rng.uniform(15, 600)), buffer_m))
    for _ in range(6):  # circles too big for the grid
        lon, lat = near_cluster()
        zones.append(
            Zone(next(next_id), ZoneKind.EXCLUSION, Circle(lon, lat, rng.uniform(2000, 4000)), 50.0)
        )
    for _ in range(70):  # school-sized polygons, some with holes, some multipolygons
        lon, lat = near_cluster()
        shape = star(rng, lon, lat, rng.uniform(60, 700), int(rng.integers(5, 16)))
        roll = rng.random()
        if roll < 0.25:
            hole = star(
                rng, lon, lat, shape.exterior.distance(Point(lon, lat)) * 80_000 * 0.5 + 5, 6
            )
            if shape.contains(hole):
                shape = Polygon(shape.exterior.coords, [hole.exterior.coords])
        elif roll < 0.45:
            other = star(rng, *offset(rng, lon, lat, 1500), rng.uniform(60, 400), 7)
            shape = MultiPolygon([shape, other])
        if not shape.is_valid:
            shape = shape.buffer(0)
        kind = ZoneKind.EXCLUSION if rng.random() < 0.7 else ZoneKind.INCLUSION
        buffer_m = float(rng.uniform(0, 120)) if kind == ZoneKind.EXCLUSION else 0.0
        zones.append(Zone(next(next_id), kind, shape, buffer_m))
    # A province-sized polygon, too big for the engine's cell map, and a circle abroad.
    lon, lat = random_centre(rng)
    province = shapely.segmentize(star(rng, lon, lat, 350_000, 30), 0.004).buffer(0)
    zones.append(Zone(next(next_id), ZoneKind.INCLUSION, province))
    zones.append(Zone(next(next_id), ZoneKind.EXCLUSION, Circle(55.3, 25.2, 300.0), 40.0))
    for _ in range(5):  # district-sized polygons, densified to ≤ ~400 m edges
        lon, lat = random_centre(rng)
        shape = shapely.segmentize(star(rng, lon, lat, rng.uniform(15_000, 40_000), 40), 0.004)
        zones.append(Zone(next(next_id), ZoneKind.INCLUSION, shape.buffer(0)))
    return zones


def boundary_points(rng, zone, count, within_m):
    geometry = zone.geometry
    if isinstance(geometry, Circle):
        points = []
        for _ in range(count):
            bearing = rng.uniform(0, 2 * math.pi)
            lon, lat = offset(rng, geometry.lon, geometry.lat, geometry.radius_m, bearing)
            # rescale so that the oracle's own distance is the radius (to well under a mm)
            distance, _ = vincenty_inverse(geometry.lon, geometry.lat, lon, lat)
            lon, lat = offset(
                rng, geometry.lon, geometry.lat, geometry.radius_m**2 / float(distance), bearing
            )
            points.append(
                offset(rng, lon, lat, rng.uniform(0, within_m)) if within_m else (lon, lat)
            )
        return points
    boundary = geometry.boundary
    points = []
    for _ in range(count):
        on = shapely.line_interpolate_point(boundary, rng.uniform(0, 1), normalized=True)
        lon, lat = on.x, on.y
        points.append(offset(rng, lon, lat, rng.uniform(0, within_m)) if within_m else (lon, lat))
    return points


def random_points(rng, zones):
    lon0, lat0, lon1, lat1 = PAKISTAN_BBOX
    points = [(rng.uniform(lon0, lon1), rng.uniform(lat0, lat1)) for _ in range(120)]
    points += [(lon0, lat0), (lon1, lat1), (lon0, lat1), (lon1, lat0)]
    for zone in rng.choice(np.array(zones, dtype=object), 110, replace=False):
        geometry = zone.geometry
        centre = (
            (geometry.lon, geometry.lat)
            if isinstance(geometry, Circle)
            else geometry.centroid.coords[0]
        )
        points.append(offset(rng, *centre, rng.uniform(0, 300)))
        points += boundary_points(rng, zone, 1, 0.0)  # on the boundary
        points += boundary_points(rng, zone, 2, 1.0)  # within a metre of it
        points += boundary_points(rng, zone, 1, 150.0)  # near it
    return np.array(points)


def engine_relations(index, lon, lat, accuracy):
    hits = index.query(lon, lat, accuracy)
    return {
        (int(p), int(z)): Relation(int(r))
        for p, z, r in zip(hits.point, hits.zone_id, hits.relation, strict=True)
    }


@pytest.mark.parametrize(("seed", "dense"), [(12, True), (2026, False)])
def test_engine_matches_brute_force_oracle_on_random_zones_and_points(seed, dense, monkeypatch):
    # The circle table keeps one offset per cell (a national layer) or sorted cell keys (a
    # small table): both lookups are checked.
    monkeypatch.setattr(geofence_engine, "_DENSE_MIN", 0 if dense else 10**9)
    rng = np.random.default_rng(seed)
    zones = random_zones(rng)
    points = random_points(rng, zones)
    accuracy = rng.uniform(1.0, 100.0, len(points))
    # Some fixes far less accurate than any threshold: the engine's wide-search paths.
    accuracy[rng.random(len(points)) < 0.08] = rng.uniform(150.0, 2500.0)
    lon, lat = points[:, 0], points[:, 1]
    index = ZoneIndex(zones)
    engine = engine_relations(index, lon, lat, accuracy)

    oracle = Oracle(zones)
    expected, ties, checked, tie_keys = {}, 0, 0, set()
    for i, (x, y) in enumerate(points):
        signed_by_zone = oracle.signed(float(x), float(y))
        for zone in zones:
            signed = signed_by_zone[zone.id]
            relation = oracle_relation(signed, float(accuracy[i]), zone.buffer_m)
            if oracle_margin(signed, float(accuracy[i]), zone.buffer_m) < TIE_M:
                ties += 1
                tie_keys.add((i, zone.id))
                engine.pop((i, zone.id), None)
                continue
            checked += 1
            if relation != Relation.OUTSIDE:
                expected[(i, zone.id)] = relation

    assert ties <= 2, ties
    mismatches = {
        key: (expected.get(key, Relation.OUTSIDE), engine.get(key, Relation.OUTSIDE))
        for key in expected.keys() | engine.keys()
        if expected.get(key, Relation.OUTSIDE) != engine.get(key, Relation.OUTSIDE)
    }
    assert mismatches == {}
    # A lone ping takes a plain-Python path: the same answers, fix by fix.
    single = {}
    for i in range(len(points)):
        for zone_id, relation, _ in index._rows([lon[i]], [lat[i]], [accuracy[i]])[0]:
            single[(i, zone_id)] = Relation(relation)
    assert {k: v for k, v in single.items() if k not in tie_keys} == engine
    # The sample really exercises every answer, on boundaries too.
    assert sum(r == Relation.INSIDE for r in expected.values()) > 100
    assert sum(r == Relation.NEITHER for r in expected.values()) > 100
    assert checked == len(points) * len(zones) - ties


def test_circle_distances_are_geodesic_at_37_degrees_north():
    """A 500 m circle near Gilgit: fixes 1 cm inside and 1 cm outside its edge along several
    bearings are told apart (a spherical or flat-earth model is off by metres here)."""
    rng = np.random.default_rng(37)
    centre = (74.3, 37.05)
    zone = Zone(1, ZoneKind.EXCLUSION, Circle(*centre, 500.0))
    index = ZoneIndex([zone])
    lons, lats, expected = [], [], []
    for bearing in np.linspace(0, 2 * math.pi, 16, endpoint=False):
        for target, relation in ((499.99 - 5.0, Relation.INSIDE), (500.01 - 5.0, Relation.NEITHER)):
            # find the point at geodesic distance ``target`` on this bearing by bisection
            low, high = 0.0, 1000.0
            for _ in range(60):
                mid = (low + high) / 2
                lon, lat = offset(rng, *centre, mid, bearing)
                distance, _ = vincenty_inverse(*centre, lon, lat)
                low, high = (mid, high) if float(distance) < target else (low, mid)
            lons.append(lon)
            lats.append(lat)
            expected.append(relation)
    hits = index.query(np.array(lons), np.array(lats), np.full(len(lons), 5.0))
    got = dict(zip(hits.point.tolist(), hits.relation.tolist(), strict=True))
    assert [Relation(got.get(i, -1)) for i in range(len(lons))] == expected


def test_patched_index_answers_like_a_fresh_one(monkeypatch):
    monkeypatch.setattr(geofence_engine, "_DENSE_MIN", 50)  # a dense base and a sparse delta
    rng = np.random.default_rng(4)
    zones = random_zones(rng)
    points = random_points(rng, zones)
    accuracy = rng.uniform(1.0, 100.0, len(points))
    index = ZoneIndex(zones[:100], version=1)
    index.add(zones[100:], version=2)
    moved = [
        Zone(
            z.id,
            z.kind,
            Circle(z.geometry.lon + 0.001, z.geometry.lat, z.geometry.radius_m),
            z.buffer_m,
        )
        for z in zones[:40]
        if isinstance(z.geometry, Circle)
    ]
    index.replace(moved, version=3)
    removed = [z.id for z in zones[150:170]]
    index.remove(removed, version=4)
    final = {z.id: z for z in zones}
    final.update({z.id: z for z in moved})
    for zone_id in removed:
        del final[zone_id]
    fresh = ZoneIndex(final.values())
    lon, lat = points[:, 0], points[:, 1]
    assert index.version == 4
    assert len(index) == len(fresh) == len(final)
    assert engine_relations(index, lon, lat, accuracy) == engine_relations(
        fresh, lon, lat, accuracy
    )
    assert index.get(moved[0].id) == moved[0]
    assert index.get(removed[0]) is None


def test_batch_rows_keep_only_the_hits_of_zones_that_apply_to_each_fix_offender():
    """``evaluate_batch``'s rows drop, in arrays, the hits the episode rule would ignore (a
    school for an offender with no minor victim, someone else's victim's home, a neighbouring
    district), and share one row for a fix deep in one district."""
    zones = [
        Zone(1, ZoneKind.INCLUSION, box(74.0, 31.0, 74.6, 31.8), **_category("district:a")),
        Zone(2, ZoneKind.INCLUSION, box(74.6, 31.0, 75.2, 31.8), **_category("district:b")),
        Zone(3, ZoneKind.EXCLUSION, Circle(74.3, 31.4, 200.0), applies_to=AppliesTo.VICTIM_MINOR),
        Zone(4, ZoneKind.EXCLUSION, Circle(74.3, 31.4, 90.0), 10.0, AppliesTo.OFFENDER, 7),
        Zone(5, ZoneKind.EXCLUSION, Circle(74.3015, 31.4, 150.0)),
        Zone(6, ZoneKind.EXCLUSION, box(74.299, 31.399, 74.301, 31.401), 50.0),
    ]
    index = ZoneIndex(zones)
    places = [(74.3, 31.4), (74.3008, 31.4003), (74.6, 31.4), (74.6003, 31.5), (74.2, 31.2)]
    lon = np.array([p[0] for p in places] * 3)
    lat = np.array([p[1] for p in places] * 3)
    acc = np.tile([5.0, 20.0, 8.0, 30.0, 10.0], 3)
    facts = [
        OffenderFacts(7, victim_minor=True, categories=frozenset({"district:a"})),
        OffenderFacts(8, categories=frozenset({"district:a", "risk_tier:2"})),
        OffenderFacts(9, categories=frozenset({"district:b"})),
    ]
    rows = index._applicable_rows(lon.tolist(), lat.tolist(), acc.tolist(), [5, 5, 5], facts)
    everything = index._rows(lon.tolist(), lat.tolist(), acc.tolist())
    expected = [
        [(z, r) for z, r, rule in everything[i] if rule.applies(facts[i // 5])]
        for i in range(len(places) * 3)
    ]
    assert [[(z, r) for z, r, _ in row] for row in rows] == expected
    assert [len(row) for row in everything] != [len(row) for row in expected]  # some dropped
    assert {z for row in everything for z, _, _ in row} == {1, 2, 3, 4, 5, 6}
    assert {z for row in expected[:5] for z, _ in row} == {1, 3, 4, 5, 6}
    assert {z for row in expected[5:10] for z, _ in row} == {1, 5, 6}
    assert {z for row in expected[10:] for z, _ in row} == {2, 5, 6}
    assert rows[4] == [(1, 1, index._shapes.shapes[1].rule)]
    assert rows[4] is rows[9]
    assert rows[14] == []  # deep in district a: nothing applies to the district-b offender


def test_fixes_off_the_map_find_no_circle_and_shapes_by_the_tree():
    """The circle grid puts a fix off its map (or not a number) in a border cell no circle
    reaches; shapes off the map are still found (by the STRtree)."""
    abroad = Zone(2, ZoneKind.INCLUSION, box(54.0, 24.0, 56.0, 26.0))
    index = ZoneIndex([Zone(1, ZoneKind.EXCLUSION, Circle(60.95, 23.65, 500.0)), abroad])
    lon = np.array([55.0, 60.95, 100.0, 60.95, 59.89, np.nan])
    lat = np.array([25.0, 23.65, 23.65, 10.0, 23.65, 23.65])
    hits = index.query(lon, lat, np.full(lon.size, 10.0))
    assert list(zip(hits.point.tolist(), hits.zone_id.tolist(), strict=True)) == [(0, 2), (1, 1)]


def _category(name):
    return {"applies_to": AppliesTo.CATEGORY, "category": name}
