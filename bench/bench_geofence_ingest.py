"""Geofence ingest through the service the API calls (issue 12), and ``import_zones``.

The world (the engine benchmark's generators, so both measure the same data): 250,000
school-sized exclusion circles (100 m buffer, applying to offenders with a minor victim) loaded
from a GeoJSON file by the ``import_zones`` command, timed; 150 district polygons of 2,000
vertices as District rows with their inclusion zones; 20,000 offenders (a third with a minor
victim) each with an ankle tag served by one gateway.

Then ``pings_ingest`` — validation, receipts, the per-offender row locks, duplicate check, COPY
into the partitioned table, the engine's ``evaluate_batch`` on the process's index, state
saves, episodes and violations — in gateway batches of 1,000 (250 offenders × 4 fixes, each
offender's fixes moving forward in time), each batch its own committed transaction as in
production (``DEBUG`` off, as in production: the development settings' query log is not
what a deployment pays).

Two phases, reported apart because their breach rates differ by two orders of magnitude:

- *first sight*: one pass over the 20,000 offenders (80 batches). Every offender is new to
  the engine and each one standing in a school buffer opens a breach at once: about 7 % of
  the offenders, 1.7 breaches per 100 pings — far above a real day's rate;
- *sustained*: then ``BENCH_GEOFENCE_SECONDS`` (default 60) of further passes, the offenders
  drifting a few metres around where they stand (breaches only where a drift crosses a
  buffer's edge). Run with 1 and with 2 ingesting processes (``BENCH_GEOFENCE_PROCESSES``,
  default ``1,2``), each process its own connection and its own offenders (a gateway's
  batches), as production's several workers are; one offender's batches stay serialised by
  its row lock.

The benchmark runs in a scratch database of its own (migrated, dropped at the end).
"""

import io
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import override_settings
from django.utils import timezone

from bench.bench_geofence_engine import cities, districts, schools
from geofence.models import Gateway, TrackingDevice, Zone
from geofence.services import partitions
from geofence.services.credentials import credential_hash
from geofence.services.districts import district_zones_sync
from geofence.services.pings import IngestResult, pings_ingest
from geofence.zone_index import zone_index_current, zone_index_reset
from jurisdictions.models import District, Province
from registry.models import Conviction, Offender

OFFENDERS = 20_000
PER_BATCH_OFFENDERS = 250
FIXES_EACH = 4
SECONDS = float(os.environ.get("BENCH_GEOFENCE_SECONDS", "60"))
PREFIX = "bench-geofence-"
SCRATCH_DB = "nigrani_bench_geofence_ingest"


def _world(rng: np.random.Generator) -> tuple[list, np.ndarray]:
    province = Province.objects.create(code=f"{PREFIX}p", name="Bench province")
    district_zones = districts()
    rows = []
    for n, zone in enumerate(district_zones):
        boundary = {
            "type": "Polygon",
            "coordinates": [[list(c) for c in zone.geometry.exterior.coords]],
        }
        min_lon, min_lat, max_lon, max_lat = zone.geometry.bounds
        rows.append(
            District(
                province=province,
                code=f"{PREFIX}d{n}",
                name=f"Bench district {n}",
                boundary=boundary,
                min_lon=min_lon,
                min_lat=min_lat,
                max_lon=max_lon,
                max_lat=max_lat,
            )
        )
    created = District.objects.bulk_create(rows)
    return created, cities(rng)


def offenders_create(home: np.ndarray, district_rows: list, *, prefix: str) -> list[int]:
    """One bench offender per entry of ``home`` (an index into ``district_rows``), a third of
    them with a minor victim; their ids. Shared by the ingest and HTTP benches' worlds."""
    now = timezone.now()
    offenders = Offender.objects.bulk_create(
        [
            Offender(
                full_name=f"Bench {n}",
                father_name="Bench",
                gender="male",
                cnic="35202-0000000-1",
                cnic_index=f"{prefix}{n}",
                phone="",
                risk_tier=1 + n % 3,
                status="active",
                district=district_rows[int(home[n])],
                created_at=now,
                updated_at=now,
            )
            for n in range(len(home))
        ],
        batch_size=2000,
    )
    ids = [o.pk for o in offenders]
    Conviction.objects.bulk_create(
        [
            Conviction(
                offender_id=offender_id,
                fir_number="1/2020",
                police_station="Bench",
                court="Bench",
                case_number="1",
                conviction_date=datetime(2020, 1, 1, tzinfo=UTC).date(),
                sentence="Bench",
                victim_minor=True,
                sections=["376"],
            )
            for offender_id in ids[::3]
        ],
        batch_size=2000,
    )
    return ids


