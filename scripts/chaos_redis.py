"""Chaos, scripted and repeatable: stop Redis for a minute under open control-room sockets and
check that the sockets reconnect, backfill everything, and get live events through Redis again.

The pieces are real: the project's ASGI app served by a ``uvicorn backend.asgi:application``
process; an embedded Valkey (scripts/embedded_redis.py) on a port of its own carrying the
channel layer (the shared Redis is never touched); a scratch database next to DATABASE_URL's
(created, migrated and dropped as scripts/chaos_push.py does). This process raises the alerts
(``violation_raise``, as the job worker and the ping API do), so every live event crosses
from this process to uvicorn through Valkey.

Each socket is a ``websockets`` client behaving as the control-room page
(controlroom/static/controlroom/controlroom.js) does: a ticket from ``POST /api/v1/ws-ticket/``
with the web session and its CSRF token; ``&after=<last seq>`` on a reconnect; an event at or
below the last seq is dropped (counted here as a duplicate, which fails the run); ``ready``
moves the last seq to max(last, ready's); an ``ack`` 500 ms after the last event; on any close
or refused attempt a fresh ticket after a backoff of 1 s doubling to 30 s, reset by ``ready``.

While Valkey is down, the pages whose socket stays open must be told: each must get
``degraded`` (the server's layer watch, push/layer_watch.py, probing every
``NIGRANI_WS_LAYER_PROBE_SECONDS``) during the outage and ``live`` after it, and the outage's
events must reach them within ``FAST_BOUND_S`` of their raise (the watch's catch-up from the
database while the layer is down), not at the 60 s periodic catch-up.

The scenario: SOCKETS sockets open; one alert (seq 1); Valkey stopped for SECONDS;
``RAISED_WHILE_DOWN`` alerts raised during the outage, spread over it (each raise timed: it
must not fail without Redis); half the pages lose their socket mid-outage, as when the
network blinks, so reconnects are attempted while Redis is down whatever the server does with
the other half; Valkey started again on the same port; once the server has re-subscribed and
every page is live again, ``RAISED_AFTER`` alerts ``AFTER_SPACING_S`` apart, each of which must
reach every page within ``LIVE_BOUND_S`` on a connection that was already open when it was
raised.

Why that proves the Redis path, not the database catch-up: uvicorn runs with
``NIGRANI_WS_RECHECK_SECONDS`` at its maximum, 60 s, so a connection's periodic catch-up runs
at most once every 60 s (a sleep of 60 s between runs). An event raised at r and received by
the catch-up at t <= r + LIVE_BOUND_S needs one of the connection's catch-up runs inside
[r, r + LIVE_BOUND_S]. The post-recovery events are more than LIVE_BOUND_S apart (no run
serves two) and all fall within a window shorter than 60 s (no connection has two runs in
it), so on each connection at most one of them can have come from the catch-up, and at least
``RAISED_AFTER - 1`` came through Redis (directly, or as a live event revealing a gap). The
connection must be open before the raise, so the connect-time backfill cannot explain it
either; nor can the layer watch's fast catch-up, which runs only while a page has been told
``degraded`` and not yet ``live`` (the run fails if any page is told ``degraded`` after the
post-recovery alerts began). Valkey's own counters (PUBSUB NUMSUB, PUBLISH calls) are printed
beside it.

Usage: ``DATABASE_URL=… .venv/bin/python scripts/chaos_redis.py [SECONDS_DOWN] [SOCKETS]``
(default 60 s, 20 sockets). Exit status 0 only when every page got seqs 1..K exactly once and
in order, every post-recovery event arrived live on every page, every page whose socket stayed
open was told ``degraded`` during the outage and ``live`` after it (and not ``degraded`` again),
and the outage's events reached those pages within FAST_BOUND_S.
"""

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault("NIGRANI_DEV", "1")
# The catch-up's period at its maximum (settings refuse more than 60 s): see the docstring.
CATCH_UP_S = 60.0
os.environ["NIGRANI_WS_RECHECK_SECONDS"] = str(CATCH_UP_S)
# The layer watch's probe at its default: the fast catch-up while Redis is down.
PROBE_S = 2.0
os.environ["NIGRANI_WS_LAYER_PROBE_SECONDS"] = str(PROBE_S)

