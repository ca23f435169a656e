"""Start (or find) the embedded PostgreSQL from the ``pgserver`` wheel and print its URL.

Used by ``make run`` and ``make test`` when DATABASE_URL is unset. Data lives under var/pg.
``python scripts/embedded_db.py url`` prints a DATABASE_URL; ``stop`` stops the server.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "pg"
DB_NAME = "nigrani"


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
    import subprocess

    pg_ctl = Path(__import__("pgserver").__file__).parent / "pginstall" / "bin" / "pg_ctl"
    if (DATA_DIR / "postmaster.pid").exists():
        # pgserver runs postgres as an unprivileged user when we are root.
        cmd = [str(pg_ctl), "-D", str(DATA_DIR), "-m", "fast", "stop"]
        import os

        if os.geteuid() == 0:
            cmd = ["su", "pgserver", "-s", "/bin/sh", "-c", " ".join(cmd)]
        subprocess.run(cmd, check=False, capture_output=True)


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else "url"
    if action == "url":
        print(start())
    elif action == "stop":
        stop()
    else:
        sys.exit(f"usage: {sys.argv[0]} [url|stop]")
