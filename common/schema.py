"""The OpenAPI schema tells the truth: what each operation can answer, and the real limits.

Written once here rather than in every view's ``@extend_schema`` (so views stay thin and no
operation is forgotten):

- ``AutoSchema``: a list that may not be empty (``allow_empty=False``) says ``minItems: 1``.
- ``postprocess_errors`` (a drf-spectacular postprocessing hook) gives every operation the
  error responses it can answer, each with the one error body (``Error``): 400 (every body and
  query is parsed and validated; ``parse_error`` for malformed JSON), 401/403 where a caller
  must be signed in, 404 where the path names an object (or the caller may not see it), 405
  where a path value can name a sibling route that does not take the method, 409
  on writes (state conflicts), 415 on operations with a body (another content type), 429
  where a limit applies. A response a view documents itself is kept, given the error body if
  it had none. Integer path ids say ``minimum: 1``; request fields named ``cnic`` and
  ``phone`` carry the patterns the register accepts.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

ERROR_COMPONENT = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The one error body of every 4xx (README, Errors).",
    "properties": {
        "code": {"type": "string", "description": "machine-readable, e.g. validation_error"},
        "message": {"type": "string"},
        "fields": {
            "type": "object",
            "description": "errors by flat field path (address.lat); a deprecated nested "
            "form may sit beside them under a top-level key",
            "additionalProperties": {},
        },
        "request_id": {"type": "string"},
        "retry_after": {"type": "integer", "description": "seconds, on 429"},
    },
    "required": ["code", "message", "fields", "request_id"],
    "additionalProperties": True,
}
_DESCRIPTIONS = {
    "400": "Invalid input: `validation_error` with `fields`, or `parse_error`",
    "401": "Not signed in, or the token is invalid, expired, revoked or sent without its device",
    "403": "The caller's role may not do this",
    "404": "Not found, or outside the caller's jurisdiction",
    "405": "Method not allowed: the path names a route that does not take this method",
    "409": "The object's state does not allow this",
    "415": "Unsupported content type",
    "429": "Too many requests: `rate_limited`, with `Retry-After`",
}
# Operations with limits of their own (a 429 besides the documented ones).
_LIMITED = frozenset({"auth_token_obtain", "offender_lookup", "sms_receipt"})
# The register's accepted forms (registry.identifiers), without the separators it also takes.
CNIC_PATTERN = r"^(?:[1-7][0-9]{12}|[1-7][0-9]{4}[- ][0-9]{7}[- ][0-9])$"
PHONE_PATTERN = r"^(?:0|\+92|92|0092)3[0-9]{9}$"
_PATTERNS = {"cnic": CNIC_PATTERN, "phone": PHONE_PATTERN}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, with ``minItems`` for lists that may not be empty."""

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False):  # noqa: ANN202 - spectacular's signature
        result = super()._map_serializer_field(field, direction, bypass_extensions)
        may_be_empty = getattr(field, "allow_empty", True)
        if (
            isinstance(field, serializers.ListSerializer | serializers.ListField)
            and not may_be_empty
            and isinstance(result, dict)
            and result.get("type") == "array"
        ):
            result["minItems"] = max(1, result.get("minItems", 0))
        return result


def _error_response(code: str, existing: dict | None) -> dict:
    response = dict(existing or {"description": _DESCRIPTIONS[code]})
    response.setdefault("description", _DESCRIPTIONS.get(code, "Refused"))
    if "content" not in response:
        response["content"] = {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}
        }
    return response


def _statuses(path: str, method: str, operation: dict) -> list[str]:
    codes = ["400"]
    secured = operation.get("security") != [] and operation.get("security") != [{}]
    if secured:
        codes += ["401", "403"]
    if "{" in path or secured:
        codes.append("404")
    if "{" in path:
        # A path value can spell a sibling route (``offenders/search/`` for
        # ``offenders/{offender_id}/``) that does not take this method.
        codes.append("405")
    if method in ("post", "put", "patch", "delete"):
        codes.append("409")
    if "requestBody" in operation:
        codes.append("415")
    if operation.get("operationId") in _LIMITED:
        codes.append("429")
    return codes


def _patterns(components: dict) -> None:
    for name, component in components.items():
        if not name.endswith("Request"):
            continue
        for field_name, prop in component.get("properties", {}).items():
            pattern = _PATTERNS.get(field_name)
            if pattern is None or prop.get("type") != "string":
                continue
            if prop.get("minLength", 0) >= 1:
                prop["pattern"] = pattern
            else:  # blank allowed
                prop["pattern"] = f"^(?:{pattern[1:-1]})?$"
            prop.pop("minLength", None)


def postprocess_errors(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular hook (module docstring)."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components[ERROR_COMPONENT] = ERROR_SCHEMA
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code in _statuses(path, method, operation):
                responses[code] = _error_response(code, responses.get(code))
            for code, response in list(responses.items()):
                if str(code).startswith("4"):
                    responses[code] = _error_response(str(code), response)
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "path" and schema.get("type") == "integer":
                    schema.setdefault("minimum", 1)
    _patterns(components)
    return result
