"""The episode rule of the geofence engine: drift, thresholds, schedules, applicability.

Time is frozen by construction: every fix carries its own ``recorded_at`` and the sweep takes
``now``; nothing reads the clock.
"""

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from shapely.geometry import box

from geofence.engine import (
    PKT,
    RULE_EXCLUSION,
    RULE_TRAVEL,
    WORLD,
    AppliesTo,
    Circle,
    EngineConfig,
    EpisodeEnded,
    EpisodeOpened,
    Fix,
    OffenderFacts,
    OffenderState,
    ScheduleInterval,
    Zone,
    ZoneIndex,
    ZoneKind,
    apply_fixes,
    evaluate_batch,
    sweep,
)
from tests.geofence.test_engine_oracle import vincenty_inverse

# Lahore district as a box; a school circle inside it; Kasur to the south.
LAHORE = box(74.0, 31.0, 75.0, 32.0)
KASUR = box(74.0, 30.0, 75.0, 31.0)
SCHOOL = Circle(74.30, 31.50, 100.0)
HOME_LON, HOME_LAT = 74.60, 31.60  # inside Lahore, far from the school
OUT_LON, OUT_LAT = 75.50, 31.50  # outside Lahore
OFFENDER = OffenderFacts(7, victim_minor=True, categories=frozenset({"district:lahore"}))
MONDAY = datetime(2026, 11, 30, tzinfo=PKT)  # a Monday
SCHOOL_HOURS = tuple(ScheduleInterval(day, time(8), time(14)) for day in range(5))


def district(zone_id=1, geometry=LAHORE, category="district:lahore", **kw):
    return Zone(
        zone_id,
        ZoneKind.INCLUSION,
        geometry,
        applies_to=AppliesTo.CATEGORY,
        category=category,
        **kw,
    )


def school(zone_id=2, **kw):
    kw.setdefault("buffer_m", 0.0)
    return Zone(zone_id, ZoneKind.EXCLUSION, SCHOOL, **kw)


def at(hour, minute=0, day=0):
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def fixes(start, count, lon, lat, accuracy=10.0, step=timedelta(minutes=1)):
    return [Fix(start + i * step, lon, lat, accuracy) for i in range(count)]


def run(index, fix_list, state=None, facts=OFFENDER, **kw):
    state = state or OffenderState(facts.offender_id)
    return apply_fixes(state, fix_list, index=index, facts=facts, **kw)


def north_of(centre, metres):
    """(lon, lat) ``metres`` due north of ``centre`` on the ellipsoid (bisection on Vincenty)."""
    low, high = 0.0, 0.1
    for _ in range(80):
        mid = (low + high) / 2
        distance, _ = vincenty_inverse(centre[0], centre[1], centre[0], centre[1] + mid)
        low, high = (mid, high) if float(distance) < metres else (low, mid)
    return centre[0], centre[1] + (low + high) / 2


def opened(events):
    return [e for e in events if isinstance(e, EpisodeOpened)]


def ended(events):
    return [e for e in events if isinstance(e, EpisodeEnded)]


# --- the drift rule at its boundaries -------------------------------------------------------


def test_n_minus_one_fixes_inside_open_nothing_and_the_nth_opens_once_from_the_first():
    index = ZoneIndex([district(), school()])
    state, events = run(index, fixes(at(9), 2, SCHOOL.lon, SCHOOL.lat))
    assert events == []
    state, events = run(index, fixes(at(9, 2), 1, SCHOOL.lon, SCHOOL.lat), state)
    [episode] = events
    assert episode.rule == RULE_EXCLUSION
    assert episode.zone_id == 2
    assert episode.started_at == at(9)
    assert episode.detected_at == at(9, 2)
    assert (episode.lon, episode.lat) == (SCHOOL.lon, SCHOOL.lat)
    state, events = run(index, fixes(at(9, 3), 5, SCHOOL.lon, SCHOOL.lat), state)
    assert events == []  # still inside: the episode is not opened again


