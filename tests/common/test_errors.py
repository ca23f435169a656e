"""The single error body for every 4xx, through a real view."""

from django.core.exceptions import ValidationError
from django.urls import path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common.exceptions import Conflict, NotFound, RateLimited


class _Input(serializers.Serializer):
    cnic = serializers.CharField(max_length=15)


class _EchoView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def post(self, request, kind: str):
        if kind == "drf":
            _Input(data=request.data).is_valid(raise_exception=True)
        if kind == "django":
            raise ValidationError({"phone": ["Enter a valid Pakistani mobile number."]})
        if kind == "missing":
            raise NotFound()
        if kind == "conflict":
            raise Conflict("Task was reassigned.", code="task_reassigned", extra={"state": "x"})
        if kind == "limited":
            raise RateLimited("Too many attempts.", retry_after=42)
        return Response({"ok": True})


urlpatterns = [path("echo/<str:kind>/", _EchoView.as_view())]


def _post(client, kind, data=None):
    return client.post(f"/echo/{kind}/", data or {}, format="json")


def test_drf_validation_error_has_field_errors(api_client, settings):
    settings.ROOT_URLCONF = __name__
    response = _post(api_client, "drf")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["fields"] == {"cnic": ["This field is required."]}
    assert body["request_id"] == response["X-Request-ID"]


def test_django_validation_error_from_a_service_is_a_400_not_a_500(api_client, settings):
    settings.ROOT_URLCONF = __name__
    response = _post(api_client, "django")
    assert response.status_code == 400
    assert response.json()["fields"] == {"phone": ["Enter a valid Pakistani mobile number."]}


def test_not_found_conflict_and_rate_limit_share_the_body(api_client, settings):
    settings.ROOT_URLCONF = __name__
    missing = _post(api_client, "missing")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    conflict = _post(api_client, "conflict")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "task_reassigned"
    assert conflict.json()["state"] == "x"
    limited = _post(api_client, "limited")
    assert limited.status_code == 429
    assert limited["Retry-After"] == "42"
    assert limited.json()["retry_after"] == 42


def test_a_safe_incoming_request_id_is_echoed(api_client, settings):
    settings.ROOT_URLCONF = __name__
    response = api_client.post(
        "/echo/missing/", {}, format="json", HTTP_X_REQUEST_ID="field-app-1234abcd"
    )
    assert response["X-Request-ID"] == "field-app-1234abcd"
    assert response.json()["request_id"] == "field-app-1234abcd"
