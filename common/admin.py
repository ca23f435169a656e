"""Permission building blocks shared by the apps' admin modules; nothing is registered here.

Who may open an admin page is decided by the role permission table (``accounts/roles.py``),
through ``Officer.has_permission``, not by Django's per-model permissions. ``common`` knows
nothing of ``accounts``: the officer is reached only through ``request.user``.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class UndeletableAdminMixin:
    """Nothing is deleted through the admin: other rows and the audit trail point at these."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdminMixin(UndeletableAdminMixin):
    """Shown, never added or changed. The signatures suit both model admins and inlines.

    List it before ``RolePermissionAdminMixin`` when a model is role-gated and read-only.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RolePermissionAdminMixin(UndeletableAdminMixin):
    """Listed, shown, added and changed by whoever ``may_use`` admits; never deleted.

    By default that is an active superuser or an officer whose role holds
    ``required_permission``; override ``may_use`` for a narrower rule.
    """

    required_permission: str

    def may_use(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active and (user.is_superuser or user.has_permission(self.required_permission))
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.may_use(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may_use(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may_use(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may_use(request)


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Related rows shown as text under their parent; they change through their services."""

    extra = 0
    can_delete = False
    show_change_link = False
