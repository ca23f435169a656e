"""``/api/v1/auth/``: sign-in, devices, two-factor enrolment, officer lockouts."""

from django.urls import path

from accounts import api

urlpatterns = [
    path("token/", api.TokenObtainApi.as_view(), name="auth-token"),
    path("logout/", api.LogoutApi.as_view(), name="auth-logout"),
    path("me/", api.MeApi.as_view(), name="auth-me"),
    path("totp/enrol/", api.TotpEnrolApi.as_view(), name="auth-totp-enrol"),
    path("totp/confirm/", api.TotpConfirmApi.as_view(), name="auth-totp-confirm"),
    path("devices/", api.DeviceListApi.as_view(), name="auth-device-list"),
    path("devices/push-token/", api.DevicePushTokenApi.as_view(), name="auth-device-push-token"),
    path(
        "devices/<str:device_id>/revoke/", api.DeviceRevokeApi.as_view(), name="auth-device-revoke"
    ),
    path(
        "officers/<int:officer_id>/devices/",
        api.OfficerDeviceListApi.as_view(),
        name="auth-officer-device-list",
    ),
    path(
        "officers/<int:officer_id>/devices/<str:device_id>/revoke/",
        api.OfficerDeviceRevokeApi.as_view(),
        name="auth-officer-device-revoke",
    ),
    path(
        "officers/<int:officer_id>/unlock/",
        api.OfficerUnlockApi.as_view(),
        name="auth-officer-unlock",
    ),
    path(
        "officers/<int:officer_id>/totp/reset/",
        api.OfficerTotpResetApi.as_view(),
        name="auth-officer-totp-reset",
    ),
]
