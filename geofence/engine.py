"""The geofence evaluation engine: zones, a spatial index, and the per-offender episode rule.

Pure computation (numpy + shapely 2, no Django) so it can be tested against an independent
oracle and benchmarked alone. The Django side loads zones into a ``ZoneIndex``, keeps it current
with ``add``/``replace``/``remove`` (``version`` tells a process whether it is stale), stores one
``OffenderState`` per offender (``to_dict``/``from_dict`` for a JSONB column) and turns the
``EpisodeOpened``/``EpisodeEnded`` events into violations.

Geometry. Zones are in WGS84 lon/lat. Every containment answer is about the fix's *accuracy
circle* (centre lon/lat, radius ``accuracy_m``): wholly inside a zone, wholly outside it, or
neither. Distances are measured in metres in a plane centred on the *fix*, with the WGS84
meridional and prime-vertical scales taken at the mid-latitude of the fix and each point measured
(a first-order expansion, so pairs need no trigonometry). Only distances up to the accuracy
threshold plus a buffer (a few hundred metres) ever decide anything, and over such distances the
plane differs from the geodesic by micrometres at 24°–37° N (third-order terms); far-away geometry
(the other side of a district) only needs its sign, which comes from the polygon containment
test, not from a distance.

Decision per (fix, zone), with ``s`` the signed distance in metres from the fix to the zone's
boundary (positive inside the polygon or circle, negative outside), ``r`` the accuracy radius and
``b`` the exclusion buffer (0 for inclusion zones):

- INSIDE  when ``s >= r - b``   (for b = 0: the accuracy circle lies wholly inside);
- OUTSIDE when ``s <= -(r + b)`` (the circle lies wholly outside the buffered zone);
- NEITHER otherwise (the circle straddles the edge: no evidence either way).

For circles and convex polygons this is exactly "the accuracy circle lies wholly inside / outside
the zone grown by its buffer"; for a concave buffered polygon INSIDE is the safe side (it may
call NEITHER a circle that a union of buffers would just cover). Touching counts as inside
(``>=``): a circle tangent to the edge from within is wholly inside the closed zone.

The episode rule (``apply_fixes``): per zone, a run of ``n_fixes`` (default 3) consecutive INSIDE
fixes opens an episode while the zone is active (valid dates and weekly schedule in PKT), a run of
``n_fixes`` consecutive OUTSIDE fixes ends it; a NEITHER fix breaks both runs; a fix whose accuracy
is worse than ``max_accuracy_m`` is evidence of nothing and is skipped. Runs are geometric (kept
whether or not the zone is active), so an offender already inside a scheduled zone when its
schedule starts is in breach from the start time: ``sweep`` finds it with no new fix.

Rules (``Event.rule``):
- ``exclusion_zone``: inside an applicable active exclusion zone (one episode per zone).
- ``travel_without_notice``: wholly outside the *permitted area*, the union of the applicable,
  active, unscheduled inclusion zones (the home district plus any travel window; an international
  trip is an offender-scoped inclusion zone covering the destination, e.g. ``WORLD``, for its
  dates). One episode, ``zone_id=None``. An offender with no applicable inclusion zone has no
  permitted-area rule.
- A *scheduled* inclusion zone (a night-time curfew at home) is its own constraint while its
  schedule is active: wholly outside it is a ``travel_without_notice`` episode with that
  ``zone_id``.
"""

from __future__ import annotations

import bisect
import enum
import itertools
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

PKT = timezone(timedelta(hours=5), "PKT")  # Pakistan Standard Time: UTC+5, no daylight saving.

PAKISTAN_BBOX = (60.9, 23.6, 77.8, 37.1)  # lon_min, lat_min, lon_max, lat_max
WORLD = box(-180.0, -89.0, 180.0, 89.0)  # an inclusion zone for an international trip's window

RULE_EXCLUSION = "exclusion_zone"
RULE_TRAVEL = "travel_without_notice"
PERMITTED_AREA = "permitted"  # the state key of the union-of-inclusion-zones rule

# WGS84 ellipsoid.
_A = 6378137.0
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
_RAD = math.pi / 180

# The circle grid: exclusion circles within Pakistan whose radius + buffer is at most
# _GRID_MAX_REACH_M live in compact numpy columns on the cell map below (each listed in the cells
# within its reach + _GRID_MARGIN_M); bigger circles and all polygons go to the shape side.
_GRID_MAX_REACH_M = 2000.0
_GRID_MARGIN_M = 150.0
# Degree boxes are widened by this factor so that the scale change across a box (about 1e-4 of
# it over a few km at 37° N) never drops a candidate; candidates are then measured exactly.
_SAFETY = 1.01

# The polygon cell map: in 0.02° cells over Pakistan (and a margin), each shape is either "deep"
# (the whole cell lies inside it, farther than _MAP_MARGIN_M + its buffer from its edge) or
# "edge" (with the few boundary segments that can be that near). Fixes with accuracy within the
# margin are answered from their cell; others (and fixes off the map) go through the STRtree.
_MAP_EXTENT = (
    PAKISTAN_BBOX[0] - 1.0,
    PAKISTAN_BBOX[1] - 1.0,
    PAKISTAN_BBOX[2] + 1.0,
    PAKISTAN_BBOX[3] + 1.0,
)
_MAP_CELL = 0.02
_MAP_MARGIN_M = 300.0
_MAP_SIZE = (
    math.ceil((_MAP_EXTENT[2] - _MAP_EXTENT[0]) / _MAP_CELL),
    math.ceil((_MAP_EXTENT[3] - _MAP_EXTENT[1]) / _MAP_CELL),
)
_SIMPLE_EMPTY, _SIMPLE_NO = -1, -2  # ``_ShapeStore.map_simple``: no entry / not one deep entry
_MAP_MAX_CELLS = 40_000  # a shape whose envelope covers more cells stays off the map (WORLD)
# School circles use finer cells of their own (fewer candidates per fix).
_CIRCLE_CELL = 0.01
_CIRCLE_SIZE = (
    math.ceil((_MAP_EXTENT[2] - _MAP_EXTENT[0]) / _CIRCLE_CELL),
    math.ceil((_MAP_EXTENT[3] - _MAP_EXTENT[1]) / _CIRCLE_CELL),
)
_DENSE_MIN = 20_000  # circles from which a table keeps one offset per cell
# The first (float32, cell-plane) pass keeps a candidate when its distance is within the reach
# plus accuracy widened by these: the cell plane's scales differ from the fix's own by under
# 3e-4 of a distance at 37° N (the fix and the circle are within a few km of the cell), and
# float32 rounds the few km by under a millimetre.
_CUT_WIDEN = 1.002
_CUT_PAD_M = 0.5

_WEEK = 7 * 86400.0
# Epoch 0 was Thursday 00:00 UTC = Thursday 05:00 PKT; shift to Monday-based seconds-of-week.
_PKT_WEEK_SHIFT = 3 * 86400.0 + 5 * 3600.0
_INF = math.inf
_CACHE_LIMIT = 50_000
_SCALAR_MAX = 4  # up to this many fixes in a call are answered without numpy


class ZoneKind(enum.StrEnum):
    EXCLUSION = "exclusion"
    INCLUSION = "inclusion"


class AppliesTo(enum.StrEnum):
    ALL = "all"  # everyone on the register
    VICTIM_MINOR = "victim_minor"  # offenders whose conviction had a minor victim
    OFFENDER = "offender"  # one offender (``Zone.offender_id``): a victim's home, a travel window
    CATEGORY = "category"  # offenders in a category (``Zone.category``), e.g. "district:17"


class Relation(enum.IntEnum):
    """Where a fix's accuracy circle lies relative to one zone."""

    OUTSIDE = -1
    NEITHER = 0
    INSIDE = 1


_KIND_CODE = {ZoneKind.EXCLUSION: 0, ZoneKind.INCLUSION: 1}
_KINDS = (ZoneKind.EXCLUSION, ZoneKind.INCLUSION)
_APPLIES_CODE = {
    AppliesTo.ALL: 0,
    AppliesTo.VICTIM_MINOR: 1,
    AppliesTo.OFFENDER: 2,
    AppliesTo.CATEGORY: 3,
}
_APPLIES = (AppliesTo.ALL, AppliesTo.VICTIM_MINOR, AppliesTo.OFFENDER, AppliesTo.CATEGORY)


@dataclass(frozen=True, slots=True)
class Circle:
    """A point with a radius (a school given as a point, a victim's home)."""

    lon: float
    lat: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class ScheduleInterval:
    """One weekly interval in PKT: ``weekday`` 0 = Monday. ``end <= start`` runs past midnight
    into the next day (a curfew 21:00–06:00)."""

    weekday: int
    start: time
    end: time


Geometry = Polygon | MultiPolygon | Circle


@dataclass(frozen=True, slots=True)
class OffenderFacts:
    """What applicability needs to know about an offender."""

    offender_id: int
    victim_minor: bool = False
    categories: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Zone:
    """A zone as the engine sees it. ``schedule=None`` means always (within the valid dates);
    ``valid_from``/``valid_to`` are aware datetimes, ``None`` meaning open-ended (``valid_to``
    is exclusive)."""

    id: int
    kind: ZoneKind
    geometry: Geometry
    buffer_m: float = 0.0
    applies_to: AppliesTo = AppliesTo.ALL
    offender_id: int | None = None
    category: str | None = None
    schedule: tuple[ScheduleInterval, ...] | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def is_active(self, at: datetime) -> bool:
        """Whether the zone counts at ``at`` (valid dates and weekly schedule)."""
        return _rule_of(self, _Schedule.of(self.schedule)).active(_ts(at))

    def applies(self, facts: OffenderFacts) -> bool:
        """Whether the zone concerns this offender at all (applicability only, not time)."""
        return _rule_of(self, None).applies(facts)


@dataclass(frozen=True, slots=True)
class Fix:
    """One location fix (a ping), ``recorded_at`` an aware datetime."""

    recorded_at: datetime
    lon: float
    lat: float
    accuracy_m: float


@dataclass(frozen=True, slots=True)
class Hits:
    """Sparse answer of ``ZoneIndex.query``: one row per (point, zone) pair that is INSIDE or
    NEITHER; a zone absent for a point is OUTSIDE for it. Rows are sorted by ``point``."""

    point: np.ndarray  # int64 index into the query arrays
    zone_id: np.ndarray  # int64 zone ids
    relation: np.ndarray  # int8 Relation values (INSIDE = 1, NEITHER = 0)
    signed_distance_m: np.ndarray  # float64, positive inside (for polygons: only near the edge)

    def __len__(self) -> int:
        return int(self.point.size)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    n_fixes: int = 3  # consecutive fixes to open and to end an episode
    max_accuracy_m: float = 100.0  # a fix less accurate than this is evidence of nothing
    # ``sweep`` trusts the last fix only this long: older than that, nobody knows where they are.
    last_fix_valid_for: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class EpisodeOpened:
    offender_id: int
    rule: str  # RULE_EXCLUSION | RULE_TRAVEL
    zone_id: int | None  # None for the permitted-area rule
    started_at: datetime  # the breach began: first fix of the run, or the schedule's start
    lon: float  # where: the first fix of the run
    lat: float
    detected_at: datetime  # the fix (or sweep time) that completed the rule


@dataclass(frozen=True, slots=True)
class EpisodeEnded:
    offender_id: int
    rule: str
    zone_id: int | None
    started_at: datetime  # as opened: with ``rule`` and ``zone_id``, the episode's identity
    ended_at: datetime  # first fix of the outside run, the schedule's end, or the zone's removal
    lon: float  # where the offender was at ``ended_at`` (that fix, or the last known one)
    lat: float
    reason: str  # "left" | "schedule_ended" | "zone_removed" | "not_applicable"


Event = EpisodeOpened | EpisodeEnded


