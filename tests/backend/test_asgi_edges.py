"""The edges of the ASGI application: websocket paths with no route, bodies over the limit."""

import pytest
from asgiref.testing import ApplicationCommunicator
from django.test import override_settings
from rest_framework.test import APIClient

from backend.asgi import application

ERROR_KEYS = {"code", "message", "fields", "request_id"}


async def test_a_websocket_to_a_path_with_no_route_is_refused_cleanly():
    """An allowed Origin to an unknown path: a handshake rejection, not a 500 traceback."""
    # channels.testing imports daphne (not installed): drive the ASGI protocol directly.
    scope = {
        "type": "websocket",
        "path": "/ws/no-such-route/",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"origin", b"http://localhost")],
        "subprotocols": [],
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "websocket.connect"})

    answer = await communicator.receive_output(timeout=5)

    assert answer["type"] == "websocket.close"
    await communicator.send_input({"type": "websocket.disconnect", "code": 4404})
    await communicator.wait(timeout=5)


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_an_oversized_json_body_gets_the_one_error_body(world, registry_admin):
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(registry_admin)
    body = '{"purpose": "supervision", "q": "' + "x" * 4096 + '"}'

    response = client.post("/api/v1/offenders/search/", body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) >= ERROR_KEYS
    assert response.json()["code"] == "request_too_large"


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_an_oversized_body_is_refused_before_authentication_too():
    body = '{"username": "' + "x" * 4096 + '"}'

    response = APIClient(raise_request_exception=False).post(
        "/api/v1/auth/token/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "request_too_large"


@pytest.mark.django_db
def test_an_api_path_that_names_no_endpoint_is_the_json_404(settings):
    settings.DEBUG = False
    response = APIClient().get("/api/v1/offenders/-1/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
