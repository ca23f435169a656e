"""Credentials of tracking devices and gateways: ``Authorization: Device <credential>`` or
``Authorization: Gateway <credential>``.

A separate credential type from officers' bearer tokens: only the ping endpoint lists this
class, so a device credential opens nothing else (every other endpoint sees an anonymous
request, 401), and the ping endpoint lists no other class, so an officer token never opens it.
"""

from dataclasses import dataclass

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from geofence.models import CredentialStatus, Gateway, TrackingDevice
from geofence.services.credentials import DEVICE_PREFIX, GATEWAY_PREFIX, credential_hash


@dataclass(frozen=True)
class Sender:
    """The authenticated principal of a ping request (not an officer)."""

    device: TrackingDevice | None = None
    gateway: Gateway | None = None
    is_authenticated: bool = True
    is_active: bool = True


class DeviceCredentialAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Sender, object] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in (b"device", b"gateway"):
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Malformed credential header.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("Malformed credential.") from exc
        hashed = credential_hash(raw)
        if parts[0].lower() == b"device" and raw.startswith(DEVICE_PREFIX):
            device = TrackingDevice.objects.filter(
                credential_hash=hashed, status=CredentialStatus.ACTIVE
            ).first()
            if device is not None:
                return Sender(device=device), device
        elif parts[0].lower() == b"gateway" and raw.startswith(GATEWAY_PREFIX):
            gateway = Gateway.objects.filter(
                credential_hash=hashed, status=CredentialStatus.ACTIVE
            ).first()
            if gateway is not None:
                return Sender(gateway=gateway), gateway
        raise AuthenticationFailed("Unknown or revoked credential.", code="bad_credential")

    def authenticate_header(self, request: Request) -> str:
        return 'Device realm="pings"'
