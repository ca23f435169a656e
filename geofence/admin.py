"""Geofence rows in the Django admin: read-only. Devices, gateways and zones change through
their audited services (credentials are issued once there; a zone edit must bump the zone-set
version every engine follows), never by editing a row."""

from django.contrib import admin

from audit.admin_mixins import AuditedReadAdminMixin
from common.admin import ReadOnlyAdminMixin
from geofence.models import Episode, Gateway, TrackingDevice, TravelWindow, Zone


class _ReadOnly(ReadOnlyAdminMixin, AuditedReadAdminMixin, admin.ModelAdmin):
    def get_readonly_fields(self, request, obj=None):  # noqa: ANN001, ANN201 - Django's hook
        return [f.name for f in self.model._meta.fields]


@admin.register(TrackingDevice)
class TrackingDeviceAdmin(_ReadOnly):
    audit_object_type = "tracking_device"
    list_display = ["id", "offender_id", "kind", "status", "gateway", "last_ping_at"]
    list_filter = ["status", "kind"]
    exclude = ["credential_hash"]

    def get_readonly_fields(self, request, obj=None):  # noqa: ANN001, ANN201 - Django's hook
        return [f.name for f in self.model._meta.fields if f.name != "credential_hash"]


@admin.register(Gateway)
class GatewayAdmin(_ReadOnly):
    audit_object_type = "gateway"
    list_display = ["id", "name", "status", "created_at"]
    list_filter = ["status"]
    exclude = ["credential_hash"]

    def get_readonly_fields(self, request, obj=None):  # noqa: ANN001, ANN201 - Django's hook
        return [f.name for f in self.model._meta.fields if f.name != "credential_hash"]


@admin.register(Zone)
class ZoneAdmin(_ReadOnly):
    audit_object_type = "zone"
    list_display = ["id", "name", "kind", "category", "applies_to", "district", "retired_at"]
    list_filter = ["kind", "category", "applies_to"]
    list_select_related = ["district"]


@admin.register(TravelWindow)
class TravelWindowAdmin(_ReadOnly):
    audit_object_type = "travel_window"
    list_display = ["id", "notice_id", "offender_id", "status", "starts_at", "ends_at"]
    list_filter = ["status", "is_international"]


@admin.register(Episode)
class EpisodeAdmin(_ReadOnly):
    audit_object_type = "episode"
    list_display = ["id", "offender_id", "kind", "zone_id", "started_at", "ended_at"]
    list_filter = ["kind"]
