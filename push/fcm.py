"""The one module that imports firebase-admin: a batch of data-only messages → one result per
message, classified for the outbox (sent, retry later, dead token, failed).

The SDK's send endpoint is Google's unless ``NIGRANI_FCM_ENDPOINT`` names another base URL
(tests point it at a local fake FCM server; the service-account key's ``token_uri`` points the
OAuth exchange there too; google-auth's regional-access-boundary lookup at Google is then off).
firebase-admin has no public option for the endpoint: the
messaging service keeps it in ``_fcm_url``, which is set here and nowhere else. Its own
urllib3 retries (500/503 only, up to 4 times, sleeping in the worker) are turned off for that
endpoint: the outbox retries every transient error itself, 429 included, honouring
``Retry-After``, with the short ``NIGRANI_FCM_TIMEOUT_SECONDS`` per request.
"""

import threading
import warnings
from dataclasses import dataclass
from datetime import timedelta

import firebase_admin
import requests
from django.conf import settings
from firebase_admin import credentials, exceptions, messaging

GOOGLE_FCM_BASE = "https://fcm.googleapis.com"
MAX_BATCH = 500  # FCM's send_each limit

# Transient: try again later. Dead: the registration token will never work again.
_RETRY_ERRORS = (
    messaging.QuotaExceededError,  # 429 QUOTA_EXCEEDED
    exceptions.ResourceExhaustedError,  # 429 without an FCM error code
    exceptions.UnavailableError,  # 503
    exceptions.InternalError,  # 500
    exceptions.DeadlineExceededError,  # our timeout: the server hung
    exceptions.UnknownError,  # connection refused or reset
)
_DEAD_ERRORS = (messaging.UnregisteredError, exceptions.InvalidArgumentError)


@dataclass(frozen=True)
class OutgoingPush:
    """One data-only message to one registration token. ``data`` holds ids and codes only."""

    token: str
    data: dict[str, str]
    ttl_seconds: int


@dataclass(frozen=True)
class PushResult:
    sent: bool = False
    retry: bool = False
    dead: bool = False
    retry_after_seconds: float | None = None
    error: str = ""  # an error code, never a message text


def _retry_after(error: exceptions.FirebaseError) -> float | None:
    response = getattr(error, "http_response", None)
    if response is None:
        return None
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        return None  # an HTTP date: rare for FCM; our own backoff applies


def classify(error: exceptions.FirebaseError | None) -> PushResult:
    if error is None:
        return PushResult(sent=True)
    code = str(getattr(error, "code", "") or type(error).__name__)[:64]
    if isinstance(error, _DEAD_ERRORS):
        return PushResult(dead=True, error=code)
    if isinstance(error, _RETRY_ERRORS):
        return PushResult(retry=True, retry_after_seconds=_retry_after(error), error=code)
    return PushResult(error=code)


class FcmBackend:
    name = "fcm"

    def __init__(self) -> None:
        key_file = settings.NIGRANI_FCM_CREDENTIALS_FILE
        if not key_file:
            raise RuntimeError("NIGRANI_PUSH_BACKEND=fcm needs NIGRANI_FCM_CREDENTIALS_FILE")
        self.app = firebase_admin.initialize_app(
            credentials.Certificate(key_file),
            options={"httpTimeout": settings.NIGRANI_FCM_TIMEOUT_SECONDS},
            name=f"nigrani-{id(self)}",
        )
        base = (settings.NIGRANI_FCM_ENDPOINT or GOOGLE_FCM_BASE).rstrip("/")
        service = messaging._get_messaging_service(self.app)
        service._fcm_url = f"{base}/v1/projects/{self.app.project_id}/messages:send"
        # Sized like the SDK's own FCM adapter: send_each runs one thread per message.
        service._client.session.mount(
            base,
            requests.adapters.HTTPAdapter(pool_connections=100, pool_maxsize=100, max_retries=0),
        )
        if base != GOOGLE_FCM_BASE:
            # google-auth looks up the service account's "regional access boundary" at
            # Google's IAM API in a background thread; pointed elsewhere (a local fake, an
            # air-gapped relay) nothing may go to Google, so that lookup is turned off.
            session_credentials = service._client.session.credentials
            session_credentials._is_regional_access_boundary_lookup_required = lambda: False

    def send_batch(self, pushes: list[OutgoingPush]) -> list[PushResult]:
        if len(pushes) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} messages per batch")
        if not pushes:
            return []
        with warnings.catch_warnings():
            # firebase-admin 7.7 deprecates ``token`` in favour of installation ids (``fid``);
            # the app registers an FCM registration token, which the v1 API still takes.
            warnings.simplefilter("ignore", DeprecationWarning)
            batch = [
                messaging.Message(
                    token=push.token,
                    data=push.data,
                    android=messaging.AndroidConfig(
                        priority="high", ttl=timedelta(seconds=push.ttl_seconds)
                    ),
                )
                for push in pushes
            ]
        response = messaging.send_each(batch, app=self.app)
        return [classify(result.exception) for result in response.responses]

    def close(self) -> None:
        firebase_admin.delete_app(self.app)


class ConsoleBackend:
    """Development: print what would be pushed (ids and codes only) and call it sent."""

    name = "console"

    def send_batch(self, pushes: list[OutgoingPush]) -> list[PushResult]:
        for push in pushes:
            print(f"[push] to …{push.token[-6:]} {push.data}")  # noqa: T201
        return [PushResult(sent=True) for _ in pushes]

    def close(self) -> None:
        return None


_backends: dict[tuple, object] = {}
_lock = threading.Lock()


def push_backend() -> FcmBackend | ConsoleBackend | None:
    """The configured backend, one per process and configuration (None: pushes are off)."""
    name = settings.NIGRANI_PUSH_BACKEND
    if name == "none":
        return None
    key = (
        name,
        settings.NIGRANI_FCM_CREDENTIALS_FILE,
        settings.NIGRANI_FCM_ENDPOINT,
        settings.NIGRANI_FCM_TIMEOUT_SECONDS,
    )
    with _lock:
        if key not in _backends:
            if name == "console":
                _backends[key] = ConsoleBackend()
            elif name == "fcm":
                _backends[key] = FcmBackend()
            else:
                raise RuntimeError(f"NIGRANI_PUSH_BACKEND must be console, fcm or none: {name!r}")
        return _backends[key]