def test_a_circle_touching_the_edge_from_inside_counts_and_one_centimetre_more_does_not():
    index = ZoneIndex([district(), school()])
    lon, lat = north_of((SCHOOL.lon, SCHOOL.lat), 60.0)
    distance, _ = vincenty_inverse(SCHOOL.lon, SCHOOL.lat, lon, lat)
    touching = SCHOOL.radius_m - float(distance)  # accuracy circle tangent to the edge
    _, events = run(index, fixes(at(9), 3, lon, lat, accuracy=touching - 1e-6))
    assert len(opened(events)) == 1
    _, events = run(index, fixes(at(9), 3, lon, lat, accuracy=touching + 0.01))
    assert events == []


def test_a_straddling_fix_breaks_the_run():
    index = ZoneIndex([district(), school()])
    edge_lon, edge_lat = north_of((SCHOOL.lon, SCHOOL.lat), 100.0)  # on the edge
    sequence = (
        fixes(at(9), 2, SCHOOL.lon, SCHOOL.lat)
        + fixes(at(9, 2), 1, edge_lon, edge_lat, accuracy=20)
        + fixes(at(9, 3), 2, SCHOOL.lon, SCHOOL.lat)
    )
    state, events = run(index, sequence)
    assert events == []
    _, events = run(index, fixes(at(9, 5), 1, SCHOOL.lon, SCHOOL.lat), state)
    assert [e.started_at for e in opened(events)] == [at(9, 3)]


def test_a_fix_worse_than_the_threshold_is_evidence_of_nothing():
    index = ZoneIndex([district(), school()])
    config = EngineConfig(max_accuracy_m=50.0)
    poor_far = Fix(at(9, 2), OUT_LON, OUT_LAT, 50.01)  # would break the run if it counted
    sequence = fixes(at(9), 2, SCHOOL.lon, SCHOOL.lat) + [poor_far]
    state, events = run(index, sequence, config=config)
    assert events == []
    _, events = run(index, fixes(at(9, 3), 1, SCHOOL.lon, SCHOOL.lat), state, config=config)
    assert [e.started_at for e in opened(events)] == [at(9)]
    # Poor fixes alone, however many and wherever, never open anything.
    _, events = run(index, fixes(at(9), 10, SCHOOL.lon, SCHOOL.lat, accuracy=80.0), config=config)
    assert events == []
    _, events = run(index, fixes(at(9), 10, OUT_LON, OUT_LAT, accuracy=80.0), config=config)
    assert events == []


def test_an_episode_ends_once_after_n_fixes_wholly_outside_and_can_open_again():
    index = ZoneIndex([district(), school()])
    state, _ = run(index, fixes(at(9), 3, SCHOOL.lon, SCHOOL.lat))
    state, events = run(index, fixes(at(9, 10), 2, HOME_LON, HOME_LAT), state)
    assert events == []  # N - 1 outside: still open
    state, events = run(index, fixes(at(9, 12), 4, HOME_LON, HOME_LAT), state)
    [end] = events
    assert end.ended_at == at(9, 10)
    assert end.started_at == at(9)
    assert end.reason == "left"
    state, events = run(index, fixes(at(10), 3, SCHOOL.lon, SCHOOL.lat), state)
    assert [e.started_at for e in opened(events)] == [at(10)]


def test_a_fix_near_the_buffer_counts_inside_the_buffered_zone():
    index = ZoneIndex([district(), school(buffer_m=50.0)])
    lon, lat = north_of((SCHOOL.lon, SCHOOL.lat), 130.0)  # outside the circle, inside its buffer
    _, events = run(index, fixes(at(9), 3, lon, lat, accuracy=15.0))
    assert len(opened(events)) == 1
    _, events = run(index, fixes(at(9), 3, lon, lat, accuracy=25.0))  # reaches past 150 m
    assert events == []


