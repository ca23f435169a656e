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


def test_every_field_a_former_supervisor_reads_as_null_is_nullable_in_the_schema(schema):
    """``access: "former"`` nulls the current-only fields (found by schemathesis: ``phone``
    was null in a 200 its schema called a string)."""
    from registry.apis.offenders import _CURRENT_ONLY

    properties = schema["components"]["schemas"]["Offender"]["properties"]
    not_nullable = [name for name in _CURRENT_ONLY if not properties[name].get("nullable")]

    assert not_nullable == []


def test_datetimes_render_at_a_fixed_offset_even_a_century_back():
    """Asia/Karachi in 1900 is local mean time (+04:28:12), not valid RFC 3339."""
    field = serializers.DateTimeField()

    assert field.to_representation(datetime(1900, 1, 1, tzinfo=UTC)) == "1900-01-01T05:00:00+05:00"
    assert field.to_representation(datetime(2026, 3, 3, tzinfo=UTC)) == "2026-03-03T05:00:00+05:00"


@pytest.mark.django_db
@pytest.mark.parametrize("page_size", ["null", "true", "1e-294", "0", "201", "-1", ""])
def test_a_bad_page_size_is_a_400(client_for, world, registry_admin, page_size):
    response = client_for(registry_admin).get("/api/v1/notifications/", {"page_size": page_size})

    assert response.status_code == 400, response.content
    assert "page_size" in response.json()["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize("unread", ["null", "yes", "1"])
def test_a_bad_unread_filter_is_a_400(client_for, world, registry_admin, unread):
    response = client_for(registry_admin).get("/api/v1/notifications/", {"unread": unread})

    assert response.status_code == 400, response.content


def test_every_operation_documents_its_error_answers_with_the_error_body(schema):
    assert "Error" in schema["components"]["schemas"]
    detail = schema["paths"]["/api/v1/offenders/{offender_id}/"]["get"]["responses"]
    assert {"200", "400", "401", "403", "404"} <= set(detail)
    assert detail["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert "400" in operation["responses"], (method, path)


def test_the_schema_carries_the_real_constraints(schema):
    components = schema["components"]["schemas"]
    create = components["OffenderCreateRequest"]["properties"]
    assert create["convictions"]["minItems"] == 1
    assert create["cnic"]["pattern"].startswith("^")
    assert "pattern" in create["phone"]
    assert create["risk_tier"]["minimum"] == 1
    detail = schema["paths"]["/api/v1/offenders/{offender_id}/"]["get"]["parameters"]
    (offender_id,) = [p for p in detail if p["name"] == "offender_id"]
    assert offender_id["schema"]["minimum"] == 1
