"""The register in the Django admin, for NPB registry staff (``registry_admin``) and superusers.

Audited like the API: opening the offender list or an offender's page records a ``read``, and
every save records an ``update``/``create`` naming the changed fields (never their values).
CNIC and phone are shown masked; the encrypted columns and the blind index never reach a form.

Only descriptive fields of an offender are editable here. Identity (name, CNIC, phone) changes
through notices of change, status and supervision through the lifecycle services, convictions
and addresses through their services: those carry rules (state machine, jurisdiction from the
address polygons, hooks to compliance) that a generic admin form would bypass. Nothing is
deleted: an offender leaves the register by the ``removed`` transition, and the reporting
policy and notice deadlines are rows the services require.
"""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from accounts.roles import Role
from audit.admin_mixins import AuditedReadAdminMixin
from common.admin import ReadOnlyInline, RolePermissionAdminMixin
from registry.identifiers import cnic_blind_index, mask_cnic, mask_phone, normalise_cnic
from registry.models import (
    Address,
    Conviction,
    NoticeDeadline,
    Offender,
    ReportingPolicy,
    SupervisionPeriod,
)
from registry.services.dues import reporting_policy_save
from registry.services.notices import notice_deadline_save
from registry.services.offenders import DESCRIPTIVE_FIELDS, offender_descriptive_update


def _may_use(request: HttpRequest) -> bool:
    user = request.user
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.role == Role.REGISTRY_ADMIN and user.has_permission("offender.read")


class _RegistryStaffOnly(RolePermissionAdminMixin):
    """Visible and editable by registry staff only; the Django model permissions are not used
    (roles are the one permission table, ``accounts/roles.py``). Never deletable."""

    def may_use(self, request: HttpRequest) -> bool:
        return _may_use(request)


class _AuditedAdmin(_RegistryStaffOnly, admin.ModelAdmin):
    """Saves go through the register's services (each audits, naming the changed fields
    only), in the admin's own transaction (``changeform_view`` is atomic)."""

    audit_object_type = ""

    @staticmethod
    def changed_fields(form: ModelForm) -> list[str]:
        return [name for name in form.changed_data if name in form.fields]

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        # Each admin saves through its own service; none falls back to a bare save.
        raise NotImplementedError(f"{type(self).__name__} names no service for its saves")

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        # Unreachable while has_delete_permission is False: nothing is deleted here.
        raise PermissionDenied("Nothing is deleted from the register.")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        raise PermissionDenied("Nothing is deleted from the register.")


class _ReadOnlyInline(ReadOnlyInline):
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_use(request)


class ConvictionInline(_ReadOnlyInline):
    model = Conviction
    fields = (
        "fir_number",
        "police_station",
        "court",
        "case_number",
        "conviction_date",
        "sentence",
        "sections",
        "victim_minor",
    )
    readonly_fields = fields


class AddressInline(_ReadOnlyInline):
    model = Address
    fields = ("text", "district", "station", "beat", "lat", "lon", "valid_from", "valid_to")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("district", "station", "beat")


class SupervisionPeriodInline(_ReadOnlyInline):
    model = SupervisionPeriod
    fields = ("district", "station", "started_at", "ended_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("district", "station")


@admin.register(Offender)
class OffenderAdmin(AuditedReadAdminMixin, _AuditedAdmin):
    audit_object_type = "offender"
    audit_purpose = "registry administration"
    list_display = ("id", "full_name", "father_name", "risk_tier", "status", "district", "station")
    list_filter = ("status", "risk_tier", "district")
    list_select_related = ("district", "station")
    # Exact CNIC search goes through the blind index (get_search_results); names by substring.
    search_fields = ("full_name", "father_name")
    show_full_result_count = False
    inlines = (ConvictionInline, AddressInline, SupervisionPeriodInline)
    fieldsets = (
        (
            "Identity",
            {
                "fields": (
                    "full_name",
                    "father_name",
                    "full_name_ur",
                    "father_name_ur",
                    "aliases",
                    "gender",
                    "date_of_birth",
                    "masked_cnic",
                    "masked_phone",
                    "physical_description",
                )
            },
        ),
        (
            "Supervision",
            {
                "fields": (
                    "risk_tier",
                    "status",
                    "removal_reason",
                    "status_changed_at",
                    "district",
                    "station",
                    "beat",
                    "released_on",
                    "release_prison",
                    "registration_ends_on",
                    "next_checkin_due",
                    "next_verification_due",
                )
            },
        ),
        ("Record", {"fields": ("has_dna_profile", "has_biometrics", "created_by", "created_at")}),
    )
    # Everything shown is read-only except the descriptive fields (see the module docstring).
    editable_fields = tuple(sorted(DESCRIPTIVE_FIELDS))

    def save_model(
        self, request: HttpRequest, obj: Offender, form: ModelForm, change: bool
    ) -> None:
        offender_descriptive_update(
            actor=request.user, offender=obj, fields=self.changed_fields(form)
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        shown = [name for _title, options in self.fieldsets for name in options["fields"]]
        return [name for name in shown if name not in self.editable_fields]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # Offenders enter through the create API or import_register, which validate them.
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The encrypted columns are decrypted only on the change page, where they are masked.
        return super().get_queryset(request).select_related("district", "station", "beat")

    @admin.display(description="CNIC")
    def masked_cnic(self, obj: Offender) -> str:
        return mask_cnic(obj.cnic)

    @admin.display(description="phone")
    def masked_phone(self, obj: Offender) -> str:
        return mask_phone(obj.phone) if obj.phone else "—"

    @admin.display(description="DNA profile on file", boolean=True)
    def has_dna_profile(self, obj: Offender) -> bool:
        return bool(obj.dna_profile_ref)

    @admin.display(description="biometrics on file", boolean=True)
    def has_biometrics(self, obj: Offender) -> bool:
        return bool(obj.biometric_ref)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        try:
            cnic = normalise_cnic(search_term)
        except ValidationError:  # not a CNIC: a name search
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(cnic_index=cnic_blind_index(cnic)), False


@admin.register(ReportingPolicy)
class ReportingPolicyAdmin(_AuditedAdmin):
    audit_object_type = "reporting_policy"
    list_display = (
        "risk_tier",
        "checkin_interval_days",
        "verification_interval_days",
        "registration_period_years",
        "description",
    )
    readonly_fields = ("created_at", "updated_at")

    def save_model(self, request, obj, form, change) -> None:
        # A changed interval moves the due dates of every offender of the tier, in the same
        # transaction as the change (the service).
        reporting_policy_save(
            actor=request.user,
            policy=obj,
            fields=self.changed_fields(form),
            created=not change,
        )


@admin.register(NoticeDeadline)
class NoticeDeadlineAdmin(_AuditedAdmin):
    audit_object_type = "notice_deadline"
    list_display = ("kind", "days_after_change", "days_before_departure")
    readonly_fields = ("created_at", "updated_at")

    def save_model(self, request, obj, form, change) -> None:
        notice_deadline_save(
            actor=request.user, deadline=obj, fields=self.changed_fields(form), created=not change
        )