def _offenders(rng, district_rows, centres) -> tuple[np.ndarray, np.ndarray, list[int]]:
    from bench.bench_geofence_engine import district_of

    city = rng.integers(len(centres), size=OFFENDERS)
    lon = centres[city, 0] + rng.normal(0, 0.1, OFFENDERS)
    lat = centres[city, 1] + rng.normal(0, 0.1, OFFENDERS)
    home_district = district_of(lon, lat)
    ids = offenders_create(home_district, district_rows, prefix=PREFIX)
    return lon, lat, ids


def _devices(ids: list[int]) -> Gateway:
    gateway = Gateway.objects.create(
        name=f"{PREFIX}gateway", credential_hash=credential_hash(PREFIX)
    )
    TrackingDevice.objects.bulk_create(
        [
            TrackingDevice(
                offender_id=offender_id,
                kind="ankle_tag",
                serial=f"T{n}",
                gateway=gateway,
                credential_hash=credential_hash(f"{PREFIX}{n}"),
            )
            for n, offender_id in enumerate(ids)
        ],
        batch_size=2000,
    )
    return gateway


def _import_schools(rng, centres) -> tuple[float, int]:
    """The 250,000 schools through the ``import_zones`` command, as an operator runs it: a
    GeoJSON file on disk (written first, untimed), read, parsed, validated and COPYed, with
    its progress bar on stderr. Returns the command's seconds and the zones it imported."""
    features = [
        {
            "type": "Feature",
            "id": f"s{zone.id}",
            "geometry": {"type": "Point", "coordinates": [zone.geometry.lon, zone.geometry.lat]},
            "properties": {"radius_m": zone.geometry.radius_m},
        }
        for zone in schools(rng, centres)
    ]
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "schools.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        del features
        report = io.StringIO()
        started = time.perf_counter()
        call_command(
            "import_zones",
            str(path),
            "--kind=exclusion",
            f"--category={PREFIX}school",
            "--buffer-m=100",
            "--applies-to=victim_minor",
            stdout=report,
        )
        took = time.perf_counter() - started
    imported = Zone.objects.filter(category=f"{PREFIX}school").count()
    return took, imported


# The offenders' walk, set in the parent before the ingesting processes fork: home points,
# and each offender's next device_seq and clock (seconds after ``start``).
_walk: dict[str, object] = {}


def _batches(rng: np.random.Generator, members: np.ndarray):
    """Endless gateway batches over ``members``: 250 offenders in turn, 4 fixes each, 15 s
    apart, each fix a few metres from the offender's home (GPS drift)."""
    lon, lat, seq, clock = (_walk[k] for k in ("lon", "lat", "seq", "clock"))
    start = np.datetime64(_walk["start"].replace(tzinfo=None), "us")
    steps = np.arange(1, FIXES_EACH + 1)
    cursor = 0
    while True:
        chosen = members[cursor : cursor + PER_BATCH_OFFENDERS]
        cursor = (cursor + PER_BATCH_OFFENDERS) % len(members)
        seqs = seq[chosen][:, None] + steps
        clocks = clock[chosen][:, None] + 15 * steps
        seq[chosen] += FIXES_EACH
        clock[chosen] += 15 * FIXES_EACH
        jitter = rng.normal(0, 0.0005, (len(chosen), FIXES_EACH, 2))
        lons = (lon[chosen][:, None] + jitter[:, :, 0]).tolist()
        lats = (lat[chosen][:, None] + jitter[:, :, 1]).tolist()
        times = np.datetime_as_string(start + clocks.astype("timedelta64[s]"), timezone="UTC")
        yield [
            {
                "device": f"T{n}",
                "device_seq": seqs_n[k],
                "recorded_at": str(times_n[k]),
                "lon": lons_n[k],
                "lat": lats_n[k],
                "accuracy_m": 12.0,
            }
            for n, seqs_n, times_n, lons_n, lats_n in zip(
                chosen.tolist(), seqs.tolist(), times, lons, lats, strict=True
            )
            for k in range(FIXES_EACH)
        ]


def _ingester(members, seed, start_at, seconds, max_batches, queue) -> None:
    """One ingesting process (forked): its own connection, one committed batch after
    another, until ``seconds`` of ingest have passed or ``max_batches`` were sent. Only the
    ``pings_ingest`` calls are timed (making the next batch is the client's work)."""
    try:
        rng = np.random.default_rng(seed)
        gateway = Gateway.objects.get(name=f"{PREFIX}gateway")
        zone_index_current()
        batches = _batches(rng, members)
        pings = opened = ended = sent = 0
        timed = 0.0
        while time.time() < start_at:
            time.sleep(0.001)
        while (sent < max_batches) if max_batches else (timed < seconds):
            items = next(batches)
            began = time.perf_counter()
            result = pings_ingest(items=items, gateway=gateway)
            timed += time.perf_counter() - began
            assert isinstance(result, IngestResult)
            assert not result.rejected, result.rejected[:3]
            pings += result.accepted
            opened += result.opened
            ended += result.ended
            sent += 1
        walked = (_walk["seq"][members], _walk["clock"][members])
        queue.put((pings, opened, ended, timed, members, *walked))
    except BaseException as exc:  # told to the parent, which fails the benchmark with it
        queue.put(repr(exc))
        raise
    finally:
        _disconnect()