@dataclass(frozen=True)
class CircleColumns:
    """Many circles that share every rule attribute (a school layer): ``template`` gives the
    kind, buffer-free rule (applicability, category, schedule, dates; its ``id``, geometry and
    ``buffer_m`` are ignored) and the arrays give each circle's id, centre, radius and buffer.
    Lets a full build from the database skip one ``Zone`` and ``Circle`` object per circle;
    the index holds exactly what it would hold for the same zones given one by one."""

    template: Zone
    ids: np.ndarray
    lons: np.ndarray
    lats: np.ndarray
    radii: np.ndarray
    buffers: np.ndarray

    def zones(self, mask: np.ndarray | None = None) -> list[Zone]:
        """The circles (those in ``mask``) as ``Zone`` objects."""
        t = self.template
        picked = np.arange(self.ids.size) if mask is None else np.flatnonzero(mask)
        return [
            Zone(
                id=int(self.ids[i]),
                kind=t.kind,
                geometry=Circle(float(self.lons[i]), float(self.lats[i]), float(self.radii[i])),
                buffer_m=float(self.buffers[i]),
                applies_to=t.applies_to,
                offender_id=t.offender_id,
                category=t.category,
                schedule=t.schedule,
                valid_from=t.valid_from,
                valid_to=t.valid_to,
            )
            for i in picked.tolist()
        ]


