"""Django admin for the jurisdiction tree; geometry is edited as GeoJSON text.

Saves go through ``jurisdiction_save`` (validated, contained, audited); deletion is disabled
because officers, offenders and audit history point at these rows.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from common.admin import UndeletableAdminMixin
from jurisdictions.models import Beat, District, PoliceStation, Province
from jurisdictions.services import jurisdiction_save, jurisdiction_validate


def _may_manage(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.has_permission("jurisdiction.manage")


class _AreaForm(forms.ModelForm):
    def _post_clean(self) -> None:
        super()._post_clean()  # builds the instance and runs full_clean
        if self.errors:
            return
        try:
            jurisdiction_validate(area=self.instance)
        except ValidationError as exc:
            self._update_errors(exc)


class _AreaAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    form = _AreaForm
    search_fields = ("code", "name")
    readonly_fields = ("min_lon", "min_lat", "max_lon", "max_lat", "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and _may_manage(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_change_permission(request, obj) and _may_manage(request)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        jurisdiction_save(actor=request.user, area=obj)


@admin.register(Province)
class ProvinceAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(District)
class DistrictAdmin(_AreaAdmin):
    list_display = ("code", "name", "province")
    list_filter = ("province",)
    list_select_related = ("province",)


@admin.register(PoliceStation)
class PoliceStationAdmin(_AreaAdmin):
    list_display = ("code", "name", "district")
    list_filter = ("district",)
    list_select_related = ("district",)
    autocomplete_fields = ("district",)


@admin.register(Beat)
class BeatAdmin(_AreaAdmin):
    list_display = ("code", "name", "station")
    list_filter = ("station__district",)
    list_select_related = ("station",)
    autocomplete_fields = ("station",)
