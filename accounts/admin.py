"""Officers, agencies and device tokens in the Django admin, for system administrators.

The admin's login page asks for the second factor too (``AdminLoginForm``): a password alone
never opens a staff session. No password hash, token hash or TOTP secret is ever shown.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.forms import AdminLoginForm
from accounts.models import Agency, DeviceToken, Officer
from accounts.services import (
    ASSIGNMENT_FIELDS,
    OFFICER_EDITABLE_FIELDS,
    SELF_LOCKED_FIELDS,
    device_revoke,
    officer_assignment_errors,
    officer_create,
    officer_unlock,
    officer_update,
)
from common.admin import ReadOnlyAdminMixin, RolePermissionAdminMixin
from common.exceptions import ApplicationError

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


class OfficerAdminForm(forms.ModelForm):
    """Refuses a role that does not fit the agency and jurisdiction (``ROLE_TABLE``) as a form
    error, before ``officer_update`` would refuse it."""

    class Meta:
        model = Officer
        # The admin narrows this further (``OfficerAdmin.fields`` less the read-only ones).
        fields = OFFICER_EDITABLE_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not set(self.changed_data) & set(ASSIGNMENT_FIELDS):
            return cleaned

        def value(name: str) -> Any:
            # A field shown read-only is not in the form: the row's value stands.
            return cleaned.get(name) if name in self.fields else getattr(self.instance, name)

        errors = officer_assignment_errors(
            role=value("role"),
            agency=value("agency"),
            district=value("district"),
            station=value("station"),
            beat=value("beat"),
        )
        for name, messages_ in errors.items():
            for message in messages_:
                self.add_error(name if name in self.fields else None, message)
        return cleaned


@admin.register(Officer)
class OfficerAdmin(_ManagedAdmin):
    """Every save goes through ``officer_create`` / ``officer_update`` (validated, audited).

    ``is_superuser`` is only shown: superusers are made with ``createsuperuser``. On their own
    row an officer sees their role, agency, jurisdiction, staff and active flags read-only.
    """

    form = OfficerAdminForm
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
    readonly_fields = ("is_superuser", "locked_until", "last_login", "date_joined")
    actions = ("unlock",)

    def get_readonly_fields(self, request: HttpRequest, obj: Officer | None = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and obj.pk == request.user.pk:
            readonly += SELF_LOCKED_FIELDS
        return readonly

    def save_model(
        self, request: HttpRequest, obj: Officer, form: forms.ModelForm, change: bool
    ) -> None:
        # Only authenticated Officers reach the admin (AUTH_USER_MODEL); HttpRequest types the
        # user as the abstract base or AnonymousUser. The same holds for the two actions below.
        actor: Officer = request.user  # type: ignore[assignment]
        if not change:
            obj.set_unusable_password()  # the officer's password is set outside the admin
            officer_create(actor=actor, officer=obj, via="admin")
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        officer_update(actor=actor, officer=obj, changes=changes)

    @admin.action(description="Unlock selected officers")
    def unlock(self, request: HttpRequest, queryset: QuerySet[Officer]) -> None:
        unlocked = 0
        for officer in queryset:
            try:
                # request.user is an Officer here (see save_model).
                officer_unlock(actor=request.user, officer=officer)  # type: ignore[arg-type]
            except ApplicationError as exc:
                self.message_user(request, f"{officer}: {exc.message}", level=messages.ERROR)
                continue
            unlocked += 1
        if unlocked:
            self.message_user(request, f"Unlocked {unlocked} officer(s).", level=messages.SUCCESS)


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
        revoked = done = 0
        devices = {(token.officer, token.device_id) for token in queryset.select_related("officer")}
        for officer, device_id in devices:
            try:
                # request.user is an Officer here (see save_model).
                revoked += device_revoke(actor=request.user, officer=officer, device_id=device_id)  # type: ignore[arg-type]
            except ApplicationError as exc:
                self.message_user(
                    request, f"{officer} / {device_id}: {exc.message}", level=messages.ERROR
                )
                continue
            done += 1
        if done:
            self.message_user(
                request,
                f"Revoked {revoked} token(s) on {done} device(s).",
                level=messages.SUCCESS,
            )
