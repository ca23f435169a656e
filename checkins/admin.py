"""Station terminals in the Django admin: system administrators enrol a device as a station's
counter terminal and revoke it, through ``checkins.services.terminals`` (which audits both).
Every page shown records a ``read``."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from audit.admin_mixins import AuditedReadAdminMixin
from checkins.models import StationTerminal
from checkins.services.terminals import (
    station_terminal_enrol,
    station_terminal_errors,
    station_terminal_revoke,
)
from common.admin import RolePermissionAdminMixin


class StationTerminalForm(ModelForm):
    class Meta:
        model = StationTerminal
        fields = ("station", "device_id", "name")

    def clean(self) -> dict:
        data = super().clean()
        station, device_id = data.get("station"), data.get("device_id")
        if station is not None and device_id:
            errors = station_terminal_errors(station=station, device_id=device_id)
            if errors:
                raise ValidationError(errors)
        return data


@admin.register(StationTerminal)
class StationTerminalAdmin(AuditedReadAdminMixin, RolePermissionAdminMixin, admin.ModelAdmin):
    required_permission = "device.revoke_any"
    audit_object_type = "station_terminal"
    form = StationTerminalForm
    list_display = ("id", "station", "device_id", "name", "enrolled_by", "created_at", "revoked_at")
    list_filter = ("station",)
    actions = ("revoke",)

    def get_readonly_fields(self, request: HttpRequest, obj: StationTerminal | None = None):
        if obj is not None:  # a terminal is enrolled or revoked, never edited
            return ("station", "device_id", "name", "enrolled_by", "revoked_at", "revoked_by")
        return ()

    def save_model(
        self, request: HttpRequest, obj: StationTerminal, form: ModelForm, change: bool
    ) -> None:
        if change:
            return
        terminal = station_terminal_enrol(
            actor=request.user, station=obj.station, device_id=obj.device_id, name=obj.name
        )
        obj.pk, obj.enrolled_by = terminal.pk, terminal.enrolled_by

    @admin.action(description="Revoke the selected terminals")
    def revoke(self, request: HttpRequest, queryset: QuerySet[StationTerminal]) -> None:
        revoked = station_terminal_revoke(
            actor=request.user, terminal_ids=queryset.values_list("id", flat=True)
        )
        self.message_user(request, f"{len(revoked)} terminal(s) revoked.", messages.SUCCESS)