def test_batches_with_the_state_through_json_give_the_same_events_as_one_batch():
    index = ZoneIndex([district(), school()])
    sequence = (
        fixes(at(9), 4, SCHOOL.lon, SCHOOL.lat)
        + fixes(at(9, 10), 3, HOME_LON, HOME_LAT)
        + fixes(at(9, 20), 3, OUT_LON, OUT_LAT)
        + fixes(at(9, 30), 3, HOME_LON, HOME_LAT)
    )
    _, together = run(index, sequence)
    state, pieces = OffenderState(OFFENDER.offender_id), []
    for i in range(0, len(sequence), 2):
        state = OffenderState.from_dict(json.loads(json.dumps(state.to_dict())))
        state, events = run(index, sequence[i : i + 2], state)
        pieces += events
    assert pieces == together
    assert [(type(e).__name__, e.rule) for e in together] == [
        ("EpisodeOpened", RULE_EXCLUSION),
        ("EpisodeEnded", RULE_EXCLUSION),
        ("EpisodeOpened", RULE_TRAVEL),
        ("EpisodeEnded", RULE_TRAVEL),
    ]


def test_fixes_older_than_the_newest_seen_change_nothing():
    index = ZoneIndex([district(), school()])
    state, _ = run(index, fixes(at(10), 1, HOME_LON, HOME_LAT))
    state, events = run(index, fixes(at(9), 5, SCHOOL.lon, SCHOOL.lat), state)
    assert events == []
    assert "z2" not in state.runs


def test_evaluate_batch_equals_one_offender_at_a_time():
    index = ZoneIndex([district(), school()])
    others = [OffenderFacts(i, categories=frozenset({"district:lahore"})) for i in range(20, 25)]
    items = [
        (
            OffenderState(f.offender_id),
            f,
            fixes(at(9), 3 + f.offender_id % 3, SCHOOL.lon, SCHOOL.lat),
        )
        for f in others
    ] + [(OffenderState(OFFENDER.offender_id), OFFENDER, fixes(at(9), 4, OUT_LON, OUT_LAT))]
    batch = evaluate_batch(items, index=index)
    alone = [apply_fixes(s, f_list, index=index, facts=f) for s, f, f_list in items]
    assert [events for _, events in batch] == [events for _, events in alone]
    assert [s.to_dict() for s, _ in batch] == [s.to_dict() for s, _ in alone]
    assert sum(len(events) for _, events in batch) == 6


# --- schedules and the sweep ----------------------------------------------------------------


def test_already_inside_when_the_schedule_starts_is_a_breach_from_the_start_time():
    index = ZoneIndex([district(), school(schedule=SCHOOL_HOURS)])
    state, events = run(
        index, fixes(at(7, 50), 3, SCHOOL.lon, SCHOOL.lat, step=timedelta(minutes=3))
    )
    assert events == []  # before school hours
    state, events = sweep(state, index=index, facts=OFFENDER, now=at(7, 59))
    assert events == []
    state, events = sweep(state, index=index, facts=OFFENDER, now=at(8, 5))
    [episode] = events
    assert episode.started_at == at(8)
    assert episode.detected_at == at(8, 5)
    state, events = sweep(state, index=index, facts=OFFENDER, now=at(8, 6))
    assert events == []  # opened once
    state, events = sweep(state, index=index, facts=OFFENDER, now=at(14, 10))
    [end] = events
    assert (end.ended_at, end.reason) == (at(14), "schedule_ended")
    # Next morning, still there (no new ping, but a fresh last fix): a new episode at 08:00.
    state, _ = run(index, fixes(at(7, 55, day=1), 1, SCHOOL.lon, SCHOOL.lat), state)
    _, events = sweep(state, index=index, facts=OFFENDER, now=at(8, 1, day=1))
    assert [e.started_at for e in opened(events)] == [at(8, day=1)]


