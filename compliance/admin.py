"""Violations in the Django admin: read-only. Status changes go through the API's services,
so that every change is a conditional update with who and why, audited."""

from django.contrib import admin

from audit.admin_mixins import AuditedReadAdminMixin
from common.admin import ReadOnlyAdminMixin, ReadOnlyInline
from compliance.models import Violation, ViolationStatusChange


class ViolationStatusChangeInline(ReadOnlyInline):
    model = ViolationStatusChange
    fields = ["from_status", "to_status", "actor", "reason", "changed_at"]
    readonly_fields = fields


@admin.register(Violation)
class ViolationAdmin(ReadOnlyAdminMixin, AuditedReadAdminMixin, admin.ModelAdmin):
    audit_object_type = "violation"
    list_display = ["id", "kind", "severity", "status", "district", "station", "detected_at"]
    list_filter = ["status", "kind", "severity", "district"]
    list_select_related = ["district", "station"]
    date_hierarchy = "detected_at"
    inlines = [ViolationStatusChangeInline]
    # The offender is shown as its id (Offender.__str__ carries no identity); no search on
    # offender fields, which would put names into admin URLs and logs.
    readonly_fields = [f.name for f in Violation._meta.fields]
