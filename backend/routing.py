"""Websocket routes of every app; the control-room consumer arrives with the alerts issue."""

websocket_urlpatterns: list = []
