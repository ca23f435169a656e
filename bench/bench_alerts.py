"""Alert figures: ping → ``alert.raised`` on a websocket through Redis while other processes
ingest pings (``bench/alerts_load.py``: uvicorn, production settings, a scratch database),
violation raised → ``alert.raised`` in process, fan-out to 200 concurrent control-room
sockets, alert → FCM request at a local fake FCM server, FCM throughput from one worker, and
the set-based escalation sweep.

Everything runs against the real services: the ASGI application in process with channels'
WebsocketCommunicator on the configured Redis (REDIS_URL, else make run's embedded Valkey is
started for the run), PostgreSQL, firebase-admin against tests/push/fake_fcm.py. Its rows live
in a district of its own and are deleted at the end (audit events stay: the trail is
append-only).

The FCM figures go through the whole chain as deployed: a critical raise commits step 1's
push rows and a ``push.deliver_pushes`` job (beside ``compliance.deliver_violation_alert``);
a separate ``procrastinate worker`` process, started for the run like make run's (on the
alerts and push queues only) with the FCM backend pointed at the fake (its settings by
environment variables), picks the job up and sends through firebase-admin. Latency is from
just before the raise's commit to the fake's receipt of the request carrying that alert's id
at step 1; throughput is 2,000 pushes committed at once until the fake has them all. The fake
runs in the bench process, so both ends read one monotonic clock.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from processes import stop as stop_processes  # noqa: E402 - scripts/, beside the bench

RAISES = 200
SOCKETS = 200
FAN_OUTS = 20
FCM_LATENCY = 200
FCM_THROUGHPUT = 2000
SWEEP_ALERTS = 3_000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _ensure_redis() -> object | None:
    if settings.REDIS_URL:
        return None
    sys.path.insert(0, str(Path(settings.BASE_DIR) / "scripts"))
    import embedded_redis

    proc, url = embedded_redis.start()
    settings.REDIS_URL = url
    return proc


def _layer_settings() -> None:
    from channels.layers import channel_layers

    backend = {
        "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "core": "channels_redis.core.RedisChannelLayer",
    }[settings.NIGRANI_CHANNEL_LAYER]
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": backend, "CONFIG": {"hosts": [settings.REDIS_URL]}}
    }
    channel_layers.backends.clear()


def _world():
    from accounts.models import Officer
    from jurisdictions.models import Beat, District, PoliceStation, Province
    from tests.factories import OffenderFactory, square

    tag = uuid.uuid4().hex[:6]
    province, _ = Province.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    district = District.objects.create(
        province=province, code=f"bench-alerts-{tag}", name="Bench", boundary=square(60, 20, 1)
    )
    station = PoliceStation.objects.create(
        district=district,
        code=f"bench-alerts-{tag}-s",
        name="Bench S",
        boundary=square(60, 20, 1),
        location={"type": "Point", "coordinates": [60.5, 20.5]},
    )
    beat = Beat.objects.create(
        station=station, code=f"bench-alerts-{tag}-b", name="Bench B", boundary=square(60, 20, 1)
    )
    watcher = Officer.objects.create_user(
        username=f"bench-cr-{tag}", password=None, full_name="Bench", role="control_room",
        district=district,
    )  # fmt: skip
    beat_officer = Officer.objects.create_user(
        username=f"bench-beat-{tag}", password=None, full_name="Bench", role="beat_officer",
        district=district, station=station, beat=beat,
    )  # fmt: skip
    offender = OffenderFactory(district=district, station=station, beat=beat)
    return district, station, beat, watcher, beat_officer, offender


def _ticket(officer) -> str:
    from push.alert_stream import ws_ticket_issue

    client = Client()
    client.force_login(officer)
    return ws_ticket_issue(officer=officer, session_key=client.session.session_key).ticket


def _raise(offender, key: str):
    from compliance.models import Severity, ViolationKind
    from compliance.services import violation_raise

    with transaction.atomic():
        return violation_raise(
            offender=offender,
            kind=ViolationKind.ABSCONDING_SUSPECTED,
            severity=Severity.CRITICAL,
            occurred_at=timezone.now(),
            cause=offender,
            cause_key=key,
            summary="bench",
        )[0]


def _close(violation_id: int, actor) -> None:
    from compliance.services import violation_dismiss

    violation_dismiss(actor=actor, violation_id=violation_id, reason="bench")


async def _open(ticket: str):
    from channels.testing import WebsocketCommunicator

    from backend.asgi import application

    communicator = WebsocketCommunicator(
        application, f"/ws/alerts/?ticket={ticket}", headers=[(b"origin", b"http://localhost")]
    )
    connected, _ = await communicator.connect(timeout=30)
    assert connected
    while (await communicator.receive_json_from(timeout=30))["type"] != "ready":
        pass
    return communicator


async def _ws_figures(offender, watcher) -> list[tuple]:
    ticket_async = sync_to_async(_ticket)
    raise_async = sync_to_async(_raise)
    close_async = sync_to_async(_close)
    one = await _open(await ticket_async(watcher))
    latencies = []
    for n in range(RAISES):
        started = time.perf_counter()
        violation = await raise_async(offender, f"ws-{n}")
        while True:
            event = await one.receive_json_from(timeout=30)
            if event["type"] == "alert.raised":
                break
        latencies.append((time.perf_counter() - started) * 1000)
        await close_async(violation.pk, watcher)
        await one.receive_json_from(timeout=30)  # its alert.closed
    # Each ticket just before its socket: a ticket lives NIGRANI_WS_TICKET_SECONDS (30 s).
    others = [await _open(await ticket_async(watcher)) for _ in range(SOCKETS - 1)]
    sockets = [one, *others]
    fan_out = []
    for n in range(FAN_OUTS):
        started = time.perf_counter()
        violation = await raise_async(offender, f"fan-{n}")

        async def until_raised(communicator):
            while (await communicator.receive_json_from(timeout=60))["type"] != "alert.raised":
                pass

        await asyncio.gather(*(until_raised(c) for c in sockets))
        fan_out.append((time.perf_counter() - started) * 1000)
        await close_async(violation.pk, watcher)
        await asyncio.gather(*(c.receive_json_from(timeout=60) for c in sockets))
    for communicator in sockets:
        await communicator.disconnect()
    return [
        ("raise → alert.raised p50", round(statistics.median(latencies), 1), "ms",
         f"{RAISES} raises, commit → websocket client, {settings.NIGRANI_CHANNEL_LAYER} layer"),
        ("raise → alert.raised p99", round(_percentile(latencies, 0.99), 1), "ms",
         "same, in process (WebsocketCommunicator), no ping load"),
        ("fan-out to 200 sockets p50", round(statistics.median(fan_out), 1), "ms",
         f"{SOCKETS} sockets held in one process, raise → all received, {FAN_OUTS} runs"),
        ("fan-out to 200 sockets max", round(max(fan_out), 1), "ms", "same"),
    ]  # fmt: skip


# make run's job worker (scripts/run.py, the default concurrency of one job at a time) on the
# queues the alert → push chain runs on: the raise's deliver_violation_alert, the SMS
# fallbacks and the escalation sweep ("alerts"), push delivery and its sweep ("push"). Not the
# others: on the bench's database (another checkout's, perhaps) the maintenance queue would
# seal the audit trail with this checkout's development key.
WORKER_QUEUES = ("alerts", "push")
WORKER_CMD = [
    sys.executable, "manage.py", "procrastinate", "worker", "--queues", ",".join(WORKER_QUEUES)
]  # fmt: skip
WORKER_DRAIN_SECONDS = 120
SEND_TIMEOUT_SECONDS = 30


@contextmanager
def _fcm_worker(fake, directory: Path) -> Iterator[subprocess.Popen]:
    """A real job worker process, started as make run starts it (on ``WORKER_QUEUES``), with
    the FCM backend pointed at the fake by its environment (as scripts/chaos_push.py starts
    its worker); stopped on the way out (SIGTERM to its process group, SIGKILL after 15 s),
    its log printed if the bench failed."""
    env = dict(
        os.environ,
        REDIS_URL=settings.REDIS_URL,
        DATABASE_URL=_database_url(),
        NIGRANI_PUSH_BACKEND="fcm",
        NIGRANI_FCM_CREDENTIALS_FILE=str(fake.service_account_file(directory)),
        NIGRANI_FCM_ENDPOINT=fake.url,
    )
    log_path = directory / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            WORKER_CMD, cwd=settings.BASE_DIR, env=env, start_new_session=True,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield worker
    except BaseException:
        sys.stderr.write(f"job worker log:\n{log_path.read_text()[-6000:]}\n")
        raise
    finally:
        stop_processes([worker], timeout=15)


def _until(condition, *, worker: subprocess.Popen, timeout: float, what: str):
    """Poll ``condition()`` until it returns something truthy (returned)."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if worker.poll() is not None:
            raise RuntimeError(f"the job worker exited ({worker.returncode}) waiting for {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {what} after {timeout:.0f} s")
        time.sleep(0.002)


