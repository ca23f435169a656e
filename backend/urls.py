"""Root URL configuration: every app's urls, nothing else."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common import health
from geofence.apis import PingBatchApi

api_v1 = [
    path("auth/", include("accounts.urls")),
    path("jurisdictions/", include("jurisdictions.urls")),
    path("audit/", include("audit.urls")),
    path("", include("registry.urls")),
    path("", include("compliance.urls")),
    path("", include("mobile_api.urls")),
    path("", include("checkins.urls")),
    path("", include("push.urls")),
    path("", include("disclosures.urls")),
    path("", include("geofence.urls")),
    path("", include("liaison.urls")),
]

urlpatterns = [
    # First: the busiest route by far (every tag posts every minute) is matched before the
    # others' 80-odd patterns are tried.
    path("api/v1/pings/", PingBatchApi.as_view(), name="ping-batch"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("accounts/", include("accounts.web_urls")),
    path("control-room/", include("controlroom.urls")),
    path("admin/", admin.site.urls),
]

# Errors Django raises before any view (an oversized body read by a middleware): JSON too.
handler400 = "common.exceptions.bad_request_view"
handler404 = "common.exceptions.not_found_view"
