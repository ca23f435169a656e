"""The GPS rules at each boundary (pure: no database)."""

import math
from datetime import UTC, datetime, timedelta

from common.geo import EARTH_RADIUS_M, haversine_m
from mobile_api import rules

AT = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
HOME = (31.2, 74.2)
DEFAULTS = rules.Thresholds()


def north_of(point: tuple[float, float], metres: float) -> tuple[float, float]:
    """A point ``metres`` due north (along a meridian the haversine is exact up to float)."""
    return point[0] + math.degrees(metres / EARTH_RADIUS_M), point[1]


def verdict(
    *,
    metres: float = 0.0,
    accuracy_m: float = 10.0,
    fix_age_s: float = 30.0,
    mock: bool = False,
    point: tuple[float, float] | None = HOME,
    thresholds: rules.Thresholds = DEFAULTS,
) -> rules.Verdict:
    lat, lon = north_of(HOME, metres)
    fix = rules.Fix(
        lat=lat,
        lon=lon,
        accuracy_m=accuracy_m,
        fix_time=AT - timedelta(seconds=fix_age_s),
        mock_location=mock,
    )
    return rules.visit_evaluate(fix=fix, visited_at=AT, point=point, thresholds=thresholds)


def test_a_fix_exactly_at_the_radius_counts():
    lat, lon = north_of(HOME, 100.0)
    distance = haversine_m(lat1=lat, lon1=lon, lat2=HOME[0], lon2=HOME[1])
    at_the_edge = rules.Thresholds(min_radius_m=distance)
    assert verdict(metres=100.0, thresholds=at_the_edge).passes


def test_the_100_m_radius_boundary():
    assert verdict(metres=99.999).passes
    assert verdict(metres=100.01).reasons == (rules.TOO_FAR,)


def test_twice_the_accuracy_widens_the_radius_beyond_100_m():
    # accuracy 80 m: allowed radius 160 m.
    assert verdict(metres=159.99, accuracy_m=80).passes
    assert verdict(metres=160.01, accuracy_m=80).reasons == (rules.TOO_FAR,)
    assert verdict(metres=100.01, accuracy_m=50).reasons == (rules.TOO_FAR,)  # 2 × 50 = 100


def test_accuracy_of_100_m_counts_and_100_01_does_not():
    assert verdict(accuracy_m=100.0).passes
    assert verdict(accuracy_m=100.01).reasons == (rules.LOW_ACCURACY,)


def test_a_fix_600_s_old_counts_and_601_s_does_not():
    assert verdict(fix_age_s=600).passes
    assert verdict(fix_age_s=601).reasons == (rules.STALE_FIX,)


def test_a_fix_taken_after_the_visit_time_is_not_stale():
    assert verdict(fix_age_s=-120).passes


def test_a_mock_location_never_counts():
    assert verdict(mock=True).reasons == (rules.MOCK_LOCATION,)


def test_every_failing_rule_is_named():
    result = verdict(metres=5000, accuracy_m=500, fix_age_s=3600, mock=True)
    assert set(result.reasons) == {
        rules.TOO_FAR,
        rules.LOW_ACCURACY,
        rules.STALE_FIX,
        rules.MOCK_LOCATION,
    }


def test_an_address_without_a_point_checks_everything_but_distance():
    result = verdict(metres=50_000, point=None)
    assert result.passes
    assert result.distance_m is None
    assert verdict(point=None, mock=True).reasons == (rules.MOCK_LOCATION,)


def test_thresholds_are_arguments():
    strict = rules.Thresholds(min_radius_m=20, max_accuracy_m=5, max_fix_age_s=10)
    assert set(verdict(metres=30, accuracy_m=6, fix_age_s=11, thresholds=strict).reasons) == {
        rules.TOO_FAR,
        rules.LOW_ACCURACY,
        rules.STALE_FIX,
    }


def test_spread_offset_stays_below_the_interval_and_the_spread():
    offsets = [
        rules.spread_offset_days(offender_id=n, interval_days=90, spread_days=14)
        for n in range(1, 200)
    ]
    assert set(offsets) == set(range(14))
    assert rules.spread_offset_days(offender_id=17, interval_days=3, spread_days=14) < 3
