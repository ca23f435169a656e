"""Mounted at /api/v1/."""

from django.urls import path

from geofence import apis

app_name = "geofence"

urlpatterns = [
    path("tracking-devices/", apis.TrackingDeviceListApi.as_view(), name="device-list"),
    path(
        "tracking-devices/<int:device_id>/revoke/",
        apis.TrackingDeviceRevokeApi.as_view(),
        name="device-revoke",
    ),
    path(
        "tracking-devices/<int:device_id>/replace/",
        apis.TrackingDeviceReplaceApi.as_view(),
        name="device-replace",
    ),
    path("gateways/", apis.GatewayListApi.as_view(), name="gateway-list"),
    path("zones/", apis.ZoneListApi.as_view(), name="zone-list"),
    path("zones/<int:zone_id>/", apis.ZoneDetailApi.as_view(), name="zone-detail"),
    path("zones/<int:zone_id>/retire/", apis.ZoneRetireApi.as_view(), name="zone-retire"),
    # POST pings/ is routed in backend/urls.py, first of all routes.
]
