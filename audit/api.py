"""Audit trail endpoints for auditors: list with filters, and one event.

Permission answers 403, not 404: the trail is not jurisdiction-scoped object data whose
existence must be hidden. Every caller knows it exists; the only question is whether the role
may read it (``audit.read``), and saying "not for your role" leaks nothing. Every read of the
trail is itself recorded in it.
"""

from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiTypes,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import AuditAction
from audit.selectors import audit_event_get, audit_event_list
from audit.services import audit_read
from common.dates import BoundedDateTimeField
from common.pagination import CursorPagination, paginate
from common.permissions import HoldsPermission

TAG = "audit"
AUDIT_EVENT_OBJECT_TYPE = "audit_event"
READ_PURPOSE = "audit"


@extend_schema_serializer(component_name="AuditEvent")
class AuditEventOutputSerializer(serializers.Serializer):
    """One event as stored, hashes included, so an auditor can re-check it by hand.
    Shared by list and detail on purpose: a list row is the event."""

    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    actor_id = serializers.IntegerField(allow_null=True)
    actor_username = serializers.CharField()
    role = serializers.CharField()
    agency = serializers.CharField()
    device_id = serializers.CharField()
    client_ip = serializers.IPAddressField(allow_null=True)
    request_id = serializers.CharField()
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    purpose = serializers.CharField()
    outcome = serializers.CharField()
    details = serializers.JSONField()
    prev_hash = serializers.CharField(
        allow_null=True, help_text="old chain only (events before sealing); null for sealed events"
    )
    hash = serializers.CharField(help_text="SHA-256 of the content (old chain: with prev_hash)")


class AuditEventListApi(APIView):
    # ``audit.read`` or 403. Not 404 as for offender data: the trail is one national record,
    # not objects in someone's jurisdiction, so refusing a role reveals nothing about any row.
    permission_classes = [HoldsPermission]
    required_permission = "audit.read"
    pagination_class = CursorPagination

    class FilterSerializer(serializers.Serializer):
        actor = serializers.IntegerField(required=False, min_value=1, help_text="officer id")
        action = serializers.ChoiceField(choices=AuditAction.choices, required=False)
        object_type = serializers.CharField(required=False, max_length=64)
        object_id = serializers.CharField(required=False, max_length=64)
        purpose = serializers.CharField(required=False, max_length=64)
        request_id = serializers.CharField(required=False, max_length=64)
        since = BoundedDateTimeField(required=False)
        until = BoundedDateTimeField(required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            since, until = attrs.get("since"), attrs.get("until")
            if since and until and since >= until:
                raise serializers.ValidationError({"until": ["Must be later than since."]})
            return attrs

    @extend_schema(
        tags=[TAG],
        operation_id="audit_event_list",
        parameters=[
            OpenApiParameter("actor", int, description="officer id"),
            OpenApiParameter("action", str, enum=AuditAction.values),
            OpenApiParameter("object_type", str),
            OpenApiParameter("object_id", str),
            OpenApiParameter("purpose", str),
            OpenApiParameter("request_id", str),
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="inclusive; ISO 8601, read as PKT without an offset",
            ),
            OpenApiParameter(
                "until",
                OpenApiTypes.DATETIME,
                description="exclusive; ISO 8601, read as PKT without an offset",
            ),
        ],
        responses=AuditEventOutputSerializer(many=True),
        description="The audit trail, newest first. Needs `audit.read`; the read is audited.",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        events = audit_event_list(actor=request.user, filters=filters.validated_data)
        page = paginate(events, request=request, view=self)
        audit_read(
            actor=request.user,
            object_type=AUDIT_EVENT_OBJECT_TYPE,
            purpose=READ_PURPOSE,
            details={
                # Round-tripped through the serializer so datetimes are stored as strings.
                "filters": self.FilterSerializer(filters.validated_data).data,
                "returned": len(page.rows),
            },
        )
        return page.response(AuditEventOutputSerializer(page.rows, many=True).data)


class AuditEventDetailApi(APIView):
    # ``audit.read`` or 403. Not 404 as for offender data: the trail is one national record,
    # not objects in someone's jurisdiction, so refusing a role reveals nothing about any row.
    permission_classes = [HoldsPermission]
    required_permission = "audit.read"

    @extend_schema(
        tags=[TAG],
        operation_id="audit_event_retrieve",
        responses=AuditEventOutputSerializer,
        description="One audit event. Needs `audit.read`; the read is audited.",
    )
    def get(self, request: Request, event_id: int) -> Response:
        event = audit_event_get(actor=request.user, event_id=event_id)
        audit_read(
            actor=request.user,
            object_type=AUDIT_EVENT_OBJECT_TYPE,
            object_id=event.id,
            purpose=READ_PURPOSE,
        )
        return Response(AuditEventOutputSerializer(event).data)
