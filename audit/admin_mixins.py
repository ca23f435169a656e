"""Audited reads in the Django admin, for the admin modules of ``audit`` and the apps above it.

Kept out of ``common/admin.py`` because it records audit events, and ``common`` sits below
``audit`` (``ARCHITECTURE.md``): this way every import still points down.
"""

from typing import Any

from django.contrib.admin.views.main import SEARCH_VAR
from django.http import HttpRequest, HttpResponse

from audit.models import AuditAction
from audit.services import audit_record


def _was_shown(request: HttpRequest, response: HttpResponse) -> bool:
    # Refusals raise before a response exists, and unknown objects or lookups redirect; so a
    # GET answered 200 is a page of records that the user has seen.
    return request.method == "GET" and response.status_code == 200


class AuditedReadAdminMixin:
    """Records a ``read`` of ``audit_object_type`` when the list or a change page is shown.

    The list's query parameters are the admin's own filters, ordering and page (it redirects
    away from unknown lookups); of the free-text search box only whether it was used is kept,
    never what was typed (a name, a CNIC).
    """

    audit_object_type: str
    audit_purpose: str = ""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        if _was_shown(request, response):
            self._audit_read(
                request,
                details={
                    "filters": {k: v for k, v in request.GET.items() if k != SEARCH_VAR},
                    "searched": bool(request.GET.get(SEARCH_VAR)),
                },
            )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        if _was_shown(request, response):
            self._audit_read(request, object_id=object_id)
        return response

    def _audit_read(
        self, request: HttpRequest, *, object_id: str = "", details: dict[str, Any] | None = None
    ) -> None:
        audit_record(
            actor=request.user,
            action=AuditAction.READ,
            object_type=self.audit_object_type,
            object_id=object_id,
            purpose=self.audit_purpose,
            details={"via": "admin", **(details or {})},
        )
