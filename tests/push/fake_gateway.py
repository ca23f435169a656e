"""A local fake SMS gateway on 127.0.0.1 for the ``http`` backend's tests.

It speaks the backend's protocol (``POST /messages``, bearer key, JSON body, ``Idempotency-Key``)
and honours the idempotency key as real aggregators do: a repeated key answers the first id and
sends nothing new. Each request is answered by the next mode queued with ``then()``, or by
``mode`` once the queue is empty:

- ``ok``: accept (201, ``{"id": …}``);
- ``error_500`` / ``error_400``: refuse with that status, accepting nothing;
- ``slow``: accept, then answer only after ``slow_seconds`` (past the client's timeout);
- ``drop``: accept, then close the connection without an answer.

``requests`` records every request; ``messages`` holds the messages accepted, one per key.
"""

import contextlib
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = "fake-gateway-key"


@dataclass
class Accepted:
    gateway_id: str
    to: str
    text: str
    sender: str
    encoding: str
    reference: str


@dataclass
class FakeGateway:
    mode: str = "ok"
    slow_seconds: float = 1.0
    requests: list[dict] = field(default_factory=list)
    messages: dict[str, Accepted] = field(default_factory=dict)
    _modes: deque = field(default_factory=deque)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def then(self, *modes: str) -> "FakeGateway":
        self._modes.extend(modes)
        return self

    def next_mode(self) -> str:
        with self._lock:
            return self._modes.popleft() if self._modes else self.mode

    def accept(self, payload: dict, key: str) -> Accepted:
        """Record the message once per idempotency key; a repeat gets the first answer."""
        with self._lock:
            if key in self.messages:
                return self.messages[key]
            accepted = Accepted(
                gateway_id=f"gw-{next(self._ids)}",
                to=payload["to"],
                text=payload["text"],
                sender=payload["sender"],
                encoding=payload["encoding"],
                reference=payload["reference"],
            )
            self.messages[key] = accepted
            return accepted


def _handler(gateway: FakeGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            return

        def _answer(self, status: int, body: dict) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length) or b"{}")
            key = self.headers.get("Idempotency-Key", "")
            mode = gateway.next_mode()
            gateway.requests.append(
                {
                    "path": self.path,
                    "mode": mode,
                    "key": key,
                    "auth": self.headers.get("Authorization"),
                    "payload": payload,
                }
            )
            if self.path != "/messages":
                self._answer(404, {"error": "not found"})
                return
            if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                self._answer(401, {"error": "bad key"})
                return
            if mode.startswith("error_"):
                self._answer(int(mode.removeprefix("error_")), {"error": mode})
                return
            accepted = gateway.accept(payload, key)
            if mode == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if mode == "slow":
                time.sleep(gateway.slow_seconds)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(201, {"id": accepted.gateway_id})

    return Handler


def start_fake_gateway() -> FakeGateway:
    gateway = FakeGateway()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(gateway))
    server.daemon_threads = True
    gateway.server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return gateway


def stop_fake_gateway(gateway: FakeGateway) -> None:
    gateway.server.shutdown()
    gateway.server.server_close()
