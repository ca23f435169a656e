"""The audit trail in the Django admin: read-only, for auditors and superusers.

Nothing can be added, changed or deleted here (the database refuses it anyway), and reading
the trail through the admin is audited like reading it through the API.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record

# The admin redirects away from unknown lookups, so a 200 means the query parameters are its
# own filters, ordering and page; only the free-text search box (``q``) could hold anything an
# auditor typed, so of that only whether it was used is kept.
_SEARCH_PARAM = "q"


def _may_read(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        user.is_active and (user.is_superuser or user.has_permission("audit.read"))  # type: ignore[union-attr]
    )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "occurred_at",
        "actor_username",
        "role",
        "action",
        "object_type",
        "object_id",
        "purpose",
        "outcome",
    )
    list_filter = ("action", "role")
    search_fields = ("=object_id", "=request_id", "=actor_username")
    date_hierarchy = "occurred_at"
    ordering = ("-id",)
    show_full_result_count = False  # a COUNT(*) over the whole trail on every page is wasteful
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_read(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_read(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if request.method == "GET" and response.status_code == 200:
            filters = {k: v for k, v in request.GET.items() if k != _SEARCH_PARAM}
            audit_record(
                actor=request.user,
                action=AuditAction.READ,
                object_type="audit_event",
                purpose="audit",
                details={
                    "via": "admin",
                    "filters": filters,
                    "searched": _SEARCH_PARAM in request.GET,
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
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            audit_record(
                actor=request.user,
                action=AuditAction.READ,
                object_type="audit_event",
                object_id=object_id,
                purpose="audit",
                details={"via": "admin"},
            )
        return response
