"""The outbox in the Django admin: read-only, for following delivery. Neither numbers nor
texts are shown (not even encrypted), and there is no search: a number typed into a search box
would end up in URLs and access logs. Notices and receipt signatures are not registered: the
former are each officer's own, the latter are noise."""

from django.contrib import admin

from common.admin import ReadOnlyAdminMixin
from push.models import SmsMessage

SHOWN_FIELDS = [
    "id",
    "reference",
    "purpose",
    "status",
    "sensitive",
    "encoding",
    "units",
    "segments",
    "attempts",
    "last_error",
    "backend",
    "gateway_id",
    "offender_id",
    "created_at",
    "claimed_at",
    "next_attempt_at",
    "sent_at",
    "delivered_at",
    "finished_at",
    "expires_at",
    "text_wiped_at",
]


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "purpose", "status", "segments", "attempts", "last_error", "created_at"]
    list_filter = ["status", "purpose", "backend", "sensitive"]
    date_hierarchy = "created_at"
    fields = SHOWN_FIELDS
    readonly_fields = SHOWN_FIELDS