def _drain(*, worker: subprocess.Popen) -> None:
    """Wait until the worker has run every job already due (later ones, such as the SMS
    fallbacks a minute after each critical raise, are left to ``_cleanup``)."""

    def drained() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT NOT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE status = 'todo'"
                " AND queue_name = ANY(%s) AND (scheduled_at IS NULL OR scheduled_at <= now()))",
                [list(WORKER_QUEUES)],
            )
            return cursor.fetchone()[0]

    _until(drained, worker=worker, timeout=WORKER_DRAIN_SECONDS, what="drained job queue")


def _last_job_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
        return cursor.fetchone()[0]


def _alert_push(fake, *, worker: subprocess.Popen, start: int, violation_id: int) -> dict:
    """The fake's record of the request carrying step 1's push of this alert (not another
    alert's, not an escalation's: the SMS fallback never reaches the fake at all)."""
    wanted = ("alert", str(violation_id), "1")

    def found() -> dict | None:
        for send in fake.sends[start:]:
            data = send["message"]["data"]
            if (data.get("type"), data.get("alert_id"), data.get("level")) == wanted:
                return send
        return None

    return _until(found, worker=worker, timeout=SEND_TIMEOUT_SECONDS, what=f"push of {wanted}")


def _all_sent(pushes, *, worker: subprocess.Popen) -> None:
    from push.models import PushStatus

    _until(
        lambda: not pushes.exclude(status=PushStatus.SENT).exists(),
        worker=worker,
        timeout=SEND_TIMEOUT_SECONDS,
        what="pushes recorded sent",
    )


