"""``make fuzz``: schemathesis against the real ASGI server, as five demo roles (the control
room and the prison officer reach records and answers the other three do not).

On a scratch database (created on DATABASE_URL's server, dropped afterwards): migrate, seed the
demo, issue device tokens to the registry admin, the station officer and the beat officer, run
uvicorn on a free port on 127.0.0.1, then ``schemathesis run`` with every check and
``FUZZ_EXAMPLES`` (30) examples per operation for each role. Prints, per role and in total,
the three figures issue 11 asks for — server errors, response-schema violations, undocumented
statuses — and fails when any of them is not 0. Other check failures (business rules refusing
schema-valid input, and the like) are listed, not counted against the run.

Slow (minutes); not part of CI. FUZZ_ROLES / FUZZ_EXAMPLES / FUZZ_WORKERS narrow or widen it.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ST = str(Path(PY).with_name("st"))
ROLES = os.environ.get(
    "FUZZ_ROLES", "registry_admin,station_officer,beat_officer,control_room,prison_officer"
).split(",")
EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "30")
WORKERS = os.environ.get("FUZZ_WORKERS", "2")
SELF_ENDING = r"^/api/v1/auth/(logout/|devices/[^/]+/revoke/)$"
GATING = {
    "not_a_server_error": "server errors",
    "response_schema_conformance": "response-schema violations",
    "status_code_conformance": "undocumented statuses",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _psql(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def _manage(env: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=capture, text=True
    )
    return result.stdout if capture else ""


_TOKENS = """
import json
from accounts.models import Officer
from accounts.services import device_token_issue
out = {}
for role in %r:
    officer = Officer.objects.get(username="demo-" + role.replace("_", "-"))
    issued = device_token_issue(officer=officer, device_id="fuzz-" + role, device_name="fuzz")
    out[role] = issued.token
print("TOKENS=" + json.dumps(out))
"""


def _tokens(env: dict) -> dict[str, str]:
    output = _manage(env, "shell", "-c", _TOKENS % (ROLES,), capture=True)
    line = next(line for line in output.splitlines() if line.startswith("TOKENS="))
    return json.loads(line.removeprefix("TOKENS="))


def _wait(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("uvicorn exited before it served")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("uvicorn did not start in time")


def _failures(node: object, found: set[tuple[str, str, str, str]]) -> None:
    """Every distinct (check, operation, code, message) failure in one NDJSON event."""
    if isinstance(node, dict):
        if node.get("status") == "failure" and "name" in node:
            failure = (node.get("failure_info") or {}).get("failure") or {}
            found.add(
                (
                    node["name"],
                    str(failure.get("operation", "")),
                    str(failure.get("code", "")),
                    str(failure.get("message", "")).splitlines()[0][:120]
                    if failure.get("message")
                    else "",
                )
            )
        for value in node.values():
            _failures(value, found)
    elif isinstance(node, list):
        for value in node:
            _failures(value, found)


def _count(report: Path) -> tuple[dict[str, int], dict[str, int], list[tuple]]:
    """Distinct failures per check from schemathesis's NDJSON event stream."""
    found: set[tuple[str, str, str, str]] = set()
    for line in report.read_text().splitlines() if report.exists() else []:
        if line.strip():
            _failures(json.loads(line), found)
    gating = dict.fromkeys(GATING, 0)
    other: dict[str, int] = {}
    for check, *_ in found:
        if check in gating:
            gating[check] += 1
        else:
            other[check] = other.get(check, 0) + 1
    return gating, other, sorted(f for f in found if f[0] in GATING)


def main() -> int:
    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        raise SystemExit("DATABASE_URL is required (make fuzz sets it)")
    name = f"nigrani_fuzz_{uuid.uuid4().hex[:8]}"
    admin_url = _with_database(base_url, "postgres")
    _psql(admin_url, f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "NIGRANI_DEV": "1",
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DATABASE_URL": _with_database(base_url, name),
        "LOG_LEVEL": "WARNING",
        # DEBUG off: the answers production gives (JSON 404s, no technical pages).
        "DJANGO_DEBUG": "0",
    }
    port = _free_port()
    server = None
    totals = dict.fromkeys(GATING, 0)
    try:
        _manage(env, "migrate", "--noinput", capture=True)
        _manage(env, "seed_demo", capture=True)
        tokens = _tokens(env)
        server = subprocess.Popen(  # noqa: S603 - our interpreter, our module
            [PY, "-m", "uvicorn", "backend.asgi:application", "--host", "127.0.0.1"]
            + ["--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/healthz", server)
        reports = Path(tempfile.mkdtemp(prefix="nigrani-fuzz-"))
        for role, token in tokens.items():
            report = reports / f"{role}.ndjson"
            subprocess.run(  # noqa: S603 - the pinned schemathesis CLI
                [ST, "run", f"{base}/api/schema/", "--checks", "all", "-n", EXAMPLES]
                + ["--workers", WORKERS, "--continue-on-failure", "--no-color"]
                + ["-H", f"Authorization: Bearer {token}", "-H", f"X-Device-ID: fuzz-{role}"]
                # Signing out, or revoking its own device, would end the run's own token and
                # leave every later operation answering 401: those two are not fuzzed.
                + ["--exclude-path-regex", SELF_ENDING]
                + ["--report", "ndjson", "--report-ndjson-path", str(report)],
                cwd=ROOT,
                check=False,
            )
            gating, other, details = _count(report)
            for check, count in gating.items():
                totals[check] += count
            for failure in details:
                print("   ", " | ".join(failure))
            figures = ", ".join(f"{GATING[c]} {n}" for c, n in gating.items())
            print(f"== {role}: {figures}; other check failures: {other or 'none'}")
        print("== total: " + ", ".join(f"{GATING[c]} {n}" for c, n in totals.items()))
        print(f"(reports: {reports})")
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=15)
        _psql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 1 if any(totals.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
