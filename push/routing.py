"""Websocket routes of the push app."""

from django.urls import path

from push.consumers import AlertConsumer
from push.ws_auth import TicketAuthMiddleware

websocket_urlpatterns = [
    path("ws/alerts/", TicketAuthMiddleware(AlertConsumer.as_asgi())),
]