import chaos_push  # noqa: E402
import embedded_redis  # noqa: E402

from bench import alerts_load  # noqa: E402

RAISED_WHILE_DOWN = 10
RAISED_AFTER = 3
LIVE_BOUND_S = 1.0
AFTER_SPACING_S = 2.5
# An outage event reaches a page whose socket stayed open within this: noticed at the next
# probe (interval + its timeout), then a catch-up every interval; a margin for the database.
FAST_BOUND_S = 3 * PROBE_S
# The page's reconnect backoff (controlroom.js: 1 s, doubling, at most 30 s, reset by ready).
BACKOFF_FIRST_S, BACKOFF_MAX_S = 1.0, 30.0
ACK_AFTER_S = 0.5
DISTRICT = "chaos"

# The argument of the docstring holds only while these do.
assert LIVE_BOUND_S < AFTER_SPACING_S  # noqa: S101
assert (RAISED_AFTER - 1) * AFTER_SPACING_S + LIVE_BOUND_S < CATCH_UP_S  # noqa: S101


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Page:
    """One control-room page's socket, with what it saw."""

    index: int
    last_seq: int | None = None
    accepted: list[int] = field(default_factory=list)
    # seq → (monotonic time it arrived, number of the connection it arrived on)
    arrivals: dict[int, tuple[float, int]] = field(default_factory=dict)
    duplicates: int = 0
    gaps: int = 0
    jumps: int = 0  # a ready whose seq skipped past the last one seen (events never shown)
    resyncs: int = 0
    errors: int = 0
    # When each socket that reached ready got there; reconnects are the ones after the first.
    ready_times: list[float] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # attempts that never reached ready
    closes: list[tuple[float, str]] = field(default_factory=list)  # (when, who and the code)
    # The server's word on its live feed: (when, "degraded" or "live", connection number).
    feed: list[tuple[float, str, int]] = field(default_factory=list)
    ready_at: float | None = None  # when the current connection got ready; None while down
    ws: object | None = None
    dropping: bool = False
    stopping: bool = False
    ack_task: asyncio.Task | None = None

    @property
    def connections(self) -> int:
        return len(self.ready_times)

    @property
    def reconnects(self) -> int:
        return max(0, self.connections - 1)

    def on_message(self, data: dict, ws) -> None:  # noqa: ANN001 - a websockets connection
        now = time.monotonic()
        kind = data.get("type", "")
        if kind == "ready":
            seq = data.get("seq") or 0
            if self.last_seq is not None and seq > self.last_seq:
                self.jumps += 1
            self.last_seq = max(self.last_seq or 0, seq)
            self.ready_times.append(now)
            self.ready_at = now
            return
        if kind == "resync":
            self.resyncs += 1
            self.last_seq = data.get("seq") or 0
            return
        if kind == "error":
            self.errors += 1
            return
        if kind in ("degraded", "live"):
            self.feed.append((now, kind, self.connections))
            return
        if not kind.startswith("alert."):
            return
        if self.last_seq is None:
            return  # the backlog before the first ready: the page's list holds it
        seq = data["seq"]
        if seq <= self.last_seq:
            self.duplicates += 1  # the page drops it; a contract breach all the same
            return
        if seq != self.last_seq + 1:
            self.gaps += 1
        self.last_seq = seq
        self.accepted.append(seq)
        self.arrivals[seq] = (now, self.connections)
        if self.ack_task is not None:
            self.ack_task.cancel()
        self.ack_task = asyncio.create_task(self._ack_later(ws))

    async def _ack_later(self, ws) -> None:  # noqa: ANN001
        await asyncio.sleep(ACK_AFTER_S)
        with contextlib.suppress(Exception):
            await ws.send(json.dumps({"type": "ack", "seq": self.last_seq}))

    async def run(self, http, port: int) -> None:  # noqa: ANN001 - an httpx.AsyncClient
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidStatus

        delay = BACKOFF_FIRST_S
        while not self.stopping:
            reached_ready = self.connections
            try:
                response = await http.post(
                    "/api/v1/ws-ticket/",
                    json={"district": DISTRICT},
                    headers={"X-Nigrani-Background": "1"},
                )
                if response.status_code != 201:
                    raise RuntimeError(f"ticket {response.status_code}")
                url = f"ws://127.0.0.1:{port}{response.json()['url']}"
                if self.last_seq is not None:
                    url += f"&after={self.last_seq}"
                async with connect(
                    url, origin=f"http://127.0.0.1:{port}", proxy=None, open_timeout=15
                ) as ws:
                    self.ws = ws
                    try:
                        async for frame in ws:
                            self.on_message(json.loads(frame), ws)
                            if self.connections > reached_ready:
                                delay = BACKOFF_FIRST_S
                    except ConnectionClosed:
                        pass
                    who = "stop" if self.stopping else "client" if self.dropping else "server"
                    self.closes.append((time.monotonic(), f"{who} {ws.close_code}"))
            except InvalidStatus as exc:
                self.refused.append(f"handshake {exc.response.status_code}")
            except Exception as exc:  # noqa: BLE001 - what the page's onclose sees: retry
                self.refused.append(f"{type(exc).__name__}: {exc}"[:120])
            finally:
                self.ws, self.ready_at, self.dropping = None, None, False
            if self.stopping:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_S)

    async def drop(self) -> None:
        """The network blinked: this page's socket goes; its reconnect logic takes over."""
        if self.ws is not None:
            self.dropping = True
            with contextlib.suppress(Exception):
                await self.ws.close(code=1001)


