"""Check-in endpoints: the station's due list, start a check-in, verify the code, resend it,
confirm by override, and read check-ins.

Rules live in ``checkins.services`` and scoping in ``checkins.selectors``. Roles without the
permission get 403; a check-in or offender outside the caller's station (district, for a
control room) is 404. The OTP is never in a response; the offender's phone only as a hint
(``+92 3** ***4567``); a CNIC is accepted in the POST body only and never echoed. Every read
and write is audited.
"""

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import DeviceToken
from accounts.services import Channel
from audit.services import audit_read
from checkins import messages, schedule, selectors
from checkins.models import ChallengeState, Checkin
from checkins.services import counter, notice_confirmation
from common.pagination import CursorPagination, paginate
from common.parsers import BoundedJSONParser
from common.permissions import HoldsPermission
from common.request_context import get_request_context
from registry.apis.notices import NoticeSerializer

TAG = "checkins"
ERRORS = {
    400: OpenApiResponse(description="validation error (the one error body)"),
    404: OpenApiResponse(description="not found, or not the caller's station"),
}


def _device_id(request: Request) -> str:
    # A device-token request names its enrolled device (``DeviceTokenAuthentication``).
    return request.auth.device_id if isinstance(request.auth, DeviceToken) else ""


def _channel(request: Request) -> Channel:
    return Channel.MOBILE if isinstance(request.auth, DeviceToken) else Channel.WEB


# --- output --------------------------------------------------------------------------------


@extend_schema_serializer(component_name="Checkin")
class CheckinSerializer(serializers.Serializer):
    """One check-in as every check-in endpoint shows it (shared on purpose: clients cache them
    by id). An override is marked (``method: "override"``, ``override_by``) wherever it shows."""

    @extend_schema_serializer(component_name="CheckinLocation")
    class LocationSerializer(serializers.Serializer):
        lon = serializers.FloatField()
        lat = serializers.FloatField()
        accuracy_m = serializers.FloatField(allow_null=True)

    @extend_schema_serializer(component_name="CheckinChallenge")
    class ChallengeSerializer(serializers.Serializer):
        state = serializers.CharField()
        expires_at = serializers.DateTimeField()
        sends = serializers.IntegerField()
        attempts_left = serializers.IntegerField()

    id = serializers.IntegerField()
    offender = serializers.IntegerField(source="offender_id")
    station = serializers.CharField(source="station.code")
    status = serializers.CharField()
    due_on = serializers.DateField(allow_null=True, help_text="the period this visit serves")
    started_at = serializers.DateTimeField(source="created_at")
    started_by = serializers.CharField(source="started_by.username")
    location = serializers.SerializerMethodField()
    via_terminal = serializers.SerializerMethodField()
    challenge = serializers.SerializerMethodField()
    method = serializers.CharField(help_text="sms_otp or override; empty until confirmed")
    is_override = serializers.SerializerMethodField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    confirmed_by = serializers.CharField(
        source="confirmed_by.username", allow_null=True, default=None
    )
    override_by = serializers.CharField(
        source="override_by.username",
        allow_null=True,
        default=None,
        help_text="the second officer of an override (four eyes)",
    )
    override_reason = serializers.CharField()
    details_unchanged = serializers.BooleanField(allow_null=True)
    notices = serializers.SerializerMethodField()
    travel_notices_closed = serializers.SerializerMethodField()
    has_photo = serializers.SerializerMethodField()
    next_due_on = serializers.DateField(allow_null=True)

    @extend_schema_field(LocationSerializer(allow_null=True))
    def get_location(self, checkin: Checkin) -> dict | None:
        if checkin.lon is None:
            return None
        return {"lon": checkin.lon, "lat": checkin.lat, "accuracy_m": checkin.accuracy_m}

    @extend_schema_field(serializers.BooleanField())
    def get_via_terminal(self, checkin: Checkin) -> bool:
        return checkin.terminal_id is not None

    @extend_schema_field(ChallengeSerializer(allow_null=True))
    def get_challenge(self, checkin: Checkin) -> dict | None:
        try:
            challenge = checkin.challenge
        except Checkin.challenge.RelatedObjectDoesNotExist:
            return None
        return {
            "state": challenge.state,
            "expires_at": challenge.expires_at,
            "sends": challenge.sends,
            "attempts_left": max(
                0, settings.NIGRANI_CHECKIN_OTP_MAX_ATTEMPTS - challenge.failed_attempts
            )
            if challenge.state == ChallengeState.OPEN
            else 0,
        }

    @extend_schema_field(serializers.BooleanField())
    def get_is_override(self, checkin: Checkin) -> bool:
        return checkin.method == "override"

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_notices(self, checkin: Checkin) -> list[int]:
        return sorted(notice.pk for notice in checkin.notices.all())

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_travel_notices_closed(self, checkin: Checkin) -> list[int]:
        return sorted(notice.pk for notice in checkin.travel_notices_closed.all())

    @extend_schema_field(serializers.BooleanField())
    def get_has_photo(self, checkin: Checkin) -> bool:
        return bool(checkin.photo)


