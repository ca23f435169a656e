"""Endpoints of the register's liaison: hand-overs (list, overdue, accept), registrations
ending (list, confirm the removal), and the FIA's international travel export."""

import csv
import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import AuditAction
from audit.services import audit_record
from common.pagination import CursorPagination, paginate
from common.permissions import HoldsPermission
from liaison import selectors, services
from liaison.models import HandoverStatus
from registry.services.registration_end import offender_registration_end_confirm

TAG = "liaison"


@extend_schema_serializer(component_name="Handover")
class HandoverSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    offender_id = serializers.IntegerField()
    status = serializers.CharField()
    moved_at = serializers.DateTimeField()
    from_district = serializers.CharField(source="from_district.code")
    from_station = serializers.CharField(source="from_station.code", allow_null=True, default=None)
    to_district = serializers.CharField(source="to_district.code")
    to_station = serializers.CharField(source="to_station.code", allow_null=True, default=None)
    next_checkin_due = serializers.DateField(allow_null=True)
    next_verification_due = serializers.DateField(allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True)
    accepted_by_id = serializers.IntegerField(allow_null=True)


class HandoverListApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "handover.read"
    pagination_class = CursorPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=HandoverStatus.choices, required=False)
        overdue = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        tags=[TAG],
        operation_id="handover_list",
        parameters=[
            OpenApiParameter("status", str, enum=HandoverStatus.values),
            OpenApiParameter(
                "overdue", bool, description="pending past NIGRANI_HANDOVER_ACCEPT_HOURS"
            ),
        ],
        responses=HandoverSerializer(many=True),
        description=(
            "Hand-overs whose sending or receiving district/station is the caller's (the NPB: "
            "all), oldest first; `overdue=true` lists those the receiving station has not "
            "accepted in time."
        ),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        handovers = selectors.handover_list(
            actor=request.user,
            status=filters.validated_data.get("status"),
            overdue=filters.validated_data["overdue"],
        )
        page = paginate(handovers, request=request, view=self)
        return page.response(HandoverSerializer(page.rows, many=True).data)


class HandoverAcceptApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "handover.accept"

    @extend_schema(
        tags=[TAG],
        operation_id="handover_accept",
        request=None,
        responses=HandoverSerializer,
        description=(
            "The receiving station accepts the hand-over (audited). Another station: 404; "
            "already accepted or superseded: 409."
        ),
    )
    def post(self, request: Request, handover_id: int) -> Response:
        handover = services.handover_accept(actor=request.user, handover_id=handover_id)
        handover = selectors.handover_list(actor=request.user).get(pk=handover.pk)
        return Response(HandoverSerializer(handover).data)


class RegistrationEndingListApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "registration_end.read"
    pagination_class = CursorPagination

    @extend_schema_serializer(component_name="RegistrationEnding")
    class OutputSerializer(serializers.Serializer):
        offender_id = serializers.IntegerField(source="pk")
        status = serializers.CharField()
        registration_ends_on = serializers.DateField()
        district = serializers.CharField(source="district.code")
        station = serializers.CharField(source="station.code", allow_null=True, default=None)

    @extend_schema(
        tags=[TAG],
        operation_id="registration_ending_list",
        responses=OutputSerializer(many=True),
        description=(
            "Offenders whose registration ends within 30 days or has ended awaiting the NPB's "
            "confirmation, soonest first: the NPB sees all, a control room its district."
        ),
    )
    def get(self, request: Request) -> Response:
        offenders = selectors.registration_ending_list(actor=request.user)
        page = paginate(offenders, request=request, view=self)
        return page.response(self.OutputSerializer(page.rows, many=True).data)


class RegistrationEndConfirmApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "registration_end.confirm"

    @extend_schema_serializer(component_name="RegistrationEndConfirm")
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    @extend_schema_serializer(component_name="RegistrationEndConfirmed")
    class OutputSerializer(serializers.Serializer):
        offender_id = serializers.IntegerField(source="pk")
        status = serializers.CharField()
        removal_reason = serializers.CharField()
        registration_ends_on = serializers.DateField(allow_null=True)

    @extend_schema(
        tags=[TAG],
        operation_id="registration_end_confirm",
        request=InputSerializer,
        responses=OutputSerializer,
        description=(
            "An NPB officer confirms that the registration period has ended: the record moves "
            "to `removed` (registration_period_ended), audited. Before the day: 409."
        ),
    )
    def post(self, request: Request, offender_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        offender = offender_registration_end_confirm(
            actor=request.user, offender_id=offender_id, note=payload.validated_data.get("note", "")
        )
        return Response(self.OutputSerializer(offender).data)


# What an immigration check needs of each trip, in this order (the CSV's columns).
FIA_FIELDS = (
    "notice_id",
    "offender_id",
    "full_name",
    "father_name",
    "cnic",
    "date_of_birth",
    "gender",
    "destination_country",
    "destination_city",
    "departure_date",
    "return_date",
    "notice_status",
)


def _fia_row(notice) -> dict[str, str]:  # noqa: ANN001 - a registry Notice
    offender = notice.offender
    return {
        "notice_id": str(notice.pk),
        "offender_id": str(offender.pk),
        "full_name": offender.full_name,
        "father_name": offender.father_name,
        "cnic": offender.cnic,
        "date_of_birth": offender.date_of_birth.isoformat() if offender.date_of_birth else "",
        "gender": offender.gender,
        "destination_country": notice.destination_country,
        "destination_city": notice.destination_city,
        "departure_date": notice.departure_date.isoformat() if notice.departure_date else "",
        "return_date": notice.return_date.isoformat() if notice.return_date else "",
        "notice_status": notice.status,
    }


class InternationalTravelExportApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "travel.export"

    @extend_schema_serializer(component_name="InternationalTravelExportFilter")
    class FilterSerializer(serializers.Serializer):
        purpose = serializers.CharField(min_length=3, max_length=64)
        as_ = serializers.ChoiceField(choices=["json", "csv"], default="json")

        def to_internal_value(self, data):  # noqa: ANN001, ANN202 - "as" is a keyword
            data = {**data.dict(), "as_": data.get("as", "json")} if hasattr(data, "dict") else data
            return super().to_internal_value(data)

    @extend_schema(
        tags=[TAG],
        operation_id="international_travel_export",
        parameters=[
            OpenApiParameter("purpose", str, required=True, description="why (audited)"),
            OpenApiParameter("as", str, enum=["json", "csv"]),
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.STR,
        },
        description=(
            "Upcoming and ongoing international travel for the FIA's immigration check (NPB "
            "only): identity, destination, departure and return. Audited as an `export` with "
            "its purpose."
        ),
    )
    def get(self, request: Request) -> HttpResponse:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        purpose = filters.validated_data["purpose"].strip()
        output = filters.validated_data["as_"]
        rows = [_fia_row(n) for n in selectors.international_travel_upcoming(actor=request.user)]
        audit_record(
            actor=request.user,
            action=AuditAction.EXPORT,
            object_type="international_travel",
            purpose=purpose,
            details={
                "format": output,
                "count": len(rows),
                "notice_ids": [int(r["notice_id"]) for r in rows],
            },
        )
        if output == "json":
            response = Response({"purpose": purpose, "count": len(rows), "results": rows})
        else:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=FIA_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
            response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="international-travel.csv"'
        response["Cache-Control"] = "private, no-store"
        return response
