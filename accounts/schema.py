"""drf-spectacular: describe the bearer token scheme in the OpenAPI document."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.DeviceTokenAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201 - spectacular's hook
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A device-bound token from POST /api/v1/auth/token/.",
        }
