"""The ping endpoint over HTTP (issue 12): ``POST /api/v1/pings/`` on a production-settings
server with 2 ASGI workers, driven by a load generator in a process of its own.

The world is the ingest benchmark's, from the engine benchmark's generators (250,000 school
circles through ``zones_import`` — the ``import_zones`` path, timed — 150 district polygons of
2,000 vertices, 20,000 offenders with an ankle tag each, served by one gateway), built in a
scratch database (``nigrani_bench_http``, dropped at the end) and committed, since the server
reads it. Credentials are stored as ``credential_hash`` of a random per-run secret, in bulk
(not 20,000 enrolment calls); the generator is told the secrets through a private temp file.

The server is started as production runs it (Dockerfile / docker-compose.yml): ``uvicorn
backend.asgi:application --proxy-headers --forwarded-allow-ips 127.0.0.1`` plus ``--workers
2``, NIGRANI_DEV unset, DEBUG off, SECRET_KEY/ALLOWED_HOSTS/keys from the environment; the
generator sends ``X-Forwarded-Proto: https`` as the reverse proxy would. After ``/readyz``
and a warm-up (each worker builds its zone index on its first batch), the phases
(``BENCH_HTTP_SECONDS`` each, default 60):

- gateway batches of 100 and of 1,000, closed loop, ``BENCH_HTTP_GATEWAY_CLIENTS`` (4)
  connections: pings/s at maximum throughput;
- the device load, open loop: every device posts 4 fixes every 60 s at a phase of its own
  (20,000 devices: 333 requests/s), latency from each request's scheduled send time.

On this machine the generator, PostgreSQL and the two workers share 2 cores (with whatever
else runs): each phase reports the CPU seconds the workers and the generator used.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import numpy as np
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from bench import bench_geofence_engine as world_gen
from bench.bench_geofence_ingest import offenders_create
from geofence.models import Gateway, TrackingDevice
from geofence.services import partitions
from geofence.services.credentials import DEVICE_PREFIX, GATEWAY_PREFIX, credential_hash
from geofence.services.districts import district_zones_sync
from geofence.services.importing import zones_import
from jurisdictions.models import District, Province

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from processes import stop as stop_processes  # noqa: E402 - scripts/, beside the bench

ROOT = Path(__file__).resolve().parent.parent
SCRATCH_DB = "nigrani_bench_http"
SECONDS = float(os.environ.get("BENCH_HTTP_SECONDS", "60"))
GATEWAY_CLIENTS = int(os.environ.get("BENCH_HTTP_GATEWAY_CLIENTS", "4"))
WORKERS = int(os.environ.get("BENCH_HTTP_WORKERS", "2"))
DEVICE_PERIOD_S = 60.0
PREFIX = "bench-http-"
SERIAL = "T{n}"


@dataclass(frozen=True)
class Size:
    """How big a world: the issue's by default; the test's is tiny."""

    schools: int = world_gen.SCHOOLS
    offenders: int = world_gen.OFFENDERS
    districts_x: int = world_gen.DISTRICTS_X
    districts_y: int = world_gen.DISTRICTS_Y
    vertices: int = world_gen.DISTRICT_VERTICES


@dataclass
class World:
    lon: np.ndarray
    lat: np.ndarray
    gateway_credential: str
    device_credential: str  # a format string of n
    import_seconds: float
    imported: int


# --- the world -------------------------------------------------------------------------------


def world_build(size: Size, *, seed: int = 12) -> World:
    """Districts, their inclusion zones, the school layer through ``zones_import``, offenders
    (a third with a minor victim) and one device each, all bound to one gateway. Committed."""
    rng = np.random.default_rng(seed)
    secret = secrets.token_urlsafe(16)
    province = Province.objects.create(code=f"{PREFIX}p", name="Bench province")
    rows = []
    for n, zone in enumerate(
        world_gen.districts(size.districts_x, size.districts_y, size.vertices)
    ):
        min_lon, min_lat, max_lon, max_lat = zone.geometry.bounds
        ring = [list(c) for c in zone.geometry.exterior.coords]
        rows.append(
            District(
                province=province,
                code=f"{PREFIX}d{n}",
                name=f"Bench district {n}",
                boundary={"type": "Polygon", "coordinates": [ring]},
                min_lon=min_lon,
                min_lat=min_lat,
                max_lon=max_lon,
                max_lat=max_lat,
            )
        )
    district_rows = District.objects.bulk_create(rows)
    district_zones_sync()
    centres = world_gen.cities(rng)
    features = [
        {
            "type": "Feature",
            "id": f"s{zone.id}",
            "geometry": {"type": "Point", "coordinates": [zone.geometry.lon, zone.geometry.lat]},
            "properties": {"radius_m": zone.geometry.radius_m},
        }
        for zone in world_gen.schools(rng, centres, size.schools)
    ]
    started = time.perf_counter()
    report = zones_import(
        features, kind="exclusion", category=f"{PREFIX}school", buffer_m=100.0,
        applies_to="victim_minor",
    )  # fmt: skip
    import_seconds = time.perf_counter() - started

    count = size.offenders
    city = rng.integers(len(centres), size=count)
    lon = centres[city, 0] + rng.normal(0, 0.1, count)
    lat = centres[city, 1] + rng.normal(0, 0.1, count)
    home = world_gen.district_of(lon, lat, size.districts_x, size.districts_y)
    with transaction.atomic():
        ids = offenders_create(home, district_rows, prefix=PREFIX)
        gateway_credential = f"{GATEWAY_PREFIX}{secret}-gw"
        gateway = Gateway.objects.create(
            name=f"{PREFIX}gateway", credential_hash=credential_hash(gateway_credential)
        )
        device_credential = DEVICE_PREFIX + secret + "-{n}"
        TrackingDevice.objects.bulk_create(
            [
                TrackingDevice(
                    offender_id=offender_id,
                    kind="ankle_tag",
                    serial=SERIAL.format(n=n),
                    gateway=gateway,
                    credential_hash=credential_hash(device_credential.format(n=n)),
                )
                for n, offender_id in enumerate(ids)
            ],
            batch_size=2000,
        )
    partitions._known.clear()  # a per-process cache: of another database, maybe
    partitions.partitions_ensure([timezone.now()])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return World(lon, lat, gateway_credential, device_credential, import_seconds, report.imported)


# --- the server ------------------------------------------------------------------------------


def database_url(name: str) -> str:
    """The URL of database ``name`` on the server the default connection uses."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += f":{quote(db['PASSWORD'])}"
    host = db["HOST"] or "127.0.0.1"
    if host.startswith("/"):  # the embedded PostgreSQL's unix socket
        return f"postgresql://{credentials}@/{name}?{urlencode({'host': host})}"
    return f"postgresql://{credentials}@{host}:{db['PORT'] or 5432}/{name}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(db_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Production settings: NIGRANI_DEV unset, the required values from the environment. The
    keys are this process's (the world's encrypted fields were written with them)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NIGRANI_DEV", "DJANGO_DEBUG")}
    env.update(
        DJANGO_SETTINGS_MODULE="backend.settings",
        DATABASE_URL=db_url,
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        NIGRANI_ENCRYPTION_KEYS=settings.NIGRANI_ENCRYPTION_KEYS,
        NIGRANI_BLIND_INDEX_KEY=settings.NIGRANI_BLIND_INDEX_KEY,
        NIGRANI_AUDIT_SEAL_KEYS=settings.NIGRANI_AUDIT_SEAL_KEYS,
        NIGRANI_AUDIT_SIGNING_KEY=settings.NIGRANI_AUDIT_SIGNING_KEY,
        NIGRANI_PUSH_BACKEND="none",
        LOG_LEVEL=os.environ.get("BENCH_HTTP_LOG_LEVEL", "WARNING"),
    )
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    env.update(extra or {})
    return env


