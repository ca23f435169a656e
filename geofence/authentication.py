"""Credentials of tracking devices and gateways: ``Authorization: Device <credential>`` or
``Authorization: Gateway <credential>``.

A separate credential type from officers' bearer tokens: only the ping endpoint lists this
class, so a device credential opens nothing else (every other endpoint sees an anonymous
request, 401), and the ping endpoint lists no other class, so an officer token never opens it.
"""

from dataclasses import dataclass

from django.conf import settings
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from common.db import bound_cursor
from geofence.models import CredentialStatus, Gateway, TrackingDevice
from geofence.services.credentials import (
    DEVICE_PREFIX,
    GATEWAY_PREFIX,
    credential_hash,
    known_device_forget,
    known_device_get,
    known_device_put,
)

BAD_CREDENTIAL = "Unknown or revoked credential."
_ACTIVE_DEVICE = (
    "SELECT id, offender_id, gateway_id FROM geofence_trackingdevice "
    "WHERE credential_hash = %s AND status = %s"
)


@dataclass(frozen=True)
class Sender:
    """The authenticated principal of a ping request (not an officer). A device sender's
    ``device`` carries its id, offender and gateway only — what the ping path reads (it
    re-reads the rest under the device's lock)."""

    device: TrackingDevice | None = None
    gateway: Gateway | None = None
    credential_hash: str = ""
    is_authenticated: bool = True
    is_active: bool = True


def _active_device(hashed: str) -> TrackingDevice | None:
    """The device of an active credential: remembered for NIGRANI_DEVICE_CREDENTIAL_CACHE_SECONDS
    (services/credentials.py says why that is safe), else one indexed lookup."""
    known = known_device_get(hashed)
    if known is None:
        with bound_cursor() as cursor:  # prepared: a cold process looks up every tag once
            cursor.execute(_ACTIVE_DEVICE, [hashed, CredentialStatus.ACTIVE.value])
            row = cursor.fetchone()
        if row is None:
            return None
        known = known_device_put(
            hashed,
            device_id=row[0],
            offender_id=row[1],
            gateway_id=row[2],
            ttl_s=settings.NIGRANI_DEVICE_CREDENTIAL_CACHE_SECONDS,
        )
    return TrackingDevice(
        id=known.device_id,
        offender_id=known.offender_id,
        gateway_id=known.gateway_id,
        credential_hash=hashed,
        status=CredentialStatus.ACTIVE,
    )


def sender_revoked(sender: Sender) -> AuthenticationFailed:
    """The ping path found the sender's device revoked (another process revoked it after the
    credential was checked or remembered): forget the credential; the batch gets 401."""
    known_device_forget(sender.credential_hash)
    return AuthenticationFailed(BAD_CREDENTIAL, code="bad_credential")


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
            device = _active_device(hashed)
            if device is not None:
                return Sender(device=device, credential_hash=hashed), device
        elif parts[0].lower() == b"gateway" and raw.startswith(GATEWAY_PREFIX):
            gateway = Gateway.objects.filter(
                credential_hash=hashed, status=CredentialStatus.ACTIVE
            ).first()
            if gateway is not None:
                return Sender(gateway=gateway, credential_hash=hashed), gateway
        raise AuthenticationFailed(BAD_CREDENTIAL, code="bad_credential")

    def authenticate_header(self, request: Request) -> str:
        return 'Device realm="pings"'