_WORKER_JOBS_SQL = """
DELETE FROM {table} WHERE {column} IN (
       SELECT id FROM procrastinate_jobs
        WHERE id >= %(first)s AND status <> 'doing'
          AND (task_name = 'push.deliver_pushes'
               OR (task_name = ANY(%(periodic)s) AND args ? 'timestamp')))
"""


def _worker_jobs_delete(*, first_job_id: int) -> None:
    """The jobs of the run's worker: the delivery jobs deferred meanwhile (run, or after a
    failure never to be run: the pushes they were for are gone) and the periodic ones its
    deferrer added (those of other queues still to do: it does not serve them), with their
    periodic bookkeeping. The alerts' own jobs go in ``_cleanup``."""
    from procrastinate.contrib.django import app

    periodic = sorted({p.task.name for p in app.periodic_registry.periodic_tasks.values()})
    params = {"first": first_job_id, "periodic": periodic}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _WORKER_JOBS_SQL.format(table="procrastinate_periodic_defers", column="job_id"), params
        )
        cursor.execute(_WORKER_JOBS_SQL.format(table="procrastinate_jobs", column="id"), params)


def _fcm_figures(watcher, beat_officer, offender) -> list[tuple]:
    """Through the real chain: the raise's transaction writes step 1's push rows and defers
    ``push.deliver_pushes`` (and ``compliance.deliver_violation_alert``); the job worker
    process picks the job up (LISTEN/NOTIFY) and sends through firebase-admin to the fake."""
    from accounts.models import DeviceToken
    from accounts.services import device_push_token_set, device_token_issue
    from push.models import PushMessage
    from push.pushes import push_enqueue_many
    from tests.push.fake_fcm import start_fake_fcm, stop_fake_fcm

    fake = start_fake_fcm()
    saved_backend = settings.NIGRANI_PUSH_BACKEND
    mine = PushMessage.objects.filter(officer=beat_officer)
    first_job_id = _last_job_id() + 1
    try:
        settings.NIGRANI_PUSH_BACKEND = "fcm"  # the worker's; this process only enqueues
        issued = device_token_issue(officer=beat_officer, device_id="bench", device_name="b")
        device_push_token_set(device_token=issued.device_token, fcm_token="bench-ok")  # noqa: S106
        with (
            tempfile.TemporaryDirectory() as directory,
            _fcm_worker(fake, Path(directory)) as worker,
        ):
            # Jobs already due (the websocket figures' alerts, earlier runs' leftovers) first,
            # then one alert to warm up (firebase-admin's app and its OAuth exchange).
            _drain(worker=worker)
            start = len(fake.sends)
            violation = _raise(offender, "fcm-warm-up")
            _alert_push(fake, worker=worker, start=start, violation_id=violation.pk)
            _close(violation.pk, watcher)
            latencies, raising = [], []
            for n in range(FCM_LATENCY):
                start = len(fake.sends)
                began = time.monotonic()
                with transaction.atomic():
                    violation = _raise(offender, f"fcm-{n}")
                    committing = time.monotonic()
                send = _alert_push(fake, worker=worker, start=start, violation_id=violation.pk)
                latencies.append((send["received_at"] - committing) * 1000)
                raising.append((committing - began) * 1000)
                _close(violation.pk, watcher)
            _all_sent(mine, worker=worker)

            start = len(fake.sends)
            with transaction.atomic():
                push_enqueue_many(
                    pushes=[
                        ([beat_officer], "bench", {"type": "bench", "alert_id": str(n)})
                        for n in range(FCM_THROUGHPUT)
                    ]
                )
                committing = time.monotonic()
            received: dict[str, float] = {}  # each push once: a retry would repeat its id
            scanned = [start]

            def all_received() -> bool:
                sends = fake.sends[scanned[0] :]
                scanned[0] += len(sends)
                for send in sends:
                    data = send["message"]["data"]
                    if data["type"] == "bench":
                        received.setdefault(data["alert_id"], send["received_at"])
                return len(received) >= FCM_THROUGHPUT

            _until(all_received, worker=worker, timeout=120, what=f"{FCM_THROUGHPUT} pushes")
            throughput = FCM_THROUGHPUT / (max(received.values()) - committing)
            _all_sent(mine, worker=worker)
            _drain(worker=worker)
    finally:
        settings.NIGRANI_PUSH_BACKEND = saved_backend
        stop_fake_fcm(fake)
        mine.delete()
        DeviceToken.objects.filter(officer=beat_officer).delete()
        _worker_jobs_delete(first_job_id=first_job_id)
    # Every sample, in order (a slow one among fast ones reads differently from a slow run).
    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    (Path(settings.VAR_DIR) / "bench-alerts-fcm.json").write_text(
        json.dumps({"alert_to_fcm_ms": latencies, "raise_ms": raising})
    )
    # A slow sample is the worker missing the job's notification and finding the job at its
    # next look: procrastinate 3.10 clears its wake-up event after a fetch that found
    # nothing, so a job committed during that fetch waits for the poll. Raising one at a
    # time, in step with the worker, meets that window now and then; "max" shows it. The
    # poll is NIGRANI_JOB_POLL_SECONDS (0.5 s; procrastinate's own 5 s held about one run in
    # three's worst alert for 5 s).
    return [
        ("alert → fake FCM p50", round(statistics.median(latencies), 1), "ms",
         f"{FCM_LATENCY} critical raises one at a time: raise commit → its step-1 push at the "
         "fake, through a job worker process (make run's, queues alerts and push)"),
        ("alert → fake FCM p99", round(_percentile(latencies, 0.99), 1), "ms",
         f"same (the raise's own work before its commit, not counted: p50 "
         f"{statistics.median(raising):.1f} ms)"),
        ("alert → fake FCM max", round(max(latencies), 1), "ms",
         f"same; {sum(x > 1000 for x in latencies)} of {FCM_LATENCY} over 1 s"),
        ("FCM throughput, one worker", round(throughput), "msg/s",
         f"{FCM_THROUGHPUT} pushes enqueued in one transaction, commit → the fake received all, "
         "one worker process, send_each batches of 500, fake FCM on 127.0.0.1"),
    ]  # fmt: skip


