"""The ping route: Django's WSGI handler on a few reused threads inside the ASGI application
(common/asgi.py), everything else through Django's ASGI handler."""

import threading

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core.wsgi import get_wsgi_application
from django.db import connection

from backend.asgi import application, ping_route
from common.asgi import ThreadedWsgiRoute, wsgi_environ

SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "POST",
    "scheme": "https",
    "path": "/api/v1/pings/",
    "raw_path": b"/api/v1/pings/",
    "query_string": b"",
    "root_path": "",
    "client": ("10.0.0.7", 5555),
    "server": ("127.0.0.1", 8000),
}
BATCH = b'[{"device_seq": 1, "recorded_at": "2026-01-01T00:00:00Z", "lat": 31.5, "lon": 74.3, "accuracy_m": 10}]'  # noqa: E501


def _scope(path: str = "/api/v1/pings/", method: str = "POST", **headers: str) -> dict:
    return {
        **SCOPE,
        "path": path,
        "raw_path": path.encode(),
        "method": method,
        "headers": [
            (b"host", b"127.0.0.1"),
            *((name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()),
        ],
    }


async def _call(app, scope: dict, body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(timeout=10)
    content = await communicator.receive_output(timeout=10)
    await communicator.wait(timeout=10)
    return start["status"], dict(start["headers"]), content["body"]


def test_the_environ_carries_what_the_proxy_headers_put_in_the_scope():
    scope = {
        **SCOPE,
        "query_string": b"x=1",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", b"2"),
            (b"accept", b"a"),
            (b"accept", b"b"),
            (b"authorization", b"Device ngd_x"),
        ],
    }

    environ = wsgi_environ(scope, b"[]")

    assert environ["wsgi.url_scheme"] == "https"
    assert environ["REMOTE_ADDR"] == "10.0.0.7"
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"]) == ("application/json", "2")
    assert environ["HTTP_ACCEPT"] == "a,b"
    assert environ["HTTP_AUTHORIZATION"] == "Device ngd_x"
    assert (environ["PATH_INFO"], environ["QUERY_STRING"]) == ("/api/v1/pings/", "x=1")
    assert environ["wsgi.input"].read() == b"[]"


def test_the_route_runs_the_wsgi_app_on_its_own_threads_and_closes_the_response():
    seen: dict[str, object] = {}

    class Body(list):
        def close(self) -> None:  # where Django sends request_finished
            seen["closed"] = True

    def wsgi_app(environ, start_response):
        seen["thread"] = threading.current_thread().name
        seen["body"] = environ["wsgi.input"].read()
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-Seen", "1")])
        return Body([b"made", b" it"])

    route = ThreadedWsgiRoute(wsgi_app, threads=2)
    status, headers, body = async_to_sync(_call)(route, _scope(), b"payload")

    assert (status, body) == (201, b"made it")
    assert headers[b"x-seen"] == b"1"
    assert seen == {"thread": seen["thread"], "body": b"payload", "closed": True}
    assert str(seen["thread"]).startswith("wsgi-route")


def test_a_client_gone_before_its_body_gets_no_answer():
    def wsgi_app(environ, start_response):  # pragma: no cover - must not run
        raise AssertionError("ran")

    async def gone() -> list:
        communicator = ApplicationCommunicator(ThreadedWsgiRoute(wsgi_app, threads=1), _scope())
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(timeout=5)
        return await communicator.receive_nothing(timeout=0.1)

    assert async_to_sync(gone)() is True


@pytest.mark.django_db(transaction=True)
def test_a_device_batch_through_the_asgi_application_is_stored(enrolled, freeze_now):
    device, credential = enrolled
    scope = _scope(
        authorization=f"Device {credential}",
        content_type="application/json",
        content_length=str(len(BATCH)),
    )

    served = ping_route.served
    status, headers, body = async_to_sync(_call)(application, scope, BATCH)

    assert ping_route.served == served + 1
    assert status == 202, body
    assert headers[b"content-type"] == b"application/json"
    assert b'"accepted":1' in body.replace(b" ", b"")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM geofence_ping WHERE device_id = %s", [device.pk])
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_a_bad_credential_on_the_route_gets_the_one_error_body():
    scope = _scope(authorization="Device ngd_nope", content_type="application/json")

    status, _, body = async_to_sync(_call)(application, scope, BATCH)

    assert status == 401
    assert b'"code":"bad_credential"' in body.replace(b" ", b"")


@pytest.mark.django_db(transaction=True)
def test_other_paths_still_go_through_the_asgi_handler():
    served = ping_route.served
    status, _, body = async_to_sync(_call)(application, _scope("/healthz", "GET"), b"")

    assert status == 200, body
    assert ping_route.served == served


def test_a_body_over_the_limit_is_dropped_and_its_real_length_told():
    seen: dict[str, object] = {}

    def wsgi_app(environ, start_response):
        seen["length"] = environ["CONTENT_LENGTH"]
        seen["body"] = environ["wsgi.input"].read()
        start_response("400 Bad Request", [])
        return [b""]

    async def oversized() -> int:
        route = ThreadedWsgiRoute(wsgi_app, threads=1, max_body=10)
        communicator = ApplicationCommunicator(route, _scope(content_length="5"))  # a lie
        for part in (b"x" * 8, b"y" * 8, b"z" * 9):
            await communicator.send_input(
                {"type": "http.request", "body": part, "more_body": part[0:1] != b"z"}
            )
        start = await communicator.receive_output(timeout=10)
        await communicator.receive_output(timeout=10)
        await communicator.wait(timeout=10)
        return start["status"]

    assert async_to_sync(oversized)() == 400
    assert seen == {"length": "25", "body": b""}


@pytest.mark.django_db(transaction=True)
def test_an_oversized_batch_on_the_route_gets_django_s_own_refusal(enrolled, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    _, credential = enrolled
    route = ThreadedWsgiRoute(get_wsgi_application(), threads=1, max_body=1024)
    body = b"[" + b",".join([BATCH[1:-1]] * 20) + b"]"
    scope = _scope(
        authorization=f"Device {credential}",
        content_type="application/json",
        content_length=str(len(body)),
    )

    status, _, answer = async_to_sync(_call)(route, scope, body)

    assert len(body) > 1024
    assert status == 400
    assert b'"code":"request_too_large"' in answer.replace(b" ", b"")
