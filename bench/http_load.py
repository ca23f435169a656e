"""The load generator of ``bench_geofence_http``: a process of its own (no Django), so that
what it spends is not counted as the server's, though on this machine it still competes for
the same two cores (its CPU time is reported with every phase).

``python -m bench.http_load WORLD.json PHASE…`` prints one JSON line per phase. Phases:

- ``gateway:<batch>:<clients>`` — closed loop, maximum throughput: ``clients`` connections each
  posting gateway batches of ``batch`` pings (``batch // 4`` devices × 4 fixes, the devices in
  turn) as fast as the server answers;
- ``devices:<period_s>`` — open loop, the realistic device load: every device posts a batch of
  4 fixes (15 s apart) every ``period_s`` seconds at a fixed phase of its own, so the rate is
  devices / period. Each request has a scheduled send time and its latency is measured from
  that time, not from when a connection was free: queueing in the client or the server shows
  in the figures (no coordinated omission).

Requests go over a small HTTP/1.1 keep-alive client of its own on asyncio streams (a fixed set
of connections, each a coroutine taking the next request from a queue): httpx's connection
pool walks every queued request for every assignment, so once the open loop had a backlog the
generator spent its CPU there and measured itself. httpx is still used for the warm-up.

Any answer other than 202, and any transport error, is an error. A 202 whose body rejects or
calls duplicate some of the pings is counted too (the world is built so that none should).
"""

import asyncio
import json
import resource
import sys
import time
from datetime import UTC, datetime

import httpx
import numpy as np

FIXES_EACH = 4
FIX_SPACING_S = 15.0


class World:
    """What the generator knows of the world: device homes, serials, credentials."""

    def __init__(self, path: str) -> None:
        with open(path) as handle:
            data = json.load(handle)
        self.base = data["base"]
        self.lon = np.asarray(data["lon"])
        self.lat = np.asarray(data["lat"])
        self.count = len(self.lon)
        self.gateway_credential = data["gateway_credential"]
        self.device_credential = data["device_credential"]  # "...{n}" format
        self.serial = data["serial"]
        self.seconds = float(data["seconds"])
        self.grace_s = float(data.get("grace_s") or min(30.0, max(2.0, self.seconds / 2)))
        # Per device: the last seq sent and the newest recorded_at sent (epoch seconds), so
        # that every batch is new and moves each device forward in time.
        # Seqs start at this run's clock in ms: a second run on the same world (BENCH_HTTP_AB)
        # must send new pings, not duplicates of the first's.
        self.seq = np.full(self.count, int(time.time() * 1000), dtype=np.int64)
        self.clock = np.zeros(self.count)
        self.rng = np.random.default_rng(7)

    def fixes(self, n: int, *, with_device: bool) -> list[dict]:
        now = time.time()
        times = [now - FIX_SPACING_S * (FIXES_EACH - 1 - k) for k in range(FIXES_EACH)]
        if times[0] <= self.clock[n]:  # sent again within the period: just after the last one
            times = [self.clock[n] + 0.1 * (k + 1) for k in range(FIXES_EACH)]
        self.clock[n] = times[-1]
        jitter = self.rng.normal(0, 0.0005, (FIXES_EACH, 2))
        items = []
        for k in range(FIXES_EACH):
            self.seq[n] += 1
            item = {
                "device_seq": int(self.seq[n]),
                "recorded_at": datetime.fromtimestamp(times[k], UTC).isoformat(),
                "lat": round(float(self.lat[n] + jitter[k, 1]), 6),
                "lon": round(float(self.lon[n] + jitter[k, 0]), 6),
                "accuracy_m": 12.0,
                "battery": 80,
            }
            if with_device:
                item["device"] = self.serial.format(n=n)
            items.append(item)
        return items


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.errors = 0
        self.pings = 0
        self.bad_pings = 0
        self.answered = 0

    def record(self, latency: float, response: "Answer | None", error: str = "") -> None:
        self.latencies.append(latency)
        if response is None:
            self.errors += 1
            self.statuses[error] = self.statuses.get(error, 0) + 1
            return
        self.answered += 1
        key = str(response.status_code)
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if response.status_code != 202:
            self.errors += 1
            return
        body = response.json()
        self.pings += body["accepted"]
        self.bad_pings += body["rejected"] + body["duplicate"]

    def summary(self, name: str, elapsed: float, cpu: float, **extra) -> dict:
        values = np.asarray(self.latencies) * 1000 if self.latencies else np.zeros(1)
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return {
            "phase": name,
            "requests": len(self.latencies),
            "elapsed_s": round(elapsed, 2),
            "rate_rps": round(self.answered / elapsed, 1) if elapsed else 0.0,  # answered
            "pings_per_s": round(self.pings / elapsed, 1) if elapsed else 0.0,
            "pings": self.pings,
            "bad_pings": self.bad_pings,
            "errors": self.errors,
            "statuses": self.statuses,
            "p50_ms": round(float(p50), 1),
            "p95_ms": round(float(p95), 1),
            "p99_ms": round(float(p99), 1),
            "max_ms": round(float(values.max()), 1),
            "client_cpu_s": round(cpu, 2),
            **extra,
        }


