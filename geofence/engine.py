"""The geofence evaluation engine: zones, a spatial index, and the per-offender episode rule.

Pure computation (numpy + shapely 2, no Django) so it can be tested against an independent
oracle and benchmarked alone. The Django side loads zones into a ``ZoneIndex``, keeps it current
with ``add``/``replace``/``remove`` (``version`` tells a process whether it is stale), stores one
``OffenderState`` per offender (``to_dict``/``from_dict`` for a JSONB column) and turns the
``EpisodeOpened``/``EpisodeEnded`` events into violations.

Geometry. Zones are in WGS84 lon/lat. Every containment answer is about the fix's *accuracy
circle* (centre lon/lat, radius ``accuracy_m``): wholly inside a zone, wholly outside it, or
neither. Distances are measured in metres in a local tangent plane centred on the *fix* (the
WGS84 meridional and prime-vertical radii at its latitude). Only distances up to the accuracy
threshold plus a buffer (a few hundred metres) ever decide anything, and over such distances the
plane differs from the geodesic by far less than a centimetre at 24°–37° N; far-away geometry
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

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

import numpy as np
from shapely.geometry import MultiPolygon, Polygon, box

PKT = timezone(timedelta(hours=5), "PKT")  # Pakistan Standard Time: UTC+5, no daylight saving.

PAKISTAN_BBOX = (60.9, 23.6, 77.8, 37.1)  # lon_min, lat_min, lon_max, lat_max
WORLD = box(-180.0, -89.0, 180.0, 89.0)  # an inclusion zone for an international trip's window

RULE_EXCLUSION = "exclusion_zone"
RULE_TRAVEL = "travel_without_notice"
PERMITTED_AREA = "permitted"  # the state key of the union-of-inclusion-zones rule


class ZoneKind(enum.StrEnum):
    EXCLUSION = "exclusion"
    INCLUSION = "inclusion"


class AppliesTo(enum.StrEnum):
    ALL = "all"  # everyone on the register
    VICTIM_MINOR = "victim_minor"  # offenders whose conviction had a minor victim
    OFFENDER = "offender"  # one offender (``Zone.offender_id``): a victim's home, a travel window
    CATEGORY = "category"  # offenders in a category (``Zone.category``)


class Relation(enum.IntEnum):
    """Where a fix's accuracy circle lies relative to one zone."""

    OUTSIDE = -1
    NEITHER = 0
    INSIDE = 1


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
class Zone:
    """A zone as the engine sees it. ``schedule=None`` means always (within the valid dates);
    ``valid_from``/``valid_to`` are aware datetimes, ``None`` meaning open-ended."""

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
        raise NotImplementedError

    def applies(self, facts: OffenderFacts) -> bool:
        """Whether the zone concerns this offender at all (applicability only, not time)."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class OffenderFacts:
    """What applicability needs to know about an offender."""

    offender_id: int
    victim_minor: bool = False
    categories: frozenset[str] = frozenset()


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
    signed_distance_m: np.ndarray  # float64, positive inside


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
    lon: float  # where the offender was at ``ended_at`` (last known fix)
    lat: float
    reason: str  # "left" | "schedule_ended" | "zone_removed" | "not_applicable"


Event = EpisodeOpened | EpisodeEnded


@dataclass(slots=True)
class OffenderState:
    """Per-offender memory between batches. ``runs`` is keyed by ``"z<zone id>"`` or
    ``PERMITTED_AREA``; ``open`` holds the open episodes by the same keys. Serialise with
    ``to_dict``/``from_dict`` (JSON-safe: ISO datetimes, plain numbers)."""

    offender_id: int
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    open: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_fix: Fix | None = None

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OffenderState:
        raise NotImplementedError


class ZoneIndex:
    """All zones in memory: circles in a compact numpy cell grid, polygons in a shapely STRtree
    with prepared geometries. ``version`` increases on every change; ``add``/``replace``/
    ``remove`` patch in place (circles and the polygon overlay) without a full rebuild."""

    version: int

    def __init__(self, zones: Iterable[Zone] = (), *, version: int = 0) -> None:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def get(self, zone_id: int) -> Zone | None:
        raise NotImplementedError

    def add(self, zones: Iterable[Zone], *, version: int | None = None) -> None:
        """Add or replace zones by id (``version``: the zone-set version this brings us to)."""
        raise NotImplementedError

    replace = add

    def remove(self, zone_ids: Iterable[int], *, version: int | None = None) -> None:
        raise NotImplementedError

    def query(self, lon: np.ndarray, lat: np.ndarray, accuracy_m: np.ndarray) -> Hits:
        """Vectorised geometric answer for a batch of fixes against every zone (no applicability
        or time filtering): the pairs that are INSIDE or NEITHER."""
        raise NotImplementedError

    def inclusion_zones_for(self, facts: OffenderFacts) -> Sequence[Zone]:
        """The inclusion zones that apply to an offender (any time)."""
        raise NotImplementedError

    def memory_bytes(self) -> int:
        """Approximate memory held by the index (numpy arrays + shapely geometries + trees)."""
        raise NotImplementedError


def apply_fixes(
    state: OffenderState,
    fixes: Sequence[Fix],
    *,
    index: ZoneIndex,
    facts: OffenderFacts,
    config: EngineConfig = EngineConfig(),  # noqa: B008 - frozen, immutable default
    hits: Hits | None = None,
    hit_offset: int = 0,
) -> tuple[OffenderState, list[Event]]:
    """Apply one offender's fixes (sorted by ``recorded_at``; fixes not newer than the state's last
    fix are ignored) and return the new state and the events. ``hits``/``hit_offset`` let
    ``evaluate_batch`` pass a precomputed batch query; without them the fixes are queried here."""
    raise NotImplementedError


def evaluate_batch(
    items: Sequence[tuple[OffenderState, OffenderFacts, Sequence[Fix]]],
    *,
    index: ZoneIndex,
    config: EngineConfig = EngineConfig(),  # noqa: B008
) -> list[tuple[OffenderState, list[Event]]]:
    """Evaluate many offenders' fixes with one vectorised index query (the ingest path)."""
    raise NotImplementedError


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
    raise NotImplementedError


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: the engine needs aware datetimes")
    return value.astimezone(UTC)
