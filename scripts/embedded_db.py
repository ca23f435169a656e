"""Start (or find) the embedded PostgreSQL from the ``pgserver`` wheel and print its URL.

Used by ``make run``, ``make test`` and ``make bench`` when DATABASE_URL is unset. Data lives
under var/pg. ``python scripts/embedded_db.py url`` prints a DATABASE_URL (starting the server
if needed); ``stop`` stops it.
"""

import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "pg"
DB_NAME = "nigrani"
# pgserver keeps its lock under the user's runtime dir; give it one when the shell has none.
os.environ.setdefault("XDG_RUNTIME_DIR", str(ROOT / "var" / "run"))
Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
warnings.filterwarnings("ignore", module=r"platformdirs\..*")


def _system_user() -> str | None:
    # pgserver runs postgres as an unprivileged user when we are root.
    return "pgserver" if os.geteuid() == 0 else None


def is_running() -> bool:
    pid_file = DATA_DIR / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text().split()[0]), 0)
    except (ValueError, ProcessLookupError, PermissionError):
        return False
    return True


def start() -> str:
    import pgserver

    DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(DATA_DIR), cleanup_mode=None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")  # noqa: S608 - constant
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DB_NAME};")
    # A socket-only server: the URL names the socket directory as host.
    return f"postgresql://postgres@/{DB_NAME}?host={DATA_DIR}"


def stop() -> None:
    if not is_running():
        return
    from pgserver._commands import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=DATA_DIR, user=_system_user())


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else "url"
    if action == "url":
        print(start())
    elif action == "stop":
        stop()
    else:
        sys.exit(f"usage: {sys.argv[0]} [url|stop]")
