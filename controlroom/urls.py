"""Mounted at /control-room/."""

from django.urls import path

from controlroom import views

urlpatterns = [
    path("", views.page, name="controlroom"),
    path("config/", views.config, name="controlroom-config"),
    path("counters/", views.counters, name="controlroom-counters"),
    path("keepalive/", views.keepalive, name="controlroom-keepalive"),
    path("session/", views.session_state, name="controlroom-session"),
]