def test_schedule_start_found_by_the_next_fix_when_no_sweep_ran():
    index = ZoneIndex([district(), school(schedule=SCHOOL_HOURS)])
    state, _ = run(index, fixes(at(7, 50), 3, SCHOOL.lon, SCHOOL.lat))
    _, events = run(index, fixes(at(8, 20), 1, SCHOOL.lon, SCHOOL.lat), state)
    assert [e.started_at for e in opened(events)] == [at(8)]


def test_a_stale_last_fix_does_not_open_at_schedule_start():
    index = ZoneIndex([district(), school(schedule=SCHOOL_HOURS)])
    state, _ = run(index, fixes(at(7, 0), 3, SCHOOL.lon, SCHOOL.lat))
    _, events = sweep(state, index=index, facts=OFFENDER, now=at(8, 5))
    assert events == []  # last fix 58 minutes before the start: nobody knows where they are


def test_no_breach_outside_the_schedule():
    index = ZoneIndex([district(), school(schedule=SCHOOL_HOURS)])
    _, events = run(index, fixes(at(15), 10, SCHOOL.lon, SCHOOL.lat))
    assert events == []
    _, events = run(index, fixes(at(9, day=5), 10, SCHOOL.lon, SCHOOL.lat))  # Saturday
    assert events == []


def test_a_night_curfew_at_home_crosses_midnight():
    curfew = tuple(ScheduleInterval(day, time(21), time(6)) for day in range(7))
    home = Zone(
        9, ZoneKind.INCLUSION, Circle(HOME_LON, HOME_LAT, 150.0), applies_to=AppliesTo.OFFENDER,
        offender_id=OFFENDER.offender_id, schedule=curfew,
    )  # fmt: skip
    index = ZoneIndex([district(), home])
    away = (74.7, 31.7)  # in the district, away from home
    state, events = run(index, fixes(at(20, 50), 3, *away, step=timedelta(minutes=4)))
    assert events == []
    state, events = sweep(state, index=index, facts=OFFENDER, now=at(21, 1))
    [episode] = events
    assert (episode.rule, episode.zone_id, episode.started_at) == (RULE_TRAVEL, 9, at(21))
    state, events = run(index, fixes(at(23), 3, HOME_LON, HOME_LAT), state)
    assert [(e.ended_at, e.reason) for e in ended(events)] == [(at(23), "left")]
    # Sunday 23:00 to Monday: the weekly wrap is one stretch.
    zone = index.get(9)
    assert zone.is_active(at(23, day=6))
    assert zone.is_active(at(5, 59, day=7))
    assert not zone.is_active(at(6, day=7))


def test_zone_validity_dates_bound_the_rule():
    index = ZoneIndex([district(), school(valid_from=at(10), valid_to=at(12))])
    _, events = run(index, fixes(at(9), 5, SCHOOL.lon, SCHOOL.lat))
    assert events == []
    state, events = run(index, fixes(at(11), 3, SCHOOL.lon, SCHOOL.lat))
    assert len(opened(events)) == 1
    _, events = run(index, fixes(at(12, 30), 1, SCHOOL.lon, SCHOOL.lat), state)
    assert [(e.ended_at, e.reason) for e in events] == [(at(12), "schedule_ended")]


def test_a_removed_zone_ends_its_episode_at_the_sweep():
    index = ZoneIndex([district(), school()], version=1)
    state, _ = run(index, fixes(at(9), 3, SCHOOL.lon, SCHOOL.lat))
    index.remove([2], version=2)
    assert index.version == 2
    state, events = sweep(state, index=index, facts=OFFENDER, now=at(9, 30))
    assert [(e.zone_id, e.reason, e.ended_at) for e in events] == [(2, "zone_removed", at(9, 30))]
    assert state.open == {}


# --- the permitted area ---------------------------------------------------------------------


