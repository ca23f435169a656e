"""Chaos, scripted and repeatable: ``kill -9`` the job worker in the middle of 10,000 push
deliveries and count what the fake FCM server received — none lost, duplicates only within
the at-least-once contract (pushes a dead worker had claimed are sent again with the same
message id, so the app drops them).

Runs in a scratch database created next to DATABASE_URL's (migrated, dropped at the end, so
no other worker sees its jobs) with the fake FCM server of the tests on 127.0.0.1; the worker
is a real ``procrastinate worker`` process on the ``push`` queue. Usage:
``DATABASE_URL=… .venv/bin/python scripts/chaos_push.py [N]``. Exit status 0 when nothing was
lost and the duplicates stayed within the pushes the killed worker had claimed.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STUCK_SECONDS = "3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault("NIGRANI_DEV", "1")
os.environ["NIGRANI_PUSH_STUCK_SECONDS"] = STUCK_SECONDS


def _scratch_database() -> tuple[str, str]:
    """Create an empty database beside DATABASE_URL's; returns (its URL, the admin URL)."""
    import psycopg

    base = os.environ["DATABASE_URL"]
    name = f"nigrani_chaos_{os.getpid()}"
    head, _, query = base.partition("?")
    admin = head.rsplit("/", 1)[0] + "/postgres" + (f"?{query}" if query else "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return head.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else ""), admin


def _drop_database(url: str, admin: str) -> None:
    import psycopg

    name = url.partition("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(total: int) -> int:
    url, admin = _scratch_database()
    os.environ["DATABASE_URL"] = url
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True
        )
        return _run(total)
    finally:
        from django.db import connections

        connections.close_all()
        _drop_database(url, admin)


def _run(total: int) -> int:
    import django

    django.setup()

    from accounts.models import Officer
    from accounts.services import device_push_token_set, device_token_issue
    from push.jobs import deliver_pushes
    from push.models import PushMessage, PushStatus
    from push.pushes import push_sweep
    from tests.push.fake_fcm import start_fake_fcm, stop_fake_fcm

    fake = start_fake_fcm()
    directory = tempfile.mkdtemp()
    env = dict(
        os.environ,
        NIGRANI_PUSH_BACKEND="fcm",
        NIGRANI_FCM_CREDENTIALS_FILE=str(fake.service_account_file(Path(directory))),
        NIGRANI_FCM_ENDPOINT=fake.url,
    )
    officer = Officer.objects.create_user(
        username=f"chaos-{os.getpid()}", password=None, full_name="Chaos", role="auditor"
    )
    issued = device_token_issue(officer=officer, device_id="chaos", device_name="chaos")
    device_push_token_set(device_token=issued.device_token, fcm_token="chaos-ok")  # noqa: S106
    data = {"type": "alert", "alert_id": "1", "kind": "chaos", "severity": "4"}
    PushMessage.objects.bulk_create(
        (
            PushMessage(
                officer=officer, device_token=issued.device_token, purpose="chaos", data=data
            )
            for _ in range(total)
        ),
        batch_size=2000,
    )
    ids = {
        str(m)
        for m in PushMessage.objects.filter(officer=officer).values_list("message_id", flat=True)
    }
    worker_cmd = [sys.executable, "manage.py", "procrastinate", "worker", "-q", "push"]

    def start_worker() -> subprocess.Popen:
        return subprocess.Popen(
            worker_cmd, cwd=ROOT, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    mine = PushMessage.objects.filter(officer=officer)
    worker = None
    in_flight = 0
    try:
        deliver_pushes.defer()
        worker = start_worker()
        kill_at = total // 3
        while len(fake.sends) < kill_at:
            if worker.poll() is not None:
                raise RuntimeError("the worker exited by itself")
            time.sleep(0.05)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        killed_at = len(fake.sends)
        in_flight = mine.filter(status=PushStatus.SENDING).count()
        print(f"killed the worker (SIGKILL) after {killed_at} requests; {in_flight} left sending")
        worker = start_worker()
        deadline = time.monotonic() + 600
        while mine.exclude(status=PushStatus.SENT).exists():
            if time.monotonic() > deadline:
                raise RuntimeError("deliveries did not finish in 10 minutes")
            time.sleep(float(STUCK_SECONDS))
            # What the minute cron (push.sweep_pushes) does, without waiting for the minute.
            if push_sweep():
                deliver_pushes.defer()
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        received = [s["message"]["data"]["message_id"] for s in fake.sends]
        unique = set(received)
        lost = ids - unique
        duplicates = len(received) - len(unique)
        print(
            f"{total} pushes: received {len(received)} requests, {len(unique)} distinct message "
            f"ids, lost {len(lost)}, duplicates {duplicates} "
            f"(allowed: at most the {in_flight} left sending)"
        )
        stop_fake_fcm(fake)
    return 0 if not lost and duplicates <= in_flight else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