class Connection:
    """One keep-alive HTTP/1.1 connection to the server (Content-Length bodies; uvicorn and
    Django send them)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, credential: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: {credential}\r\n"
            f"Content-Type: application/json\r\nX-Forwarded-Proto: https\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        try:
            self.writer.write(head.encode("ascii") + body)
            status_line = await self.reader.readline()
            if not status_line:
                raise ConnectionError("closed by the server")
            status = int(status_line.split()[1])
            length, close = 0, False
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            payload = await self.reader.readexactly(length) if length else b""
        except Exception:
            self.close()
            raise
        if close:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Answer:
    """What ``Tally.record`` reads of a response."""

    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self._body = body

    def json(self) -> dict:
        return json.loads(self._body)


HEADERS = {
    "Content-Type": "application/json",
    # As the reverse proxy in front sends it (uvicorn --proxy-headers trusts 127.0.0.1): the
    # production settings redirect plain HTTP to HTTPS otherwise.
    "X-Forwarded-Proto": "https",
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _post(client: httpx.AsyncClient, credential: str, items: list[dict]):
    return await client.post(
        "/api/v1/pings/",
        content=json.dumps(items, separators=(",", ":")),
        headers={"Authorization": credential},
    )


def _host_port(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


async def _send(conn: Connection, credential: str, items: list[dict]) -> Answer:
    body = json.dumps(items, separators=(",", ":")).encode()
    status, payload = await conn.post("/api/v1/pings/", credential, body)
    return Answer(status, payload)


async def gateway_phase(world: World, batch: int, clients: int) -> dict:
    """Closed loop: ``clients`` senders, each posting its next batch when the last is answered."""
    per_batch = max(1, batch // FIXES_EACH)
    cursor = 0
    tally = Tally()
    credential = f"Gateway {world.gateway_credential}"
    host, port = _host_port(world.base)

    def next_batch() -> list[dict]:
        nonlocal cursor
        items = []
        for _ in range(per_batch):
            items.extend(world.fixes(cursor, with_device=True))
            cursor = (cursor + 1) % world.count
        return items

    started = time.perf_counter()
    cpu0 = _cpu()
    deadline = started + world.seconds

    async def sender() -> None:
        conn = Connection(host, port)
        while time.perf_counter() < deadline:
            items = next_batch()
            began = time.perf_counter()
            try:
                answer = await _send(conn, credential, items)
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                tally.record(time.perf_counter() - began, None, type(exc).__name__)
                continue
            tally.record(time.perf_counter() - began, answer)
        conn.close()

    await asyncio.gather(*(sender() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return tally.summary(
        f"gateway:{batch}", elapsed, _cpu() - cpu0, batch=batch, clients=clients, mode="closed"
    )


async def devices_phase(world: World, period: float, connections: int = 64) -> dict:
    """Open loop: device n sends at offset_n + k × period; latency from that scheduled time.
    A dispatcher queues each request at its time; ``connections`` senders take them in turn,
    so a slow server shows as queueing time in the latencies, never as fewer requests."""
    offsets = world.rng.uniform(0, period, world.count)
    schedule = sorted(
        (offset + k * period, n)
        for n, offset in enumerate(offsets.tolist())
        for k in range(int((world.seconds - offset) // period) + 1)
        if offset + k * period < world.seconds
    )
    tally = Tally()
    lateness: list[float] = []  # how late the generator itself queued (its own overload)
    host, port = _host_port(world.base)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, int] | None] = asyncio.Queue()
    start = loop.time() + 0.2
    cpu0 = _cpu()

    async def sender() -> None:
        conn = Connection(host, port)
        while (job := await queue.get()) is not None:
            due, n = job
            items = world.fixes(n, with_device=False)
            credential = f"Device {world.device_credential.format(n=n)}"
            try:
                answer = await _send(conn, credential, items)
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                tally.record(loop.time() - due, None, type(exc).__name__)
                continue
            tally.record(loop.time() - due, answer)
        conn.close()

    senders = [asyncio.create_task(sender()) for _ in range(connections)]
    for at, n in schedule:
        due = start + at
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append(loop.time() - due)
        queue.put_nowait((due, n))
    queued_at_end = queue.qsize()
    # An overloaded server would take minutes to drain the backlog: give it a grace, then
    # count what is still queued as unsent errors, each with its wait so far as its latency
    # (a lower bound), so the percentiles cannot look better for having given up.
    grace_end = loop.time() + world.grace_s
    while not queue.empty() and loop.time() < grace_end:
        await asyncio.sleep(0.05)
    unsent = 0
    while not queue.empty():
        job = queue.get_nowait()
        if job is not None:
            tally.record(loop.time() - job[0], None, "unsent")
            unsent += 1
    for _ in senders:
        queue.put_nowait(None)
    await asyncio.gather(*senders)
    elapsed = loop.time() - start
    send_late = np.percentile(np.asarray(lateness) * 1000, 99) if lateness else 0.0
    return tally.summary(
        f"devices:{period:g}",
        elapsed,
        _cpu() - cpu0,
        mode="open",
        devices=world.count,
        period_s=period,
        connections=connections,
        offered_rps=round(world.count / period, 1),
        backlog_at_end=queued_at_end,
        unsent=unsent,
        generator_late_p99_ms=round(float(send_late), 1),
    )


async def warm_up(world: World, *, rounds_needed: int = 3, timeout_s: float = 300) -> dict:
    """Until every worker has built its zone index (seconds at national scale, on its first
    batch): rounds of concurrent one-ping batches on fresh connections (so that both workers
    get some) until three rounds in a row answer quickly."""
    started = time.perf_counter()
    good = rounds = 0
    n = 0
    while good < rounds_needed:
        if time.perf_counter() - started > timeout_s:
            raise SystemExit("the server did not warm up in time")
        rounds += 1
        began = time.perf_counter()
        async with httpx.AsyncClient(base_url=world.base, headers=HEADERS, timeout=300) as client:
            calls = []
            for _ in range(8):
                items = world.fixes(n, with_device=False)[:1]
                credential = f"Device {world.device_credential.format(n=n)}"
                calls.append(_post(client, credential, items))
                n = (n + 1) % world.count
            responses = await asyncio.gather(*calls)
        statuses = {r.status_code for r in responses}
        if statuses != {202}:
            raise SystemExit(f"warm-up answered {sorted(statuses)}: {responses[0].text[:300]}")
        good = good + 1 if time.perf_counter() - began < 1.0 else 0
    return {"phase": "warm-up", "rounds": rounds, "elapsed_s": time.perf_counter() - started}


async def main(world_path: str, phases: list[str]) -> None:
    world = World(world_path)
    print(json.dumps(await warm_up(world)), flush=True)
    for phase in phases:
        kind, *args = phase.split(":")
        if kind == "gateway":
            result = await gateway_phase(world, int(args[0]), int(args[1]))
        elif kind == "devices":
            result = await devices_phase(world, float(args[0]))
        else:
            raise SystemExit(f"unknown phase {phase!r}")
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    # uvloop (pinned, uvicorn's loop too): the generator's own overhead is what competes with
    # the server for the two cores, so keep it small.
    import uvloop

    uvloop.run(main(sys.argv[1], sys.argv[2:]))