def _fresh(request: Request, checkin_id: int) -> dict:
    """The check-in as the caller now sees it, after a write."""
    return CheckinSerializer(selectors.checkin_get(actor=request.user, checkin_id=checkin_id)).data


def _parse(serializer_class: type[serializers.Serializer], data: Any) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class _DeclarationFields(serializers.Serializer):
    unchanged = serializers.BooleanField(
        required=False,
        default=False,
        help_text="the offender confirms address, phone and employment are unchanged",
    )
    notices = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=10,
        help_text="ids of the notices of change filed in this visit (instead of `unchanged`)",
    )
    photo = serializers.ImageField(required=False, help_text="optional; metadata is removed")

    def declaration(self) -> counter.Declaration:
        data = self.validated_data
        return counter.Declaration(
            unchanged=data.get("unchanged", False), notice_ids=tuple(data.get("notices", []))
        )


# --- views ---------------------------------------------------------------------------------


class CheckinPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class CheckinListApi(APIView):
    pagination_class = CheckinPagination

    permission_classes = [HoldsPermission]
    required_permission = {"POST": "checkin.perform", "*": "checkin.read"}

    class FilterSerializer(serializers.Serializer):
        offender = serializers.IntegerField(min_value=1)

    @extend_schema_serializer(component_name="CheckinStart")
    class InputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="CheckinStartLocation")
        class LocationSerializer(serializers.Serializer):
            lon = serializers.FloatField(min_value=-180, max_value=180)
            lat = serializers.FloatField(min_value=-90, max_value=90)
            accuracy_m = serializers.FloatField(
                min_value=0, max_value=100_000, help_text="the fix's accuracy radius, metres"
            )

        offender = serializers.IntegerField(min_value=1, required=False)
        cnic = serializers.CharField(
            max_length=20, required=False, help_text="the CNIC presented at the counter"
        )
        location = LocationSerializer(
            required=False, help_text="the device's fix; not needed from an enrolled terminal"
        )

    @extend_schema_serializer(component_name="CheckinStarted")
    class StartedSerializer(CheckinSerializer):
        expires_at = serializers.DateTimeField(allow_null=True)
        phone_hint = serializers.CharField(
            allow_null=True, help_text="where the code went, masked: +92 3** ***4567"
        )

    @extend_schema(
        tags=[TAG],
        operation_id="checkin_list",
        parameters=[OpenApiParameter("offender", int, required=True, description="offender id")],
        responses=CheckinSerializer(many=True),
        description=(
            "An offender's check-ins, newest first, as far as the caller sees them (its "
            "station's, its district's, or all). Audited. 404 for an offender the caller "
            "does not see (unless it has check-ins of theirs in scope)."
        ),
    )
    def get(self, request: Request) -> Response:
        offender_id = _parse(self.FilterSerializer, request.query_params)["offender"]
        checkins = selectors.checkin_list(actor=request.user, offender_id=offender_id)
        page = paginate(checkins, request=request, view=self)
        audit_read(
            actor=request.user,
            object_type="checkin",
            details={"view": "list", "offender_id": offender_id, "count": len(page.rows)},
        )
        return page.response(CheckinSerializer(page.rows, many=True).data)

    @extend_schema(
        tags=[TAG],
        operation_id="checkin_start",
        request=InputSerializer,
        responses={201: StartedSerializer, **ERRORS},
        description=(
            "Start a check-in for an active offender the station supervises, by `offender` id "
            "or by the exact `cnic` presented (body only; never echoed). Accepted only from "
            "inside the station's area (allowing for the fix's `accuracy_m`, capped) or from "
            "an enrolled station terminal; otherwise 400 `outside_station`. The code goes by "
            "SMS to the registered phone; the answer is `otp_sent` with `expires_at` and a "
            "masked `phone_hint`, never the code (`no_phone` without a registered phone: "
            "confirm by override). 429 `daily_limit` past the per-offender daily limit."
        ),
    )
    def post(self, request: Request) -> Response:
        data = _parse(self.InputSerializer, request.data)
        location = data.get("location")
        checkin = counter.checkin_start(
            actor=request.user,
            offender_id=data.get("offender"),
            cnic=data.get("cnic", ""),
            location=counter.Location(**location) if location else None,
            device_id=_device_id(request),
        )
        return Response(_started(request, checkin), status=status.HTTP_201_CREATED)


