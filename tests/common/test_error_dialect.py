"""One dialect for nested field errors: flat paths (``location.lon``), with the nested form
kept beside them where endpoints answered it before (issue 10, "one error dialect")."""

from django.urls import path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common.inputs import parse


class _Location(serializers.Serializer):
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)


class _Conviction(serializers.Serializer):
    sections = serializers.ListField(child=serializers.CharField(), allow_empty=False)


class _Input(serializers.Serializer):
    location = _Location()
    convictions = _Conviction(many=True)
    cnic = serializers.CharField()


class _ParseView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def post(self, request):
        parse(_Input, request.data)
        return Response({"ok": True})


urlpatterns = [path("parse/", _ParseView.as_view())]


def test_nested_errors_use_flat_paths_and_keep_the_nested_form(api_client, settings):
    settings.ROOT_URLCONF = __name__
    body = {"location": {"lon": 500, "lat": 10}, "convictions": [{"sections": []}]}

    fields = api_client.post("/parse/", body, format="json").json()["fields"]

    assert fields["location.lon"] == ["Ensure this value is less than or equal to 180."]
    assert fields["convictions[0].sections"] == ["This list may not be empty."]
    assert fields["cnic"] == ["This field is required."]
    # The deprecated nested form, for phones that already parse it.
    assert fields["location"] == {"lon": ["Ensure this value is less than or equal to 180."]}
    assert fields["convictions"] == {"0": {"sections": ["This list may not be empty."]}}
