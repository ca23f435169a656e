"""The schema tells the truth (issue 11, items 11 and 12)."""

from datetime import UTC, datetime

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _ok_schema(schema, path: str) -> dict:
    content = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    ref = content["schema"]["$ref"].rsplit("/", 1)[-1]
    return schema["components"]["schemas"][ref]


@pytest.mark.parametrize(
    "path", ["/api/v1/auth/devices/", "/api/v1/auth/officers/{officer_id}/devices/"]
)
def test_the_device_lists_are_documented_as_the_page_envelope_they_answer(schema, path):
    assert "results" in _ok_schema(schema, path)["properties"]


def test_datetimes_render_at_a_fixed_offset_even_a_century_back():
    """Asia/Karachi in 1900 is local mean time (+04:28:12), not valid RFC 3339."""
    field = serializers.DateTimeField()

    assert field.to_representation(datetime(1900, 1, 1, tzinfo=UTC)) == "1900-01-01T05:00:00+05:00"
    assert field.to_representation(datetime(2026, 3, 3, tzinfo=UTC)) == "2026-03-03T05:00:00+05:00"
