"""Point → jurisdiction resolution speed over the demo Lahore district.

``run()`` is called by the bench harness inside a migrated, configured Django; it seeds the
demo world itself (idempotent) and leaves it in place.
"""

import random
import statistics
import time

import shapely
from django.db import connection

from accounts.demo import seed_world
from common.geo import validate_polygon
from jurisdictions.demo import LAHORE
from jurisdictions.resolve import clear_geometry_cache, jurisdiction_resolve

POINTS = 10_000
COLD_POINTS = 1_000
SEED = 20240122


def _random_points(count: int) -> list[tuple[float, float]]:
    """Uniform points inside the demo Lahore polygon (rejection sampling from its bbox)."""
    district = validate_polygon(LAHORE.boundary)
    min_lon, min_lat, max_lon, max_lat = district.bounds
    rng = random.Random(SEED)
    points: list[tuple[float, float]] = []
    while len(points) < count:
        lon, lat = rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)
        if shapely.intersects_xy(district, lon, lat):
            points.append((lon, lat))
    return points


def run() -> list[tuple[str, float, str, str]]:
    seed_world()
    points = _random_points(POINTS)

    clear_geometry_cache()
    cold_started = time.perf_counter()
    for lon, lat in points[:COLD_POINTS]:
        clear_geometry_cache()
        jurisdiction_resolve(lon=lon, lat=lat)
    cold_rate = COLD_POINTS / (time.perf_counter() - cold_started)

    for lon, lat in points[:100]:  # warm the geometry cache
        jurisdiction_resolve(lon=lon, lat=lat)
    latencies: list[float] = []
    matched_beats = 0
    warm_started = time.perf_counter()
    for lon, lat in points:
        started = time.perf_counter()
        resolution = jurisdiction_resolve(lon=lon, lat=lat)
        latencies.append(time.perf_counter() - started)
        matched_beats += resolution.beat is not None
    warm_rate = POINTS / (time.perf_counter() - warm_started)

    # Counted with a wrapper rather than connection.queries, whose log is capped under DEBUG.
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        for lon, lat in points[:100]:
            jurisdiction_resolve(lon=lon, lat=lat)
    p99_us = statistics.quantiles(latencies, n=100)[98] * 1e6

    return [
        (
            "jurisdiction_resolve_warm",
            round(warm_rate, 1),
            "resolutions/s",
            f"{POINTS:,} random points in demo Lahore, geometry cache warm "
            f"({matched_beats:,} fell in a beat)",
        ),
        (
            "jurisdiction_resolve_warm_p99",
            round(p99_us, 1),
            "µs",
            "99th percentile latency of one warm resolution",
        ),
        (
            "jurisdiction_resolve_cold",
            round(cold_rate, 1),
            "resolutions/s",
            f"{COLD_POINTS:,} points with the geometry cache cleared before each (parse + prepare)",
        ),
        (
            "jurisdiction_resolve_queries",
            queries / 100,
            "queries/resolution",
            "database round trips per warm resolution",
        ),
    ]