@dataclass
class Server:
    base: str
    process: subprocess.Popen
    log: Path
    ready_s: float = 0.0

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """CPU time of the master and its workers so far (from /proc; 0 where unreadable)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in [self.process.pid, *self.worker_pids()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total


@contextmanager
def server_running(
    db_url: str, *, workers: int = WORKERS, log_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """uvicorn as production starts it, plus ``--workers``; stopped (its group) at the end."""
    port = _free_port()
    log = log_dir / "uvicorn.log"
    command = [
        sys.executable, "-m", "uvicorn", "backend.asgi:application",
        "--host", "127.0.0.1", "--port", str(port),
        "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1",
        "--workers", str(workers),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            cwd=ROOT,
            env=server_env(db_url, extra_env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    started = time.monotonic()
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{server.base}/readyz", timeout=2):  # noqa: S310
                    break  # 200 (a 503 raises HTTPError, an OSError)
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not become ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        server.ready_s = time.monotonic() - started
        yield server
    finally:
        stop_processes([process], timeout=20)


# --- the load --------------------------------------------------------------------------------


def load_run(
    server: Server,
    world: World,
    phases: list[str],
    *,
    seconds: float,
    work_dir: Path,
    echo: bool = False,
    grace_s: float | None = None,
) -> list[dict]:
    """The generator in its own process; one result per phase, with the server's CPU time."""
    world_file = work_dir / "world.json"
    world_file.write_text(
        json.dumps(
            {
                "base": server.base,
                "lon": world.lon.tolist(),
                "lat": world.lat.tolist(),
                "gateway_credential": world.gateway_credential,
                "device_credential": world.device_credential,
                "serial": SERIAL,
                "seconds": seconds,
                "grace_s": grace_s,
            }
        )
    )
    world_file.chmod(0o600)
    generator = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.http_load", str(world_file), *phases],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    results = []
    warm_up: dict = {}
    cpu_before = server.cpu_seconds()
    assert generator.stdout is not None
    for line in generator.stdout:
        result = json.loads(line)
        cpu_now = server.cpu_seconds()
        result["server_cpu_s"] = round(cpu_now - cpu_before, 2)
        cpu_before = cpu_now
        if echo:  # as each phase ends: a long run shows its progress
            print(f"  {json.dumps(result)}", flush=True)
        if result["phase"] == "warm-up":
            warm_up = result
        else:
            results.append(
                {**result, "server_ready_s": round(server.ready_s, 1), "warm_up": warm_up}
            )
    if generator.wait() != 0:
        raise RuntimeError(f"the load generator failed ({generator.returncode})")
    return results


