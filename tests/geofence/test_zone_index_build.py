"""The full build from the database (circles as columns) answers exactly like an index built
from each zone row one by one (``engine_zone``, the patch path)."""

from datetime import UTC, datetime

import numpy as np

from geofence import engine
from geofence.models import Zone
from geofence.services.zones import ZoneInput, zone_create, zone_retire
from geofence.zone_index import engine_zone, zone_index_build

LAHORE = (74.3436, 31.5497)


def _circle(actor, n, **extra):
    return zone_create(
        actor=actor,
        data=ZoneInput(
            name=f"Zone {n}",
            kind=extra.pop("kind", "exclusion"),
            category=extra.pop("category", "school"),
            geometry={
                "type": "Point",
                "coordinates": [LAHORE[0] + 0.004 * n, LAHORE[1] + 0.003 * (n % 3)],
            },
            radius_m=extra.pop("radius_m", 150 + 20 * n),
            **extra,
        ),
    )


def test_full_build_equals_the_zones_given_one_by_one(registry_admin, offender):
    made = [
        _circle(registry_admin, 0),
        _circle(registry_admin, 1, buffer_m=50),
        _circle(registry_admin, 2, applies_to="victim_minor"),
        _circle(registry_admin, 3, applies_to="victim_minor", buffer_m=30),
        _circle(
            registry_admin,
            4,
            schedule=[{"days": [0, 1, 2, 3, 4], "start": "07:00", "end": "14:00"}],
        ),
        _circle(registry_admin, 5, applies_to="offender", offender_id=offender.pk),
        _circle(registry_admin, 6, valid_from=datetime(2026, 1, 1, tzinfo=UTC)),
        _circle(registry_admin, 7, radius_m=2500),  # beyond the circle grid's reach
        _circle(registry_admin, 8, kind="inclusion", category="curfew"),
        _circle(registry_admin, 9),
        zone_create(
            actor=registry_admin,
            data=ZoneInput(
                name="Polygon school",
                kind="exclusion",
                category="school",
                geometry={
                    "type": "Polygon",
                    "coordinates": [
                        [[74.30, 31.50], [74.31, 31.50], [74.31, 31.51], [74.30, 31.50]]
                    ],
                },
            ),
        ),
    ]
    zone_retire(actor=registry_admin, zone_id=made[9].pk)
    live = Zone.objects.filter(retired_at__isnull=True)
    one_by_one = engine.ZoneIndex([engine_zone(z) for z in live])

    built = zone_index_build()

    assert len(built) == len(one_by_one) == 10
    for zone in live:
        assert built.get(zone.pk) == one_by_one.get(zone.pk)
    assert built.get(made[9].pk) is None
    rng = np.random.default_rng(3)
    lon = LAHORE[0] - 0.02 + rng.random(4000) * 0.07
    lat = LAHORE[1] - 0.04 + rng.random(4000) * 0.06
    accuracy = rng.choice([5.0, 40.0, 400.0], 4000)
    a, b = built.query(lon, lat, accuracy), one_by_one.query(lon, lat, accuracy)
    assert len(a) > 100
    for name in ("point", "zone_id", "relation", "signed_distance_m"):
        order_a = np.lexsort((a.zone_id, a.point))
        order_b = np.lexsort((b.zone_id, b.point))
        assert np.array_equal(getattr(a, name)[order_a], getattr(b, name)[order_b]), name
