"""Mounted at /api/v1/."""

from django.urls import path

from mobile_api.apis import mobile, verification

app_name = "mobile_api"

urlpatterns = [
    path("mobile/tasks/", mobile.MobileTaskListApi.as_view(), name="mobile-task-list"),
    path("mobile/tasks/<int:task_id>/", mobile.MobileTaskDetailApi.as_view(), name="mobile-task"),
    path(
        "mobile/tasks/<int:task_id>/photo/",
        mobile.MobileTaskPhotoApi.as_view(),
        name="mobile-task-photo",
    ),
    path(
        "mobile/tasks/<int:task_id>/visits/",
        mobile.VisitCreateApi.as_view(),
        name="mobile-visit-create",
    ),
    path("mobile/visits/batch/", mobile.VisitBatchApi.as_view(), name="mobile-visit-batch"),
    path("verification/tasks/", verification.TaskListApi.as_view(), name="task-list"),
    path(
        "verification/tasks/<int:task_id>/reassign/",
        verification.TaskReassignApi.as_view(),
        name="task-reassign",
    ),
    path(
        "verification/tasks/<int:task_id>/cancel/",
        verification.TaskCancelApi.as_view(),
        name="task-cancel",
    ),
    path("verification/reviews/", verification.ReviewListApi.as_view(), name="review-list"),
    path(
        "verification/reviews/<int:visit_id>/accept/",
        verification.ReviewAcceptApi.as_view(),
        name="review-accept",
    ),
    path(
        "verification/reviews/<int:visit_id>/reject/",
        verification.ReviewRejectApi.as_view(),
        name="review-reject",
    ),
    path(
        "verification/visits/<int:visit_id>/photos/<int:photo_id>/",
        verification.VisitPhotoApi.as_view(),
        name="visit-photo",
    ),
    path("verification/coverage/", verification.CoverageApi.as_view(), name="coverage"),
]
