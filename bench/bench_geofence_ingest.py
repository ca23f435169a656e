"""Geofence ingest through the service the API calls (issue 12), and ``import_zones``.

The world (the engine benchmark's generators, so both measure the same data): 250,000
school-sized exclusion circles (100 m buffer, applying to offenders with a minor victim) loaded
through ``zones_import`` — the ``import_zones`` path, timed; 150 district polygons of 2,000
vertices as District rows with their inclusion zones; 20,000 offenders (a third with a minor
victim) each with an ankle tag served by one gateway.

Then ``pings_ingest`` — validation, receipts, the per-offender row locks, duplicate check, COPY
into the partitioned table, the engine's ``evaluate_batch`` on the process's index, state
saves, episodes and violations — in gateway batches of 1,000 (250 offenders × 4 fixes, each
offender's fixes moving forward in time) for ``BENCH_GEOFENCE_SECONDS`` (default 60).

Everything runs inside one transaction rolled back at the end (the audit trail is append-only:
rolling back is the only clean way out), so each batch's ``transaction.atomic`` is a savepoint
and no batch pays a commit's WAL flush: the sustained figure is an upper bound for that reason.
"""

import os
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from bench.bench_geofence_engine import cities, districts, schools
from geofence.models import Gateway, TrackingDevice
from geofence.services import partitions
from geofence.services.credentials import credential_hash
from geofence.services.districts import district_zones_sync
from geofence.services.importing import zones_import
from geofence.services.pings import IngestResult, pings_ingest
from geofence.zone_index import zone_index_current, zone_index_reset
from jurisdictions.models import District, Province
from registry.models import Conviction, Offender

OFFENDERS = 20_000
PER_BATCH_OFFENDERS = 250
FIXES_EACH = 4
SECONDS = float(os.environ.get("BENCH_GEOFENCE_SECONDS", "60"))
PREFIX = "bench-geofence-"


class _RollBack(Exception):
    pass


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


def _offenders(rng, district_rows, centres) -> tuple[np.ndarray, np.ndarray, list[int]]:
    from bench.bench_geofence_engine import district_of

    city = rng.integers(len(centres), size=OFFENDERS)
    lon = centres[city, 0] + rng.normal(0, 0.1, OFFENDERS)
    lat = centres[city, 1] + rng.normal(0, 0.1, OFFENDERS)
    home_district = district_of(lon, lat)
    now = timezone.now()
    offenders = Offender.objects.bulk_create(
        [
            Offender(
                full_name=f"Bench {n}",
                father_name="Bench",
                gender="male",
                cnic="35202-0000000-1",
                cnic_index=f"{PREFIX}{n}",
                phone="",
                risk_tier=1 + n % 3,
                status="active",
                district=district_rows[int(home_district[n])],
                created_at=now,
                updated_at=now,
            )
            for n in range(OFFENDERS)
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
    features = [
        {
            "type": "Feature",
            "id": f"s{zone.id}",
            "geometry": {"type": "Point", "coordinates": [zone.geometry.lon, zone.geometry.lat]},
            "properties": {"radius_m": zone.geometry.radius_m},
        }
        for zone in schools(rng, centres)
    ]
    started = time.perf_counter()
    report = zones_import(
        features,
        kind="exclusion",
        category=f"{PREFIX}school",
        buffer_m=100.0,
        applies_to="victim_minor",
    )
    return time.perf_counter() - started, report.imported


def _batches(rng, lon, lat, start: datetime):
    """Endless gateway batches: 250 offenders in turn, 4 fixes each, 15 s apart, moving on."""
    order = np.arange(OFFENDERS)
    seq = np.zeros(OFFENDERS, dtype=np.int64)
    clock = np.zeros(OFFENDERS, dtype=np.int64)
    cursor = 0
    while True:
        chosen = order[cursor : cursor + PER_BATCH_OFFENDERS]
        cursor = (cursor + PER_BATCH_OFFENDERS) % OFFENDERS
        items = []
        for n in chosen.tolist():
            jitter = rng.normal(0, 0.0005, (FIXES_EACH, 2))
            for k in range(FIXES_EACH):
                seq[n] += 1
                clock[n] += 15
                items.append(
                    {
                        "device": f"T{n}",
                        "device_seq": int(seq[n]),
                        "recorded_at": (start + timedelta(seconds=int(clock[n]))).isoformat(),
                        "lon": float(lon[n] + jitter[k, 0]),
                        "lat": float(lat[n] + jitter[k, 1]),
                        "accuracy_m": 12.0,
                    }
                )
        yield items


def run() -> list[tuple[str, float, str, str]]:
    rng = np.random.default_rng(12)
    figures: list[tuple[str, float, str, str]] = []
    try:
        with transaction.atomic():
            district_rows, centres = _world(rng)
            district_zones_sync()
            import_s, imported = _import_schools(rng, centres)
            figures.append(
                (
                    "import_zones 250k schools",
                    round(import_s, 1),
                    "s",
                    f"{imported:,} point features validated + COPY/upsert "
                    f"({imported / import_s:,.0f} features/s)",
                )
            )
            lon, lat, ids = _offenders(rng, district_rows, centres)
            gateway = _devices(ids)
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
            batches = _batches(rng, lon, lat, start)
            pings = accepted = opened = 0
            started = time.perf_counter()
            elapsed = 0.0
            while elapsed < SECONDS:
                items = next(batches)
                result = pings_ingest(items=items, gateway=gateway)
                assert isinstance(result, IngestResult)
                assert not result.rejected, result.rejected[:3]
                pings += len(items)
                accepted += result.accepted
                opened += result.opened
                elapsed = time.perf_counter() - started
            figures.append(
                (
                    "ingest+evaluate+persist",
                    int(pings / elapsed),
                    "pings/s",
                    f"pings_ingest, gateway batches of 1,000, {elapsed:.0f} s sustained, "
                    f"{accepted:,} stored, {opened} episodes opened (savepoints, no commits)",
                )
            )
            raise _RollBack
    except _RollBack:
        pass
    finally:
        zone_index_reset()
        partitions._known.clear()
    return figures
