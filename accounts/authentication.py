"""Device-bound bearer tokens for the mobile app: ``Authorization: Bearer <token>``.

Because ``authenticate_header`` names the scheme, DRF answers an unauthenticated request with
401 and ``WWW-Authenticate: Bearer`` (without it every anonymous request would be 403).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.models import DeviceToken, Officer

KEYWORD = b"bearer"
DEVICE_HEADER = "X-Device-ID"


class DeviceTokenAuthentication(BaseAuthentication):
    """Looks the token up by its SHA-256; expired, revoked and inactive officers' tokens fail
    with 401, as does a token sent without ``X-Device-ID`` (``device_required``) or from
    another device (``device_mismatch``): every token-authenticated request names its device."""

    def authenticate(self, request: Request) -> tuple[Officer, DeviceToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None  # not ours: let the next class (session) try
        if len(parts) != 2:
            raise AuthenticationFailed(_("Malformed bearer token header."))
        try:
            raw_token = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed(_("Malformed bearer token.")) from exc
        # Imported here: DRF imports this module while ``common.exceptions`` (which services
        # need) is itself still importing DRF.
        from accounts.services import TokenRejected, device_token_authenticate

        try:
            device_token = device_token_authenticate(
                raw_token=raw_token, device_id=request.headers.get(DEVICE_HEADER, "")
            )
        except TokenRejected as exc:
            raise AuthenticationFailed(exc.message, code=exc.code) from exc
        return device_token.officer, device_token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
