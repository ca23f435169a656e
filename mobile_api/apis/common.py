"""What both sets of endpoints share: audited reads, parsing, files."""

from typing import Any

from django.http import FileResponse
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request

from common.exceptions import NotFound
from registry.photos import CONTENT_TYPES


def parse(serializer_class: type[serializers.Serializer], data: Any) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """A photo request (``Accept: image/*``) gets the file, or an error body in JSON."""

    def select_renderer(self, request: Request, renderers: list, format_suffix: Any = None):
        return renderers[0], renderers[0].media_type


def file_response(file_field: Any, *, filename: str) -> FileResponse:
    try:
        handle = file_field.open("rb")
    except FileNotFoundError:
        raise NotFound() from None
    extension = file_field.name.rsplit(".", 1)[-1].lower()
    response = FileResponse(
        handle,
        content_type=CONTENT_TYPES.get(extension, "application/octet-stream"),
        filename=f"{filename}.{extension}",
    )
    response["Cache-Control"] = "private, no-store"
    return response
