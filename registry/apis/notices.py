"""Notice-of-change endpoints: list and file an offender's notices; acknowledge, cancel and close
one. Rules live in ``registry.services.notices`` (its docstring says which kinds move how)."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import audit_read
from common.dates import BoundedDateField
from common.pagination import CursorPagination, paginate
from common.permissions import HoldsPermission
from registry.models import Notice, NoticeKind
from registry.selectors_notices import notice_list_for_offender
from registry.services import notices as services

TAG = "notices"


class NoticePagination(CursorPagination):
    ordering = ("-filed_at", "-id")


def _mask_phone(phone: str) -> str:
    """``+923001234567`` → ``+92300*****67``: enough to recognise, not to call."""
    return phone[:6] + "*" * max(len(phone) - 8, 0) + phone[-2:] if len(phone) > 8 else "***"


@extend_schema_serializer(component_name="Notice")
class NoticeSerializer(serializers.Serializer):
    """One notice as every notice endpoint shows it (shared on purpose: one shape per notice).
    The new phone number is masked; the full value is on the offender record, behind its own
    purpose and audit."""

    id = serializers.IntegerField()
    offender = serializers.IntegerField(source="offender_id")
    kind = serializers.CharField()
    status = serializers.CharField()
    filed_at = serializers.DateTimeField()
    filed_by = serializers.CharField(source="filed_by.username", allow_null=True, default=None)
    station = serializers.CharField(
        source="station.code", allow_null=True, default=None, help_text="supervising station"
    )
    changed_on = serializers.DateField(allow_null=True)
    deadline = serializers.DateField()
    is_late = serializers.BooleanField()
    details = serializers.SerializerMethodField()
    destination_district = serializers.CharField(
        source="destination_district.code", allow_null=True, default=None
    )
    destination_country = serializers.CharField()
    destination_city = serializers.CharField()
    departure_date = serializers.DateField(allow_null=True)
    return_date = serializers.DateField(allow_null=True)
    purpose = serializers.CharField()
    returned_on = serializers.DateField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", allow_null=True, default=None
    )
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancelled_by = serializers.CharField(
        source="cancelled_by.username", allow_null=True, default=None
    )
    cancel_reason = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    closed_by = serializers.CharField(source="closed_by.username", allow_null=True, default=None)

    def get_details(self, notice: Notice) -> dict:
        details = services.notice_details(notice)
        if "phone" in details:
            details["phone"] = _mask_phone(details["phone"])
        return details


class OffenderNoticesApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = {"read": "notice.read", "*": "notice.file"}
    pagination_class = NoticePagination

    @extend_schema_serializer(component_name="NoticeFile")
    class InputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="NoticeFileDetails")
        class DetailsSerializer(serializers.Serializer):
            @extend_schema_serializer(component_name="NoticeFileAddress")
            class AddressSerializer(serializers.Serializer):
                text = serializers.CharField(max_length=500)
                district = serializers.SlugField(help_text="district code")
                lat = serializers.FloatField(
                    min_value=-90, max_value=90, required=False, allow_null=True
                )
                lon = serializers.FloatField(
                    min_value=-180, max_value=180, required=False, allow_null=True
                )

            full_name = serializers.CharField(max_length=150, required=False)
            full_name_ur = serializers.CharField(max_length=150, required=False)
            father_name = serializers.CharField(max_length=150, required=False)
            phone = serializers.CharField(max_length=32, required=False)
            address = AddressSerializer(required=False)
            employer = serializers.CharField(max_length=200, required=False)
            occupation = serializers.CharField(max_length=200, required=False)
            work_address = serializers.CharField(max_length=500, required=False)

        kind = serializers.ChoiceField(choices=NoticeKind.choices)
        changed_on = BoundedDateField(required=False, allow_null=True)
        details = DetailsSerializer(required=False)
        destination_district = serializers.SlugField(required=False, allow_blank=True)
        destination_country = serializers.CharField(
            max_length=2, required=False, allow_blank=True, help_text="ISO 3166-1 alpha-2"
        )
        destination_city = serializers.CharField(max_length=100, required=False, allow_blank=True)
        departure_date = BoundedDateField(required=False, allow_null=True)
        return_date = BoundedDateField(required=False, allow_null=True)
        purpose = serializers.CharField(max_length=255, required=False, allow_blank=True)
        cnic = serializers.CharField(
            max_length=20,
            required=False,
            allow_blank=True,
            write_only=True,
            help_text="Only when filing at another station's counter: the CNIC presented.",
        )

    @extend_schema(
        tags=[TAG],
        operation_id="offender_notice_list",
        responses=NoticeSerializer(many=True),
        description="The offender's notices of change, newest first; scoped like the offender.",
    )
    def get(self, request: Request, offender_id: int) -> Response:
        notices = notice_list_for_offender(actor=request.user, offender_id=offender_id)
        page = paginate(notices, request=request, view=self)
        audit_read(
            actor=request.user,
            object_type="offender",
            object_id=offender_id,
            details={"view": "notices", "count": len(page.rows)},
        )
        return page.response(NoticeSerializer(page.rows, many=True).data)

    @extend_schema(
        tags=[TAG],
        operation_id="offender_notice_file",
        request=InputSerializer,
        responses={201: NoticeSerializer},
        description=(
            "File a notice of change on the offender's behalf. A late notice is accepted, "
            "marked `is_late` and raises a `late_notice` violation. Change notices take effect "
            "at once; travel notices are acknowledged, cancelled or closed on return. A station "
            "officer may file for an active registrant of another station by sending the "
            "`cnic` presented at the counter; the notice goes to the supervising station. "
            "Such a counter notice is `unconfirmed` and changes nothing until the offender "
            "confirms it with the code sent to the registered phone "
            "(`POST /api/v1/notices/{id}/confirm/`); without a registered phone it is 409 "
            "`no_registered_phone`."
        ),
    )
    def post(self, request: Request, offender_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        notice = services.notice_file(
            actor=request.user,
            offender_id=offender_id,
            kind=data["kind"],
            changed_on=data.get("changed_on"),
            details=data.get("details"),
            destination_district=data.get("destination_district", ""),
            destination_country=data.get("destination_country", ""),
            destination_city=data.get("destination_city", ""),
            departure_date=data.get("departure_date"),
            return_date=data.get("return_date"),
            purpose=data.get("purpose", ""),
            cnic=data.get("cnic", ""),
        )
        return Response(NoticeSerializer(notice).data, status=status.HTTP_201_CREATED)


class NoticeAcknowledgeApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = {"read": "notice.read", "*": "notice.manage"}

    @extend_schema(
        tags=[TAG],
        operation_id="notice_acknowledge",
        request=None,
        responses=NoticeSerializer,
        description="filed → acknowledged (reviewed by the supervising station); else 409.",
    )
    def post(self, request: Request, notice_id: int) -> Response:
        notice = services.notice_acknowledge(actor=request.user, notice_id=notice_id)
        return Response(NoticeSerializer(notice).data)


class NoticeCancelApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = {"read": "notice.read", "*": "notice.manage"}

    @extend_schema_serializer(component_name="NoticeCancel")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=255)

    @extend_schema(
        tags=[TAG],
        operation_id="notice_cancel",
        request=InputSerializer,
        responses=NoticeSerializer,
        description="Travel notices only: filed/acknowledged → cancelled, with a reason; else 409.",
    )
    def post(self, request: Request, notice_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        notice = services.notice_cancel(
            actor=request.user, notice_id=notice_id, reason=payload.validated_data["reason"]
        )
        return Response(NoticeSerializer(notice).data)


class NoticeCloseApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = {"read": "notice.read", "*": "notice.manage"}

    @extend_schema_serializer(component_name="NoticeClose")
    class InputSerializer(serializers.Serializer):
        returned_on = BoundedDateField()

    @extend_schema(
        tags=[TAG],
        operation_id="notice_close",
        request=InputSerializer,
        responses=NoticeSerializer,
        description="Travel notices only: acknowledged → closed on return; else 409.",
    )
    def post(self, request: Request, notice_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        notice = services.notice_close(
            actor=request.user,
            notice_id=notice_id,
            returned_on=payload.validated_data["returned_on"],
        )
        return Response(NoticeSerializer(notice).data)
