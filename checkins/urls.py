"""Mounted at /api/v1/."""

from django.urls import path

from checkins import api

app_name = "checkins"

urlpatterns = [
    path("checkins/", api.CheckinListApi.as_view(), name="checkin-list"),
    path("checkins/due/", api.CheckinDueApi.as_view(), name="checkin-due"),
    path("checkins/<int:checkin_id>/", api.CheckinDetailApi.as_view(), name="checkin-detail"),
    path(
        "checkins/<int:checkin_id>/verify/",
        api.CheckinVerifyApi.as_view(),
        name="checkin-verify",
    ),
    path(
        "checkins/<int:checkin_id>/resend/",
        api.CheckinResendApi.as_view(),
        name="checkin-resend",
    ),
    path(
        "notices/<int:notice_id>/confirm/",
        api.NoticeConfirmApi.as_view(),
        name="notice-confirm",
    ),
    path(
        "checkins/<int:checkin_id>/override/",
        api.CheckinOverrideApi.as_view(),
        name="checkin-override",
    ),
]