def _sweep_figure(district, station, beat, watcher) -> list[tuple]:
    from compliance.alerts import alert_escalation_sweep
    from compliance.models import Severity, Violation
    from push.models import AlertEvent
    from tests.factories import OffenderFactory

    offenders = [OffenderFactory(district=district, station=station, beat=beat) for _ in range(10)]
    from django.contrib.contenttypes.models import ContentType

    from registry.models import Offender

    cause_type = ContentType.objects.get_for_model(Offender)
    now = timezone.now()
    rows = [
        Violation(
            kind=f"bench_{n // len(offenders)}", offender=offenders[n % len(offenders)],
            severity=Severity.CRITICAL, occurred_at=now, detected_at=now, district=district,
            station=station, cause_type=cause_type, cause_id=str(n), summary="bench",
            escalation_level=1, ack_due_at=now,
        )
        for n in range(SWEEP_ALERTS)
    ]  # fmt: skip
    Violation.objects.bulk_create(rows, batch_size=2000)
    started = time.perf_counter()
    climbed = 0
    while True:
        result = alert_escalation_sweep(now=now + timezone.timedelta(seconds=1))
        if not result["escalated"]:
            break
        climbed += result["escalated"]
    elapsed = time.perf_counter() - started
    AlertEvent.objects.filter(district=district).delete()
    return [
        ("escalation sweep", round(climbed / elapsed), "alerts/s",
         f"{SWEEP_ALERTS} due critical alerts climbed one step (batches of 1000, notices, "
         "events, audit)"),
    ]  # fmt: skip


