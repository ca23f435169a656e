"""The client address the request context and sign-in use: valid for ``inet`` or None."""

import pytest
from django.test import RequestFactory

from common.middleware import client_ip
from common.net import clean_ip


@pytest.mark.parametrize(
    ("remote_addr", "expected"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("2001:db8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("2001:DB8:0::1", "2001:db8::1"),
        ("garbage", None),
        ("10.1.2.3, 10.9.9.9", None),
        ("999.1.1.1", None),
        ("", None),
    ],
)
def test_client_ip_is_a_valid_address_or_none(remote_addr, expected):
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr)

    assert client_ip(request) == expected


def test_client_ip_without_remote_addr_is_none():
    request = RequestFactory().get("/")
    del request.META["REMOTE_ADDR"]

    assert client_ip(request) is None


def test_the_audit_trail_cleans_addresses_the_same_way():
    from audit import services as audit_services

    assert audit_services._clean_ip is clean_ip
    assert clean_ip(None) is None


def test_the_request_context_carries_the_cleaned_address(client, db):
    from common.request_context import get_request_context

    seen = {}

    def view(request):
        from django.http import HttpResponse

        seen["ip"] = get_request_context().client_ip
        return HttpResponse("ok")

    from common.middleware import RequestContextMiddleware

    request = RequestFactory().get("/", REMOTE_ADDR="garbage")
    RequestContextMiddleware(view)(request)

    assert seen["ip"] is None
