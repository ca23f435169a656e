"""Mounted at /api/v1/."""

from django.urls import path

from disclosures.apis import requests, sms

app_name = "disclosures"

_RR = "records-requests/<int:request_id>/"

urlpatterns = [
    path("records-requests/", requests.RecordsRequestListApi.as_view(), name="rr-list"),
    path(_RR, requests.RecordsRequestDetailApi.as_view(), name="rr-detail"),
    path(f"{_RR}resubmit/", requests.RecordsRequestResubmitApi.as_view(), name="rr-resubmit"),
    path(f"{_RR}forward/", requests.RecordsRequestForwardApi.as_view(), name="rr-forward"),
    path(f"{_RR}return/", requests.RecordsRequestReturnApi.as_view(), name="rr-return"),
    path(f"{_RR}search/", requests.RecordsRequestSearchApi.as_view(), name="rr-search"),
    path(f"{_RR}answer/", requests.RecordsRequestAnswerApi.as_view(), name="rr-answer"),
    path(f"{_RR}deliver/", requests.RecordsRequestDeliverApi.as_view(), name="rr-deliver"),
    path(f"{_RR}extract/", requests.RecordsRequestExtractApi.as_view(), name="rr-extract"),
    path(f"{_RR}extract.pdf", requests.RecordsRequestExtractPdfApi.as_view(), name="rr-pdf"),
    path(f"{_RR}fir-copy/", requests.RecordsRequestFirCopyApi.as_view(), name="rr-fir-copy"),
    path("sms/inbound/", sms.SmsInboundApi.as_view(), name="sms-inbound"),
    path("sms/security-events/", sms.SecurityEventListApi.as_view(), name="sms-security-events"),
    path(
        "sms/security-events/<int:event_id>/review/",
        sms.SecurityEventReviewApi.as_view(),
        name="sms-security-event-review",
    ),
]