def _cleanup(district, officers) -> None:
    from accounts.models import Officer
    from compliance.models import AlertNotice, Violation
    from jurisdictions.models import Beat, PoliceStation
    from push.models import AlertCursor, AlertEvent, AlertSequence, Notification, WsTicket
    from registry.models import Address, Offender

    violations = Violation.objects.filter(district=district)
    ids = list(violations.values_list("pk", flat=True))
    with connection.cursor() as cursor:
        # The jobs deferred for them (alert delivery, SMS fallback): the ones still to do
        # would find nothing, the ones the FCM figures' worker ran are the bench's rows too.
        cursor.execute(
            "DELETE FROM procrastinate_jobs WHERE status <> 'doing' AND task_name = ANY(%s) "
            "AND (args->>'violation_id')::bigint = ANY(%s)",
            [["compliance.deliver_violation_alert", "compliance.alert_sms_fallback"], ids],
        )
    AlertNotice.objects.filter(violation_id__in=ids).delete()
    violations.filter(episode__isnull=False).delete()
    violations.delete()
    AlertEvent.objects.filter(district=district).delete()
    AlertSequence.objects.filter(district=district).delete()
    AlertCursor.objects.filter(district=district).delete()
    WsTicket.objects.filter(officer__in=officers).delete()
    Notification.objects.filter(officer__in=officers).delete()
    Address.objects.filter(offender__district=district).delete()
    Offender.objects.filter(district=district).delete()
    Officer.objects.filter(pk__in=[o.pk for o in officers]).delete()
    Beat.objects.filter(station__district=district).delete()
    PoliceStation.objects.filter(district=district).delete()
    district.delete()