def test_travel_without_notice_opens_outside_the_district_and_ends_back_inside():
    index = ZoneIndex([district(), school()])
    state, events = run(index, fixes(at(9), 2, OUT_LON, OUT_LAT))
    assert events == []
    state, events = run(index, fixes(at(9, 2), 1, OUT_LON, OUT_LAT), state)
    [episode] = events
    assert (episode.rule, episode.zone_id, episode.started_at) == (RULE_TRAVEL, None, at(9))
    state, events = run(index, fixes(at(11), 3, HOME_LON, HOME_LAT), state)
    assert [(e.rule, e.ended_at) for e in events] == [(RULE_TRAVEL, at(11))]


def test_a_travel_window_extends_the_permitted_area_for_its_dates_only():
    kasur_window = Zone(
        5, ZoneKind.INCLUSION, KASUR, applies_to=AppliesTo.OFFENDER, offender_id=7,
        valid_from=at(8), valid_to=at(18),
    )  # fmt: skip
    index = ZoneIndex([district(), kasur_window])
    in_kasur = (74.5, 30.5)
    state, events = run(index, fixes(at(9), 6, *in_kasur))
    assert events == []
    # The window closes with the offender still in Kasur: a breach from its end.
    state, events = sweep(state, index=index, facts=OFFENDER, now=at(18, 5))
    assert [(e.rule, e.zone_id, e.started_at) for e in events] == []  # last fix 09:05: stale
    state, _ = run(index, fixes(at(17, 50), 3, *in_kasur), state)
    state, events = sweep(state, index=index, facts=OFFENDER, now=at(18, 5))
    assert [(e.rule, e.zone_id, e.started_at) for e in opened(events)] == [
        (RULE_TRAVEL, None, at(18))
    ]
    # Someone else's window is not theirs: the same trip is a breach at once.
    other = OffenderFacts(8, categories=frozenset({"district:lahore"}))
    _, events = run(index, fixes(at(9), 3, *in_kasur), facts=other)
    assert [e.started_at for e in opened(events)] == [at(9)]


def test_international_trip_suspends_the_home_district_rule():
    abroad = Zone(
        6, ZoneKind.INCLUSION, WORLD, applies_to=AppliesTo.OFFENDER, offender_id=7,
        valid_from=at(0), valid_to=at(0, day=10),
    )  # fmt: skip
    index = ZoneIndex([district(), abroad])
    _, events = run(index, fixes(at(9), 5, 55.3, 25.2))  # Dubai
    assert events == []


def test_the_permitted_area_is_the_union_of_the_inclusion_zones():
    # Two adjacent permitted districts: deep inside either one counts as inside.
    window = Zone(5, ZoneKind.INCLUSION, KASUR, applies_to=AppliesTo.OFFENDER, offender_id=7)
    index = ZoneIndex([district(), window])
    state, _ = run(index, fixes(at(9), 3, OUT_LON, OUT_LAT))
    assert "permitted" in state.open
    _, events = run(index, fixes(at(10), 3, 74.5, 30.5), state)
    assert [e.reason for e in ended(events)] == ["left"]


def test_no_inclusion_zone_means_no_permitted_area_rule():
    index = ZoneIndex([school()])
    _, events = run(index, fixes(at(9), 5, OUT_LON, OUT_LAT))
    assert events == []


# --- applicability --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone_kwargs", "applies_to_seven", "applies_to_eight"),
    [
        ({"applies_to": AppliesTo.ALL}, True, True),
        ({"applies_to": AppliesTo.VICTIM_MINOR}, True, False),
        ({"applies_to": AppliesTo.OFFENDER, "offender_id": 8}, False, True),
        ({"applies_to": AppliesTo.CATEGORY, "category": "tier:3"}, False, True),
    ],
)
def test_applicability(zone_kwargs, applies_to_seven, applies_to_eight):
    index = ZoneIndex([district(), school(**zone_kwargs)])
    eight = OffenderFacts(
        8, victim_minor=False, categories=frozenset({"district:lahore", "tier:3"})
    )
    for facts, expected in ((OFFENDER, applies_to_seven), (eight, applies_to_eight)):
        _, events = run(index, fixes(at(9), 3, SCHOOL.lon, SCHOOL.lat), facts=facts)
        assert len(opened(events)) == int(expected), facts
        assert index.get(2).applies(facts) is expected


