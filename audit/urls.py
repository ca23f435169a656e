from django.urls import path

from audit.api import AuditEventDetailApi, AuditEventListApi

urlpatterns = [
    path("events/", AuditEventListApi.as_view(), name="audit-event-list"),
    path("events/<int:event_id>/", AuditEventDetailApi.as_view(), name="audit-event-detail"),
]
