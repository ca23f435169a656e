"""The HTTP benchmark's harness on a tiny world, so that ``make bench``'s HTTP figures cannot
rot: the real production-settings server (2 uvicorn workers) on the test database, the real
load generator, both phases for about a second each."""

import pytest
from django.db import connection

from bench.bench_geofence_http import Size, database_url, measure, world_build

TINY = Size(schools=300, offenders=40, districts_x=2, districts_y=2, vertices=40)


@pytest.mark.django_db(transaction=True)
def test_the_http_bench_drives_a_production_server_without_errors():
    world = world_build(TINY)
    results = measure(
        database_url(connection.settings_dict["NAME"]),
        world,
        seconds=1.0,
        phases=["gateway:100:2", "devices:1"],
        grace_s=20,  # a loaded machine may answer the last of the 40 late; none may be lost
    )

    gateway, devices = results
    assert gateway["phase"] == "gateway:100"
    assert gateway["requests"] >= 1
    assert gateway["statuses"] == {"202": gateway["requests"]}
    assert gateway["pings"] == 100 * gateway["requests"]
    assert devices["phase"] == "devices:1"
    # 40 devices every second for a second: each sends once, on its own schedule.
    assert devices["requests"] == TINY.offenders
    assert devices["statuses"] == {"202": TINY.offenders}
    assert devices["errors"] == devices["bad_pings"] == gateway["bad_pings"] == 0
    assert 0 < devices["p50_ms"] <= devices["p95_ms"] <= devices["p99_ms"]
    assert gateway["server_log_errors"] == 0
    # The pings went through the endpoint into the table (warm-up's one-ping batches too).
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM geofence_ping")
        assert cursor.fetchone()[0] >= gateway["pings"] + devices["pings"]
