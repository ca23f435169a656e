"""drf-spectacular: describe the device and gateway credential scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class DeviceCredentialScheme(OpenApiAuthenticationExtension):
    target_class = "geofence.authentication.DeviceCredentialAuthentication"
    name = "deviceCredential"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201 - spectacular's hook
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "'Device <credential>' from tracking-device enrolment, or "
            "'Gateway <credential>' from gateway enrolment. Opens only POST /api/v1/pings/.",
        }
