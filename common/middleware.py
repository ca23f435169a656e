"""Request context middleware: a request id for every request, echoed in X-Request-ID."""

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from common.net import clean_ip
from common.request_context import RequestContext, reset_request_context, set_request_context

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_ip(request: HttpRequest) -> str | None:
    """The client address. Behind a proxy, REMOTE_ADDR is set from X-Forwarded-For by the server
    (uvicorn --proxy-headers with --forwarded-allow-ips), never trusted from the header here.

    None when REMOTE_ADDR is missing or not an IP address (``common.net.clean_ip``)."""
    return clean_ip(request.META.get("REMOTE_ADDR"))


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = set_request_context(
            RequestContext(
                request_id=request_id,
                client_ip=client_ip(request),
                device_id=request.headers.get("X-Device-ID", "")[:128],
                user_agent=request.headers.get("User-Agent", "")[:256],
            )
        )
        request.request_id = request_id
        try:
            response = self.get_response(request)
        finally:
            reset_request_context(token)
        response["X-Request-ID"] = request_id
        return response
