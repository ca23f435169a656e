"""Database connections under concurrent load, on the real ASGI server and real PostgreSQL.

The probe's finding: with persistent connections under ASGI (a thread per request), 16 clients
drove the server to 99 of PostgreSQL's 100 connections and requests failed with "too many
clients". With the per-process pool a burst of 32 concurrent audited reads is answered without
an error while the server holds no more connections than its pool allows.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from django.conf import settings
from django.db import connection

from accounts.services import device_token_issue
from tests.helpers import database_url
from tests.registry.offender_data import register

ROOT = Path(__file__).resolve().parents[2]
POOL_MAX = 4
CLIENTS = 32
REQUESTS_PER_CLIENT = 3
SERVER_NAME = "nigrani-web-under-load"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_connections(conninfo: str) -> list[tuple]:
    """The server's connections (named by its ``application_name``), from pg_stat_activity."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return conn.execute(
            "SELECT pid, state, left(query, 60) FROM pg_stat_activity WHERE application_name = %s",
            [SERVER_NAME],
        ).fetchall()


@pytest.fixture
def uvicorn_server():
    """The ASGI application under uvicorn on a free port, on the test database."""
    connection.ensure_connection()
    name = settings.DATABASES["default"]["NAME"]
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings_test",
        "DATABASE_URL": database_url(name=name, application_name=SERVER_NAME),
        "NIGRANI_DB_POOL_MIN": "1",
        "NIGRANI_DB_POOL_MAX": str(POOL_MAX),
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "uvicorn", "backend.asgi:application"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"uvicorn did not start:\n{output}")
            time.sleep(0.2)
        yield base, name
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.django_db(transaction=True)
def test_32_concurrent_audited_reads_succeed_within_the_pool(world, registry_admin, uvicorn_server):
    base, name = uvicorn_server
    offender = register(registry_admin)
    issued = device_token_issue(officer=registry_admin, device_id="load-1", device_name="")
    headers = {"Authorization": f"Bearer {issued.token}", "X-Device-ID": "load-1"}
    url = f"{base}/api/v1/offenders/{offender.pk}/?purpose=data_quality"
    conninfo = database_url(name=name)

    peak: list[tuple] = []
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _server_connections(conninfo), key=len)
            time.sleep(0.02)

    def client(_: int) -> list[int]:
        with httpx.Client(headers=headers, timeout=30) as http:
            return [http.get(url).status_code for _ in range(REQUESTS_PER_CLIENT)]

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(max_workers=CLIENTS) as executor:
            statuses = [code for codes in executor.map(client, range(CLIENTS)) for code in codes]
    finally:
        done.set()
        sampler.join()
    peak = max(peak, _server_connections(conninfo), key=len)

    assert statuses.count(200) == CLIENTS * REQUESTS_PER_CLIENT, sorted(set(statuses))
    assert 1 <= len(peak) <= POOL_MAX, "\n".join(map(str, peak))


def test_the_job_worker_does_not_inherit_the_web_pool_options():
    """procrastinate's worker builds its own async pool from the connection parameters;
    Django's ``pool`` option must not leak into them (psycopg would refuse the keyword)."""
    from procrastinate.contrib.django.utils import connector_params

    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0
    assert settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"] >= 1
    assert "pool" not in connector_params()
