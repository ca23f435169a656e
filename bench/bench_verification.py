"""Field verification through the API: visits per second, and the task-list latency of a beat
officer with 200 open tasks.

``run()`` seeds the demo world and the demo offenders (idempotent), tops the demo beat
officer's beat up to 200 open tasks with generated offenders (imported through the register,
whose release hook opens their tasks), then drives the real views in-process with DRF's test
client (the officer is force-authenticated: token checking is measured by the accounts
benchmarks, not here). Everything runs in one transaction rolled back at the end, so the
database — the append-only audit trail included — is left as it was found; each request's
own transaction is then a savepoint, so commit latency (fsync) is not in the figures.
"""

import io
import random
import statistics
import time
import uuid
from datetime import timedelta

import shapely
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient
from shapely.geometry import shape

from accounts.demo import seed_world
from accounts.models import Officer
from accounts.roles import Role
from jurisdictions.demo import demo_username
from jurisdictions.models import Beat
from jurisdictions.resolve import jurisdiction_resolve
from mobile_api.models import TaskStatus, VerificationTask
from mobile_api.selectors import sync_cursor_make
from registry.demo import demo_register_rows, seed_offenders
from registry.services.importing import ImportRow, register_import, register_row_data

TASKS = 200
LIST_CALLS = 50
PHOTO_VISITS = 50
SEED = 20261123
BENCH_AREA = "61102"  # an area of issue no demo seeder uses


class _RollBack(Exception):
    pass


def _points_in(beat: Beat, count: int, rng: random.Random) -> list[tuple[float, float]]:
    polygon = shape(beat.boundary).buffer(-0.001)
    shapely.prepare(polygon)
    min_lon, min_lat, max_lon, max_lat = polygon.bounds
    points: list[tuple[float, float]] = []
    while len(points) < count:
        lon, lat = rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)
        if polygon.contains(shapely.Point(lon, lat)):
            points.append((round(lon, 5), round(lat, 5)))
    return points


def _top_up(officer: Officer) -> None:
    """Import active offenders living in the officer's beat until it has ``TASKS`` open."""
    beat = Beat.objects.get(pk=officer.beat_id)
    missing = TASKS - VerificationTask.objects.filter(beat=beat, status=TaskStatus.OPEN).count()
    if missing <= 0:
        return
    rng = random.Random(SEED)
    rows = [r for r in demo_register_rows(missing * 2, seed=SEED) if r["status"] == "active"]
    rows = rows[:missing]
    for row, (lon, lat) in zip(rows, _points_in(beat, len(rows), rng), strict=True):
        row["cnic"] = BENCH_AREA + row["cnic"][5:]
        row["address_lon"], row["address_lat"] = str(lon), str(lat)
    actor = Officer.objects.get(username=demo_username(Role.REGISTRY_ADMIN))
    report = register_import(
        actor=actor,
        rows=[
            ImportRow(line=n, data=register_row_data(row)) for n, row in enumerate(rows, start=2)
        ],
        source_sha256="bench",
    )
    assert not report.problems, report.problem_lines()[:3]


def _jpeg() -> bytes:
    image = Image.effect_noise((1280, 960), 60).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _visit(task: VerificationTask, outcome: str) -> dict:
    now = timezone.now()
    return {
        "client_id": str(uuid.uuid4()),
        "outcome": outcome,
        "lat": task.address.lat,
        "lon": task.address.lon,
        "accuracy_m": 12.0,
        "fix_time": (now - timedelta(seconds=20)).isoformat(),
        "mock_location": False,
        "visited_at": now.isoformat(),
    }


