"""The one file-streaming response (and its form for a file made on the fly) and the content
negotiation they need.

A client asking for a file sends ``Accept: image/*`` (or anything): DRF's default negotiation
would answer 406 to that before the view runs, so a view that streams files answers with its
first renderer whatever ``Accept`` says. The file itself bypasses rendering; an error body is
still the JSON one.
"""

from collections.abc import Mapping
from typing import Any

from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header
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


NOT_CACHED = "private, no-store"  # offender data: never kept by a browser or a proxy


def file_response(
    file_field: Any,
    *,
    filename: str,
    content_types: Mapping[str, str],
    as_attachment: bool = False,
) -> FileResponse:
    """Stream a stored file (a ``FieldFile``) as ``<filename>.<its extension>``, typed by
    ``content_types`` (extension → media type), never cached; ``as_attachment``: a download
    rather than shown inline. A file missing from storage is a 404, raised before anything is
    sent (so before the caller audits the read)."""
    try:
        handle = file_field.open("rb")
    except FileNotFoundError:
        raise NotFound() from None
    extension = file_field.name.rsplit(".", 1)[-1].lower()
    response = FileResponse(
        handle,
        content_type=content_types.get(extension, "application/octet-stream"),
        filename=f"{filename}.{extension}",
        as_attachment=as_attachment,
    )
    response["Cache-Control"] = NOT_CACHED
    return response


def content_response(content: bytes, *, filename: str, content_type: str) -> HttpResponse:
    """A file made for this request (a generated PDF) as a download named ``filename``,
    never cached: ``file_response``'s headers for bytes that are not in storage."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = NOT_CACHED
    return response
