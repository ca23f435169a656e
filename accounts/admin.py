"""Officers, agencies and device tokens in the Django admin, for system administrators.

The admin's login page asks for the second factor too (``AdminLoginForm``): a password alone
never opens a staff session. No password hash, token hash or TOTP secret is ever shown.
"""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.forms import AdminLoginForm
from accounts.models import Agency, DeviceToken, Officer
from accounts.services import device_revoke, officer_unlock
from common.admin import ReadOnlyAdminMixin, RolePermissionAdminMixin

admin.site.login_form = AdminLoginForm
admin.site.login_template = "accounts/admin_login.html"


class _ManagedAdmin(RolePermissionAdminMixin, admin.ModelAdmin):
    """Open to system administrators (and superusers); nothing here is ever deleted."""

    required_permission = "officer.manage"


@admin.register(Agency)
class AgencyAdmin(_ManagedAdmin):
    list_display = ("name", "kind", "province")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(Officer)
class OfficerAdmin(_ManagedAdmin):
    list_display = (
        "username",
        "full_name",
        "role",
        "agency",
        "district",
        "station",
        "is_active",
        "is_staff",
        "locked_until",
    )
    list_filter = ("role", "is_active", "is_staff", "agency")
    search_fields = ("=username", "full_name", "=badge_number")
    list_select_related = ("agency", "district", "station")
    raw_id_fields = ("province", "district", "station", "beat")
    # Deliberately no password field: the hash is never shown and never edited here.
    fields = (
        "username",
        "full_name",
        "rank",
        "badge_number",
        "agency",
        "role",
        "province",
        "district",
        "station",
        "beat",
        "is_active",
        "is_staff",
        "is_superuser",
        "locked_until",
        "last_login",
        "date_joined",
    )
    readonly_fields = ("locked_until", "last_login", "date_joined")
    actions = ("unlock",)

    def save_model(self, request: HttpRequest, obj: Officer, form: object, change: bool) -> None:
        if not change:
            obj.set_unusable_password()  # the officer's password is set outside the admin
        super().save_model(request, obj, form, change)

    @admin.action(description="Unlock selected officers")
    def unlock(self, request: HttpRequest, queryset: QuerySet[Officer]) -> None:
        for officer in queryset:
            officer_unlock(actor=request.user, officer=officer)  # type: ignore[arg-type]
        messages.success(request, f"Unlocked {len(queryset)} officer(s).")


@admin.register(DeviceToken)
class DeviceTokenAdmin(ReadOnlyAdminMixin, _ManagedAdmin):
    """Tokens are issued only by signing in on the phone; here they are only revoked."""

    list_display = (
        "officer",
        "device_id",
        "device_name",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("=officer__username", "=device_id")
    list_select_related = ("officer",)
    ordering = ("-id",)
    # token_hash is left out on purpose.
    fields = (
        "officer",
        "device_id",
        "device_name",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    )
    readonly_fields = fields
    actions = ("revoke_devices",)

    @admin.action(description="Revoke every token of the selected tokens' devices")
    def revoke_devices(self, request: HttpRequest, queryset: QuerySet[DeviceToken]) -> None:
        revoked = 0
        devices = {(token.officer, token.device_id) for token in queryset.select_related("officer")}
        for officer, device_id in devices:
            revoked += device_revoke(actor=request.user, officer=officer, device_id=device_id)  # type: ignore[arg-type]
        messages.success(request, f"Revoked {revoked} token(s) on {len(devices)} device(s).")