def _started(request: Request, checkin: Checkin) -> dict:
    body = dict(_fresh(request, checkin.pk))
    phone = checkin.offender.phone
    body["phone_hint"] = messages.phone_hint(phone) if phone else None
    body["expires_at"] = body["challenge"]["expires_at"] if body["challenge"] else None
    return body


class CheckinDueApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "checkin.perform"
    pagination_class = CursorPagination

    class FilterSerializer(serializers.Serializer):
        state = serializers.ChoiceField(
            choices=[schedule.DueState.DUE, schedule.DueState.IN_WINDOW, schedule.DueState.OVERDUE],
            required=False,
        )

    @extend_schema_serializer(component_name="CheckinDue")
    class OutputSerializer(serializers.Serializer):
        offender = serializers.IntegerField(source="pk")
        full_name = serializers.CharField()
        full_name_ur = serializers.CharField()
        father_name = serializers.CharField()
        risk_tier = serializers.IntegerField()
        next_checkin_due = serializers.DateField()
        state = serializers.SerializerMethodField()
        days_overdue = serializers.SerializerMethodField()
        last_checkin_on = serializers.DateField(allow_null=True)

        @extend_schema_field(serializers.ChoiceField(choices=list(schedule.DueState)))
        def get_state(self, offender: Any) -> str:
            return schedule.due_state(
                due_on=offender.next_checkin_due,
                today=self.context["today"],
                window_days=settings.NIGRANI_CHECKIN_WINDOW_DAYS,
            )

        @extend_schema_field(serializers.IntegerField())
        def get_days_overdue(self, offender: Any) -> int:
            return max(0, (self.context["today"] - offender.next_checkin_due).days)

    class Pagination(CursorPagination):
        ordering = ("next_checkin_due", "id")

    @extend_schema(
        tags=[TAG],
        operation_id="checkin_due_list",
        parameters=[
            OpenApiParameter("state", str, enum=["due", "in_window", "overdue"]),
        ],
        responses=OutputSerializer(many=True),
        description=(
            "Station officers: the active offenders of the station whose check-in window is "
            "open (`in_window`), due today (`due`) or overdue (`overdue`), most overdue first. "
            "Audited as a read of offender records with purpose `checkin`."
        ),
    )
    def get(self, request: Request) -> Response:
        state = _parse(self.FilterSerializer, request.query_params).get("state")
        today = timezone.localdate()
        offenders = selectors.checkins_due(actor=request.user, state=state, today=today)
        page = paginate(offenders, request=request, view=self, paginator=self.Pagination())
        audit_read(
            actor=request.user,
            object_type="offender",
            purpose="checkin",
            details={"view": "checkins_due", "state": state or "all", "count": len(page.rows)},
            search=True,
        )
        data = self.OutputSerializer(page.rows, many=True, context={"today": today}).data
        return page.response(data)


class CheckinDetailApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "checkin.read"

    @extend_schema(
        tags=[TAG],
        operation_id="checkin_retrieve",
        responses={200: CheckinSerializer, 404: ERRORS[404]},
        description="One check-in; 404 outside the caller's station or district. Audited.",
    )
    def get(self, request: Request, checkin_id: int) -> Response:
        checkin = selectors.checkin_get(actor=request.user, checkin_id=checkin_id)
        audit_read(
            actor=request.user,
            object_type="checkin",
            object_id=checkin.pk,
            details={"offender_id": checkin.offender_id},
        )
        return Response(CheckinSerializer(checkin).data)


class CheckinVerifyApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "checkin.perform"
    parser_classes = [BoundedJSONParser, MultiPartParser]

    @extend_schema_serializer(component_name="CheckinVerify")
    class InputSerializer(_DeclarationFields):
        code = serializers.CharField(max_length=16, help_text="the code the offender reads out")

    @extend_schema(
        tags=[TAG],
        operation_id="checkin_verify",
        request={"application/json": InputSerializer, "multipart/form-data": InputSerializer},
        responses={
            200: CheckinSerializer,
            **ERRORS,
            409: OpenApiResponse(description="already confirmed, cancelled, or no code sent"),
            410: OpenApiResponse(description="the code expired"),
            423: OpenApiResponse(description="locked after too many wrong codes"),
        },
        description=(
            "Confirm with the code the offender reads out, and the declaration (`unchanged`, "
            "or the `notices` of change filed in this visit; an optional `photo`). 200 "
            "`confirmed` with `next_due_on`; a wrong code is 400 `wrong_code` with "
            "`attempts_left`; after the last wrong attempt 423 (the station is notified); "
            "after expiry 410. Each code works once."
        ),
    )
    def post(self, request: Request, checkin_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        counter.checkin_verify(
            actor=request.user,
            checkin_id=checkin_id,
            code=payload.validated_data["code"],
            declaration=payload.declaration(),
            photo=payload.validated_data.get("photo"),
        )
        return Response(_fresh(request, checkin_id))


class CheckinResendApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "checkin.perform"

    @extend_schema(
        tags=[TAG],
        operation_id="checkin_resend",
        request=None,
        responses={
            200: CheckinListApi.StartedSerializer,
            **ERRORS,
            429: OpenApiResponse(description="too soon or too many sends (`retry_after`)"),
        },
        description=(
            "Send a new code to the registered phone; the previous code stops working. At "
            "most 3 sends per check-in, 60 s apart (settings): otherwise 429 with "
            "`retry_after` and `Retry-After`."
        ),
    )
    def post(self, request: Request, checkin_id: int) -> Response:
        checkin = counter.checkin_resend(actor=request.user, checkin_id=checkin_id)
        return Response(_started(request, checkin))


class CheckinOverrideApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "checkin.perform"
    parser_classes = [BoundedJSONParser, MultiPartParser]

    @extend_schema_serializer(component_name="CheckinOverride")
    class InputSerializer(_DeclarationFields):
        username = serializers.CharField(max_length=150, help_text="the second officer")
        password = serializers.CharField(max_length=256, style={"input_type": "password"})
        otp = serializers.CharField(max_length=32, help_text="the second officer's TOTP code")
        reason = serializers.CharField(max_length=500, help_text="why the SMS code was not used")

    @extend_schema(
        tags=[TAG],
        operation_id="checkin_override",
        request={"application/json": InputSerializer, "multipart/form-data": InputSerializer},
        responses={
            200: CheckinSerializer,
            **ERRORS,
            409: OpenApiResponse(description="already confirmed or cancelled"),
            423: OpenApiResponse(description="locked after too many wrong codes"),
        },
        description=(
            "Confirm without the SMS code (four eyes): a second, different station officer "
            "of the same station confirms with their own username, password and TOTP code, "
            'and a `reason` is given. The check-in shows `method: "override"` and '
            "`override_by` everywhere. A wrong credential is 400 `invalid_credentials` and "
            "counts towards that officer's lockout."
        ),
    )
    def post(self, request: Request, checkin_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        counter.checkin_override(
            actor=request.user,
            checkin_id=checkin_id,
            username=data["username"],
            password=data["password"],
            otp_code=data["otp"],
            reason=data["reason"],
            declaration=payload.declaration(),
            channel=_channel(request),
            client_ip=get_request_context().client_ip,
            photo=data.get("photo"),
        )
        return Response(_fresh(request, checkin_id))


class NoticeConfirmApi(APIView):
    """The offender confirms, with the code sent to the registered phone, a notice of change
    filed at this station's counter for an offender another station supervises."""

    permission_classes = [HoldsPermission]
    required_permission = "checkin.perform"

    @extend_schema_serializer(component_name="NoticeConfirm")
    class InputSerializer(serializers.Serializer):
        code = serializers.RegexField(
            r"^[0-9]{6}$", max_length=6, help_text="the 6-digit code the offender received"
        )

    @extend_schema(
        tags=["notices"],
        operation_id="notice_confirm",
        request=InputSerializer,
        responses={
            200: NoticeSerializer,
            **ERRORS,
            409: OpenApiResponse(description="`already_confirmed`, `offender_not_reporting`"),
            410: OpenApiResponse(description="`challenge_expired`: file the notice again"),
            423: OpenApiResponse(description="`challenge_locked` after too many wrong codes"),
        },
        description=(
            "A notice filed at a station that does not supervise the offender is `unconfirmed` "
            "and changes nothing until the offender confirms it with the code sent to the "
            "registered phone. Only the counter station that filed it confirms it. A wrong code "
            "is 400 `wrong_code` with `attempts_left`; then 423 `challenge_locked`; after the "
            "code's lifetime 410. On success the notice takes effect (`filed`); a change of "
            "supervision is audited as a transfer and the former station and district are "
            "notified."
        ),
    )
    def post(self, request: Request, notice_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        notice = notice_confirmation.notice_confirmation_verify(
            actor=request.user, notice_id=notice_id, code=serializer.validated_data["code"]
        )
        return Response(NoticeSerializer(notice).data)
