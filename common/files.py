"""The one file-streaming response and the content negotiation it needs.

A client asking for a file sends ``Accept: image/*`` (or anything): DRF's default negotiation
would answer 406 to that before the view runs, so a view that streams files answers with its
first renderer whatever ``Accept`` says. The file itself bypasses rendering; an error body is
still the JSON one.
"""

from collections.abc import Mapping
from typing import Any

from django.http import FileResponse
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from common.exceptions import NotFound


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """Answer with the view's first renderer whatever ``Accept`` says: a file request gets
    the file, or an error body in JSON, never a 406."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: Any = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


def file_response(
    file_field: Any, *, filename: str, content_types: Mapping[str, str]
) -> FileResponse:
    """Stream a stored file (a ``FieldFile``) as ``<filename>.<its extension>``, typed by
    ``content_types`` (extension → media type), never cached. A file missing from storage is
    a 404, raised before anything is sent (so before the caller audits the read)."""
    try:
        handle = file_field.open("rb")
    except FileNotFoundError:
        raise NotFound() from None
    extension = file_field.name.rsplit(".", 1)[-1].lower()
    response = FileResponse(
        handle,
        content_type=content_types.get(extension, "application/octet-stream"),
        filename=f"{filename}.{extension}",
    )
    response["Cache-Control"] = "private, no-store"
    return response
