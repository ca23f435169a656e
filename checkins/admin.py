"""Station terminals in the Django admin: system administrators enrol a device as a station's
counter terminal and revoke it. Audited: every page shown records a ``read``, every enrolment
and revocation an event naming the ids (the device id is not personal data)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import DeviceToken
from audit.admin_mixins import AuditedReadAdminMixin
from audit.models import AuditAction
from audit.services import audit_record
from checkins.models import StationTerminal
from common.admin import RolePermissionAdminMixin


class StationTerminalForm(ModelForm):
    class Meta:
        model = StationTerminal
        fields = ("station", "device_id", "name")

    def clean(self) -> dict:
        data = super().clean()
        station, device_id = data.get("station"), data.get("device_id")
        if station is not None and device_id:
            enrolled = DeviceToken.objects.filter(
                device_id=device_id, officer__station=station, revoked_at__isnull=True
            ).exists()
            if not enrolled:
                raise ValidationError(
                    {"device_id": "No enrolled device with this id belongs to this station."}
                )
            if StationTerminal.objects.filter(
                station=station, device_id=device_id, revoked_at__isnull=True
            ).exists():
                raise ValidationError({"device_id": "Already a terminal of this station."})
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
        obj.enrolled_by = request.user
        obj.save()
        audit_record(
            actor=request.user,
            action=AuditAction.CREATE,
            object_type="station_terminal",
            object_id=obj.pk,
            details={"via": "admin", "station_id": obj.station_id, "device_id": obj.device_id},
        )

    @admin.action(description="Revoke the selected terminals")
    def revoke(self, request: HttpRequest, queryset: QuerySet[StationTerminal]) -> None:
        now = timezone.now()
        with transaction.atomic():
            revoked = list(queryset.filter(revoked_at__isnull=True).values_list("id", flat=True))
            StationTerminal.objects.filter(pk__in=revoked).update(
                revoked_at=now, revoked_by=request.user
            )
            for terminal_id in revoked:
                audit_record(
                    actor=request.user,
                    action=AuditAction.UPDATE,
                    object_type="station_terminal",
                    object_id=terminal_id,
                    details={"via": "admin", "revoked": True},
                )
        self.message_user(request, f"{len(revoked)} terminal(s) revoked.", messages.SUCCESS)