def _ingest(processes: int, *, seconds: float = 0.0, max_batches: int = 0, seed: int = 0):
    """Run ``processes`` ingesters over disjoint offenders; returns (pings/s over the
    slowest process's time, pings, breaches opened, ended, seconds)."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    _disconnect()  # no socket (nor pool thread) may cross the fork
    start_at = time.time() + 2.0 + processes
    everyone = np.arange(OFFENDERS)
    workers = [
        context.Process(
            target=_ingester,
            args=(everyone[k::processes], [12, seed, k], start_at, seconds, max_batches, queue),
        )
        for k in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=seconds + 1800) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    failed = [result for result in results if isinstance(result, str)]
    if failed:
        raise RuntimeError(f"an ingesting process failed: {failed[0]}")
    pings = opened = ended = 0
    elapsed = 0.0
    for done, made, closed, took, members, seq, clock in results:
        pings, opened, ended = pings + done, opened + made, ended + closed
        elapsed = max(elapsed, took)
        _walk["seq"][members] = seq
        _walk["clock"][members] = clock
    return pings / elapsed, pings, opened, ended, elapsed


def _processes() -> list[int]:
    return [int(n) for n in os.environ.get("BENCH_GEOFENCE_PROCESSES", "1,2").split(",") if n]


def _disconnect() -> None:
    """Close the connection and this process's pool (the settings pool connections): a
    pooled connection would outlive a change of database, and must never be forked."""
    connection.close()
    connection.close_pool()


@contextmanager
def _scratch_database() -> Iterator[None]:
    """A database of its own, migrated, dropped at the end: every batch commits (as in
    production), so nothing of it may land in a real or development database."""
    alias = connections["default"]
    original = alias.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
    _disconnect()
    alias.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = SCRATCH_DB
    try:
        call_command("migrate", "--noinput", verbosity=0)
        yield
    finally:
        _disconnect()
        alias.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = original
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')


def _figure(name: str, rate: float, pings: int, opened: int, ended: int, took: float, what: str):
    return (
        name,
        int(rate),
        "pings/s",
        f"{what}; {pings:,} pings in {took:.0f} s, {opened:,} breaches opened "
        f"({1000 * opened / max(pings, 1):.1f} per 1,000 pings), {ended:,} ended",
    )


def run() -> list[tuple[str, float, str, str]]:
    rng = np.random.default_rng(12)
    figures: list[tuple[str, float, str, str]] = []
    with _scratch_database(), override_settings(DEBUG=False):
        try:
            with transaction.atomic():
                district_rows, centres = _world(rng)
                district_zones_sync()
                import_s, imported = _import_schools(rng, centres)
                lon, lat, ids = _offenders(rng, district_rows, centres)
                _devices(ids)
            figures.append(
                (
                    "import_zones 250k schools",
                    round(import_s, 1),
                    "s",
                    f"python manage.py import_zones on a GeoJSON file of {imported:,} point "
                    "features: read, parsed, validated, COPY/upsert "
                    f"({imported / import_s:,.0f} features/s)",
                )
            )
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            zone_index_reset()
            started = time.perf_counter()
            index = zone_index_current()
            figures.append(
                (
                    "index build from the database",
                    round(time.perf_counter() - started, 2),
                    "s",
                    f"{len(index):,} zones read from geofence_zone into the engine's index",
                )
            )
            start = timezone.now() - timedelta(days=2)
            partitions.partitions_ensure([start, start + timedelta(days=1), timezone.now()])
            _walk.update(
                lon=lon,
                lat=lat,
                start=start,
                seq=np.zeros(OFFENDERS, dtype=np.int64),
                clock=np.zeros(OFFENDERS, dtype=np.int64),
            )
            first = _ingest(1, max_batches=OFFENDERS // PER_BATCH_OFFENDERS, seed=1)
            figures.append(
                _figure(
                    "ingest first sight (1 process)",
                    *first,
                    "pings_ingest, gateway batches of 1,000 each committed, one pass over "
                    "20,000 offenders new to the engine",
                )
            )
            for n, processes in enumerate(_processes()):
                rate = _ingest(processes, seconds=SECONDS, seed=2 + n)
                figures.append(
                    _figure(
                        f"ingest sustained ({processes} process{'es' if processes > 1 else ''})",
                        *rate,
                        f"pings_ingest, gateway batches of 1,000 each committed, {processes} "
                        "ingesting process(es) on disjoint offenders, after the first pass",
                    )
                )
        finally:
            zone_index_reset()
            partitions._known.clear()
    return figures