def test_index_round_trips_zones_and_rejects_bad_ones():
    zone = school(
        schedule=SCHOOL_HOURS, valid_from=at(1), applies_to=AppliesTo.CATEGORY, category="x"
    )
    index = ZoneIndex([zone, district()])
    assert index.get(2) == Zone(
        2, ZoneKind.EXCLUSION, SCHOOL, 0.0, AppliesTo.CATEGORY, None, "x", SCHOOL_HOURS,
        at(1).astimezone(UTC), None,
    )  # fmt: skip
    assert [z.id for z in index.inclusion_zones_for(OFFENDER)] == [1]
    with pytest.raises(ValueError, match="offender_id"):
        ZoneIndex([school(applies_to=AppliesTo.OFFENDER)])
    with pytest.raises(ValueError, match="radius"):
        ZoneIndex([Zone(3, ZoneKind.EXCLUSION, Circle(74, 31, 0))])
    with pytest.raises(ValueError, match="naive"):
        run(index, [Fix(datetime(2026, 12, 1, 9), SCHOOL.lon, SCHOOL.lat, 5.0)])  # noqa: DTZ001


def test_fixes_out_of_order_within_a_batch_are_taken_in_recorded_order():
    index = ZoneIndex([district(), school()])
    sequence = fixes(at(9), 3, SCHOOL.lon, SCHOOL.lat) + fixes(at(9, 3), 3, HOME_LON, HOME_LAT)
    _, in_order = run(index, sequence)
    _, shuffled = run(index, sequence[::-1])
    assert shuffled == in_order
    assert [type(e).__name__ for e in in_order] == ["EpisodeOpened", "EpisodeEnded"]


def test_the_common_case_shortcut_changes_nothing(monkeypatch):
    """Random walks (mostly at home, sometimes at the school, across the district edge, out of
    the district, poor fixes) in random batches: the same states and events with the shortcut for
    "every fix deep inside the home district" as without it."""
    import random

    from geofence import engine as geofence_engine

    index = ZoneIndex([district(), school(schedule=SCHOOL_HOURS), district(3, KASUR, "k")])
    places = [(HOME_LON, HOME_LAT)] * 6 + [
        (SCHOOL.lon, SCHOOL.lat),
        (74.0001, 31.5),  # on the district's edge
        (OUT_LON, OUT_LAT),
        (74.5, 30.5),  # Kasur: outside this offender's area
    ]

    def walk(seed):
        rng = random.Random(seed)
        batches, t, place = [], at(7), places[0]
        for _ in range(12):
            batch = []
            for _ in range(rng.randint(1, 6)):
                t += timedelta(minutes=rng.randint(1, 20))
                place = place if rng.random() < 0.7 else rng.choice(places)  # people linger
                batch.append(Fix(t, *place, rng.choice([5.0, 20.0, 60.0, 150.0])))
            batches.append(batch)
        return batches

    def replay(fast):
        monkeypatch.setattr(geofence_engine, "_FAST_PATH", fast)
        out = []
        for seed in range(40):
            state, events = OffenderState(OFFENDER.offender_id), []
            for batch in walk(seed):
                state, new = run(index, batch, state)
                events += new
            out.append((state.to_dict(), events))
        return out

    taken = []
    shortcut = geofence_engine._only_at_home
    monkeypatch.setattr(
        geofence_engine, "_only_at_home", lambda *a: taken.append(shortcut(*a)) or taken[-1]
    )
    with_shortcut = replay(True)
    without = replay(False)
    assert with_shortcut == without
    assert sum(taken) > 50  # the shortcut was really taken
    assert sum(len(events) for _, events in without) > 40  # and the walks do breach and end
