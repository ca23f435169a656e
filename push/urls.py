"""Mounted at /api/v1/."""

from django.urls import path

from push import api, api_receipts

app_name = "push"

urlpatterns = [
    path("notifications/", api.NotificationListApi.as_view(), name="notification-list"),
    path(
        "notifications/<int:notification_id>/read/",
        api.NotificationReadApi.as_view(),
        name="notification-read",
    ),
    path("sms/receipts/", api.SmsReceiptApi.as_view(), name="sms-receipts"),
    path(
        "receipts/<str:reference>/", api_receipts.ReceiptDetailApi.as_view(), name="receipt-detail"
    ),
    path(
        "receipts/<str:reference>/print/",
        api_receipts.ReceiptPrintApi.as_view(),
        name="receipt-print",
    ),
    path("ws-ticket/", api.WsTicketApi.as_view(), name="ws-ticket"),
]
