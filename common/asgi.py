"""One hot HTTP route served by Django's WSGI handler on a few reused threads, inside the ASGI
application (which the websockets need).

Django's ``ASGIHandler`` runs a synchronous view in a thread of its own per request: a new
thread, a new executor and several ``sync_to_async`` hops for the signals, every request.
For the ping endpoint — every tag, every minute, a body of four fixes — that was measured at
about 4 ms of CPU a request on top of the 4 ms of the request itself (ASGIHandler 8.3 ms,
WSGIHandler 4.0 ms, in one run, same requests). ``ThreadedWsgiRoute`` serves such a route
through ``WSGIHandler`` instead — the same middleware, signals (a request's database
connection goes back to the pool when it ends), views and error handlers, since both handlers
load the same settings — on a fixed pool of threads, so a request costs one hop to a thread
that already exists. The response is buffered in full (the route answers small JSON bodies;
nothing streams).
"""

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def wsgi_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP scope (as asgiref's ``WsgiToAsgi`` builds it): the
    scheme and client a ``--proxy-headers`` server put in the scope become
    ``wsgi.url_scheme`` and ``REMOTE_ADDR``; repeated headers are joined with commas."""
    script_name = scope.get("root_path", "").encode("utf8").decode("latin1")
    path_info = scope["path"].encode("utf8").decode("latin1")
    if path_info.startswith(script_name):
        path_info = path_info[len(script_name) :]
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin1"),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1] if server[1] is not None else 0),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if scope.get("client") is not None:
        environ["REMOTE_ADDR"] = scope["client"][0]
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin1").upper().replace("-", "_")
        if name not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            name = f"HTTP_{name}"
        value = raw_value.decode("latin1")
        environ[name] = f"{environ[name]},{value}" if name in environ else value
    return environ


class ThreadedWsgiRoute:
    """An ASGI app for HTTP scopes that runs ``wsgi_app`` on ``threads`` reused threads."""

    def __init__(
        self,
        wsgi_app: Callable[..., Iterable[bytes]],
        *,
        threads: int,
        max_body: int | None = None,
    ) -> None:
        self.wsgi_app = wsgi_app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi-route")
        # Bodies are held in memory (the ASGI handler spools them to disk): past ``max_body``
        # (Django's DATA_UPLOAD_MAX_MEMORY_SIZE) the rest is read and dropped, and Django is
        # told the real length, which it refuses with its own 400 before reading anything.
        self.max_body = max_body
        self.served = 0  # requests answered (the tests see which handler a path took)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away before its body arrived: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if self.max_body is None or size <= self.max_body:
                chunks.append(chunk)
            else:
                chunks.clear()
            if not message.get("more_body"):
                break
        oversized = self.max_body is not None and size > self.max_body
        loop = asyncio.get_running_loop()
        status, headers, body = await loop.run_in_executor(
            self.executor,
            self._respond,
            scope,
            b"".join(chunks),
            str(size) if oversized else None,
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.served += 1

    def _respond(
        self, scope: Scope, body: bytes, content_length: str | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            started[:] = [status, headers]

        environ = wsgi_environ(scope, body)
        if content_length is not None:  # oversized: the length read, whatever was claimed
            environ["CONTENT_LENGTH"] = content_length
        response = self.wsgi_app(environ, start_response)
        try:
            content = b"".join(response)
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()  # request_finished: the database connection goes back to the pool
        status, headers = started
        return (
            int(status.split(" ", 1)[0]),
            [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers],
            content,
        )


def route_paths(paths: frozenset[str], route: ASGIApp, default: ASGIApp) -> ASGIApp:
    """HTTP requests for ``paths`` to ``route``, everything else to ``default``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in paths:
            await route(scope, receive, send)
        else:
            await default(scope, receive, send)

    return app
