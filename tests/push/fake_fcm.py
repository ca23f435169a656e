"""A local fake of the FCM v1 HTTP API on 127.0.0.1, with its OAuth token endpoint.

``POST /token`` answers the service-account JWT grant; ``POST /v1/projects/<p>/messages:send``
checks the bearer token and answers each registration token by the next mode queued for it
with ``then(token, …)``, else by ``mode``:

- ``ok``: 200 ``{"name": "projects/<p>/messages/<n>"}``;
- ``429``: 429 QUOTA_EXCEEDED with ``Retry-After: retry_after`` seconds;
- ``503`` / ``500``: UNAVAILABLE / INTERNAL;
- ``unregistered``: 404 with FCM error code UNREGISTERED;
- ``invalid``: 400 INVALID_ARGUMENT;
- ``hang``: answer only after ``hang_seconds`` (past the client's timeout).

``sends`` records every send request (token, data, received time).
"""

import contextlib
import itertools
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ACCESS_TOKEN = "fake-fcm-access-token"
PROJECT = "nigrani-test"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


@dataclass
class FakeFcm:
    mode: str = "ok"
    retry_after: int = 30
    hang_seconds: float = 2.0
    sends: list[dict] = field(default_factory=list)
    token_requests: int = 0
    _queued: dict = field(default_factory=lambda: defaultdict(deque))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def then(self, token: str, *modes: str) -> "FakeFcm":
        with self._lock:
            self._queued[token].extend(modes)
        return self

    def next_mode(self, token: str) -> str:
        with self._lock:
            queued = self._queued.get(token)
            return queued.popleft() if queued else self.mode

    def service_account_file(self, directory: Path) -> Path:
        """A freshly generated service-account key whose token_uri is this server."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        path = directory / "fcm-service-account.json"
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": PROJECT,
                    "private_key_id": "fake-key-1",
                    "private_key": pem,
                    "client_email": f"push@{PROJECT}.iam.gserviceaccount.com",
                    "client_id": "1",
                    "token_uri": f"{self.url}/token",
                }
            )
        )
        return path


def _error(status: int, code: str, fcm_code: str | None = None) -> dict:
    body: dict = {"error": {"code": status, "message": f"fake {code}", "status": code}}
    if fcm_code:
        body["error"]["details"] = [{"@type": FCM_ERROR, "errorCode": fcm_code}]
    return body


ANSWERS = {
    "429": (429, _error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")),
    "503": (503, _error(503, "UNAVAILABLE")),
    "500": (500, _error(500, "INTERNAL")),
    "unregistered": (404, _error(404, "NOT_FOUND", "UNREGISTERED")),
    "invalid": (400, _error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")),
}


def _handler(fake: FakeFcm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            return

        def _answer(self, status: int, body: dict, headers: dict | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(raw)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/token":
                with fake._lock:
                    fake.token_requests += 1
                self._answer(
                    200,
                    {"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"},
                )
                return
            if self.path != f"/v1/projects/{PROJECT}/messages:send":
                self._answer(404, _error(404, "NOT_FOUND"))
                return
            if self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
                self._answer(401, _error(401, "UNAUTHENTICATED"))
                return
            try:
                message = json.loads(raw)["message"]
            except (ValueError, KeyError):  # a body cut short by a client killed mid-send
                self._answer(400, _error(400, "INVALID_ARGUMENT"))
                return
            token = message["token"]
            mode = fake.next_mode(token)
            with fake._lock:
                fake.sends.append(
                    {
                        "token": token,
                        "mode": mode,
                        "message": message,
                        "body": raw.decode(),
                        "received_at": time.monotonic(),
                    }
                )
            if mode == "hang":
                time.sleep(fake.hang_seconds)
                mode = "ok"
            if mode == "ok":
                self._answer(200, {"name": f"projects/{PROJECT}/messages/{next(fake._ids)}"})
                return
            status, body = ANSWERS[mode]
            headers = {"Retry-After": str(fake.retry_after)} if status == 429 else None
            self._answer(status, body, headers)

    return Handler


def start_fake_fcm() -> FakeFcm:
    fake = FakeFcm()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake


def stop_fake_fcm(fake: FakeFcm) -> None:
    fake.server.shutdown()
    fake.server.server_close()
