"""The ASGI server's access log never holds a query string (a CNIC or a name can be in one)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_access_log_drops_the_query_string():
    port = _free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="backend.settings", NIGRANI_DEV="1")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.asgi:application", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/healthz?cnic=35202-1234567-1&q=Imran"
        for _ in range(100):
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local
                    assert response.status == 200
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not start")
        time.sleep(0.3)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert "GET /healthz HTTP/1.1" in output
    assert "35202" not in output
    assert "Imran" not in output