def _median_ms(client: APIClient, path: str, params: dict | None = None) -> tuple[float, float]:
    timings = []
    for _ in range(LIST_CALLS):
        started = time.perf_counter()
        response = client.get(path, params or {})
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def _measure() -> list[tuple[str, float, str, str]]:
    seed_world()
    seed_offenders()
    jurisdiction_resolve(lon=74.3, lat=31.5)  # warm the geometry cache, as a server would be
    officer = Officer.objects.get(username=demo_username(Role.BEAT_OFFICER))
    _top_up(officer)
    client = APIClient()
    client.force_authenticate(officer)

    first = client.get("/api/v1/mobile/tasks/").json()
    assert len(first["tasks"]) == TASKS, len(first["tasks"])
    full_ms, full_p95 = _median_ms(client, "/api/v1/mobile/tasks/")
    # Everything here is one transaction, which no snapshot taken inside it sees as committed;
    # the delta is measured from a cursor made as if the setup had committed before it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint + 1")
        after_setup = cursor.fetchone()[0]
    since = sync_cursor_make(officer=officer, snapshot=f"{after_setup}:{after_setup}:")
    assert client.get("/api/v1/mobile/tasks/", {"since": since}).json()["tasks"] == []
    delta_ms, delta_p95 = _median_ms(client, "/api/v1/mobile/tasks/", {"since": since})

    tasks = list(
        VerificationTask.objects.filter(beat_id=officer.beat_id, status=TaskStatus.OPEN)
        .select_related("address")
        .order_by("id")
    )
    photo = _jpeg()
    started = time.perf_counter()
    for task in tasks[:PHOTO_VISITS]:
        body = _visit(task, "not_at_home")
        body["photos"] = [io.BytesIO(photo)]
        body["photos"][0].name = "door.jpg"
        response = client.post(f"/api/v1/mobile/tasks/{task.pk}/visits/", body, format="multipart")
        assert response.status_code == 200, response.content
    photo_s = time.perf_counter() - started

    started = time.perf_counter()
    for task in tasks:
        response = client.post(
            f"/api/v1/mobile/tasks/{task.pk}/visits/", _visit(task, "confirmed"), format="json"
        )
        assert response.status_code == 200, response.content
        assert response.json()["counted"], response.json()
    visit_s = time.perf_counter() - started

    return [
        (
            "visits_per_second",
            round(len(tasks) / visit_s, 1),
            "visits/s",
            f"{len(tasks)} confirmed visits (JSON) through POST /mobile/tasks/{{id}}/visits/: "
            "rules, task closed, next due moved, change log, audit (one client, in-process)",
        ),
        (
            "visits_with_photo_per_second",
            round(PHOTO_VISITS / photo_s, 1),
            "visits/s",
            f"{PHOTO_VISITS} visits each with a {len(photo) // 1024} KB 1.2-MP JPEG "
            "(multipart; decoded, re-encoded without EXIF, stored on disk)",
        ),
        (
            "task_list_200_median",
            round(full_ms, 1),
            "ms",
            f"GET /mobile/tasks/ for an officer with {TASKS} open tasks, full list "
            f"(p95 {full_p95:.1f} ms, {LIST_CALLS} calls)",
        ),
        (
            "task_list_delta_median",
            round(delta_ms, 1),
            "ms",
            f"the same with ?since= and nothing changed (p95 {delta_p95:.1f} ms)",
        ),
    ]


def run() -> list[tuple[str, float, str, str]]:
    figures: list[tuple[str, float, str, str]] = []
    stored_before = _stored_photos()
    try:
        with transaction.atomic():
            figures = _measure()
            raise _RollBack
    except _RollBack:
        pass
    finally:
        _remove_new_photos(stored_before)
    return figures


def _stored_photos() -> set[str]:
    from django.core.files.storage import default_storage

    try:
        return set(default_storage.listdir("visits/photos")[1])
    except FileNotFoundError:
        return set()


def _remove_new_photos(before: set[str]) -> None:
    """The rolled-back visits' photo files (storage is not transactional)."""
    from django.core.files.storage import default_storage

    for name in _stored_photos() - before:
        default_storage.delete(f"visits/photos/{name}")
