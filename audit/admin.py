"""The audit trail in the Django admin: read-only, for auditors and superusers.

Nothing can be added, changed or deleted here (the database refuses it anyway), and reading
the trail through the admin is audited like reading it through the API.
"""

from django.contrib import admin

from audit.admin_mixins import AuditedReadAdminMixin
from audit.models import AuditEvent
from common.admin import ReadOnlyAdminMixin, RolePermissionAdminMixin


@admin.register(AuditEvent)
class AuditEventAdmin(
    ReadOnlyAdminMixin, RolePermissionAdminMixin, AuditedReadAdminMixin, admin.ModelAdmin
):
    required_permission = "audit.read"
    audit_object_type = "audit_event"
    audit_purpose = "audit"
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
