"""What both sets of endpoints share: the permission check, audited reads, parsing, files."""

from typing import Any

from django.http import FileResponse
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import NotFound
from common.inputs import parse  # noqa: F401 - the one parse helper, re-exported for the apis
from registry.models import AccessPurpose
from registry.photos import CONTENT_TYPES


class HoldsPermission(BasePermission):
    """The view's ``required_permission`` (a dict by method, or one name for all)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        needed = view.required_permission
        if isinstance(needed, dict):
            needed = needed.get(request.method, needed.get("*"))
        return bool(needed and user.has_permission(needed))


def audit_read(request: Request, *, object_type: str, object_id: Any = "", details: dict) -> None:
    audit_record(
        actor=request.user,
        action=AuditAction.READ,
        object_type=object_type,
        object_id=object_id,
        purpose=AccessPurpose.VERIFICATION,
        details=details,
    )


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
