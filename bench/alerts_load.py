"""Ping → ``alert.raised`` on a websocket while other processes ingest pings (issue 13).

``python -m bench.alerts_load`` (run by ``bench/bench_alerts.py``; prints one ``@@result`` JSON
line). Every part is a process of its own with production settings (``NIGRANI_DEV`` unset,
DEBUG off, keys generated for the run), all on a scratch database created next to
DATABASE_URL's (migrated, dropped at the end) and on REDIS_URL's Redis:

- the world of ``bench_geofence_ingest`` (its builders: 150 district polygons of 2,000
  vertices with their inclusion zones, 250,000 school circles through ``zones_import``, 20,000
  offenders with ankle tags on one gateway), plus ``PROBES`` probe offenders with a minor
  victim in one district and one more school there;
- two ``uvicorn backend.asgi:application`` processes (the project's ASGI app, the configured
  channels_redis layer) and the audit sealer, as ``make run`` runs them;
- ``LOADERS`` load processes calling ``pings_ingest`` (the service the API calls) with gateway
  batches of 1,000 (250 offenders × 4 fixes, the ingest bench's shape), paced together at
  ``BENCH_ALERTS_RATE`` pings/s (default 12,500) over disjoint halves of the offenders;
- this process, as a probe tag, POSTs 3 fixes inside the probes' school to ``/api/v1/pings/``
  on the first uvicorn (a device batch, as a tag posts its own fixes: it opens an exclusion
  episode and raises a violation), and as the district's control room holds a websocket (a
  real ticket) on the second uvicorn, so the event can only cross through Redis. A probe is
  timed (one clock, this process's) from just before its request to the ``alert.raised``
  frame naming its offender.

First ``QUIET`` probes with the loaders idle, then the loaders start, ``WARMUP`` s pass (each
offender's first batch creates its track and opens most episodes) and ``LOADED`` probes follow.
The achieved ingest rate is counted from the loaders' batch logs over the loaded probes'
window. Probes run one at a time with a short random gap, so they never queue on each other.
"""

import asyncio
import base64
import contextlib
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RATE = float(os.environ.get("BENCH_ALERTS_RATE", "12500"))
LOADERS = int(os.environ.get("BENCH_ALERTS_LOADERS", "2"))
QUIET = int(os.environ.get("BENCH_ALERTS_QUIET", "40"))
LOADED = int(os.environ.get("BENCH_ALERTS_LOADED", "200"))
WARMUP = float(os.environ.get("BENCH_ALERTS_WARMUP", "12"))
# Development only: fewer schools than the real world's 250,000 (the figure then says so).
SCHOOLS = int(os.environ.get("BENCH_ALERTS_SCHOOLS", "0"))
WARM = 3
PROBES = WARM + QUIET + LOADED
PROBE_FIXES = 3
PREFIX = "bench-geofence-"
TAG = "@@"


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _production_env(directory: Path) -> dict[str, str]:
    """Production settings for every process of the run: no NIGRANI_DEV, DEBUG off."""
    env = {k: v for k, v in os.environ.items() if k not in ("NIGRANI_DEV", "DJANGO_DEBUG")}
    env.update(
        DJANGO_SETTINGS_MODULE="backend.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        NIGRANI_ENCRYPTION_KEYS=f"bench1:{_key()}",
        NIGRANI_BLIND_INDEX_KEY=_key(),
        NIGRANI_AUDIT_SEAL_KEYS=f"bench1:{_key()}",
        NIGRANI_AUDIT_SIGNING_KEY=f"bench1:{_key()}",
        NIGRANI_VAR_DIR=str(directory),
        NIGRANI_AUDIT_CHECKPOINT_PATH=str(directory / "checkpoints.jsonl"),
        PYTHONPATH=str(ROOT),
    )
    return env


def _scratch_database() -> tuple[str, str]:
    """An empty database beside DATABASE_URL's; returns (its URL, the admin URL)."""
    import psycopg

    base = os.environ["DATABASE_URL"]
    name = f"nigrani_bench_alerts_{os.getpid()}"
    head, _, query = base.partition("?")
    suffix = f"?{query}" if query else ""
    admin = head.rsplit("/", 1)[0] + "/postgres" + suffix
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return head.rsplit("/", 1)[0] + f"/{name}" + suffix, admin


