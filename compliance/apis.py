"""Violation endpoints: the scoped list, one violation, and the officer's status changes.

Out-of-jurisdiction violations answer 404; roles without ``violation.read`` answer 403 (the
permission table is public, so refusing by role confirms nothing about any violation).
Every read and write is audited.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import audit_read
from common.dates import BoundedDateTimeField
from common.pagination import CursorPagination, paginate
from common.permissions import HoldsPermission
from compliance import selectors, services
from compliance.models import Severity, ViolationKind, ViolationStatus

TAG = "violations"


class ViolationPagination(CursorPagination):
    # Newest first; the id breaks ties between violations detected in the same instant.
    ordering = ("-detected_at", "-id")


@extend_schema_serializer(component_name="Violation")
class ViolationSerializer(serializers.Serializer):
    """One violation as every violation endpoint shows it. Shared on purpose: clients cache
    violations by id, and the list, the detail and the status changes must agree on the shape.
    No offender identity here: the offender is an id the caller opens through the register."""

    @extend_schema_serializer(component_name="ViolationCause")
    class CauseSerializer(serializers.Serializer):
        type = serializers.CharField(source="cause_type.model")
        id = serializers.CharField(source="cause_id")
        key = serializers.CharField(source="cause_key")

    id = serializers.IntegerField()
    kind = serializers.CharField()
    severity = serializers.IntegerField()
    status = serializers.CharField()
    offender = serializers.IntegerField(source="offender_id")
    district = serializers.CharField(source="district.code")
    station = serializers.CharField(source="station.code", allow_null=True, default=None)
    occurred_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField()
    lon = serializers.FloatField(allow_null=True)
    lat = serializers.FloatField(allow_null=True)
    cause = CauseSerializer(source="*")
    summary = serializers.CharField()
    status_changed_at = serializers.DateTimeField(allow_null=True)
    status_changed_by = serializers.CharField(
        source="status_changed_by.username", allow_null=True, default=None
    )
    status_reason = serializers.CharField()
    ended_at = serializers.DateTimeField(allow_null=True)
    # The alert (additive in v1): routing, episode, deadlines, ladder step, assignee.
    occurred_district = serializers.CharField(
        source="occurred_district.code", allow_null=True, default=None
    )
    episode = serializers.IntegerField(source="episode_id", allow_null=True)
    repeat_count = serializers.IntegerField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    ack_due_at = serializers.DateTimeField(allow_null=True)
    resolve_due_at = serializers.DateTimeField(allow_null=True)
    escalation_level = serializers.IntegerField()
    escalation_repeats = serializers.IntegerField()
    escalation_exhausted_at = serializers.DateTimeField(allow_null=True)
    assigned_to = serializers.CharField(
        source="assigned_to.username", allow_null=True, default=None
    )
    assigned_at = serializers.DateTimeField(allow_null=True)


class ViolationListApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "violation.read"
    pagination_class = ViolationPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=ViolationStatus.choices, required=False)
        kind = serializers.ChoiceField(choices=ViolationKind.choices, required=False)
        severity_min = serializers.ChoiceField(choices=Severity.choices, required=False)
        offender = serializers.IntegerField(min_value=1, required=False)
        since = BoundedDateTimeField(required=False)
        severity = serializers.ChoiceField(choices=Severity.choices, required=False)
        open = serializers.BooleanField(required=False, default=False)
        unacknowledged = serializers.BooleanField(required=False, default=False)
        overdue = serializers.BooleanField(required=False, default=False)
        escalated = serializers.BooleanField(required=False, default=False)
        assigned_to_me = serializers.BooleanField(required=False, default=False)
        district = serializers.SlugField(max_length=64, required=False)

    @extend_schema(
        tags=[TAG],
        operation_id="violation_list",
        parameters=[
            OpenApiParameter("status", str, enum=ViolationStatus.values),
            OpenApiParameter("kind", str, enum=ViolationKind.values),
            OpenApiParameter("severity_min", int, enum=Severity.values),
            OpenApiParameter("offender", int, description="offender id"),
            OpenApiParameter("since", str, description="ISO 8601; detected at or after"),
            OpenApiParameter("severity", int, enum=Severity.values, description="exactly"),
            OpenApiParameter("open", bool, description="open or acknowledged"),
            OpenApiParameter("unacknowledged", bool, description="alerts still open"),
            OpenApiParameter(
                "overdue", bool, description="alerts past their acknowledgement/resolution time"
            ),
            OpenApiParameter("escalated", bool, description="alerts past the ladder's step 1"),
            OpenApiParameter("assigned_to_me", bool),
            OpenApiParameter(
                "district",
                str,
                description=(
                    "district code: the alerts of that district's control room (supervised or "
                    "happened there), within the caller's jurisdiction"
                ),
            ),
        ],
        responses=ViolationSerializer(many=True),
        description=(
            "Violations in the caller's jurisdiction, newest first: a control room sees its "
            "district's, a station officer its station's, a beat officer those of the "
            "offenders on its beat, a registry admin all."
        ),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        violations = selectors.violation_list(
            actor=request.user,
            status=data.get("status"),
            kind=data.get("kind"),
            severity_min=data.get("severity_min"),
            offender_id=data.get("offender"),
            since=data.get("since"),
            severity=data.get("severity"),
            open_only=data["open"],
            unacknowledged=data["unacknowledged"],
            overdue=data["overdue"],
            escalated=data["escalated"],
            assigned_to_me=data["assigned_to_me"],
            district=data.get("district"),
        )
        page = paginate(violations, request=request, view=self)
        filters_used = {
            key: value.isoformat() if key == "since" else value
            for key, value in data.items()
            if value is not False
        }
        audit_read(
            actor=request.user,
            object_type="violation",
            details={"filters": filters_used, "count": len(page.rows)},
        )
        return page.response(ViolationSerializer(page.rows, many=True).data)


class ViolationDetailApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "violation.read"

    @extend_schema_serializer(component_name="ViolationDetail")
    class OutputSerializer(ViolationSerializer):
        @extend_schema_serializer(component_name="ViolationStatusChange")
        class HistorySerializer(serializers.Serializer):
            from_status = serializers.CharField()
            to_status = serializers.CharField()
            actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
            reason = serializers.CharField()
            changed_at = serializers.DateTimeField()

        history = HistorySerializer(source="status_changes.all", many=True)

    @extend_schema(tags=[TAG], operation_id="violation_retrieve", responses=OutputSerializer)
    def get(self, request: Request, violation_id: int) -> Response:
        violation = selectors.violation_get(actor=request.user, violation_id=violation_id)
        audit_read(actor=request.user, object_type="violation", object_id=violation.pk, details={})
        return Response(self.OutputSerializer(violation).data)


class ViolationAcknowledgeApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "violation.acknowledge"

    @extend_schema_serializer(component_name="ViolationAcknowledge")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=255, required=False, allow_blank=True)

    @extend_schema(
        tags=[TAG],
        operation_id="violation_acknowledge",
        request=InputSerializer,
        responses=ViolationSerializer,
        description="open → acknowledged. 409 when the violation is no longer open.",
    )
    def post(self, request: Request, violation_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        violation = services.violation_acknowledge(
            actor=request.user,
            violation_id=violation_id,
            reason=payload.validated_data.get("reason", ""),
        )
        return Response(ViolationSerializer(violation).data)


class ViolationResolveApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "violation.manage"

    @extend_schema_serializer(component_name="ViolationResolve")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=255)

    @extend_schema(
        tags=[TAG],
        operation_id="violation_resolve",
        request=InputSerializer,
        responses=ViolationSerializer,
        description="open/acknowledged → resolved, saying how. 409 when already closed.",
    )
    def post(self, request: Request, violation_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        violation = services.violation_resolve(
            actor=request.user,
            violation_id=violation_id,
            reason=payload.validated_data["reason"],
        )
        return Response(ViolationSerializer(violation).data)


class ViolationDismissApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "violation.manage"

    @extend_schema_serializer(component_name="ViolationDismiss")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=255)

    @extend_schema(
        tags=[TAG],
        operation_id="violation_dismiss",
        request=InputSerializer,
        responses=ViolationSerializer,
        description="open/acknowledged → dismissed (not a breach), saying why. 409 when closed.",
    )
    def post(self, request: Request, violation_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        violation = services.violation_dismiss(
            actor=request.user,
            violation_id=violation_id,
            reason=payload.validated_data["reason"],
        )
        return Response(ViolationSerializer(violation).data)


class ViolationAssignApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "alert.assign"

    @extend_schema_serializer(component_name="ViolationAssign")
    class InputSerializer(serializers.Serializer):
        officer = serializers.IntegerField(
            min_value=1, required=False, help_text="officer id; the caller when absent"
        )

    @extend_schema(
        tags=[TAG],
        operation_id="violation_assign",
        request=InputSerializer,
        responses=ViolationSerializer,
        description=(
            "Give an open or acknowledged alert to an officer who can see it (one of "
            "`assignees/`; the caller when `officer` is absent); the officer is told at once "
            "(in-app and by push). 400 on `officer` for anyone else (inactive, unknown, or "
            "not allowed to read the alert); 409 when the alert is closed."
        ),
    )
    def post(self, request: Request, violation_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        violation = services.violation_assign(
            actor=request.user,
            violation_id=violation_id,
            officer_id=payload.validated_data.get("officer"),
        )
        return Response(ViolationSerializer(violation).data)


class ViolationAssigneesApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "alert.assign"

    @extend_schema_serializer(component_name="ViolationAssignee")
    class OutputSerializer(serializers.Serializer):
        # What a picker shows: no phone, email or anything else of the officer's.
        id = serializers.IntegerField()
        username = serializers.CharField()
        full_name = serializers.CharField()
        rank = serializers.CharField()
        badge_number = serializers.CharField()
        role = serializers.CharField()
        station = serializers.CharField(source="station.code", allow_null=True, default=None)

    @extend_schema(
        tags=[TAG],
        operation_id="violation_assignees",
        responses=OutputSerializer(many=True),
        description=(
            "The officers this alert may be assigned to (`assign/`'s `officer`), by name: "
            "active officers who may read it in its district. Not paginated: at most the "
            "officers of the alert's districts and the national desk. 404 outside the "
            "caller's jurisdiction."
        ),
    )
    def get(self, request: Request, violation_id: int) -> Response:
        violation = selectors.violation_get(actor=request.user, violation_id=violation_id)
        officers = selectors.violation_assignees(violation=violation)
        audit_read(
            actor=request.user,
            object_type="violation",
            object_id=violation.pk,
            details={"assignees": len(officers)},
        )
        return Response(self.OutputSerializer(officers, many=True).data)
