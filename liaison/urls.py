"""Mounted at /api/v1/."""

from django.urls import path

from liaison import api

app_name = "liaison"

urlpatterns = [
    path("handovers/", api.HandoverListApi.as_view(), name="handover-list"),
    path(
        "handovers/<int:handover_id>/accept/",
        api.HandoverAcceptApi.as_view(),
        name="handover-accept",
    ),
    path(
        "registration-ending/",
        api.RegistrationEndingListApi.as_view(),
        name="registration-ending-list",
    ),
    path(
        "offenders/<int:offender_id>/registration-end/confirm/",
        api.RegistrationEndConfirmApi.as_view(),
        name="registration-end-confirm",
    ),
    path(
        "travel/international/export/",
        api.InternationalTravelExportApi.as_view(),
        name="international-travel-export",
    ),
]