def phases_default() -> list[str]:
    return [
        f"gateway:100:{GATEWAY_CLIENTS}",
        f"gateway:1000:{GATEWAY_CLIENTS}",
        f"devices:{DEVICE_PERIOD_S:g}",
    ]


def measure(
    db_url: str,
    world: World,
    *,
    seconds: float,
    workers: int = WORKERS,
    phases: list[str] | None = None,
    echo: bool = False,
    extra_env: dict[str, str] | None = None,
    grace_s: float | None = None,
) -> list[dict]:
    """Start the server on ``db_url``, run the phases against it, stop it."""
    with tempfile.TemporaryDirectory(prefix="bench-http-") as scratch:
        work_dir = Path(scratch)
        with server_running(
            db_url, workers=workers, log_dir=work_dir, extra_env=extra_env
        ) as server:
            results = load_run(
                server,
                world,
                phases or phases_default(),
                seconds=seconds,
                work_dir=work_dir,
                echo=echo,
                grace_s=grace_s,
            )
            log = server.log.read_text()
    for result in results:
        result["server_log_errors"] = log.count("Traceback")
    return results


# --- the benchmark ---------------------------------------------------------------------------


@contextmanager
def scratch_database(name: str = SCRATCH_DB) -> Iterator[str]:
    """A database of its own (the world is committed: the server must read it), migrated,
    dropped at the end; this process's default connection points at it meanwhile."""
    original = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')

    def switch(to: str) -> None:
        connection.close()
        connection.close_pool()  # Django's pool is per alias: it would keep the old database
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = to

    switch(name)
    try:
        call_command("migrate", "--noinput", verbosity=0)
        yield database_url(name)
    finally:
        switch(original)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _figures(results: list[dict], label: str = "") -> list[tuple[str, float, str, str]]:
    figures: list[tuple[str, float, str, str]] = []
    for r in results:
        cpu = (
            f"server CPU {r['server_cpu_s']:.0f} s, generator CPU {r['client_cpu_s']:.0f} s "
            f"in {r['elapsed_s']:.0f} s"
        )
        errors = f"errors {r['errors']} (non-202; target 0), bad pings {r['bad_pings']}"
        if r["mode"] == "closed":
            figures.append(
                (
                    f"HTTP gateway batches of {r['batch']:,}{label}",
                    int(r["pings_per_s"]),
                    "pings/s",
                    f"{r['rate_rps']} req/s, {r['clients']} clients closed-loop, "
                    f"p50 {r['p50_ms']} p95 {r['p95_ms']} p99 {r['p99_ms']} ms; {errors}; {cpu}",
                )
            )
        else:
            what = (
                f"{r['devices']:,} devices × 4 pings every {r['period_s']:g} s, open loop "
                f"(offered {r['offered_rps']} req/s)"
            )
            figures += [
                (f"HTTP device load p50{label}", r["p50_ms"], "ms", what),
                (f"HTTP device load p95{label}", r["p95_ms"], "ms", "target <= 100 ms"),
                (f"HTTP device load p99{label}", r["p99_ms"], "ms", f"max {r['max_ms']} ms"),
                (f"HTTP device load achieved{label}", r["rate_rps"], "req/s", f"{errors}; {cpu}"),
            ]
    return figures


def _variants() -> list[tuple[str, dict[str, str]]]:
    """``BENCH_HTTP_AB="NAME=a,b"``: the phases once per value of a server setting, servers
    started in turn on the same world (a before/after in one run); default: one server."""
    spec = os.environ.get("BENCH_HTTP_AB", "")
    if not spec:
        return [("", {})]
    name, _, values = spec.partition("=")
    return [(f" [{name}={value}]", {name: value}) for value in values.split(",")]


def run() -> list[tuple[str, float, str, str]]:
    figures: list[tuple[str, float, str, str]] = []
    with scratch_database() as db_url:
        started = time.perf_counter()
        world = world_build(Size())
        print(
            f"  (http world built in {time.perf_counter() - started:.0f} s, "
            f"{datetime.now(UTC):%H:%M:%S} UTC)",
            flush=True,
        )
        figures.append(
            (
                "import_zones (http world)",
                round(world.import_seconds, 1),
                "s",
                f"{world.imported:,} school features through zones_import "
                f"({world.imported / world.import_seconds:,.0f} features/s)",
            )
        )
        for label, extra_env in _variants():
            results = measure(db_url, world, seconds=SECONDS, echo=True, extra_env=extra_env)
            figures += _figures(results, label)
    return figures
