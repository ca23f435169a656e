"""Mounted at /api/v1/."""

from django.urls import path

from push import api

app_name = "push"

urlpatterns = [
    path("notifications/", api.NotificationListApi.as_view(), name="notification-list"),
    path(
        "notifications/<int:notification_id>/read/",
        api.NotificationReadApi.as_view(),
        name="notification-read",
    ),
    path("sms/receipts/", api.SmsReceiptApi.as_view(), name="sms-receipts"),
    path("ws-ticket/", api.WsTicketApi.as_view(), name="ws-ticket"),
]