def _under_load_figures() -> list[tuple]:
    """``bench/alerts_load.py`` in a process of its own (it starts the others)."""
    env = dict(os.environ, REDIS_URL=settings.REDIS_URL, DATABASE_URL=_database_url())
    done = subprocess.run(
        [sys.executable, "-m", "bench.alerts_load"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    lines = [x for x in done.stdout.splitlines() if x.startswith("@@result ")]
    if done.returncode or not lines:
        sys.stderr.write(done.stderr[-6000:])
        raise RuntimeError(f"bench/alerts_load.py failed ({done.returncode})")
    r = json.loads(lines[-1].removeprefix("@@result "))
    # Every sample, for whoever wants more than the percentiles (var/ is never committed).
    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    (Path(settings.VAR_DIR) / "bench-alerts-load.json").write_text(json.dumps(r))
    quiet, loaded = r["quiet"], r["loaded"]
    world = (
        f"{r['schools']:,} schools, 150 districts, {r['offenders']:,} offenders"
        if r["schools"] == 250_000
        else f"SMALL WORLD: {r['schools']:,} schools (BENCH_ALERTS_SCHOOLS)"
    )
    return [
        ("ping → alert.raised, loaded p50", round(statistics.median(loaded), 1), "ms",
         f"{len(loaded)} probes (POST /api/v1/pings/ on uvicorn A → socket on uvicorn B), "
         f"{r['loaded_lost']} lost, while {r['loaders']} processes ingest"),
        ("ping → alert.raised, loaded p95", round(_percentile(loaded, 0.95), 1), "ms", "same"),
        ("ping → alert.raised, loaded p99", round(_percentile(loaded, 0.99), 1), "ms", "same"),
        ("ingest rate during those probes", round(r["achieved"]), "pings/s",
         f"target {r['target']:,.0f}; pings_ingest, gateway batches of 1,000 "
         f"(p50 {r['batch_p50_ms']:.0f} ms, p99 {r['batch_p99_ms']:.0f} ms a batch), "
         f"{r['opened_in_window']} episodes opened, {r['window_s']:.0f} s, "
         f"{r['deadlocks_in_window']} batches retried after a deadlock; {world}"),
        ("ping POST answered, loaded p50", round(statistics.median(r["loaded_calls"]), 1), "ms",
         "same probes: request sent → 202 (the event is broadcast on commit, before it)"),
        ("ping → alert.raised, idle p50", round(statistics.median(quiet), 1), "ms",
         f"{len(quiet)} probes before the loaders start, {r['quiet_lost']} lost"),
        ("ping → alert.raised, idle p99", round(_percentile(quiet, 0.99), 1), "ms", "same"),
    ]  # fmt: skip


def _database_url() -> str:
    return os.environ["DATABASE_URL"]


def run() -> list[tuple]:
    redis_proc = _ensure_redis()
    try:
        _layer_settings()
        os.environ.setdefault("NIGRANI_WS_RECHECK_SECONDS", "60")
        figures: list[tuple] = []
        if os.environ.get("BENCH_ALERTS_LOAD", "1") != "0":
            figures += _under_load_figures()
        district, station, beat, watcher, beat_officer, offender = _world()
        try:
            figures += asyncio.run(_ws_figures(offender, watcher))
            figures += _fcm_figures(watcher, beat_officer, offender)
            figures += _sweep_figure(district, station, beat, watcher)
        finally:
            _cleanup(district, [watcher, beat_officer])
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait()
    return figures
