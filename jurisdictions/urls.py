"""Mounted at /api/v1/jurisdictions/."""

from django.urls import path

from jurisdictions import api

app_name = "jurisdictions"

urlpatterns = [
    path("districts/", api.DistrictListApi.as_view(), name="district-list"),
    path("districts/<slug:code>/", api.DistrictDetailApi.as_view(), name="district-detail"),
    path("stations/", api.StationListApi.as_view(), name="station-list"),
    path("stations/<slug:code>/", api.StationDetailApi.as_view(), name="station-detail"),
    path("beats/", api.BeatListApi.as_view(), name="beat-list"),
    path("beats/<slug:code>/", api.BeatDetailApi.as_view(), name="beat-detail"),
    path("resolve/", api.JurisdictionResolveApi.as_view(), name="jurisdiction-resolve"),
]
