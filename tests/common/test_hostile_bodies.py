"""Hostile JSON bodies against every write endpoint, found from the URL conf (not a hand list).

Deeply nested JSON, lone UTF-16 surrogates and bodies that are not objects must be refused
with the one error body (400), never a 500: a RecursionError on the anonymous sign-in is a
cheap denial of service, and a surrogate echoed into an error message cannot be encoded.
"""

import json
import re
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

ERROR_KEYS = {"code", "message", "fields", "request_id"}
WRITE_METHODS = ("post", "put", "patch")
_CONVERTER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
_SAMPLE = {"int": "1", "slug": "lahore", "str": "x", "path": "x", "uuid": "0" * 32}


def _walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, type[APIView]]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "cls", None)
            if view_class is not None and issubclass(view_class, APIView):
                yield route, view_class


def _concrete(route: str) -> str:
    return "/" + _CONVERTER.sub(
        lambda match: _SAMPLE.get(match["converter"] or "str", "x"), route.lstrip("^")
    ).rstrip("$")


def write_endpoints() -> list[tuple[str, str]]:
    """(method, path) of every JSON write the API answers, from the URL conf."""
    found = []
    for route, view_class in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/"):
            continue
        for method in WRITE_METHODS:
            if hasattr(view_class, method):
                found.append((method, _concrete(route)))
    return sorted(set(found))


ENDPOINTS = write_endpoints()

DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
# Lone surrogates in the fields the probe hit (choice fields whose error echoed the value),
# escaped as JSON allows: json.loads turns them into unencodable str.
SURROGATES = (
    '{"purpose": "supervision", "status": "\\ud800", "gender": "\\udfff", "kind": "\\ud800", '
    '"to": "\\ud800", "priority": "\\ud800", "outcome": "\\ud800", "username": "\\ud800", '
    '"\\ud800": 1}'
)
NOT_OBJECTS = ("null", "[1, 2]", '"x"', "1", "true")


def test_the_url_conf_yields_the_write_endpoints():
    """The generator finds the writes (so the tests below cannot pass by finding none)."""
    paths = {path for _, path in ENDPOINTS}
    assert "/api/v1/auth/token/" in paths
    assert "/api/v1/mobile/visits/batch/" in paths
    assert "/api/v1/offenders/1/notices/" in paths
    assert len(ENDPOINTS) > 25


@pytest.fixture(params=["anonymous", "registry_admin", "station_officer", "beat_officer"])
def client(request, world) -> APIClient:
    client = APIClient(raise_request_exception=False)
    if request.param != "anonymous":
        client.force_authenticate(request.getfixturevalue(request.param))
    return client


def _send(client: APIClient, method: str, path: str, body: str):
    return getattr(client, method)(path, data=body, content_type="application/json")


def _assert_refused_cleanly(response, method: str, path: str) -> None:
    assert response.status_code < 500, (method, path, response.status_code)
    if 400 <= response.status_code < 500 and response.status_code != 404:
        assert set(response.json()) >= ERROR_KEYS, (method, path, response.status_code)


@pytest.mark.django_db
def test_deep_json_is_a_400_everywhere(client):
    for method, path in ENDPOINTS:
        for body in (DEEP, DEEP_OBJECT):
            response = _send(client, method, path, body)
            _assert_refused_cleanly(response, method, path)


@pytest.mark.django_db
def test_lone_surrogates_are_refused_at_parse_time_everywhere(client):
    for method, path in ENDPOINTS:
        response = _send(client, method, path, SURROGATES)
        _assert_refused_cleanly(response, method, path)


@pytest.mark.django_db
def test_bodies_that_are_not_objects_are_a_400_everywhere(client):
    for method, path in ENDPOINTS:
        for body in NOT_OBJECTS:
            response = _send(client, method, path, body)
            _assert_refused_cleanly(response, method, path)


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, SURROGATES, *NOT_OBJECTS])
def test_the_anonymous_sign_in_refuses_hostile_bodies_as_a_parse_error(body):
    response = _send(APIClient(), "post", "/api/v1/auth/token/", body)

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert "\\ud800" not in response.content.decode()
    assert "ud800" not in response.json()["message"]


def test_the_surrogate_body_is_valid_json_with_unencodable_strings():
    decoded = json.loads(SURROGATES)
    with pytest.raises(UnicodeEncodeError):
        decoded["status"].encode("utf-8")


SECRETISH = "35202-1234567-1 Ali"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/offenders/search/", {"purpose": "supervision", "status": SECRETISH}),
        ("/api/v1/offenders/", {"gender": SECRETISH, "status": SECRETISH}),
        ("/api/v1/offenders/1/notices/", {"kind": SECRETISH}),
        ("/api/v1/offenders/1/transition/", {"to": SECRETISH}),
    ],
)
def test_a_rejected_value_is_never_echoed_in_the_error(world, registry_admin, path, body):
    """Privacy: what was refused may be a CNIC or a name typed in the wrong field."""
    client = APIClient()
    client.force_authenticate(registry_admin)

    response = client.post(path, body, format="json")

    assert response.status_code == 400
    assert "35202" not in response.content.decode()
