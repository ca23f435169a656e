"""Websocket routes of every app; the control-room consumer arrives with the alerts issue."""

from push.routing import websocket_urlpatterns as push_websockets

websocket_urlpatterns: list = [*push_websockets]