@dataclass(slots=True)
class OffenderState:
    """Per-offender memory between batches, JSON-safe through ``to_dict``/``from_dict``.

    ``runs[key] = [inside_count, outside_count, run_started_ts, lon, lat]`` per zone that is
    its own rule (``"z<id>"``: exclusion zones near the offender, curfews); ``area`` the same for
    each permitted-area member and for ``PERMITTED_AREA`` (the union's inside run);
    ``open[key] = [rule, zone_id, started_ts, lon, lat]``. Timestamps are POSIX seconds (UTC).
    ``last_fix`` is the last fix that was evidence; ``last_seen_ts`` the newest ``recorded_at``
    seen at all (older fixes that arrive later are stored by the caller but change nothing)."""

    offender_id: int
    runs: dict[str, list[Any]] = field(default_factory=dict)
    area: dict[str, list[Any]] = field(default_factory=dict)
    open: dict[str, list[Any]] = field(default_factory=dict)
    last_fix: Fix | None = None
    last_seen_ts: float | None = None

    def to_dict(self) -> dict[str, Any]:
        last = self.last_fix
        return {
            "offender_id": self.offender_id,
            "runs": {k: list(v) for k, v in self.runs.items()},
            "area": {k: list(v) for k, v in self.area.items()},
            "open": {k: list(v) for k, v in self.open.items()},
            "last_fix": None
            if last is None
            else [_ts(last.recorded_at), last.lon, last.lat, last.accuracy_m],
            "last_seen_ts": self.last_seen_ts,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OffenderState:
        last = data.get("last_fix")
        return cls(
            offender_id=int(data["offender_id"]),
            runs={k: list(v) for k, v in data.get("runs", {}).items()},
            area={k: list(v) for k, v in data.get("area", {}).items()},
            open={k: list(v) for k, v in data.get("open", {}).items()},
            last_fix=None if last is None else Fix(_dt(last[0]), last[1], last[2], last[3]),
            last_seen_ts=data.get("last_seen_ts"),
        )


# --- time ----------------------------------------------------------------------------------


def _ts(value: datetime) -> float:
    if value.tzinfo is None:
        raise ValueError("naive datetime: the engine needs aware datetimes")
    return value.timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


class _Schedule:
    """A weekly schedule as merged [start, end) seconds-of-week in PKT (Monday 00:00 = 0)."""

    __slots__ = ("always", "ends", "starts", "wraps")
    _cache: dict[tuple[ScheduleInterval, ...], _Schedule] = {}  # noqa: RUF012 - a memo

    def __init__(self, intervals: Sequence[ScheduleInterval]) -> None:
        raw: list[tuple[float, float]] = []
        for interval in intervals:
            if not 0 <= interval.weekday <= 6:
                raise ValueError(f"weekday {interval.weekday} is not 0 (Monday) to 6 (Sunday)")
            start = interval.weekday * 86400 + _seconds(interval.start)
            end = interval.weekday * 86400 + _seconds(interval.end)
            if end <= start:
                end += 86400
            if end <= _WEEK:
                raw.append((start, end))
            else:
                raw += [(start, _WEEK), (0.0, end - _WEEK)]
        merged: list[list[float]] = []
        for start, end in sorted(raw):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [s for s, _ in merged]
        self.ends = [e for _, e in merged]
        self.always = len(merged) == 1 and merged[0] == [0.0, _WEEK]
        self.wraps = bool(merged) and self.starts[0] == 0.0 and self.ends[-1] == _WEEK

    @classmethod
    def of(cls, intervals: tuple[ScheduleInterval, ...] | None) -> _Schedule | None:
        if intervals is None:
            return None
        found = cls._cache.get(intervals)
        if found is None:
            found = cls._cache[intervals] = cls(intervals)
        return found

    def _locate(self, ts: float) -> tuple[float, int]:
        sow = (ts + _PKT_WEEK_SHIFT) % _WEEK
        i = bisect.bisect_right(self.starts, sow) - 1
        return ts - sow, (i if i >= 0 and sow < self.ends[i] else -1)

    def active(self, ts: float) -> bool:
        return self.always or self._locate(ts)[1] >= 0

    def stretch_start(self, ts: float) -> float:
        """When the active stretch containing ``ts`` began (``ts`` must be active)."""
        if self.always:
            return -_INF
        week_start, i = self._locate(ts)
        if i == 0 and self.wraps:
            return week_start - _WEEK + self.starts[-1]
        return week_start + self.starts[i]

    def stretch_end(self, ts: float) -> float:
        """When the active stretch containing ``ts`` ends (``ts`` must be active)."""
        if self.always:
            return _INF
        week_start, i = self._locate(ts)
        if i == len(self.starts) - 1 and self.wraps:
            return week_start + _WEEK + self.ends[0]
        return week_start + self.ends[i]


class _Rule:
    """What the episode logic needs of one zone (built from a ``Zone`` or from the compact
    circle columns)."""

    __slots__ = (
        "applies_code",
        "category",
        "id",
        "key",
        "kind",
        "offender_id",
        "schedule",
        "vfrom",
        "vto",
    )

    def __init__(
        self,
        zone_id: int,
        kind: ZoneKind,
        applies_code: int,
        offender_id: int | None,
        category: str | None,
        schedule: _Schedule | None,
        vfrom: float,
        vto: float,
    ) -> None:
        self.id = zone_id
        self.key = f"z{zone_id}"  # its key in OffenderState.runs / .area / .open
        self.kind = kind
        self.applies_code = applies_code
        self.offender_id = offender_id
        self.category = category
        self.schedule = schedule
        self.vfrom = vfrom
        self.vto = vto

    def applies(self, facts: OffenderFacts) -> bool:
        code = self.applies_code
        if code == 0:
            return True
        if code == 1:
            return facts.victim_minor
        if code == 2:
            return self.offender_id == facts.offender_id
        return self.category in facts.categories

    def active(self, ts: float) -> bool:
        if not self.vfrom <= ts < self.vto:
            return False
        return self.schedule is None or self.schedule.active(ts)

    def activation_start(self, ts: float) -> float:
        """When the zone last became active, for an active ``ts``."""
        start = -_INF if self.schedule is None else self.schedule.stretch_start(ts)
        return max(start, self.vfrom)

    def stretch_end(self, ts: float) -> float:
        """When the zone's current active stretch ends, for an active ``ts``."""
        end = _INF if self.schedule is None else self.schedule.stretch_end(ts)
        return min(end, self.vto)


def _rule_of(zone: Zone, schedule: _Schedule | None) -> _Rule:
    return _Rule(
        zone.id,
        zone.kind,
        _APPLIES_CODE[zone.applies_to],
        zone.offender_id,
        zone.category,
        schedule,
        -_INF if zone.valid_from is None else _ts(zone.valid_from),
        _INF if zone.valid_to is None else _ts(zone.valid_to),
    )


# --- metres on the ellipsoid ---------------------------------------------------------------


def metres_per_degree(lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Metres per degree of longitude and of latitude at ``lat`` (WGS84 prime-vertical and
    meridional radii of curvature)."""
    phi = np.radians(lat)
    w2 = 1.0 - _E2 * np.sin(phi) ** 2
    n = _A / np.sqrt(w2)
    return n * np.cos(phi) * _RAD, n * (1.0 - _E2) / w2 * _RAD


def local_xy(
    lon: np.ndarray, lat: np.ndarray, lon0: np.ndarray, lat0: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Metres east and north of (lon0, lat0), with the scales taken at the mid-latitude: over a
    few kilometres this differs from the geodesic distance by micrometres (the error is of the
    third order in distance / earth radius)."""
    kx, ky = metres_per_degree((lat + lat0) * 0.5)
    return (lon - lon0) * kx, (lat - lat0) * ky


class _Frame:
    """Per-fix plane scales with their first-order change in latitude, so that pairs need no
    trigonometry: k(φ_mid) = k(φ)·(1 + g·Δφ/2) is the mid-latitude scale to 1e-7 over the few
    kilometres that decide anything (sub-millimetre). Also the batch's circle-grid cells, worked
    out once for every circle table."""

    __slots__ = ("_grid", "_wide", "gx", "gy", "kx", "ky", "lat", "lon")

    def __init__(self, lon: np.ndarray, lat: np.ndarray) -> None:
        self.lon, self.lat = lon, lat
        self._grid: tuple[np.ndarray, np.ndarray] | None = None
        self._wide: bool | None = None
        phi = np.radians(lat)
        sin, cos = np.sin(phi), np.cos(phi)
        w2 = 1.0 - _E2 * sin * sin
        n = _A / np.sqrt(w2)
        self.kx = n * cos * _RAD
        self.ky = n * (1.0 - _E2) / w2 * _RAD
        e_term = _E2 * sin * cos / w2
        half = 0.5 * _RAD
        self.gx = (e_term - np.tan(phi)) * half
        self.gy = 3.0 * e_term * half

    def xy(
        self, lon: np.ndarray, lat: np.ndarray, point: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Metres east and north of fix ``point`` (an index array, one per coordinate)."""
        dlat = lat - self.lat[point]
        return (
            (lon - self.lon[point]) * self.kx[point] * (1.0 + self.gx[point] * dlat),
            dlat * self.ky[point] * (1.0 + self.gy[point] * dlat),
        )

    def wide_any(self, acc: np.ndarray) -> bool:
        """Whether any fix's accuracy is beyond the circle grid's margin."""
        if self._wide is None:
            self._wide = bool((acc > _GRID_MARGIN_M).any())
        return self._wide

    def circle_grid(self, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each fix's circle-grid cell and its (x, y, widened accuracy) in that cell's plane
        (float32 metres, as the circle entries keep theirs). A fix off the map (or NaN) is put
        in a border cell, which no grid circle reaches."""
        if self._grid is None:
            nx, ny = _CIRCLE_SIZE
            fx = np.fmin(np.fmax((self.lon - _MAP_EXTENT[0]) / _CIRCLE_CELL, 0.0), nx - 1)
            fy = np.fmin(np.fmax((self.lat - _MAP_EXTENT[1]) / _CIRCLE_CELL, 0.0), ny - 1)
            ix, iy = fx.astype(np.intp), fy.astype(np.intp)
            row_mx, row_my = _circle_rows()
            local = np.empty((fx.size, 3), dtype=np.float32)
            local[:, 0] = (fx - ix) * row_mx[iy]
            local[:, 1] = (fy - iy) * row_my[iy]
            local[:, 2] = acc * _CUT_WIDEN + _CUT_PAD_M
            ix *= ny
            ix += iy
            self._grid = ix, local
        return self._grid


_ROWS: list[tuple[np.ndarray, np.ndarray]] = []


def _circle_rows() -> tuple[np.ndarray, np.ndarray]:
    """Metres per circle-grid cell east and north, at each cell row's middle latitude."""
    if not _ROWS:
        _, ny = _CIRCLE_SIZE
        kx, ky = metres_per_degree(_MAP_EXTENT[1] + (np.arange(ny) + 0.5) * _CIRCLE_CELL)
        _ROWS.append((kx * _CIRCLE_CELL, ky * _CIRCLE_CELL))
    return _ROWS[0]


def _scalar_frame(lat: float) -> tuple[float, float, float, float]:
    """``_Frame``'s (kx, ky, gx, gy) for one fix, in plain floats."""
    phi = math.radians(lat)
    sin, cos = math.sin(phi), math.cos(phi)
    w2 = 1.0 - _E2 * sin * sin
    n = _A / math.sqrt(w2)
    e_term = _E2 * sin * cos / w2
    half = 0.5 * _RAD
    return (
        n * cos * _RAD,
        n * (1.0 - _E2) / w2 * _RAD,
        (e_term - math.tan(phi)) * half,
        3.0 * e_term * half,
    )


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ragged expansion: for each item of each owner, (owner index, rank within the owner)."""
    owner = np.repeat(np.arange(counts.size), counts)
    firsts = counts.cumsum() - counts
    return owner, np.arange(owner.size) - firsts[owner]


def _runs_of(first: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The concatenated index runs ``first[i] : first[i] + counts[i]``."""
    ends = counts.cumsum()
    total = int(ends[-1]) if ends.size else 0
    out = (first - (ends - counts)).repeat(counts)
    out += np.arange(total, dtype=out.dtype)
    return out


def _segment_distance(seg: np.ndarray, frame: _Frame, point: np.ndarray) -> np.ndarray:
    """Metres from fix ``point[i]`` to segment ``seg[i]`` (lon1, lat1, lon2, lat2), in the plane
    centred on the fix (``_Frame.xy`` for both ends, the fix's values gathered once)."""
    lon, lat = frame.lon[point], frame.lat[point]
    kx, ky, gx, gy = frame.kx[point], frame.ky[point], frame.gx[point], frame.gy[point]
    dlat = seg[:, 1] - lat
    ax = (seg[:, 0] - lon) * kx * (1.0 + gx * dlat)
    ay = dlat * ky * (1.0 + gy * dlat)
    dlat = seg[:, 3] - lat
    vx = (seg[:, 2] - lon) * kx * (1.0 + gx * dlat) - ax
    vy = dlat * ky * (1.0 + gy * dlat) - ay
    length2 = vx * vx + vy * vy
    t = -(ax * vx + ay * vy) / np.where(length2 > 0, length2, 1.0)
    t = np.minimum(np.maximum(t, 0.0), 1.0)
    return np.hypot(ax + t * vx, ay + t * vy)


# --- the compact circle grid ---------------------------------------------------------------


class _CircleTable:
    """Exclusion circles as numpy columns (about 70 bytes a zone) and a dense cell map: each
    circle is listed in every map cell within its radius + buffer + _GRID_MARGIN_M, so a fix
    whose accuracy is within the margin looks at its own cell only.

    A query runs in two passes. The first cuts a fix's cell run in float32 metres local to the
    cell (the circle's entry keeps its centre in the cell's own plane, with the cell row's
    scales, and its reach widened by _CUT_WIDEN): three packed columns per candidate, one gather
    and a handful of array operations. The few survivors are then measured exactly in the fix's
    plane (``_Frame``), from the circle's float64 columns."""

    def __init__(self, columns: dict[str, np.ndarray], templates: list[_Rule]) -> None:
        self.templates = templates  # shared with the index: rule templates by code
        n = columns["id"].size
        self.alive = np.ones(n, dtype=bool)
        lon, lat = columns["lon"], columns["lat"]
        reach = columns["radius"] + columns["buffer"]
        # (lon, lat, reach) packed: the exact pass gathers one row per survivor; the table's
        # "lon" and "lat" columns are views of it.
        self.llr = np.empty((n, 3))
        self.llr[:, 0], self.llr[:, 1], self.llr[:, 2] = lon, lat, reach
        self.c = {**columns, "lon": self.llr[:, 0], "lat": self.llr[:, 1]}
        kx, ky = metres_per_degree(np.minimum(np.abs(lat) + 0.05, 89.0))
        grow = (reach + _GRID_MARGIN_M) * _SAFETY
        owner, cell = _cells(
            *_cell_range(
                lon - grow / kx,
                lat - grow / ky,
                lon + grow / kx,
                lat + grow / ky,
                _CIRCLE_CELL,
                _CIRCLE_SIZE,
            )
        )
        order = np.argsort(cell, kind="stable")
        self.entries = owner[order].astype(np.int32)
        cell = cell[order]
        # The circles again in entry order, in their cell's plane: a fix's candidates are then
        # one contiguous run of (x, y, -widened reach) rows.
        _, ny = _CIRCLE_SIZE
        row = cell % ny
        row_mx, row_my = _circle_rows()
        xyr = np.empty((cell.size, 3), dtype=np.float32)
        xyr[:, 0] = ((lon[self.entries] - _MAP_EXTENT[0]) / _CIRCLE_CELL - cell // ny) * row_mx[row]
        xyr[:, 1] = ((lat[self.entries] - _MAP_EXTENT[1]) / _CIRCLE_CELL - row) * row_my[row]
        xyr[:, 2] = -(reach[self.entries] * _CUT_WIDEN + _CUT_PAD_M)
        self.entry_xyr = xyr
        self.all_alive = True
        nx, _ = _CIRCLE_SIZE
        # Dense (one offset per cell) for the big base layer; sorted cell keys for a small
        # table (a patch's delta), which would otherwise pay for a whole map of offsets.
        self.dense = n >= _DENSE_MIN
        if self.dense:
            counts = np.bincount(cell, minlength=nx * ny)
            self.first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
            self.keys = np.empty(0, np.int64)
        else:
            self.keys, starts = np.unique(cell, return_index=True)
            self.first = np.append(starts, cell.size).astype(np.int64)
        self.id_order = np.argsort(columns["id"], kind="stable").astype(np.int32)
        self.ids_sorted = columns["id"][self.id_order]

    def __len__(self) -> int:
        return int(self.alive.sum())

    def slot(self, zone_id: int) -> int:
        i = int(np.searchsorted(self.ids_sorted, zone_id))
        if i < self.ids_sorted.size and self.ids_sorted[i] == zone_id:
            slot = int(self.id_order[i])
            if self.alive[slot]:
                return slot
        return -1

    def nbytes(self) -> int:
        arrays = [a for k, a in self.c.items() if k not in ("lon", "lat")]
        arrays += [self.llr, self.alive, self.entries, self.first, self.keys, self.entry_xyr]
        arrays += [self.id_order, self.ids_sorted]
        return sum(a.nbytes for a in arrays)

    def _runs(self, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first entry, entry count) of each cell's run."""
        if self.dense:
            first = self.first[cell]
            return first, self.first[cell + 1] - first
        pos = np.minimum(np.searchsorted(self.keys, cell), self.keys.size - 1)
        first = self.first[pos]
        return first, np.where(self.keys[pos] == cell, self.first[pos + 1] - first, 0)

    def query(
        self, lon: np.ndarray, lat: np.ndarray, acc: np.ndarray, frame: _Frame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(point, slot, relation, signed distance) for pairs not wholly outside."""
        if self.entries.size == 0 or lon.size == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty.astype(np.int8), empty.astype(np.float64)
        if frame.wide_any(acc):
            return self._wide_query(lon, lat, acc, frame)
        cell, local = frame.circle_grid(acc)
        first, counts = self._runs(cell)
        ends = counts.cumsum()
        # Candidate k of fix i is entry first[i] + (k - (ends[i] - counts[i])).
        entry = (first - (ends - counts)).repeat(counts)
        entry += np.arange(entry.size, dtype=entry.dtype)
        diff = self.entry_xyr.take(entry, axis=0)  # rows: much faster than [entry]
        diff -= local.repeat(counts, axis=0)
        diff *= diff
        cut = (diff[:, 0] + diff[:, 1] < diff[:, 2]).nonzero()[0]
        # The exact plane for the survivors, as the fix's own ``_Frame`` measures.
        point = ends.searchsorted(cut, side="right")
        slot = self.entries[entry[cut]]
        circle = self.llr.take(slot, axis=0)
        dlat = circle[:, 1] - lat[point]
        dx = (circle[:, 0] - lon[point]) * frame.kx[point] * (1.0 + frame.gx[point] * dlat)
        dy = dlat * frame.ky[point] * (1.0 + frame.gy[point] * dlat)
        distance2 = dx * dx + dy * dy
        r = acc[point]
        reach = circle[:, 2]
        keep = distance2 < (reach + r) ** 2
        if not self.all_alive:
            keep &= self.alive[slot]
        keep = keep.nonzero()[0]
        point, slot, r, reach = point[keep], slot[keep].astype(np.int64), r[keep], reach[keep]
        distance = np.sqrt(distance2[keep])
        relation = (distance <= reach - r).astype(np.int8)  # INSIDE = 1, else NEITHER = 0
        return point, slot, relation, self.c["radius"][slot] - distance

    def _wide_query(
        self, lon: np.ndarray, lat: np.ndarray, acc: np.ndarray, frame: _Frame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Fixes beyond the margin in the batch: every cell within the excess, then duplicate
        (fix, circle) pairs dropped."""
        kx, ky = frame.kx, frame.ky
        grow = np.maximum(acc - _GRID_MARGIN_M, 0.0) * _SAFETY
        owner, cell = _cells(
            *_cell_range(
                lon - grow / kx,
                lat - grow / ky,
                lon + grow / kx,
                lat + grow / ky,
                _CIRCLE_CELL,
                _CIRCLE_SIZE,
            )
        )
        first, counts = self._runs(cell)
        pair_owner, rank = _expand(counts.astype(np.int64))
        entry = first[pair_owner] + rank
        point = owner[pair_owner]
        modulus = self.llr.shape[0] + 1
        key = np.unique(point.astype(np.int64) * modulus + self.entries[entry])
        point, slot = key // modulus, key % modulus
        circle = np.take(self.llr, slot, axis=0)
        dlat = circle[:, 1] - lat[point]
        dx = (circle[:, 0] - lon[point]) * frame.kx[point] * (1.0 + frame.gx[point] * dlat)
        dy = dlat * frame.ky[point] * (1.0 + frame.gy[point] * dlat)
        r = acc[point]
        distance2 = dx * dx + dy * dy
        reach = circle[:, 2]
        keep = distance2 < (reach + r) ** 2
        if not self.all_alive:
            keep &= self.alive[slot]
        keep = np.flatnonzero(keep)
        point, slot, r, reach = point[keep], slot[keep], r[keep], reach[keep]
        distance = np.sqrt(distance2[keep])
        relation = (distance <= reach - r).astype(np.int8)
        return point, slot, relation, self.c["radius"][slot] - distance

    def query_one(
        self, lon: float, lat: float, acc: float, frame: tuple[float, float, float, float]
    ) -> list[tuple[int, int, _Rule]]:
        """``query`` for one fix within the margin, in plain Python (a lone ping pays no numpy
        call overhead): [(zone id, relation)]."""
        x0, y0, _, _ = _MAP_EXTENT
        nx, ny = _CIRCLE_SIZE
        ix, iy = int((lon - x0) // _CIRCLE_CELL), int((lat - y0) // _CIRCLE_CELL)
        if self.entries.size == 0 or not (0 <= ix < nx and 0 <= iy < ny):
            return []
        cell = ix * ny + iy
        if self.dense:
            a, b = int(self.first[cell]), int(self.first[cell + 1])
        else:
            pos = int(np.searchsorted(self.keys, cell))
            if pos >= self.keys.size or self.keys[pos] != cell:
                return []
            a, b = int(self.first[pos]), int(self.first[pos + 1])
        if a == b:
            return []
        kx, ky, gx, gy = frame
        out = []
        run = self.entries[a:b]
        circles = self.llr.take(run, axis=0).tolist()
        for slot, (e_lon, e_lat, reach) in zip(run.tolist(), circles, strict=True):
            dlat = e_lat - lat
            dx = (e_lon - lon) * kx * (1.0 + gx * dlat)
            dy = dlat * ky * (1.0 + gy * dlat)
            distance2 = dx * dx + dy * dy
            if distance2 < (reach + acc) ** 2 and (self.all_alive or self.alive[slot]):
                inside = math.sqrt(distance2) <= reach - acc
                template = self.templates[self.c["template"][slot]]
                out.append((int(self.c["id"][slot]), 1 if inside else 0, template))
        return out


# --- polygons (and large or inclusion circles) ------------------------------------------------


def _cell_range(
    minx: np.ndarray,
    miny: np.ndarray,
    maxx: np.ndarray,
    maxy: np.ndarray,
    cell: float = _MAP_CELL,
    size: tuple[int, int] = _MAP_SIZE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """Cells covered by boxes, clipped to the map: (first x, count x, first y, count y, size)."""
    x0, y0, _, _ = _MAP_EXTENT
    nx, ny = size
    ix0 = np.clip(np.floor((minx - x0) / cell), 0, nx - 1).astype(np.int64)
    ix1 = np.clip(np.floor((maxx - x0) / cell), -1, nx - 1).astype(np.int64)
    iy0 = np.clip(np.floor((miny - y0) / cell), 0, ny - 1).astype(np.int64)
    iy1 = np.clip(np.floor((maxy - y0) / cell), -1, ny - 1).astype(np.int64)
    nxr = np.where((maxx < x0) | (minx >= x0 + nx * cell), 0, np.maximum(ix1 - ix0 + 1, 0))
    nyr = np.where((maxy < y0) | (miny >= y0 + ny * cell), 0, np.maximum(iy1 - iy0 + 1, 0))
    return ix0, nxr, iy0, nyr, size


def _cells(
    ix0: np.ndarray,
    nxr: np.ndarray,
    iy0: np.ndarray,
    nyr: np.ndarray,
    size: tuple[int, int] = _MAP_SIZE,
) -> tuple[np.ndarray, np.ndarray]:
    """(box index, flat cell index) for every cell of every box from ``_cell_range``."""
    _, ny = size
    owner, rank = _expand(nxr * nyr)
    return owner, (ix0[owner] + rank % nxr[owner]) * ny + iy0[owner] + rank // nxr[owner]


class _Shape:
    """One zone on the STRtree side: its rule, prepared geometry and boundary segments."""

    __slots__ = (
        "_map",
        "boundary",
        "circle",
        "envelope",
        "geometry",
        "rule",
        "segments",
        "zone",
    )

    def __init__(self, zone: Zone, rule: _Rule) -> None:
        self.zone = zone
        self.rule = rule
        geometry = zone.geometry
        buffer_m = zone.buffer_m
        if isinstance(geometry, Circle):
            self.circle = (geometry.lon, geometry.lat, geometry.radius_m)
            self.geometry = self.boundary = None
            self.segments = np.empty((0, 4))
            reach = geometry.radius_m + buffer_m
            minx = maxx = geometry.lon
            miny = maxy = geometry.lat
        else:
            self.circle = None
            shapely.prepare(geometry)
            self.geometry = geometry
            self.boundary = shapely.boundary(geometry)
            shapely.prepare(self.boundary)
            rings = shapely.get_rings(shapely.get_parts(geometry))
            self.segments = np.concatenate(
                [
                    np.hstack([coords[:-1], coords[1:]])
                    for coords in (shapely.get_coordinates(ring) for ring in rings)
                ]
            )
            reach = buffer_m
            minx, miny, maxx, maxy = geometry.bounds
        far_lat = min(89.0, max(abs(miny), abs(maxy)) + reach / 100_000.0)
        kx, ky = metres_per_degree(np.array([far_lat]))
        dx, dy = reach * _SAFETY / float(kx[0]), reach * _SAFETY / float(ky[0])
        self.envelope = (minx - dx, miny - dy, maxx + dx, maxy + dy)
        self._map: tuple[np.ndarray, ...] | None | bool = False

    def map_entries(self) -> tuple[np.ndarray, ...] | None:
        """This shape's cells on the map, computed once: (cell, deep, first, count, segments)
        where an edge entry's boundary segments are ``segments[first : first + count]``. None
        when the shape is too big for the map."""
        if self._map is False:
            self._map = self._compute_map()
        return self._map  # type: ignore[return-value]

    def _compute_map(self) -> tuple[np.ndarray, ...] | None:
        _, ny = _MAP_SIZE
        minx, miny, maxx, maxy = self.envelope
        box_range = _cell_range(
            np.array([minx]), np.array([miny]), np.array([maxx]), np.array([maxy])
        )
        if int(box_range[1][0]) * int(box_range[3][0]) > _MAP_MAX_CELLS:
            return None
        margin = self.zone.buffer_m + _MAP_MARGIN_M
        if self.circle is not None:
            lon, lat, radius = self.circle
            kx, ky = metres_per_degree(np.array([min(abs(lat) + 0.05, 89.0)]))
            reach = (radius + margin) * _SAFETY
            _, cell = _cells(*_cell_range(
                np.array([lon]) - reach / kx, np.array([lat]) - reach / ky,
                np.array([lon]) + reach / kx, np.array([lat]) + reach / ky,
            ))  # fmt: skip
            zeros = np.zeros(cell.size, np.int64)
            return cell, np.zeros(cell.size, bool), zeros, zeros, np.empty(0, np.int64)
        # Edge cells: each boundary segment's box grown by margin + buffer.
        seg = self.segments
        far_lat = np.minimum(np.maximum(np.abs(seg[:, 1]), np.abs(seg[:, 3])) + 0.05, 89.0)
        kx, ky = metres_per_degree(far_lat)
        reach = margin * _SAFETY
        seg_id, cell = _cells(*_cell_range(
            np.minimum(seg[:, 0], seg[:, 2]) - reach / kx,
            np.minimum(seg[:, 1], seg[:, 3]) - reach / ky,
            np.maximum(seg[:, 0], seg[:, 2]) + reach / kx,
            np.maximum(seg[:, 1], seg[:, 3]) + reach / ky,
        ))  # fmt: skip
        order = np.lexsort((seg_id, cell))
        seg_id, cell = seg_id[order], cell[order]
        edge_cell, first, count = np.unique(cell, return_index=True, return_counts=True)
        # Deep cells: in the envelope, not an edge cell, centre inside (no edge is near the
        # cell, so the whole cell is inside and farther than the margin from the edge).
        _, candidate = _cells(*box_range)
        candidate = candidate[~np.isin(candidate, edge_cell, assume_unique=True)]
        cx = _MAP_EXTENT[0] + (candidate // ny + 0.5) * _MAP_CELL
        cy = _MAP_EXTENT[1] + (candidate % ny + 0.5) * _MAP_CELL
        deep_cell = candidate[shapely.contains_xy(self.geometry, cx, cy)]
        zeros = np.zeros(deep_cell.size, np.int64)
        return (
            np.concatenate([edge_cell, deep_cell]),
            np.r_[np.zeros(edge_cell.size, bool), np.ones(deep_cell.size, bool)],
            np.concatenate([first, zeros]),
            np.concatenate([count, zeros]),
            seg_id.astype(np.int64),
        )


class _ShapeStore:
    """The STRtree side. Few zones (districts, travel windows, polygon schools, curfews), so a
    patch builds a fresh store over the already-prepared shapes (their cell entries cached) and
    the index swaps the reference: a query already running keeps a consistent old store."""

    def __init__(self, shapes: Mapping[int, _Shape] | None = None) -> None:
        self.shapes: dict[int, _Shape] = dict(shapes or {})
        self.rebuild()

    def rebuild(self) -> None:
        self.list = list(self.shapes.values())
        self.tree = shapely.STRtree([box(*s.envelope) for s in self.list])
        self.geoms = np.array([s.geometry for s in self.list], dtype=object)
        self.boundaries = np.array([s.boundary for s in self.list], dtype=object)
        self.buffers = np.array([s.zone.buffer_m for s in self.list], dtype=np.float64)
        self.ids = np.array([s.zone.id for s in self.list], dtype=np.int64)
        self.rules = np.array([*(s.rule for s in self.list), None], dtype=object)[:-1]
        self.rule_table: _RuleTable | None = None
        self.is_circle = np.array([s.circle is not None for s in self.list], dtype=bool)
        circles = [s.circle or (0.0, 0.0, 0.0) for s in self.list]
        self.circle_cols = np.array(circles, dtype=np.float64).reshape(-1, 3)
        counts = np.array([len(s.segments) for s in self.list], dtype=np.int64)
        self.seg_first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.segments = (
            np.concatenate([s.segments for s in self.list]) if self.list else np.empty((0, 4))
        )
        self._build_map()

    def _build_map(self) -> None:
        """Concatenate every shape's (cached) cell entries into one CSR map over the cells."""
        nx, ny = _MAP_SIZE
        cells, shapes, deep, seg_first, seg_count, seg_ids = [], [], [], [], [], []
        seg_offset = list_offset = 0
        big = []
        for index, shape in enumerate(self.list):
            entries = shape.map_entries()
            if entries is None:
                big.append(index)
            else:
                e_cell, e_deep, e_first, e_count, e_segs = entries
                cells.append(e_cell)
                shapes.append(np.full(e_cell.size, index, dtype=np.int32))
                deep.append(e_deep)
                seg_first.append(np.where(e_deep, 0, e_first + list_offset))
                seg_count.append(e_count)
                seg_ids.append(e_segs + seg_offset)
                list_offset += e_segs.size
            seg_offset += len(shape.segments)
        cell = np.concatenate([np.empty(0, np.int64), *cells])
        order = np.argsort(cell, kind="stable")
        self.map_entry_shape = np.concatenate([np.empty(0, np.int32), *shapes])[order]
        self.map_entry_deep = np.concatenate([np.empty(0, bool), *deep])[order]
        self.map_entry_seg_first = np.concatenate([np.empty(0, np.int64), *seg_first])[order]
        self.map_entry_seg_count = np.concatenate([np.empty(0, np.int64), *seg_count])[order]
        self.map_segments = np.concatenate([np.empty(0, np.int64), *seg_ids])
        counts = np.bincount(cell, minlength=nx * ny)
        self.map_first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        # Most fixes are deep inside one district and near nothing else: per cell, the shape
        # when the cell's only entry is deep (_SIMPLE_EMPTY when it has none, _SIMPLE_NO when
        # it needs the edge path), so that they are answered with one lookup.
        simple = np.where(counts == 0, _SIMPLE_EMPTY, _SIMPLE_NO).astype(np.int32)
        single = np.flatnonzero(counts == 1)
        only = self.map_first[single]
        deep_single = self.map_entry_deep[only]
        simple[single[deep_single]] = self.map_entry_shape[only[deep_single]]
        self.map_simple = simple
        # Shapes too big for the map (an international trip's WORLD) are looked up in a tree
        # of their own for every fix.
        self.big = np.array(big, dtype=np.int64)
        self.big_tree = shapely.STRtree([box(*self.list[i].envelope) for i in big])

    def nbytes(self) -> int:
        arrays = [self.buffers, self.ids, self.is_circle, self.circle_cols, self.seg_first]
        arrays += [self.segments, self.map_entry_shape, self.map_entry_deep, self.map_first]
        arrays += [self.map_simple]
        arrays += [self.map_entry_seg_first, self.map_entry_seg_count, self.map_segments]
        total = sum(a.nbytes for a in arrays)
        for shape in self.list:  # GEOS coordinates (+ about as much again for prepared indexes)
            if shape.geometry is not None:
                total += 2 * 2 * 16 * int(shapely.get_num_coordinates(shape.geometry)) + 1000
        return total + 200 * len(self.list)

    def query(
        self, lon: np.ndarray, lat: np.ndarray, acc: np.ndarray, frame: _Frame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(point, shape index, relation, signed distance) for pairs not wholly outside."""
        empty = np.empty(0, dtype=np.int64)
        if not self.list or lon.size == 0:
            return empty, empty, empty.astype(np.int8), empty.astype(np.float64)
        x0, y0, x1, y1 = _MAP_EXTENT
        nx, ny = _MAP_SIZE
        on_map = (lon >= x0) & (lon < x1) & (lat >= y0) & (lat < y1) & (acc <= _MAP_MARGIN_M)
        all_on = bool(on_map.all())
        on = np.arange(lon.size) if all_on else on_map.nonzero()[0]
        x, y = (lon, lat) if all_on else (lon[on], lat[on])
        ix = ((x - x0) / _MAP_CELL).astype(np.intp)
        iy = ((y - y0) / _MAP_CELL).astype(np.intp)
        np.minimum(ix, nx - 1, out=ix)
        ix *= ny
        ix += np.minimum(iy, ny - 1)
        code = self.map_simple[ix]
        simple = (code >= 0).nonzero()[0]
        parts = [
            (
                simple if all_on else on[simple],
                code[simple].astype(np.int64),
                np.ones(simple.size, dtype=np.int8),  # deep inside: INSIDE, whatever the accuracy
                np.full(simple.size, _INF),
            )
        ]
        edge = (code == _SIMPLE_NO).nonzero()[0]
        if edge.size:
            parts.append(self._map_query(on[edge], ix[edge], lon, lat, acc, frame))
        if self.big.size and on.size:
            parts.append(self._tree_query(on, lon, lat, acc, frame, self.big_tree, self.big))
        if not all_on:
            off_map = (~on_map).nonzero()[0]
            parts.append(self._tree_query(off_map, lon, lat, acc, frame, self.tree, None))
        if len(parts) == 1:
            return parts[0]
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))  # type: ignore[return-value]

    def _map_query(self, points, cell, lon, lat, acc, frame):
        """The fixes in cells with more than one entry or an edge entry."""
        first = self.map_first[cell]
        counts = self.map_first[cell + 1] - first
        entry = _runs_of(first, counts)
        point = points.repeat(counts)
        shape = self.map_entry_shape[entry].astype(np.int64)
        deep = self.map_entry_deep[entry]
        signed = np.full(point.size, _INF)
        edge = (~deep).nonzero()[0]
        if edge.size:
            e_point, e_shape, e_entry = point[edge], shape[edge], entry[edge]
            e_signed = np.empty(edge.size)
            circle = self.is_circle[e_shape]
            if circle.any():
                cols = self.circle_cols[e_shape[circle]]
                dx, dy = frame.xy(cols[:, 0], cols[:, 1], e_point[circle])
                e_signed[circle] = cols[:, 2] - np.hypot(dx, dy)
                poly = (~circle).nonzero()[0]
                p_point, p_shape, p_entry = e_point[poly], e_shape[poly], e_entry[poly]
            else:
                poly, p_point, p_shape, p_entry = None, e_point, e_shape, e_entry
            if p_point.size:
                inside = shapely.contains_xy(self.geoms[p_shape], lon[p_point], lat[p_point])
                # An edge entry lists at least one segment: its run starts where its minimum is.
                seg_count = self.map_entry_seg_count[p_entry]
                at = _runs_of(self.map_entry_seg_first[p_entry], seg_count)
                segs = self.segments.take(self.map_segments.take(at), axis=0)
                distance = _segment_distance(segs, frame, p_point.repeat(seg_count))
                nearest = np.minimum.reduceat(distance, seg_count.cumsum() - seg_count)
                np.negative(nearest, out=nearest, where=~inside)
                if poly is None:
                    e_signed = nearest
                else:
                    e_signed[poly] = nearest
            signed[edge] = e_signed
        return self._decide(point, shape, acc, signed)

    def query_one(
        self, lon: float, lat: float, acc: float, frame: tuple[float, float, float, float]
    ) -> list[tuple[int, int, _Rule]] | None:
        """``query`` for one on-map fix within the margin in plain Python; None when the fix
        needs the vectorised path (off the map, wide, or shapes too big for the map)."""
        if not self.list:
            return []
        x0, y0, x1, y1 = _MAP_EXTENT
        if not (x0 <= lon < x1 and y0 <= lat < y1) or acc > _MAP_MARGIN_M:
            return None
        _, ny = _MAP_SIZE
        cell = int((lon - x0) // _MAP_CELL) * ny + int((lat - y0) // _MAP_CELL)
        a, b = int(self.map_first[cell]), int(self.map_first[cell + 1])
        kx, ky, gx, gy = frame
        out = self._big_one(lon, lat, acc, kx, ky) if self.big.size else []
        for entry in range(a, b):
            shape_index = int(self.map_entry_shape[entry])
            shape = self.list[shape_index]
            buffer_m = shape.zone.buffer_m
            if self.map_entry_deep[entry]:
                signed = _INF
            elif shape.circle is not None:
                c_lon, c_lat, radius = shape.circle
                dlat = c_lat - lat
                dx = (c_lon - lon) * kx * (1.0 + gx * dlat)
                dy = dlat * ky * (1.0 + gy * dlat)
                signed = radius - math.hypot(dx, dy)
            else:
                first = int(self.map_entry_seg_first[entry])
                count = int(self.map_entry_seg_count[entry])
                nearest = _INF
                for x_a, y_a, x_b, y_b in self.segments[
                    self.map_segments[first : first + count]
                ].tolist():
                    la, lb = y_a - lat, y_b - lat
                    ax = (x_a - lon) * kx * (1.0 + gx * la)
                    ay = la * ky * (1.0 + gy * la)
                    vx = (x_b - lon) * kx * (1.0 + gx * lb) - ax
                    vy = lb * ky * (1.0 + gy * lb) - ay
                    length2 = vx * vx + vy * vy
                    t = -(ax * vx + ay * vy) / length2 if length2 > 0 else 0.0
                    t = 0.0 if t < 0.0 else min(t, 1.0)
                    nearest = min(nearest, math.hypot(ax + t * vx, ay + t * vy))
                inside = shapely.contains_xy(shape.geometry, lon, lat)
                signed = nearest if inside else -nearest
            if signed >= acc - buffer_m:
                out.append((shape.zone.id, 1, shape.rule))
            elif signed > -(acc + buffer_m):
                out.append((shape.zone.id, 0, shape.rule))
        return out

    def _big_one(
        self, lon: float, lat: float, acc: float, kx: float, ky: float
    ) -> list[tuple[int, int, _Rule]]:
        """The shapes too big for the map, for one fix."""
        out = []
        for shape_index in self.big.tolist():
            shape = self.list[shape_index]
            minx, miny, maxx, maxy = shape.envelope
            hx, hy = acc * _SAFETY / kx, acc * _SAFETY / ky
            if lon + hx < minx or lon - hx > maxx or lat + hy < miny or lat - hy > maxy:
                continue
            buffer_m = shape.zone.buffer_m
            if shape.circle is not None:
                c_lon, c_lat, radius = shape.circle
                dx, dy = local_xy(np.array(c_lon), np.array(c_lat), np.array(lon), np.array(lat))
                signed = radius - float(np.hypot(dx, dy))
            else:
                inside = bool(shapely.contains_xy(shape.geometry, lon, lat))
                bx, by = (acc + buffer_m) * _SAFETY / kx, (acc + buffer_m) * _SAFETY / ky
                if shapely.intersects(shape.boundary, box(lon - bx, lat - by, lon + bx, lat + by)):
                    nearest = float(
                        self._edge_distance(
                            np.array([shape_index]),
                            np.array([lon]),
                            np.array([lat]),
                            np.array([bx]),
                            np.array([by]),
                        )[0]
                    )
                else:
                    nearest = _INF
                signed = nearest if inside else -nearest
            if signed >= acc - buffer_m:
                out.append((shape.zone.id, 1, shape.rule))
            elif signed > -(acc + buffer_m):
                out.append((shape.zone.id, 0, shape.rule))
        return out

    def _decide(self, point, shape, acc, signed):
        r = acc[point]
        buffers = self.buffers[shape]
        inside_rel = signed >= r - buffers
        keep = inside_rel | (signed > -(r + buffers))
        relation = inside_rel[keep].astype(np.int8)
        return point[keep], shape[keep], relation, signed[keep]

    def _tree_query(self, points, lon, lat, acc, frame, tree, subset):
        kx, ky = frame.kx, frame.ky
        x, y, r = lon[points], lat[points], acc[points]
        dlon, dlat = r * _SAFETY / kx[points], r * _SAFETY / ky[points]
        boxes = shapely.box(x - dlon, y - dlat, x + dlon, y + dlat)
        owner, shape = tree.query(boxes)
        if subset is not None:
            shape = subset[shape]
        point = points[owner]
        # Threshold distance per pair: past r + b from the edge the side alone decides.
        r = acc[point]
        reach = r + self.buffers[shape]
        signed = np.full(point.size, np.nan)
        circle = self.is_circle[shape]
        if circle.any():
            cols = self.circle_cols[shape[circle]]
            dx, dy = local_xy(cols[:, 0], cols[:, 1], lon[point[circle]], lat[point[circle]])
            signed[circle] = cols[:, 2] - np.hypot(dx, dy)
        poly = np.flatnonzero(~circle)
        if poly.size:
            p_point, p_shape = point[poly], shape[poly]
            inside = shapely.contains_xy(self.geoms[p_shape], lon[p_point], lat[p_point])
            hx = reach[poly] * _SAFETY / kx[p_point]
            hy = reach[poly] * _SAFETY / ky[p_point]
            x, y = lon[p_point], lat[p_point]
            near = shapely.intersects(
                self.boundaries[p_shape], shapely.box(x - hx, y - hy, x + hx, y + hy)
            )
            far_signed = np.where(inside, _INF, -_INF)
            near_idx = np.flatnonzero(near)
            if near_idx.size:
                distance = self._edge_distance(
                    p_shape[near_idx], x[near_idx], y[near_idx], hx[near_idx], hy[near_idx]
                )
                far_signed[near_idx] = np.where(inside[near_idx], distance, -distance)
            signed[poly] = far_signed
        return self._decide(point, shape, acc, signed)

    def _edge_distance(
        self, shape: np.ndarray, x: np.ndarray, y: np.ndarray, hx: np.ndarray, hy: np.ndarray
    ) -> np.ndarray:
        """Metres from each point to its shape's boundary, exact when within the half-box
        (hx, hy) in degrees; segments outside the box cannot be the nearest within it."""
        first = self.seg_first[shape]
        owner, rank = _expand(self.seg_first[shape + 1] - first)
        seg = self.segments[first[owner] + rank]
        ox, oy, bx, by = x[owner], y[owner], hx[owner], hy[owner]
        in_box = (
            (np.maximum(seg[:, 0], seg[:, 2]) >= ox - bx)
            & (np.minimum(seg[:, 0], seg[:, 2]) <= ox + bx)
            & (np.maximum(seg[:, 1], seg[:, 3]) >= oy - by)
            & (np.minimum(seg[:, 1], seg[:, 3]) <= oy + by)
        )
        owner, seg, ox, oy = owner[in_box], seg[in_box], ox[in_box], oy[in_box]
        distance = _segment_distance(seg, _Frame(ox, oy), np.arange(ox.size))
        best = np.full(shape.size, _INF)
        np.minimum.at(best, owner, distance)
        return best


# --- the index ---------------------------------------------------------------------------------


def _validate(zone: Zone) -> None:
    geometry = zone.geometry
    if not isinstance(geometry, Circle | Polygon | MultiPolygon):
        raise TypeError(f"zone {zone.id}: geometry must be a Polygon, MultiPolygon or Circle")
    if isinstance(geometry, Circle) and not geometry.radius_m > 0:
        raise ValueError(f"zone {zone.id}: a circle needs a positive radius")
    if isinstance(geometry, Polygon | MultiPolygon) and geometry.is_empty:
        raise ValueError(f"zone {zone.id}: empty geometry")
    if zone.buffer_m < 0 or (zone.kind == ZoneKind.INCLUSION and zone.buffer_m):
        raise ValueError(f"zone {zone.id}: a buffer is for exclusion zones, and not negative")
    if zone.applies_to == AppliesTo.OFFENDER and zone.offender_id is None:
        raise ValueError(f"zone {zone.id}: an offender zone needs offender_id")
    if zone.applies_to == AppliesTo.CATEGORY and not zone.category:
        raise ValueError(f"zone {zone.id}: a category zone needs category")


def _in_grid(zone: Zone) -> bool:
    geometry = zone.geometry
    lon0, lat0, lon1, lat1 = PAKISTAN_BBOX
    return (
        zone.kind == ZoneKind.EXCLUSION
        and isinstance(geometry, Circle)
        and geometry.radius_m + zone.buffer_m <= _GRID_MAX_REACH_M
        and lon0 <= geometry.lon <= lon1
        and lat0 <= geometry.lat <= lat1
    )


class _RuleTable:
    """The rules a hit's code names (circle templates, then shapes) and, as arrays, what
    applicability needs of them; ``single[code]`` is the shared one-hit INSIDE row of a shape."""

    __slots__ = ("applies", "category", "offender", "rules", "single", "templates")

    def __init__(
        self, templates: list[_Rule], shapes: list[_Shape], category_ids: dict[str, int]
    ) -> None:
        self.templates = len(templates)
        self.rules = [*templates, *(s.rule for s in shapes)]
        self.single = [None] * self.templates + [[(s.zone.id, 1, s.rule)] for s in shapes]
        self.applies = np.array([r.applies_code for r in self.rules], dtype=np.int8)
        self.offender = np.array(
            [-1 if r.offender_id is None else r.offender_id for r in self.rules], dtype=np.int64
        )
        self.category = np.array(
            [
                -1 if r.category is None else category_ids.setdefault(r.category, len(category_ids))
                for r in self.rules
            ],
            dtype=np.int64,
        )


class ZoneIndex:
    """All zones in memory: exclusion circles (schools, homes: radius + buffer up to 2 km, in
    Pakistan) in compact numpy columns on a 0.01° cell map; everything else (polygons, large
    circles, inclusion zones) as prepared shapely shapes on a 0.02° cell map of "deep" and "edge"
    entries, with an STRtree for fixes off the map, very inaccurate fixes and shapes too big for
    the map.

    Why two models (measured in ``bench/bench_geofence_engine.py``): 250,000 school circles as
    shapely polygons in an STRtree cost about 420 MB and only answer "is the centre inside"; as a
    centre, a radius and a distance they take about 50 MB, build in under a second and answer in
    metres. Polygons keep shapely's exact containment. ``version`` is the zone-set version;
    ``add``/``replace``/``remove`` patch in place: grid circles go to a small delta table (merged
    into the base when it grows), removed ones are tombstoned; shapes are prepared once and their
    cell entries cached, so a shape patch only re-concatenates the map and re-packs the tree."""

    def __init__(
        self,
        zones: Iterable[Zone] = (),
        *,
        version: int = 0,
        circles: Iterable[CircleColumns] = (),
    ) -> None:
        self.version = version
        self._categories: dict[str, int] = {}
        self._category_ids: dict[str, int] = {}  # applicability's codes (``_RuleTable``)
        self._category_names: list[str] = []
        self._schedules: list[tuple[ScheduleInterval, ...]] = []
        self._schedule_code: dict[tuple[ScheduleInterval, ...], int] = {}
        self._shapes = _ShapeStore()
        self._rule_cache: dict[int, _Rule] = {}
        self._templates: list[_Rule] = []
        self._template_code: dict[tuple[Any, ...], int] = {}
        self._template_keys: list[tuple[Any, ...]] = []
        self._inclusion_cache: dict[OffenderFacts, list[_Rule]] = {}
        grid: list[Zone] = []
        lon0, lat0, lon1, lat1 = PAKISTAN_BBOX
        columns: list[tuple[Zone, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
        columns = []
        others: list[Zone] = []
        for group in circles:
            t = group.template
            if t.kind is ZoneKind.EXCLUSION and (
                t.applies_to is AppliesTo.ALL or t.applies_to is AppliesTo.VICTIM_MINOR
            ):
                # The inline school-circle check below, on the arrays.
                ok = (
                    (group.radii > 0)
                    & (group.buffers >= 0)
                    & (group.radii + group.buffers <= _GRID_MAX_REACH_M)
                    & (group.lons >= lon0)
                    & (group.lons <= lon1)
                    & (group.lats >= lat0)
                    & (group.lats <= lat1)
                )
            else:
                ok = np.zeros(group.ids.size, dtype=bool)
            if ok.any():
                columns.append(
                    (
                        t,
                        *(
                            np.asarray(a)[ok]
                            for a in (group.ids, group.lons, group.lats, group.radii)
                        ),
                        np.asarray(group.buffers)[ok],
                    )
                )
            if not ok.all():
                others.extend(group.zones(~ok))
        for zone in itertools.chain(zones, others):
            circle = zone.geometry
            if (  # the common case, checked inline: a school circle
                type(circle) is Circle
                and zone.kind is ZoneKind.EXCLUSION
                and circle.radius_m > 0
                and zone.buffer_m >= 0
                and circle.radius_m + zone.buffer_m <= _GRID_MAX_REACH_M
                and lon0 <= circle.lon <= lon1
                and lat0 <= circle.lat <= lat1
                and (zone.applies_to is AppliesTo.ALL or zone.applies_to is AppliesTo.VICTIM_MINOR)
            ):
                grid.append(zone)
                continue
            _validate(zone)
            if _in_grid(zone):
                grid.append(zone)
            else:
                self._shapes.shapes[zone.id] = _Shape(zone, self._rule(zone))
        self._base = self._table(grid, columns)
        self._delta = self._table([])
        self._delta_zones: dict[int, Zone] = {}
        self._shapes.rebuild()
        self._index_inclusions()

    # building -----------------------------------------------------------------------------

    def _code(self, table: dict[Any, int], names: list[Any], value: Any) -> int:
        code = table.get(value)
        if code is None:
            code = table[value] = len(names)
            names.append(value)
        return code

    def _rule(self, zone: Zone) -> _Rule:
        return _rule_of(zone, _Schedule.of(zone.schedule))

    def _table(
        self,
        zones: list[Zone],
        columns: Sequence[
            tuple[Zone, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
        ] = (),
    ) -> _CircleTable:
        """Columns for grid circles, in one pass. Circles sharing applicability, schedule and
        dates share one rule template (a school layer has a handful), so a circle costs its id,
        centre, radius, buffer and a template code."""
        templates = self._template_code
        schedule_by_id: dict[int, int] = {}  # the same schedule object is hashed once

        def code_of(zone: Zone) -> int:
            category = (
                -1
                if zone.category is None
                else self._code(self._categories, self._category_names, zone.category)
            )
            schedule = -1
            if zone.schedule is not None:
                found = schedule_by_id.get(id(zone.schedule))
                if found is None:
                    found = schedule_by_id[id(zone.schedule)] = self._code(
                        self._schedule_code, self._schedules, zone.schedule
                    )
                schedule = found
            key = (
                _APPLIES_CODE[zone.applies_to],
                -1 if zone.offender_id is None else zone.offender_id,
                category,
                schedule,
                -_INF if zone.valid_from is None else _ts(zone.valid_from),
                _INF if zone.valid_to is None else _ts(zone.valid_to),
            )
            template = templates.get(key)
            if template is None:
                template = templates[key] = len(self._templates)
                self._template_keys.append(key)
                applies, offender, _, _, vfrom, vto = key
                self._templates.append(
                    _Rule(
                        -1,
                        ZoneKind.EXCLUSION,
                        applies,
                        None if offender < 0 else offender,
                        zone.category,
                        _Schedule.of(zone.schedule),
                        vfrom,
                        vto,
                    )
                )
            return template

        ids, lons, lats, radii, buffers, codes = [], [], [], [], [], []
        for zone in zones:
            circle = zone.geometry
            ids.append(zone.id)
            lons.append(circle.lon)  # type: ignore[union-attr]
            lats.append(circle.lat)  # type: ignore[union-attr]
            radii.append(circle.radius_m)  # type: ignore[union-attr]
            buffers.append(zone.buffer_m)
            codes.append(code_of(zone))
        parts = [
            (
                np.array(ids, dtype=np.int64),
                np.array(lons, dtype=np.float64),
                np.array(lats, dtype=np.float64),
                np.array(radii, dtype=np.float64),
                np.array(buffers, dtype=np.float64),
                np.array(codes, dtype=np.int32),
            )
        ]
        for template, g_ids, g_lons, g_lats, g_radii, g_buffers in columns:
            parts.append(
                (
                    np.asarray(g_ids, dtype=np.int64),
                    np.asarray(g_lons, dtype=np.float64),
                    np.asarray(g_lats, dtype=np.float64),
                    np.asarray(g_radii, dtype=np.float64),
                    np.asarray(g_buffers, dtype=np.float64),
                    np.full(len(g_ids), code_of(template), dtype=np.int32),
                )
            )
        names = ("id", "lon", "lat", "radius", "buffer", "template")
        table = {
            name: parts[0][n] if len(parts) == 1 else np.concatenate([p[n] for p in parts])
            for n, name in enumerate(names)
        }
        return _CircleTable(table, self._templates)

    def _index_inclusions(self) -> None:
        self._inclusions_by: dict[tuple[int, Any], list[_Rule]] | None = None
        self._inclusion_cache.clear()
        self._split_cache: dict[OffenderFacts, tuple[list[_Rule], list[_Rule]]] = {}
        self._rule_cache.clear()

    # reading --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._base) + len(self._delta) + len(self._shapes.shapes)

    def _table_rule(self, table: _CircleTable, slot: int) -> _Rule:
        template = self._templates[int(table.c["template"][slot])]
        return _Rule(
            int(table.c["id"][slot]),
            ZoneKind.EXCLUSION,
            template.applies_code,
            template.offender_id,
            template.category,
            template.schedule,
            template.vfrom,
            template.vto,
        )

    def rule(self, zone_id: int) -> _Rule | None:
        """The episode logic's view of a zone (cached), or None when it is not in the index."""
        found = self._rule_cache.get(zone_id)
        if found is not None:
            return found
        shape = self._shapes.shapes.get(zone_id)
        if shape is not None:
            found = shape.rule
        else:
            for table in (self._delta, self._base):
                slot = table.slot(zone_id)
                if slot >= 0:
                    found = self._table_rule(table, slot)
                    break
            else:
                return None
        if len(self._rule_cache) >= _CACHE_LIMIT:
            self._rule_cache.clear()
        self._rule_cache[zone_id] = found
        return found

    def get(self, zone_id: int) -> Zone | None:
        shape = self._shapes.shapes.get(zone_id)
        if shape is not None:
            return shape.zone
        if zone_id in self._delta_zones:
            return self._delta_zones[zone_id]
        slot = self._base.slot(zone_id)
        if slot < 0:
            return None
        c = self._base.c
        rule = self._table_rule(self._base, slot)
        schedule = self._template_keys[int(c["template"][slot])][3]
        return Zone(
            id=zone_id,
            kind=ZoneKind.EXCLUSION,
            geometry=Circle(float(c["lon"][slot]), float(c["lat"][slot]), float(c["radius"][slot])),
            buffer_m=float(c["buffer"][slot]),
            applies_to=_APPLIES[rule.applies_code],
            offender_id=rule.offender_id,
            category=rule.category,
            schedule=None if schedule < 0 else self._schedules[schedule],
            valid_from=None if rule.vfrom == -_INF else _dt(rule.vfrom),
            valid_to=None if rule.vto == _INF else _dt(rule.vto),
        )

    def inclusion_zones_for(self, facts: OffenderFacts) -> Sequence[Zone]:
        """The inclusion zones that apply to an offender (any time)."""
        return [self._shapes.shapes[r.id].zone for r in self._inclusion_rules(facts)]

    def _inclusion_split(self, facts: OffenderFacts) -> tuple[list[_Rule], list[_Rule]]:
        """(permitted-area members, curfews) for an offender, cached like the rules."""
        found = self._split_cache.get(facts)
        if found is None:
            if len(self._split_cache) >= _CACHE_LIMIT:
                self._split_cache.clear()
            rules = self._inclusion_rules(facts)
            found = self._split_cache[facts] = (
                [r for r in rules if r.schedule is None],
                [r for r in rules if r.schedule is not None],
            )
        return found

    def _inclusion_rules(self, facts: OffenderFacts) -> list[_Rule]:
        found = self._inclusion_cache.get(facts)
        if found is None:
            if len(self._inclusion_cache) >= _CACHE_LIMIT:
                self._inclusion_cache.clear()
            by = self._inclusions_by
            if by is None:
                by = self._inclusions_by = {}
                for shape in self._shapes.list:
                    rule = shape.rule
                    if rule.kind is ZoneKind.INCLUSION:
                        code = rule.applies_code
                        target = {2: rule.offender_id, 3: rule.category}.get(code)
                        by.setdefault((code, target), []).append(rule)
            found = list(by.get((0, None), ()))
            if facts.victim_minor:
                found += by.get((1, None), ())
            found += by.get((2, facts.offender_id), ())
            for category in sorted(facts.categories):
                found += by.get((3, category), ())
            self._inclusion_cache[facts] = found
        return found

    def memory_bytes(self) -> int:
        """Approximate memory held by the index (numpy arrays + shapely geometries + trees)."""
        return self._base.nbytes() + self._delta.nbytes() + self._shapes.nbytes()

    def query(self, lon: np.ndarray, lat: np.ndarray, accuracy_m: np.ndarray) -> Hits:
        """Vectorised geometric answer for a batch of fixes against every zone (no applicability
        or time filtering): the pairs that are INSIDE or NEITHER."""
        point, zone_id, relation, signed, _ = self._query(lon, lat, accuracy_m, rules=False)
        return Hits(point=point, zone_id=zone_id, relation=relation, signed_distance_m=signed)

    def _query(self, lon: Any, lat: Any, accuracy_m: Any, *, rules: bool) -> tuple[Any, ...]:
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        acc = np.asarray(accuracy_m, dtype=np.float64)
        frame = _Frame(lon, lat)
        parts = []
        for table in (self._base, self._delta):
            if table is self._delta and table.entries.size == 0:
                continue  # no patch pending: nothing to concatenate
            point, slot, relation, signed = table.query(lon, lat, acc, frame)
            rule = table.c["template"][slot] if rules else None
            parts.append((point, table.c["id"][slot], relation, signed, rule))
        point, shape, relation, signed = self._shapes.query(lon, lat, acc, frame)
        rule = shape + len(self._templates) if rules else None
        parts.append((point, self._shapes.ids[shape], relation, signed, rule))
        point = np.concatenate([p[0] for p in parts])
        order = np.argsort(point, kind="stable")
        return (
            point[order],
            np.concatenate([p[1] for p in parts])[order],
            np.concatenate([p[2] for p in parts])[order],
            np.concatenate([p[3] for p in parts])[order],
            np.concatenate([p[4] for p in parts])[order] if rules else None,
        )

    def _rule_table(self) -> _RuleTable:
        """Every rule a hit can carry, by code: the circle templates, then the shapes (cached on
        the shape store, which a patch replaces, for the templates there are)."""
        store = self._shapes
        found = store.rule_table
        if found is not None and found.templates == len(self._templates):
            return found
        table = store.rule_table = _RuleTable(self._templates, store.list, self._category_ids)
        return table

    def _applicable_rows(
        self,
        lon: list[float],
        lat: list[float],
        acc: list[float],
        sizes: list[int],
        facts: Sequence[OffenderFacts],
    ) -> list[list[tuple[int, int, _Rule]]]:
        """``_rows`` for many offenders' fixes (``sizes[i]`` consecutive fixes of ``facts[i]``),
        keeping only the hits of zones that apply to the fix's offender: the episode rule
        ignores the others (a school for an offender with no minor victim, another district),
        so dropping them here, in arrays, spares building and walking them in Python. A fix
        whose one hit is a shape wholly inside (deep in the home district) shares one row."""
        point, zone_id, relation, _, code = self._query(lon, lat, acc, rules=True)
        table = self._rule_table()
        n = len(lon)
        if point.size:
            owner = np.repeat(np.arange(len(sizes)), sizes)[point]
            applies = table.applies[code]
            keep = applies == 0
            if (applies == 1).any():
                victim_minor = np.array([f.victim_minor for f in facts], dtype=bool)
                keep |= (applies == 1) & victim_minor[owner]
            if (applies == 2).any():
                offender = np.array([f.offender_id for f in facts], dtype=np.int64)
                keep |= (applies == 2) & (table.offender[code] == offender[owner])
            if (applies == 3).any():
                ids = self._category_ids
                codes = [[ids.get(c, -2) for c in f.categories] for f in facts]
                width = max(1, max(len(c) for c in codes))
                categories = np.full((len(codes), width), -3, dtype=np.int64)
                for i, c in enumerate(codes):
                    categories[i, : len(c)] = c
                mine = (categories[owner] == table.category[code][:, None]).any(axis=1)
                keep |= (applies == 3) & mine
            if not keep.all():
                keep = keep.nonzero()[0]
                point, zone_id, relation, code = (
                    point[keep],
                    zone_id[keep],
                    relation[keep],
                    code[keep],
                )
        counts = np.bincount(point, minlength=n)
        ends = counts.cumsum()
        # One hit, a shape, wholly inside: the shared row of that shape.
        shared = np.full(n, -1, dtype=np.int64)
        one = (counts == 1).nonzero()[0]
        at = ends[one] - 1
        deep = (relation[at] == 1) & (code[at] >= table.templates)
        shared[one[deep]] = code[at[deep]]
        rest = (shared[point] < 0).nonzero()[0]
        rules = table.rules
        triples = list(
            zip(
                zone_id[rest].tolist(),
                relation[rest].tolist(),
                [rules[c] for c in code[rest].tolist()],
                strict=True,
            )
        )
        rest_ends = np.cumsum(np.where(shared < 0, counts, 0)).tolist()
        single = table.single
        rows: list[list[tuple[int, int, _Rule]]] = []
        start = 0
        for c, end in zip(shared.tolist(), rest_ends, strict=True):
            if c >= 0:
                rows.append(single[c])
            else:
                rows.append(triples[start:end] if end > start else _NO_ROW)
                start = end
        return rows

    def _rows(
        self, lon: list[float], lat: list[float], acc: list[float]
    ) -> list[list[tuple[int, int, _Rule]]]:
        """[(zone id, relation)] per fix: plain Python for a handful of fixes, else ``query``."""
        if len(lon) <= _SCALAR_MAX:
            rows = []
            for x, y, r in zip(lon, lat, acc, strict=True):
                row = self._row(x, y, r)
                if row is None:
                    break
                rows.append(row)
            else:
                return rows
        return _rows_of(self._query(lon, lat, acc, rules=True), len(lon), self._rule_table())

    def _row(self, lon: float, lat: float, acc: float) -> list[tuple[int, int, _Rule]] | None:
        if acc > _GRID_MARGIN_M:
            return None
        frame = _scalar_frame(lat)
        shapes = self._shapes.query_one(lon, lat, acc, frame)
        if shapes is None:
            return None
        return (
            self._base.query_one(lon, lat, acc, frame)
            + self._delta.query_one(lon, lat, acc, frame)
            + shapes
        )

    # patching ---------------------------------------------------------------------------------

    def _bump(self, version: int | None) -> None:
        self.version = self.version + 1 if version is None else version
        self._index_inclusions()

    def _drop(self, zone_id: int) -> bool:
        if self._shapes.shapes.pop(zone_id, None) is not None:
            return True
        if self._delta_zones.pop(zone_id, None) is not None:
            return True
        slot = self._base.slot(zone_id)
        if slot >= 0:
            self._base.alive[slot] = False
            self._base.all_alive = False
            return True
        return False

    def add(self, zones: Iterable[Zone], *, version: int | None = None) -> None:
        """Add or replace zones by id (``version``: the zone-set version this brings us to)."""
        shapes_changed = False
        for zone in zones:
            _validate(zone)
            shapes_changed |= zone.id in self._shapes.shapes
            self._drop(zone.id)
            if _in_grid(zone):
                self._delta_zones[zone.id] = zone
            else:
                self._shapes.shapes[zone.id] = _Shape(zone, self._rule(zone))
                shapes_changed = True
        self._refresh(shapes_changed)
        self._bump(version)

    replace = add

    def remove(self, zone_ids: Iterable[int], *, version: int | None = None) -> None:
        shapes_changed = False
        for zone_id in zone_ids:
            shapes_changed |= zone_id in self._shapes.shapes
            self._drop(zone_id)
        self._refresh(shapes_changed)
        self._bump(version)

    def _refresh(self, shapes_changed: bool) -> None:
        if shapes_changed:
            self._shapes = _ShapeStore(self._shapes.shapes)
        delta = list(self._delta_zones.values())
        if len(delta) > max(4096, len(self._base) // 20):
            # Merge: the base keeps its live circles, re-read from its columns.
            base_ids = self._base.c["id"][self._base.alive]
            merged = [self.get(int(i)) for i in base_ids] + delta
            self._base = self._table([z for z in merged if z is not None])
            self._delta_zones = {}
            delta = []
        self._delta = self._table(delta)


# --- the episode rule ------------------------------------------------------------------------


def _step(run: list[Any], relation: int, ts: float, lon: float, lat: float) -> None:
    if relation == 1:
        if run[0] == 0:
            run[2], run[3], run[4] = ts, lon, lat
        run[0] += 1
        run[1] = 0
    elif relation == -1:
        if run[1] == 0:
            run[2], run[3], run[4] = ts, lon, lat
        run[1] += 1
        run[0] = 0
    else:  # the circle straddles the edge: both runs are broken
        run[0] = run[1] = 0


class _Episodes:
    """Applies fixes and time to one offender's state; collects the events."""

    __slots__ = ("config", "curfews", "events", "facts", "index", "members", "n", "state")

    def __init__(
        self, state: OffenderState, index: ZoneIndex, facts: OffenderFacts, config: EngineConfig
    ) -> None:
        self.state = state
        self.index = index
        self.facts = facts
        self.config = config
        self.n = config.n_fixes
        self.events: list[Event] = []
        self.members, self.curfews = index._inclusion_split(facts)

    def _open(
        self, key: str, rule: str, zone_id: int | None, run: list[Any], start: float, ts: float
    ) -> None:
        self.state.open[key] = [rule, zone_id, start, run[3], run[4]]
        self.events.append(
            EpisodeOpened(
                self.state.offender_id, rule, zone_id, _dt(start), run[3], run[4], _dt(ts)
            )
        )

    def _end(self, key: str, ended: float, lon: float, lat: float, reason: str) -> None:
        rule, zone_id, started, _, _ = self.state.open.pop(key)
        self.events.append(
            EpisodeEnded(
                self.state.offender_id,
                rule,
                zone_id,
                _dt(started),
                _dt(max(ended, started)),
                lon,
                lat,
                reason,
            )
        )

    def _last_location(self) -> tuple[float, float]:
        last = self.state.last_fix
        return (last.lon, last.lat) if last is not None else (math.nan, math.nan)

    def expire(self, ts: float) -> None:
        """End per-zone episodes whose zone stopped counting by ``ts``."""
        for key in [k for k in self.state.open if k != PERMITTED_AREA]:
            episode = self.state.open[key]
            rule = self.index.rule(episode[1])
            lon, lat = self._last_location()
            if rule is None:
                self._end(key, ts, lon, lat, "zone_removed")
                self.state.runs.pop(key, None)
            elif not rule.applies(self.facts):
                self._end(key, ts, lon, lat, "not_applicable")
                self.state.runs.pop(key, None)
            elif not rule.active(episode[2]):  # the zone was edited under the episode
                if not rule.active(ts):
                    self._end(key, ts, lon, lat, "schedule_ended")
            else:
                ends = rule.stretch_end(episode[2])
                if ends <= ts:
                    self._end(key, ends, lon, lat, "schedule_ended")

    def fix(self, fix: Fix, ts: float, hits: list[tuple[int, int, _Rule]]) -> None:
        """Apply one fix (evidence: accuracy within the threshold) with its index hits."""
        state, index, facts = self.state, self.index, self.facts
        if len(state.open) > (PERMITTED_AREA in state.open):
            self.expire(ts)
        runs = state.runs
        lon, lat = fix.lon, fix.lat
        relations = {zone_id: relation for zone_id, relation, _ in hits} if hits else _NO_HITS
        touched: set[str] = set()
        for zone_id, relation, rule in hits:
            if rule.kind is ZoneKind.EXCLUSION and rule.applies(facts):
                key = f"z{zone_id}"
                touched.add(key)
                self._constraint(zone_id, key, rule, relation, ts, lon, lat)
        if len(runs) > len(touched):
            for key in [k for k in runs if k not in touched]:
                rule = index.rule(int(key[1:]))
                if rule is None or not rule.applies(facts):
                    if key not in state.open:
                        del runs[key]
                elif rule.kind is ZoneKind.EXCLUSION:
                    self._constraint(rule.id, key, rule, -1, ts, lon, lat)  # not hit: outside
        for rule in self.curfews:
            self._constraint(rule.id, rule.key, rule, relations.get(rule.id, -1), ts, lon, lat)
        self._permitted(ts, lon, lat, relations)

    def _constraint(
        self, zone_id: int, key: str, rule: _Rule, relation: int, ts: float, lon: float, lat: float
    ) -> None:
        """One zone as its own rule: an exclusion zone, or a scheduled inclusion (curfew).
        ``rule`` may be a shared template: the zone is ``zone_id``."""
        state = self.state
        run = state.runs.get(key)
        if run is None:
            run = state.runs[key] = [0, 0, ts, lon, lat]
        _step(run, relation, ts, lon, lat)
        is_exclusion = rule.kind is ZoneKind.EXCLUSION
        breach, clear = (run[0], run[1]) if is_exclusion else (run[1], run[0])
        if key in state.open:
            if clear >= self.n:
                self._end(key, run[2], run[3], run[4], "left")
        elif breach >= self.n and rule.active(ts):
            name = RULE_EXCLUSION if is_exclusion else RULE_TRAVEL
            self._open(key, name, zone_id, run, max(run[2], rule.activation_start(ts)), ts)
        if is_exclusion and run[0] == 0 and key not in state.open:
            del state.runs[key]

    def _permitted(
        self, ts: float, lon: float, lat: float, relations: Mapping[int, int] | None
    ) -> None:
        """The union of unscheduled inclusion zones; ``relations`` None: no fix (a sweep)."""
        state, area, n, members = self.state, self.state.area, self.n, self.members
        if len(area) > len(members) + 1:  # a member that no longer applies
            keep = {m.key for m in members} | {PERMITTED_AREA}
            for key in [k for k in area if k not in keep]:
                del area[key]
        inside = False
        active = []
        for member in members:
            is_active = member.vfrom <= ts < member.vto
            if is_active:
                active.append(member)
            if relations is not None:
                relation = relations.get(member.id, -1)
                run = area.get(member.key)
                if run is None:
                    run = area[member.key] = [0, 0, ts, lon, lat]
                _step(run, relation, ts, lon, lat)
                inside = inside or (is_active and relation == 1)
        if not active:
            if PERMITTED_AREA in state.open:
                self._end(PERMITTED_AREA, ts, *self._last_location(), "not_applicable")
            area.pop(PERMITTED_AREA, None)
            return
        union = area.get(PERMITTED_AREA)
        if union is None:
            union = area[PERMITTED_AREA] = [0, 0, ts, lon, lat]
        if relations is not None:
            _step(union, 1 if inside else 0, ts, lon, lat)
        if PERMITTED_AREA in state.open:
            if union[0] >= n:
                self._end(PERMITTED_AREA, union[2], union[3], union[4], "left")
            return
        member_runs = [area.get(m.key) for m in active]
        if any(r is None or r[1] < n for r in member_runs):
            return
        latest = max(member_runs, key=lambda r: r[2])  # type: ignore[index]
        started = latest[2]  # type: ignore[index]
        for member in members:  # a window that closed while the offender was in it
            if member.vto <= ts:
                run = area.get(member.key)
                left = member.vto if run is None or run[1] == 0 else min(member.vto, run[2])
                started = max(started, left)
        if relations is None and not self._fresh(started):
            return
        self._open(PERMITTED_AREA, RULE_TRAVEL, None, latest, started, ts)  # type: ignore[arg-type]

    def _fresh(self, at: float) -> bool:
        last = self.state.last_fix
        limit = self.config.last_fix_valid_for.total_seconds()
        return last is not None and at - _ts(last.recorded_at) <= limit

    def sweep(self, ts: float) -> None:
        self.expire(ts)
        state, index, n = self.state, self.index, self.n
        for key, run in list(state.runs.items()):
            if key in state.open:
                continue
            rule = index.rule(int(key[1:]))
            if rule is None or not rule.applies(self.facts):
                del state.runs[key]
                continue
            is_exclusion = rule.kind is ZoneKind.EXCLUSION
            breach = run[0] if is_exclusion else run[1]
            if breach >= n and rule.active(ts):
                started = max(run[2], rule.activation_start(ts))
                if self._fresh(started):
                    name = RULE_EXCLUSION if is_exclusion else RULE_TRAVEL
                    self._open(key, name, rule.id, run, started, ts)
        lon, lat = self._last_location()
        self._permitted(ts, lon, lat, None)


def _copy(state: OffenderState) -> OffenderState:
    runs, area, open_ = state.runs, state.area, state.open
    return OffenderState(
        state.offender_id,
        {k: v[:] for k, v in runs.items()} if runs else {},
        {k: v[:] for k, v in area.items()} if area else {},
        {k: v[:] for k, v in open_.items()} if open_ else {},
        state.last_fix,
        state.last_seen_ts,
    )


_NO_HITS: Mapping[int, int] = {}
_NO_ROW: list[tuple[int, int, _Rule]] = []  # shared, read only: a fix with no hit
_FAST_PATH = True  # ``_only_at_home``; the tests turn it off to compare
_FIRST = operator.itemgetter(0)


def _usable(
    state: OffenderState, fixes: Sequence[Fix], config: EngineConfig
) -> list[tuple[float, Fix]]:
    """Fixes newer than anything seen, in time order, that are evidence; advances last_seen."""
    last_seen = state.last_seen_ts if state.last_seen_ts is not None else -_INF
    timed = sorted([(_ts(f.recorded_at), f) for f in fixes], key=_FIRST)
    usable = [
        (ts, f) for ts, f in timed if ts > last_seen and f.accuracy_m <= config.max_accuracy_m
    ]
    if timed and timed[-1][0] > last_seen:
        state.last_seen_ts = timed[-1][0]
    return usable


def _run_fixes(
    state: OffenderState,
    usable: list[tuple[float, Fix]],
    hit_rows: Sequence[list[tuple[int, int, _Rule]]],
    index: ZoneIndex,
    facts: OffenderFacts,
    config: EngineConfig,
) -> list[Event]:
    episodes = _Episodes(state, index, facts, config)
    if _FAST_PATH and usable and _only_at_home(state, episodes, usable, hit_rows):
        return []
    for (ts, fix), hits in zip(usable, hit_rows, strict=True):
        episodes.fix(fix, ts, hits)
        state.last_fix = fix
    return episodes.events


def _only_at_home(
    state: OffenderState,
    episodes: _Episodes,
    usable: list[tuple[float, Fix]],
    hit_rows: Sequence[list[tuple[int, int, _Rule]]],
) -> bool:
    """The common case in one step: nothing open or tracked, one permitted zone (the home
    district), valid throughout, and every fix wholly inside it and near nothing else. Then all
    ``fix`` would do is lengthen the inside runs of that zone and of the permitted area; done here
    without it (``test_the_common_case_shortcut_changes_nothing`` holds the two together)."""
    members = episodes.members
    if state.open or state.runs or episodes.curfews or len(members) != 1:
        return False
    member = members[0]
    if not (member.vfrom <= usable[0][0] and usable[-1][0] < member.vto):
        return False
    area = state.area
    if any(key != member.key and key != PERMITTED_AREA for key in area):
        return False
    zone_id = member.id
    for hits in hit_rows:
        if len(hits) != 1 or hits[0][0] != zone_id or hits[0][1] != 1:
            return False
    first_ts, first = usable[0]
    for key in (member.key, PERMITTED_AREA):
        run = area.get(key)
        if run is None:
            run = area[key] = [0, 0, first_ts, first.lon, first.lat]
        if run[0] == 0:
            run[2], run[3], run[4] = first_ts, first.lon, first.lat
        run[0] += len(usable)
        run[1] = 0
    state.last_fix = usable[-1][1]
    return True


def _rows_of(
    parts: tuple[Any, ...], n_points: int, table: _RuleTable
) -> list[list[tuple[int, int, _Rule]]]:
    point, zone_id, relation, _, code = parts
    bounds = np.searchsorted(point, np.arange(n_points + 1)).tolist()
    rules = [table.rules[c] for c in code.tolist()]
    triples = list(zip(zone_id.tolist(), relation.tolist(), rules, strict=True))
    return [triples[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def apply_fixes(
    state: OffenderState,
    fixes: Sequence[Fix],
    *,
    index: ZoneIndex,
    facts: OffenderFacts,
    config: EngineConfig = EngineConfig(),  # noqa: B008 - frozen, immutable default
) -> tuple[OffenderState, list[Event]]:
    """Apply one offender's fixes and return the new state and the events. Fixes not newer than
    the newest already seen are ignored (the caller stores them; the rule runs forward only)."""
    [(new_state, events)] = evaluate_batch([(state, facts, fixes)], index=index, config=config)
    return new_state, events


def evaluate_batch(
    items: Sequence[tuple[OffenderState, OffenderFacts, Sequence[Fix]]],
    *,
    index: ZoneIndex,
    config: EngineConfig = EngineConfig(),  # noqa: B008
) -> list[tuple[OffenderState, list[Event]]]:
    """Evaluate many offenders' fixes with one vectorised index query (the ingest path). The
    states passed in are not modified; copies come back."""
    copies = [_copy(state) for state, _, _ in items]
    usable = [
        _usable(copy, fixes, config) for copy, (_, _, fixes) in zip(copies, items, strict=True)
    ]
    flat = [fix for group in usable for _, fix in group]
    lon, lat, acc = [f.lon for f in flat], [f.lat for f in flat], [f.accuracy_m for f in flat]
    if len(flat) <= _SCALAR_MAX:  # a lone ping: plain Python
        rows = index._rows(lon, lat, acc)
    else:
        sizes = [len(group) for group in usable]
        rows = index._applicable_rows(lon, lat, acc, sizes, [f for _, f, _ in items])
    out: list[tuple[OffenderState, list[Event]]] = []
    start = 0
    for copy, (_, facts, _), group in zip(copies, items, usable, strict=True):
        events = _run_fixes(copy, group, rows[start : start + len(group)], index, facts, config)
        start += len(group)
        out.append((copy, events))
    return out


def sweep(
    state: OffenderState,
    *,
    index: ZoneIndex,
    facts: OffenderFacts,
    now: datetime,
    config: EngineConfig = EngineConfig(),  # noqa: B008
) -> tuple[OffenderState, list[Event]]:
    """Time-driven transitions with no new fix: a schedule (or validity) starting while the
    offender is already inside opens an episode from that start time (if the last fix is not
    older than ``config.last_fix_valid_for`` at that moment); a schedule ending, or a zone
    removed or no longer applicable, ends the open episode."""
    copy = _copy(state)
    episodes = _Episodes(copy, index, facts, config)
    episodes.sweep(_ts(now))
    return copy, episodes.events
