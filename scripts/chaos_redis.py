"""Chaos, scripted and repeatable: stop Redis under open control-room sockets, raise alerts
while it is down, start it again, and check every socket got every event once, in order.

An embedded Valkey (scripts/embedded_redis.py) on its own port carries the channel layer (the
shared Redis is never touched); sockets are channels' WebsocketCommunicator on the real ASGI
application, with a 1-second re-check; the database is a scratch one next to DATABASE_URL's.
Usage: ``DATABASE_URL=… .venv/bin/python scripts/chaos_redis.py [SECONDS_DOWN] [SOCKETS]``
(default 60 s, 20 sockets). Exit status 0 when nothing was lost, duplicated or reordered.
"""

import asyncio
import os
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault("NIGRANI_DEV", "1")
os.environ["NIGRANI_WS_RECHECK_SECONDS"] = "1"

import chaos_push  # noqa: E402
import embedded_redis  # noqa: E402

RAISED_WHILE_DOWN = 10


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _scenario(seconds_down: float, sockets: int, port: int, redis_proc) -> int:
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.test import Client
    from django.utils import timezone

    from backend.asgi import application
    from compliance.models import Severity, ViolationKind
    from compliance.services import violation_raise
    from push.alert_stream import ws_ticket_issue
    from tests.conftest import make_officer
    from tests.factories import OffenderFactory, square

    def world():
        from jurisdictions.models import District, PoliceStation, Province

        province = Province.objects.create(code="chaos", name="Chaos")
        district = District.objects.create(
            province=province, code="chaos", name="Chaos", boundary=square(60, 20, 1)
        )
        station = PoliceStation.objects.create(
            district=district, code="chaos-s", name="S", boundary=square(60, 20, 1),
            location={"type": "Point", "coordinates": [60.5, 20.5]},
        )  # fmt: skip
        officer = make_officer("chaos-cr", "control_room", "police", district=district)
        return OffenderFactory(district=district, station=station), officer

    def ticket(officer) -> str:
        client = Client()
        client.force_login(officer)
        return ws_ticket_issue(officer=officer, session_key=client.session.session_key).ticket

    def raise_one(offender, key: str) -> None:
        violation_raise(
            offender=offender, kind=ViolationKind.MISSED_CHECKIN, severity=Severity.MEDIUM,
            occurred_at=timezone.now(), cause=offender, cause_key=key, summary="chaos",
        )  # fmt: skip

    offender, officer = await sync_to_async(world)()
    communicators = []
    for _ in range(sockets):
        communicator = WebsocketCommunicator(
            application,
            f"/ws/alerts/?ticket={await sync_to_async(ticket)(officer)}",
            headers=[(b"origin", b"http://localhost")],
        )
        connected, _ = await communicator.connect(timeout=30)
        assert connected  # noqa: S101 - a script's precondition
        assert (await communicator.receive_json_from(timeout=30))["type"] == "ready"  # noqa: S101
        communicators.append(communicator)
    raise_async = sync_to_async(raise_one)
    await raise_async(offender, "before")
    print("stopping Redis", flush=True)
    redis_proc.terminate()
    redis_proc.wait()
    for n in range(RAISED_WHILE_DOWN):
        await raise_async(offender, f"down-{n}")
    await asyncio.sleep(seconds_down)
    redis_proc, _ = embedded_redis.start(port=port)
    print(f"Redis back after {seconds_down:.0f} s", flush=True)
    await raise_async(offender, "after")
    expected = list(range(1, RAISED_WHILE_DOWN + 3))  # before, the ones while down, after
    failures = 0
    for index, communicator in enumerate(communicators):
        seqs: list[int] = []
        deadline = time.monotonic() + 30
        while len(seqs) < len(expected) and time.monotonic() < deadline:
            try:
                seqs.append((await communicator.receive_json_from(timeout=5))["seq"])
            except TimeoutError:  # noqa: S112 - nothing yet: keep waiting until the deadline
                continue
        extra = not await communicator.receive_nothing(timeout=1.5)
        if seqs != expected or extra:
            failures += 1
            print(f"socket {index}: got {seqs}{' and more' if extra else ''}", flush=True)
        await communicator.disconnect()
    print(
        f"{sockets} sockets, Redis down {seconds_down:.0f} s, {len(expected)} events each: "
        f"{sockets - failures} complete and in order, {failures} not",
        flush=True,
    )
    return redis_proc, failures


def main(seconds_down: float, sockets: int) -> int:
    url, admin = chaos_push._scratch_database()
    os.environ["DATABASE_URL"] = url
    port = _port()
    redis_proc, redis_url = embedded_redis.start(port=port)
    os.environ["REDIS_URL"] = redis_url
    try:
        import subprocess

        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True
        )
        import django

        django.setup()
        redis_proc, failures = asyncio.run(_scenario(seconds_down, sockets, port, redis_proc))
        return 0 if failures == 0 else 1
    finally:
        redis_proc.terminate()
        redis_proc.wait()
        from django.db import connections

        connections.close_all()
        chaos_push._drop_database(url, admin)


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(float(args[0]) if args else 60.0, int(args[1]) if len(args) > 1 else 20))
