"""Whether a field visit's GPS evidence counts. Pure: no Django, thresholds are arguments.

A ``confirmed`` visit proves the offender lives at the registered address only when the phone
was there: the fix lies within ``max(min_radius_m, accuracy_factor × accuracy)`` of the
registered point (a poor fix earns a wider circle, but never one wider than the accuracy cap
allows), the fix is at most ``max_accuracy_m`` uncertain, it is at most ``max_fix_age_s``
older than the visit (a fix cached from the morning proves nothing about the afternoon), and
the device did not report a mock location. Every boundary is inclusive. A visit that fails
any rule is kept and flagged for a station officer's review with every reason that applied.
"""

from dataclasses import dataclass
from datetime import datetime

from common.geo import haversine_m

TOO_FAR = "too_far"
LOW_ACCURACY = "low_accuracy"
STALE_FIX = "stale_fix"
MOCK_LOCATION = "mock_location"


@dataclass(frozen=True)
class Thresholds:
    min_radius_m: float = 100.0
    accuracy_factor: float = 2.0
    max_accuracy_m: float = 100.0
    max_fix_age_s: float = 600.0


@dataclass(frozen=True)
class Fix:
    lat: float
    lon: float
    accuracy_m: float
    fix_time: datetime
    mock_location: bool


@dataclass(frozen=True)
class Verdict:
    distance_m: float | None  # None when the address has no point yet
    allowed_radius_m: float
    fix_age_s: float
    reasons: tuple[str, ...]

    @property
    def passes(self) -> bool:
        return not self.reasons


def allowed_radius_m(*, accuracy_m: float, thresholds: Thresholds) -> float:
    return max(thresholds.min_radius_m, thresholds.accuracy_factor * accuracy_m)


def visit_evaluate(
    *,
    fix: Fix,
    visited_at: datetime,
    point: tuple[float, float] | None,
    thresholds: Thresholds,
) -> Verdict:
    """The verdict on one visit's fix against the registered ``point`` (lat, lon), or against
    no point (an address not yet located: only accuracy, age and mock are checked)."""
    reasons: list[str] = []
    radius = allowed_radius_m(accuracy_m=fix.accuracy_m, thresholds=thresholds)
    distance = None
    if point is not None:
        distance = haversine_m(lat1=fix.lat, lon1=fix.lon, lat2=point[0], lon2=point[1])
        if distance > radius:
            reasons.append(TOO_FAR)
    if fix.accuracy_m > thresholds.max_accuracy_m:
        reasons.append(LOW_ACCURACY)
    # A fix taken after the visit was recorded is as good as a fresh one (clock skew).
    age = (visited_at - fix.fix_time).total_seconds()
    if age > thresholds.max_fix_age_s:
        reasons.append(STALE_FIX)
    if fix.mock_location:
        reasons.append(MOCK_LOCATION)
    return Verdict(
        distance_m=distance, allowed_radius_m=radius, fix_age_s=age, reasons=tuple(reasons)
    )


def spread_offset_days(*, offender_id: int, interval_days: int, spread_days: int) -> int:
    """How many days before its nominal due date an offender's periodic verification falls:
    deterministic per offender and below the interval, so a cohort released on one day is
    spread over ``spread_days`` instead of landing on one beat officer's single morning.
    Its SQL form, used by the schedule and the policy hook, is ``services.tasks._SPREAD_SQL``
    (a test keeps the two equal)."""
    window = max(1, min(spread_days, interval_days))
    return offender_id % window
