"""The one parse helper and the one dialect of field errors.

Every view parses its input with ``parse``; the error handler (``common.exceptions``) turns a
refusal into the one error body, whose ``fields`` name each field by its **flat path**:
``address.lat``, ``convictions[0].sections``, ``location.lon``, ``details.address.text`` —
the same keys the services raise, so a client reads one dialect whichever layer refused.

Compatibility (phones in the field cannot be force-updated): a nested error that some
endpoints answered in DRF's nested form (``{"location": {"lon": […]}}``) keeps that form under
its top-level key as well, beside the flat keys. New clients read the flat keys; the nested
form is deprecated and never used for anything new.
"""

from typing import Any

from rest_framework import serializers


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors → flat keys (``address.lat``, ``convictions[0].sections``)."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            if isinstance(key, int):
                name = f"{prefix}[{key}]"
            elif key == "non_field_errors" and prefix:
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            for flat_key, messages in flatten_errors(value, name).items():
                flat.setdefault(flat_key, []).extend(messages)
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix: [str(item) for item in detail]}
        flat = {}
        for position, item in enumerate(detail):
            if item:
                for flat_key, messages in flatten_errors(item, f"{prefix}[{position}]").items():
                    flat.setdefault(flat_key, []).extend(messages)
        return flat
    return {prefix: [str(detail)]}


def _is_nested(value: Any) -> bool:
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and any(isinstance(item, dict | list) for item in value)


def error_fields(detail: Any) -> dict[str, Any]:
    """The ``fields`` of the error body for a DRF ``ValidationError`` detail (module
    docstring): flat keys, plus the deprecated nested form of a nested top-level field."""
    if not isinstance(detail, dict):
        return {}
    fields = {key: value for key, value in detail.items() if key != "non_field_errors"}
    flat: dict[str, Any] = flatten_errors(fields)
    for key, value in fields.items():
        if _is_nested(value):
            flat[str(key)] = value
    return flat


def parse(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> Any:
    """The serializer's validated data, or a ``ValidationError`` for the error handler."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
