"""drf-spectacular: describe the bearer token scheme in the OpenAPI document."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.DeviceTokenAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201 - spectacular's hook
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A device-bound token from POST /api/v1/auth/token/. Every request sending it "
                "must also send `X-Device-ID` with the `device_id` it was issued to: without "
                "the header it is 401 `device_required`, with another device 401 "
                "`device_mismatch`."
            ),
        }
