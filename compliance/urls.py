"""Mounted at /api/v1/."""

from django.urls import path

from compliance import apis

app_name = "compliance"

urlpatterns = [
    path("violations/", apis.ViolationListApi.as_view(), name="violation-list"),
    path(
        "violations/<int:violation_id>/",
        apis.ViolationDetailApi.as_view(),
        name="violation-detail",
    ),
    path(
        "violations/<int:violation_id>/acknowledge/",
        apis.ViolationAcknowledgeApi.as_view(),
        name="violation-acknowledge",
    ),
    path(
        "violations/<int:violation_id>/resolve/",
        apis.ViolationResolveApi.as_view(),
        name="violation-resolve",
    ),
    path(
        "violations/<int:violation_id>/dismiss/",
        apis.ViolationDismissApi.as_view(),
        name="violation-dismiss",
    ),
    path(
        "violations/<int:violation_id>/assign/",
        apis.ViolationAssignApi.as_view(),
        name="violation-assign",
    ),
    path(
        "violations/<int:violation_id>/assignees/",
        apis.ViolationAssigneesApi.as_view(),
        name="violation-assignees",
    ),
]
