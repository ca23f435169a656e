"""SMS gateway backends behind one interface; the only module that talks to a gateway.

``send()`` hands one message to the gateway and returns the gateway's id for it, or raises
``SmsGatewayError`` saying whether trying again may help. Backends see the number and the text;
they never log either (errors carry codes, not bodies).
"""

import ipaddress
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SmsGatewayError(Exception):
    """The gateway did not accept the message. ``code`` is short and safe to log and store;
    ``transient`` says a later attempt may succeed (timeouts, 5xx, throttling)."""

    def __init__(self, code: str, *, transient: bool) -> None:
        super().__init__(code)
        self.code = code[:64]
        self.transient = transient


@dataclass(frozen=True)
class OutgoingSms:
    reference: str  # our idempotency key: the message's UUID
    to: str
    text: str
    encoding: str
    purpose: str
    message_id: int


class SmsBackend(Protocol):
    name: str

    def send(self, sms: OutgoingSms) -> str: ...


class ConsoleBackend:
    """Development: prints the message to stdout (a developer reads an OTP there) and keeps the
    outbox row as the record, which ``manage.py sms_outbox`` shows. Printed, not logged: log
    shippers must never carry a text, and development logs are shipped too in some setups."""

    name = "console"

    def __init__(self) -> None:
        if not settings.DEV_MODE:
            raise ImproperlyConfigured(
                "NIGRANI_SMS_BACKEND=console is for development only (NIGRANI_DEV=1)"
            )

    def send(self, sms: OutgoingSms) -> str:
        print(  # noqa: T201
            f"[sms console] #{sms.message_id} to {sms.to} ({sms.purpose}, {sms.encoding}): "
            f"{sms.text}",
            file=sys.stdout,
            flush=True,
        )
        return f"console-{sms.reference}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=4)
def _http_client(timeout: float) -> httpx.Client:
    """One client per process (per timeout): it keeps connections to the gateway open, and
    building a client (its TLS context) costs more than a send."""
    return httpx.Client(timeout=timeout)


class HttpBackend:
    """A generic HTTPS gateway as Pakistani aggregators offer: ``POST {url}/messages`` with a
    bearer API key and JSON ``{to, text, sender, encoding, reference}``; the answer
    ``{"id": "<gateway id>"}``. ``reference`` also goes in the ``Idempotency-Key`` header, so a
    retry after a dropped answer is de-duplicated by the gateway and the handset gets one SMS.

    Timeouts, connection errors, 5xx, 408 and 429 are transient; other 4xx (a bad number, a
    refused sender id) are permanent: retrying would only be refused again. Plain http is
    refused outside development except to a loopback address.
    """

    name = "http"

    def __init__(self) -> None:
        url = settings.NIGRANI_SMS_HTTP_URL or ""
        key = settings.NIGRANI_SMS_HTTP_API_KEY or ""
        if not url or not key:
            raise ImproperlyConfigured(
                "NIGRANI_SMS_BACKEND=http needs NIGRANI_SMS_HTTP_URL and NIGRANI_SMS_HTTP_API_KEY"
            )
        parts = urlsplit(url)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and (settings.DEV_MODE or _is_loopback(parts.hostname or ""))
        ):
            raise ImproperlyConfigured("NIGRANI_SMS_HTTP_URL must be https://")
        self.url = url.rstrip("/") + "/messages"
        self.api_key = key
        self.sender = settings.NIGRANI_SMS_SENDER_ID
        self.timeout = float(settings.NIGRANI_SMS_HTTP_TIMEOUT_SECONDS)

    def send(self, sms: OutgoingSms) -> str:
        try:
            response = _http_client(self.timeout).post(
                self.url,
                json={
                    "to": sms.to,
                    "text": sms.text,
                    "sender": self.sender,
                    "encoding": sms.encoding,
                    "reference": sms.reference,
                },
                headers={
                    "Authorization": f"Bearer {self.api_key}",
                    "Idempotency-Key": sms.reference,
                },
            )
        except httpx.TimeoutException as exc:
            raise SmsGatewayError("timeout", transient=True) from exc
        except httpx.HTTPError as exc:
            raise SmsGatewayError("connection_error", transient=True) from exc
        status = response.status_code
        if status >= 500 or status in (408, 429):
            raise SmsGatewayError(f"http_{status}", transient=True)
        if status >= 400:
            raise SmsGatewayError(f"http_{status}", transient=False)
        try:
            gateway_id = response.json()["id"]
        except (ValueError, KeyError, TypeError) as exc:
            # Accepted but unreadable: retry; the idempotency key keeps it to one SMS.
            raise SmsGatewayError("bad_response", transient=True) from exc
        if not isinstance(gateway_id, str | int) or not str(gateway_id).strip():
            raise SmsGatewayError("bad_response", transient=True)
        return str(gateway_id)[:128]


BACKENDS: dict[str, type[ConsoleBackend] | type[HttpBackend]] = {
    "console": ConsoleBackend,
    "http": HttpBackend,
}


def sms_backend() -> SmsBackend:
    """The backend named by ``NIGRANI_SMS_BACKEND``; refuses unknown names and misconfiguration."""
    name = settings.NIGRANI_SMS_BACKEND
    try:
        backend_class = BACKENDS[name]
    except KeyError as exc:
        raise ImproperlyConfigured(f"unknown NIGRANI_SMS_BACKEND {name!r}") from exc
    return backend_class()
