"""Mounted at /api/v1/."""

from django.urls import path

from registry.apis import notices, offenders

app_name = "registry"

urlpatterns = [
    path("offenders/", offenders.OffenderListApi.as_view(), name="offender-list"),
    path("offenders/lookup/", offenders.OffenderLookupApi.as_view(), name="offender-lookup"),
    path("offenders/search/", offenders.OffenderSearchApi.as_view(), name="offender-search"),
    path(
        "offenders/<int:offender_id>/",
        offenders.OffenderDetailApi.as_view(),
        name="offender-detail",
    ),
    path(
        "offenders/<int:offender_id>/convictions/",
        offenders.OffenderConvictionsApi.as_view(),
        name="offender-convictions",
    ),
    path(
        "offenders/<int:offender_id>/photo/",
        offenders.OffenderPhotoApi.as_view(),
        name="offender-photo",
    ),
    path(
        "offenders/<int:offender_id>/release/",
        offenders.OffenderReleaseApi.as_view(),
        name="offender-release",
    ),
    path(
        "offenders/<int:offender_id>/transition/",
        offenders.OffenderTransitionApi.as_view(),
        name="offender-transition",
    ),
    path(
        "offenders/<int:offender_id>/timeline/",
        offenders.OffenderTimelineApi.as_view(),
        name="offender-timeline",
    ),
    path(
        "offenders/<int:offender_id>/notices/",
        notices.OffenderNoticesApi.as_view(),
        name="offender-notices",
    ),
    path(
        "notices/<int:notice_id>/acknowledge/",
        notices.NoticeAcknowledgeApi.as_view(),
        name="notice-acknowledge",
    ),
    path(
        "notices/<int:notice_id>/cancel/", notices.NoticeCancelApi.as_view(), name="notice-cancel"
    ),
    path("notices/<int:notice_id>/close/", notices.NoticeCloseApi.as_view(), name="notice-close"),
]