async def _wait_for(predicate, timeout: float, step: float = 0.05) -> float | None:  # noqa: ANN001
    """Seconds until ``predicate()`` held, or None after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            return None
        await asyncio.sleep(step)
    return time.monotonic() - started


def _subscribers(redis_url: str, channel: str) -> int:
    """Valkey's count of subscriptions to ``channel`` (uvicorn's layer holds one a group)."""
    import redis

    with redis.Redis.from_url(redis_url, socket_timeout=2) as client:
        return int(dict(client.pubsub_numsub(channel)).get(channel.encode(), 0))


def _publish_calls(redis_url: str) -> int:
    import redis

    with redis.Redis.from_url(redis_url, socket_timeout=2) as client:
        stats = client.info("commandstats")
    return int(stats.get("cmdstat_publish", {}).get("calls", 0))


async def _scenario(  # noqa: C901, PLR0912, PLR0915 - one scenario, told in order
    seconds_down: float, sockets: int, valkey: dict, redis_url: str, logs: Path
) -> int:
    """The scenario; ``valkey["proc"]`` is the running Valkey (replaced when restarted)."""
    import logging

    import httpx
    from asgiref.sync import sync_to_async
    from django.test import Client
    from django.utils import timezone

    from compliance.models import Severity, ViolationKind
    from compliance.services import violation_raise
    from push.alert_stream import district_group
    from tests.conftest import make_officer
    from tests.factories import OffenderFactory, square

    def world():
        from jurisdictions.models import District, PoliceStation, Province

        province = Province.objects.create(code="chaos", name="Chaos")
        district = District.objects.create(
            province=province, code=DISTRICT, name="Chaos", boundary=square(60, 20, 1)
        )
        station = PoliceStation.objects.create(
            district=district, code="chaos-s", name="S", boundary=square(60, 20, 1),
            location={"type": "Point", "coordinates": [60.5, 20.5]},
        )  # fmt: skip
        officer = make_officer("chaos-cr", "control_room", "police", district=district)
        client = Client()
        client.force_login(officer)  # one browser signed in; every page is a tab of it
        offender = OffenderFactory(district=district, station=station)
        return offender, district.pk, client.session.session_key

    def raise_one(offender, key: str) -> None:  # noqa: ANN001
        violation_raise(
            offender=offender, kind=ViolationKind.MISSED_CHECKIN, severity=Severity.MEDIUM,
            occurred_at=timezone.now(), cause=offender, cause_key=key, summary="chaos",
        )  # fmt: skip

    raise_async = sync_to_async(raise_one)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    async def timed_raise(key: str) -> tuple[float, float]:
        """(monotonic time just before the raise, how long it took)."""
        started = time.monotonic()
        await raise_async(offender, key)
        return started, time.monotonic() - started

    offender, district_id, session_key = await sync_to_async(world)()
    group_channel = f"asgi__group__{district_group(district_id)}"
    web_port = _port()
    log = open(logs / "uvicorn.log", "wb")  # noqa: SIM115 - closed with the process
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.asgi:application", "--host", "127.0.0.1",
         "--port", str(web_port), "--no-access-log"],
        cwd=ROOT, env=dict(os.environ), stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    pages = [Page(index) for index in range(sockets)]
    tasks: list[asyncio.Task] = []
    http = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{web_port}", trust_env=False, timeout=30,
        cookies={"sessionid": session_key},
    )  # fmt: skip
    try:
        await alerts_load.wait_port(web_port, server, 120)
        page = await http.get("/control-room/")
        match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        if page.status_code != 200 or match is None:
            raise RuntimeError(f"control-room page: {page.status_code}")
        # What the page's fetch sends on a POST (same origin, the token from its meta tag).
        http.headers.update({"X-CSRFToken": match[1], "Origin": f"http://127.0.0.1:{web_port}"})
        tasks = [asyncio.create_task(p.run(http, web_port)) for p in pages]

        def all_live() -> bool:
            return all(p.ready_at is not None for p in pages)

        if await _wait_for(all_live, 60) is None:
            raise RuntimeError(f"pages not live: {[p.refused[-3:] for p in pages][:3]}")

        before_at, _ = await timed_raise("before")
        await _wait_for(lambda: all(1 in p.arrivals for p in pages), 10)
        before_max = max(
            (p.arrivals[1][0] - before_at for p in pages if 1 in p.arrivals), default=0
        )

        print(f"stopping Valkey under {sockets} open sockets", flush=True)
        valkey["proc"].terminate()
        valkey["proc"].wait()
        down_at = time.monotonic()
        raise_seconds: list[float] = []
        raise_failures: list[str] = []
        raise_times: dict[int, float] = {}
        spread = seconds_down * 0.8 / RAISED_WHILE_DOWN
        dropped = False
        for n in range(RAISED_WHILE_DOWN):
            due = down_at + n * spread
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if not dropped and time.monotonic() - down_at >= seconds_down / 2:
                dropped = True
                await asyncio.gather(*(p.drop() for p in pages if p.index % 2))
            try:
                started, took = await timed_raise(f"down-{n}")
                raise_seconds.append(took)
                raise_times[2 + n] = started
            except Exception as exc:  # noqa: BLE001 - reported: the raise must not fail
                raise_failures.append(f"{type(exc).__name__}: {exc}"[:160])
        if not dropped:
            await asyncio.sleep(max(0.0, down_at + seconds_down / 2 - time.monotonic()))
            await asyncio.gather(*(p.drop() for p in pages if p.index % 2))
        await asyncio.sleep(max(0.0, down_at + seconds_down - time.monotonic()))
        closed_by_server_while_down = sum(
            1 for p in pages for at, who in p.closes if at >= down_at and who.startswith("server")
        )
        refused_while_down = sum(len(p.refused) for p in pages)
        live_while_down = sum(1 for p in pages if p.ready_at is not None)
        # Outage events delivered before Valkey came back: only the database catch-up can.
        got_while_down = [sum(1 for seq in p.arrivals if seq >= 2) for p in pages]
        refused_reasons = Counter(reason for p in pages for reason in p.refused)

        valkey["proc"], _ = embedded_redis.start(port=valkey["port"])
        up_at = time.monotonic()
        outage = up_at - down_at
        print(f"Valkey back after {outage:.1f} s", flush=True)

        def subscribed() -> bool:
            try:
                return _subscribers(redis_url, group_channel) >= 1
            except Exception:  # noqa: BLE001 - not answering yet
                return False

        resubscribed_s = await _wait_for(subscribed, 60, step=0.1)
        # Past the page's longest backoff: a page refused while Valkey was down is back by then.
        all_live_s = await _wait_for(all_live, BACKOFF_MAX_S + 30)
        if all_live_s is not None:
            all_live_s = time.monotonic() - up_at
        publish_before = await sync_to_async(_publish_calls)(redis_url)

        after_seqs = list(range(RAISED_WHILE_DOWN + 2, RAISED_WHILE_DOWN + 2 + RAISED_AFTER))
        after_raised: dict[int, float] = {}
        for n, seq in enumerate(after_seqs):
            if n:
                await asyncio.sleep(AFTER_SPACING_S)
            after_raised[seq], _ = await timed_raise(f"after-{n}")
        total = after_seqs[-1]
        await _wait_for(lambda: all(total in p.arrivals for p in pages), 10)
        await asyncio.sleep(2)  # room for a late duplicate to show itself
        publish_after = await sync_to_async(_publish_calls)(redis_url)
        numsub = _subscribers(redis_url, group_channel)
    finally:
        for p in pages:
            p.stopping = True
        await asyncio.gather(*(p.drop() for p in pages))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await http.aclose()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()

    # --- the verdict ------------------------------------------------------------------------
    expected = list(range(1, total + 1))
    complete = 0
    live_pages = 0
    live_latencies: list[float] = []
    for p in pages:
        ok = p.accepted == expected and not (
            p.duplicates or p.gaps or p.jumps or p.resyncs or p.errors
        )
        complete += ok
        live = True
        for seq, raised_at in after_raised.items():
            arrival = p.arrivals.get(seq)
            if arrival is None:
                live = False
                continue
            at, connection = arrival
            latency = at - raised_at
            live_latencies.append(latency)
            # Within the bound, on a connection that was ready before the raise (so not from
            # the backfill of its connect).
            opened_before = p.ready_times[connection - 1] < raised_at
            live = live and latency <= LIVE_BOUND_S and opened_before
        live_pages += live
        if not ok or not live:
            print(
                f"page {p.index}: got {p.accepted}, {p.duplicates} duplicates, {p.gaps} gaps, "
                f"{p.jumps} jumps, {p.resyncs} resyncs, {p.errors} errors, "
                f"{'live' if live else 'NOT live'} after recovery, closes {p.closes}, "
                f"refused {p.refused[-3:]}",
                flush=True,
            )
    log_text = (logs / "uvicorn.log").read_text(errors="replace")
    receive_errors = log_text.count("Unexpected exception in receive task")
    tracebacks = log_text.count("Traceback (most recent call last)")
    reconnects = sum(p.reconnects for p in pages)
    refused = sum(len(p.refused) for p in pages)
    server_closes = sum(1 for p in pages for _, who in p.closes if who.startswith("server"))
    client_drops = sum(1 for p in pages for _, who in p.closes if who.startswith("client"))
    # How late the outage's events reached the pages whose socket stayed open throughout.
    kept = [p for p in pages if p.connections == 1]
    kept_delays = [
        p.arrivals[seq][0] - raised_at
        for p in kept
        for seq, raised_at in raise_times.items()
        if seq in p.arrivals
    ]
    kept_before_up = sum(
        1 for p in kept for seq in raise_times if seq in p.arrivals and p.arrivals[seq][0] < up_at
    )
    fmt = lambda value: "never" if value is None else f"{value:.1f} s"  # noqa: E731
    # Told, exactly: degraded while Valkey was down, then live after it came back, nothing else.
    told = 0
    degraded_after: list[float] = []
    live_after: list[float] = []
    # The fast catch-up runs only while the watch sees the layer down, and says so: no page may
    # have been told degraded once the post-recovery alerts began (the Redis path's argument).
    first_after = min(after_raised.values())
    flapped = sum(
        any(at >= first_after and kind == "degraded" for at, kind, _ in p.feed) for p in pages
    )
    for p in kept:
        kinds = [kind for _, kind, _ in p.feed]
        if kinds != ["degraded", "live"]:
            print(f"page {p.index} (socket kept): told {p.feed}", flush=True)
            continue
        (degraded_at, _, _), (live_at, _, _) = p.feed
        if down_at <= degraded_at < up_at <= live_at:
            told += 1
            degraded_after.append(degraded_at - down_at)
            live_after.append(live_at - up_at)
    print(
        f"raise while Valkey down: {len(raise_seconds)} ok, {len(raise_failures)} failed, "
        f"slowest {max(raise_seconds, default=0):.2f} s {raise_failures[:2]}\n"
        f"while down: {closed_by_server_while_down} sockets closed by the server, "
        f"{refused_while_down} reconnect attempts refused {dict(refused_reasons)}, "
        f"{live_while_down}/{sockets} pages live at the end; outage events delivered before "
        f"Valkey returned (catch-up): min {min(got_while_down)}, max {max(got_while_down)} of "
        f"{RAISED_WHILE_DOWN} a page\n"
        f"pages whose socket stayed open ({len(kept)}): {kept_before_up} of "
        f"{len(kept) * RAISED_WHILE_DOWN} outage events arrived before Valkey returned; all "
        f"{len(kept_delays)} that arrived, up to {max(kept_delays, default=0):.1f} s after "
        f"their raise\n"
        f"after Valkey returned: uvicorn re-subscribed in {fmt(resubscribed_s)}, every page "
        f"live in {fmt(all_live_s)}; Valkey PUBSUB NUMSUB of the district group {numsub}, "
        f"PUBLISH calls while the post-recovery alerts were raised "
        f"{publish_after - publish_before} (theirs and the layer watch's probes)\n"
        f"uvicorn log: {receive_errors} channel-layer receive errors, {tracebacks} tracebacks "
        f"({logs / 'uvicorn.log'})\n"
        f"{sockets} sockets, Valkey down {outage:.0f} s, reconnects {reconnects} "
        f"({client_drops} client drops, {server_closes} server closes, {refused} attempts "
        f"refused), {total} events each: {complete} complete and in order, "
        f"{sockets - complete} not; pre-outage live latency max {before_max * 1000:.0f} ms\n"
        f"post-recovery live: {live_pages}/{sockets} pages got all {RAISED_AFTER} within "
        f"{LIVE_BOUND_S:.1f} s (catch-up period {CATCH_UP_S:.0f} s), latency max "
        f"{max(live_latencies, default=float('nan')) * 1000:.0f} ms\n"
        f"told: {told}/{len(kept)} pages whose socket stayed open got degraded during the "
        f"outage ({fmt(min(degraded_after, default=None))} to "
        f"{fmt(max(degraded_after, default=None))} after Valkey stopped) and live after it (within "
        f"{fmt(max(live_after, default=None))} of Valkey's return); "
        f"{flapped} pages told degraded after the post-recovery alerts began\n"
        f"outage events on pages whose socket stayed open: max delay "
        f"{max(kept_delays, default=float('nan')):.1f} s (bound {FAST_BOUND_S:.1f} s, probe "
        f"{PROBE_S:.1f} s; 59.9 s before the layer watch)",
        flush=True,
    )
    failed = (
        complete != sockets
        or live_pages != sockets
        or bool(raise_failures)
        or not kept
        or flapped
        or told != len(kept)
        or len(kept_delays) != len(kept) * RAISED_WHILE_DOWN
        or max(kept_delays, default=0) > FAST_BOUND_S
    )
    return int(failed)


def main(seconds_down: float, sockets: int) -> int:
    url, admin = chaos_push._scratch_database()
    os.environ["DATABASE_URL"] = url
    valkey_port = _port()
    proc, redis_url = embedded_redis.start(port=valkey_port)
    valkey = {"proc": proc, "port": valkey_port}
    os.environ["REDIS_URL"] = redis_url
    logs = Path(tempfile.mkdtemp(prefix="nigrani-chaos-redis-"))
    failed = 1
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True
        )
        import django

        django.setup()
        failed = asyncio.run(_scenario(seconds_down, sockets, valkey, redis_url, logs))
        return failed
    finally:
        if failed and (logs / "uvicorn.log").exists():
            tail = (logs / "uvicorn.log").read_text(errors="replace")[-4000:]
            print(f"--- uvicorn log (tail), all of it in {logs}\n{tail}", file=sys.stderr)
        valkey["proc"].terminate()
        valkey["proc"].wait()
        from django.db import connections

        connections.close_all()
        chaos_push._drop_database(url, admin)


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(float(args[0]) if args else 60.0, int(args[1]) if len(args) > 1 else 20))