def _drop_database(url: str, admin: str) -> None:
    import psycopg

    name = url.partition("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


# --- the world (in this process, committed, before any other process starts) -----------------


def _import_schools_dev(rng, centres, count: int) -> None:
    from bench.bench_geofence_engine import schools
    from geofence.services.importing import zones_import

    features = [
        {
            "type": "Feature",
            "id": f"s{zone.id}",
            "geometry": {"type": "Point", "coordinates": [zone.geometry.lon, zone.geometry.lat]},
            "properties": {"radius_m": zone.geometry.radius_m},
        }
        for zone in schools(rng, centres, count)
    ]
    zones_import(
        features,
        kind="exclusion",
        category=f"{PREFIX}school",
        buffer_m=100.0,
        applies_to="victim_minor",
    )


def _build_world(directory: Path) -> dict:
    import numpy as np
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Officer
    from bench import bench_geofence_ingest as ingest
    from bench.bench_geofence_engine import district_of
    from geofence.models import TrackingDevice
    from geofence.services import partitions
    from geofence.services.credentials import credential_hash
    from geofence.services.districts import district_zones_sync
    from geofence.services.importing import zones_import
    from push.alert_stream import ws_ticket_issue  # noqa: F401 - imported early, used later
    from registry.models import Conviction, Offender

    started = time.perf_counter()
    rng = np.random.default_rng(12)
    district_rows, centres = ingest._world(rng)
    district_zones_sync()
    if SCHOOLS:
        _import_schools_dev(rng, centres, SCHOOLS)
    else:
        ingest._import_schools(rng, centres)
    lon, lat, ids = ingest._offenders(rng, district_rows, centres)
    ingest._devices(ids)
    np.save(directory / "lon.npy", lon)
    np.save(directory / "lat.npy", lat)
    # The probes' school: off city 0's centre, in whichever district that point falls.
    probe_lon, probe_lat = float(centres[0, 0]) + 0.03, float(centres[0, 1]) + 0.03
    district = district_rows[int(district_of(np.array([probe_lon]), np.array([probe_lat]))[0])]
    zones_import(
        [
            {
                "type": "Feature",
                "id": "probe",
                "geometry": {"type": "Point", "coordinates": [probe_lon, probe_lat]},
                "properties": {"radius_m": 150.0},
            }
        ],
        kind="exclusion",
        category=f"{PREFIX}probe",
        buffer_m=0.0,
        applies_to="victim_minor",
    )
    now = timezone.now()
    probes = Offender.objects.bulk_create(
        Offender(
            full_name=f"Probe {n}", father_name="Bench", gender="male", cnic="35202-0000000-1",
            cnic_index=f"{PREFIX}probe-{n}", phone="", risk_tier=3, status="active",
            district=district, created_at=now, updated_at=now,
        )
        for n in range(PROBES)
    )  # fmt: skip
    Conviction.objects.bulk_create(
        Conviction(
            offender=offender, fir_number="1/2020", police_station="Bench", court="Bench",
            case_number="1", conviction_date=now.date() - timedelta(days=2000),
            sentence="Bench", victim_minor=True, sections=["376"],
        )
        for offender in probes
    )  # fmt: skip
    TrackingDevice.objects.bulk_create(
        TrackingDevice(
            offender=offender,
            kind="ankle_tag",
            serial=f"P{n}",
            credential_hash=credential_hash(_probe_credential(n)),
        )
        for n, offender in enumerate(probes)
    )
    watcher = Officer.objects.create_user(
        username="bench-alerts-cr", password=None, full_name="Bench", role="control_room",
        district=district,
    )  # fmt: skip
    client = Client()
    client.force_login(watcher)
    start = now - timedelta(days=2)
    partitions.partitions_ensure([start, start + timedelta(days=1), now])
    return {
        "district": district.pk,
        "probe_offenders": [o.pk for o in probes],
        "probe_point": [probe_lon, probe_lat],
        "watcher": watcher.pk,
        "session_key": client.session.session_key,
        "start": start.isoformat(),
        "build_s": time.perf_counter() - started,
        "offenders": len(ids),
    }


# --- the processes ------------------------------------------------------------------------------


def _probe_credential(n: int) -> str:
    from geofence.services.credentials import DEVICE_PREFIX

    return f"{DEVICE_PREFIX}bench-alerts-probe-{n}"


def _ago(now, seconds: float) -> str:  # noqa: ANN001 - a datetime
    return (now - timedelta(seconds=seconds)).isoformat()


def _say(message: str) -> None:
    print(f"{TAG}{message}", flush=True)


def _stdin_lines():
    for line in sys.stdin:
        yield line.strip()


def loader_main(world_file: str, part: int, parts: int, rate: float) -> None:
    """Gateway batches of 1,000 over this loader's share of the offenders, paced at ``rate``
    pings/s between ``start`` and ``stop`` on stdin; one log line per batch."""
    import django

    django.setup()
    from datetime import datetime

    import numpy as np
    from django.db import OperationalError

    from bench.bench_geofence_ingest import FIXES_EACH, PER_BATCH_OFFENDERS
    from geofence.models import Gateway
    from geofence.services.pings import pings_ingest
    from geofence.zone_index import zone_index_current

    world = json.loads(Path(world_file).read_text())
    directory = Path(world_file).parent
    lon, lat = np.load(directory / "lon.npy"), np.load(directory / "lat.npy")
    gateway = Gateway.objects.get(name=f"{PREFIX}gateway")
    start = datetime.fromisoformat(world["start"])
    zone_index_current()
    mine = np.arange(part, len(lon), parts)
    rng = np.random.default_rng(100 + part)
    seq = np.zeros(len(lon), dtype=np.int64)
    clock = np.zeros(len(lon), dtype=np.int64)
    stop = threading.Event()
    go = threading.Event()

    def listen() -> None:
        for line in _stdin_lines():
            if line == "start":
                go.set()
            elif line == "stop":
                break
        stop.set()
        go.set()

    threading.Thread(target=listen, daemon=True).start()
    _say("ready")
    go.wait()
    interval = PER_BATCH_OFFENDERS * FIXES_EACH / rate
    due = time.monotonic()
    cursor = 0
    while not stop.is_set():
        chosen = mine[cursor : cursor + PER_BATCH_OFFENDERS]
        cursor = (cursor + PER_BATCH_OFFENDERS) % len(mine)
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
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        t0 = time.monotonic()
        deadlocks = 0
        while True:
            try:
                result = pings_ingest(items=items, gateway=gateway)
                break
            except OperationalError as exc:
                # What a gateway does with the 500 (receipts make the retry safe); counted.
                if "deadlock detected" not in str(exc) or deadlocks >= 3:
                    raise
                deadlocks += 1
        t1 = time.monotonic()
        _say(f"b {t0:.6f} {t1:.6f} {result.accepted} {result.opened} {deadlocks}")
        # Paced, never bursting to catch up more than one batch when it fell behind.
        due = max(due + interval, t1 - interval)
    _say("done")


# --- the orchestrator ----------------------------------------------------------------------------


class _Child:
    """A child process speaking the ``@@`` line protocol on stdout (other output goes to its
    log file)."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process):
        self.name, self.proc = name, proc
        self.lines: asyncio.Queue[str] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while line := await self.proc.stdout.readline():
            text = line.decode(errors="replace").rstrip("\n")
            if text.startswith(TAG):
                await self.lines.put(text[len(TAG) :])

    async def expect(self, timeout: float) -> str:
        return await asyncio.wait_for(self.lines.get(), timeout)

    async def send(self, line: str) -> None:
        self.proc.stdin.write(f"{line}\n".encode())
        await self.proc.stdin.drain()


async def _spawn(name: str, args: list[str], env: dict, logs: Path, pipe: bool) -> object:
    log = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE if pipe else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE if pipe else log,
        stderr=log,
        start_new_session=True,
    )
    return _Child(name, proc) if pipe else proc


async def wait_port(port: int, proc, timeout: float) -> None:  # noqa: ANN001
    """Until ``proc`` (an asyncio or a ``subprocess.Popen`` process) listens on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (proc.poll() if isinstance(proc, subprocess.Popen) else proc.returncode) is not None:
            raise RuntimeError(f"uvicorn exited with {proc.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError("uvicorn did not listen in time")


async def _orchestrate(world: dict, world_file: Path, env: dict, logs: Path) -> dict:
    import logging
    from datetime import UTC, datetime

    import httpx
    import websockets
    from asgiref.sync import sync_to_async

    from accounts.models import Officer
    from push.alert_stream import ws_ticket_issue

    logging.getLogger("httpx").setLevel(logging.WARNING)
    py = sys.executable
    ws_port, api_port = _free_port(), _free_port()
    module = [py, "-m", "bench.alerts_load"]

    def uvicorn(port: int) -> list[str]:
        return [py, "-m", "uvicorn", "backend.asgi:application", "--host", "127.0.0.1",
                "--port", str(port), "--no-access-log"]  # fmt: skip

    # Two web processes, as behind a load balancer: the ping lands on one, the control room's
    # socket is held by the other, so the event can only cross through Redis.
    api = await _spawn("uvicorn-api", uvicorn(api_port), env, logs, pipe=False)
    server = await _spawn("uvicorn-ws", uvicorn(ws_port), env, logs, pipe=False)
    sealer = await _spawn("sealer", [py, "manage.py", "audit_sealer"], env, logs, pipe=False)
    loaders = [
        await _spawn(
            f"loader{n}",
            [*module, "loader", str(world_file), str(n), str(LOADERS), str(RATE / LOADERS)],
            env,
            logs,
            pipe=True,
        )  # fmt: skip
        for n in range(LOADERS)
    ]
    children = loaders
    result: dict = {}
    try:
        started = time.perf_counter()
        await wait_port(ws_port, server, 300)
        await wait_port(api_port, api, 300)
        for child in children:
            assert await child.expect(600) == "ready", child.name  # noqa: S101
        result["processes_ready_s"] = time.perf_counter() - started

        def ticket() -> str:
            officer = Officer.objects.get(pk=world["watcher"])
            return ws_ticket_issue(officer=officer, session_key=world["session_key"]).ticket

        raw = await sync_to_async(ticket)()
        received: dict[int, float] = {}
        arrived: dict[int, asyncio.Event] = {}
        counts = {"raised": 0, "other": 0}
        url = f"ws://127.0.0.1:{ws_port}/ws/alerts/?ticket={raw}"
        http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}",
            # Production settings redirect plain HTTP; behind the TLS proxy it says so.
            headers={"X-Forwarded-Proto": "https"},
            timeout=120,
        )
        async with (
            http,
            websockets.connect(url, origin=f"http://127.0.0.1:{ws_port}", ping_interval=None) as ws,
        ):
            while json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] != "ready":
                pass

            async def listen() -> None:
                async for frame in ws:
                    at = time.monotonic()
                    event = json.loads(frame)
                    if event.get("type") != "alert.raised":
                        counts["other"] += 1
                        continue
                    counts["raised"] += 1
                    offender = event["alert"]["offender"]
                    received.setdefault(offender, at)
                    if offender in arrived:
                        arrived[offender].set()

            listener = asyncio.create_task(listen())
            offenders = world["probe_offenders"]
            lon, lat = world["probe_point"]
            next_probe = 0
            jitter = random.Random(3)

            async def run_probes(count: int) -> tuple[list[float], list[float], int]:
                """One probe tag's batch of 3 fixes inside the school, POSTed to the ping API
                as the tag would; timed from before the request to the alert.raised frame."""
                nonlocal next_probe
                latencies, calls, lost = [], [], 0
                for _ in range(count):
                    k = next_probe
                    next_probe += 1
                    offender = offenders[k]
                    arrived[offender] = asyncio.Event()
                    now = datetime.now(UTC)
                    items = [
                        {
                            "device_seq": i + 1,
                            "recorded_at": _ago(now, 5 * (PROBE_FIXES - i)),
                            "lon": lon + jitter.uniform(-2e-4, 2e-4),
                            "lat": lat + jitter.uniform(-2e-4, 2e-4),
                            "accuracy_m": 10.0,
                        }
                        for i in range(PROBE_FIXES)
                    ]
                    t0 = time.monotonic()
                    response = await http.post(
                        "/api/v1/pings/",
                        json=items,
                        headers={"Authorization": f"Device {_probe_credential(k)}"},
                    )
                    t1 = time.monotonic()
                    if response.status_code != 202 or response.json()["accepted"] != PROBE_FIXES:
                        raise RuntimeError(f"probe {k}: {response.status_code} {response.text}")
                    try:
                        await asyncio.wait_for(arrived[offender].wait(), 10)
                    except TimeoutError:
                        lost += 1
                        continue
                    latencies.append((received[offender] - t0) * 1000)
                    calls.append((t1 - t0) * 1000)
                    await asyncio.sleep(jitter.uniform(0.05, 0.25))
                return latencies, calls, lost

            # The API process builds its zone index on its first batch: not a sample.
            await run_probes(WARM)
            quiet, quiet_calls, quiet_lost = await run_probes(QUIET)
            for loader in loaders:
                await loader.send("start")
            await asyncio.sleep(WARMUP)
            window_start = time.monotonic()
            loaded, loaded_calls, loaded_lost = await run_probes(LOADED)
            window_end = time.monotonic()
            for loader in loaders:
                await loader.send("stop")
            batches = []
            for loader in loaders:
                while (line := await loader.expect(120)) != "done":
                    _, t0, t1, accepted, opened, deadlocks = line.split()
                    batches.append(
                        (float(t0), float(t1), int(accepted), int(opened), int(deadlocks))
                    )
            listener.cancel()
        in_window = [b for b in batches if window_start <= b[1] <= window_end]
        seconds = window_end - window_start
        batch_ms = [(b[1] - b[0]) * 1000 for b in in_window]
        result.update(
            quiet=quiet, quiet_calls=quiet_calls, quiet_lost=quiet_lost,
            loaded=loaded, loaded_calls=loaded_calls, loaded_lost=loaded_lost,
            window_s=seconds,
            achieved=sum(b[2] for b in in_window) / seconds if in_window else 0.0,
            opened_in_window=sum(b[3] for b in in_window),
            batches_in_window=len(in_window),
            batch_p50_ms=_percentile(batch_ms, 0.5) if batch_ms else 0.0,
            batch_p99_ms=_percentile(batch_ms, 0.99) if batch_ms else 0.0,
            total_pings=sum(b[2] for b in batches),
            deadlocks=sum(b[4] for b in batches),
            deadlocks_in_window=sum(b[4] for b in in_window),
            events=counts,
        )  # fmt: skip
        return result
    finally:
        for child in children:
            if child.proc.returncode is None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    await child.send("stop")
        for child in children:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child.proc.wait(), 10)
        for proc in [*(c.proc for c in children), api, server, sealer]:
            if proc.returncode is None:
                try:
                    os.killpg(proc.pid, 15)
                    await asyncio.wait_for(proc.wait(), 10)
                except (ProcessLookupError, TimeoutError):
                    os.killpg(proc.pid, 9)
                    await proc.wait()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="nigrani-bench-alerts-") as tmp:
        directory = Path(tmp)
        env = _production_env(directory)
        url, admin = _scratch_database()
        env["DATABASE_URL"] = url
        try:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            migrate_s = time.perf_counter() - started
            os.environ.clear()
            os.environ.update(env)
            import django

            django.setup()
            world = _build_world(directory)
            world_file = directory / "world.json"
            world_file.write_text(json.dumps(world))
            from django.db import connections

            connections.close_all()
            result = asyncio.run(_orchestrate(world, world_file, env, directory))
            result.update(
                migrate_s=migrate_s, build_s=world["build_s"], schools=SCHOOLS or 250_000,
                offenders=world["offenders"], loaders=LOADERS, target=RATE,
            )  # fmt: skip
            _say("result " + json.dumps(result))
            return 0
        except Exception:
            for log in sorted(directory.glob("*.log")):
                tail = log.read_text(errors="replace")[-3000:]
                print(f"--- {log.name} (tail)\n{tail}", file=sys.stderr)
            raise
        finally:
            from django.conf import settings

            if settings.configured:
                from django.db import connections

                connections.close_all()
            _drop_database(url, admin)


if __name__ == "__main__":
    role = sys.argv[1] if len(sys.argv) > 1 else "main"
    if role == "loader":
        loader_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit(main())
