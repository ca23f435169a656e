"""Violations in the Django admin: read-only. Status changes go through the API's services,
so that every change is a conditional update with who and why, audited."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from audit.models import AuditAction
from audit.services import audit_record
from compliance.models import Violation, ViolationStatusChange


class ViolationStatusChangeInline(admin.TabularInline):
    model = ViolationStatusChange
    extra = 0
    can_delete = False
    fields = ["from_status", "to_status", "actor", "reason", "changed_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Violation)
class ViolationAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "severity", "status", "district", "station", "detected_at"]
    list_filter = ["status", "kind", "severity", "district"]
    list_select_related = ["district", "station"]
    date_hierarchy = "detected_at"
    inlines = [ViolationStatusChangeInline]
    # The offender is shown as its id (Offender.__str__ carries no identity); no search on
    # offender fields, which would put names into admin URLs and logs.
    readonly_fields = [f.name for f in Violation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        response = super().changelist_view(request, extra_context)
        self._audit_read(request, object_id="")
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        self._audit_read(request, object_id=object_id)
        return response

    def _audit_read(self, request: HttpRequest, *, object_id: str) -> None:
        audit_record(
            actor=request.user,
            action=AuditAction.READ,
            object_type="violation",
            object_id=object_id,
            details={"via": "admin"},
        )

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
