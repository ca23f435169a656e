"""drf-spectacular: describe the bearer token scheme and the permission table in the OpenAPI
document.

The permission table is appended by a postprocessing hook (``SPECTACULAR_SETTINGS
["POSTPROCESSING_HOOKS"]``, a dotted path) rather than built in settings: settings import no
app code (the layer contract), and the table is rendered from the one table in code.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from accounts.roles import render_markdown


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


def add_permission_table(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Append the roles and permissions table to ``info.description``."""
    info = result.setdefault("info", {})
    info["description"] = info.get("description", "") + render_markdown()
    return result
