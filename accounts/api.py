"""Sign-in, devices and two-factor enrolment for the mobile app and API clients.

Officer-management endpoints (``/officers/{id}/…``) need ``officer.manage`` (system_admin);
to anyone else the officer is not there (404), as for any object outside one's reach.
"""

from typing import Any

from django.contrib.auth import logout
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import DeviceToken, Officer
from accounts.selectors import device_token_list, officer_managed_get, officer_profile_get
from accounts.services import (
    Channel,
    auth_enrolment_check,
    auth_logout,
    device_login,
    device_push_token_set,
    device_revoke,
    officer_unlock,
    totp_enrol_confirm,
    totp_enrol_start,
    totp_reset,
)
from common.exceptions import ApplicationError
from common.middleware import client_ip
from common.pagination import CursorPagination, paginate

TAG = "auth"


@extend_schema_serializer(component_name="OfficerProfile")
class OfficerProfileSerializer(serializers.Serializer):
    """Who is signed in. Shared on purpose by the token answer and ``/me/``: it is one thing."""

    @extend_schema_serializer(component_name="OfficerAgency")
    class AgencySerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        kind = serializers.CharField()

    @extend_schema_serializer(component_name="OfficerJurisdiction")
    class JurisdictionSerializer(serializers.Serializer):
        province = serializers.CharField(allow_null=True, help_text="province code")
        district = serializers.CharField(allow_null=True, help_text="district code")
        station = serializers.CharField(allow_null=True, help_text="police station code")
        beat = serializers.CharField(allow_null=True, help_text="beat code")

    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.CharField()
    scope = serializers.CharField()
    full_name = serializers.CharField()
    rank = serializers.CharField()
    badge_number = serializers.CharField()
    agency = AgencySerializer(allow_null=True)
    jurisdiction = serializers.SerializerMethodField()

    @extend_schema_field(JurisdictionSerializer)
    def get_jurisdiction(self, officer: Officer) -> dict[str, str | None]:
        province = officer.province or (officer.district.province if officer.district else None)
        return {
            "province": _code(province),
            "district": _code(officer.district),
            "station": _code(officer.station),
            "beat": _code(officer.beat),
        }


def _code(value: Any) -> str | None:
    return value.code if value is not None else None


@extend_schema_serializer(component_name="DeviceToken")
class DeviceTokenOutputSerializer(serializers.Serializer):
    """One token of one phone. Shared on purpose by the officer's own list and the admin's."""

    id = serializers.IntegerField()
    device_id = serializers.CharField()
    device_name = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    is_active = serializers.SerializerMethodField()
    is_current = serializers.SerializerMethodField(help_text="the token this request was made with")

    def get_is_active(self, token: DeviceToken) -> bool:
        return token.is_active_at(self.context["now"])

    def get_is_current(self, token: DeviceToken) -> bool:
        current = self.context.get("current")
        return isinstance(current, DeviceToken) and current.pk == token.pk


@extend_schema_serializer(component_name="DeviceRevoked")
class RevokedOutputSerializer(serializers.Serializer):
    device_id = serializers.CharField()
    revoked = serializers.IntegerField(help_text="live tokens revoked by this call")


def _device_page(view: APIView, request: Request, officer: Officer) -> Response:
    tokens = device_token_list(actor=request.user, officer=officer)
    page = paginate(tokens, request=request, view=view, paginator=CursorPagination())
    context = {"now": timezone.now(), "current": request.auth}
    return page.response(DeviceTokenOutputSerializer(page.rows, many=True, context=context).data)


class TokenObtainApi(APIView):
    # No session or token needed (nor checked: a stale cookie must not demand a CSRF token).
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="TokenObtain")
    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False)
        otp = serializers.CharField(
            max_length=32, help_text="6-digit code from the authenticator app, or a recovery code"
        )
        device_id = serializers.CharField(max_length=128)
        device_name = serializers.CharField(max_length=128, required=False, default="")

    @extend_schema_serializer(component_name="TokenIssued")
    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="send as `Authorization: Bearer <token>`")
        expires_at = serializers.DateTimeField()
        officer = OfficerProfileSerializer()

    @extend_schema(
        tags=[TAG],
        operation_id="auth_token_obtain",
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            400: OpenApiResponse(description="`invalid_credentials` or `validation_error`"),
            403: OpenApiResponse(description="`account_locked` or `mfa_required`"),
            429: OpenApiResponse(description="`rate_limited`, with `Retry-After`"),
        },
        description=(
            "Sign in on a phone with password and second factor; returns a bearer token bound "
            "to `device_id`, valid for one shift. Earlier tokens of the same device are revoked."
        ),
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = device_login(**data.validated_data, client_ip=client_ip(request))
        return Response(
            self.OutputSerializer(
                {
                    "token": issued.token,
                    "expires_at": issued.device_token.expires_at,
                    "officer": officer_profile_get(officer_id=issued.device_token.officer_id),
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )


class LogoutApi(APIView):
    @extend_schema(
        tags=[TAG],
        operation_id="auth_logout",
        request=None,
        responses={204: None},
        description="Revoke the token this request was made with (or end the web session).",
    )
    def post(self, request: Request) -> Response:
        device_token = request.auth if isinstance(request.auth, DeviceToken) else None
        session_key = "" if device_token is not None else request.session.session_key or ""
        auth_logout(
            officer=request.user,
            device_token=device_token,
            channel=Channel.MOBILE if device_token is not None else Channel.WEB,
            session_key=session_key,
        )
        if device_token is None:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(
        tags=[TAG],
        operation_id="auth_me",
        responses=OfficerProfileSerializer,
        description="The signed-in officer: role, agency and jurisdiction.",
    )
    def get(self, request: Request) -> Response:
        officer = officer_profile_get(officer_id=request.user.pk)
        return Response(OfficerProfileSerializer(officer).data)


@extend_schema_serializer(component_name="EnrolmentCredentials")
class _EnrolmentCredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, required=False)
    password = serializers.CharField(max_length=256, required=False, trim_whitespace=False)


def _enrolling_officer(request: Request, credentials: dict[str, Any]) -> Officer:
    """The signed-in officer, or (before the first enrolment, when no token can be had) the
    one whose username and password were sent."""
    if request.user is not None and request.user.is_authenticated:
        return request.user
    if not credentials.get("username") or not credentials.get("password"):
        raise ApplicationError(
            "Sign in, or send username and password.",
            code="validation_error",
            fields={"username": ["Required when not signed in."]},
        )
    return auth_enrolment_check(
        username=credentials["username"],
        password=credentials["password"],
        otp="",
        client_ip=client_ip(request),
    )


class TotpEnrolApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="TotpEnrol")
    class InputSerializer(_EnrolmentCredentialsSerializer):
        pass

    @extend_schema_serializer(component_name="TotpEnrolment")
    class OutputSerializer(serializers.Serializer):
        otpauth_uri = serializers.CharField()
        qr_svg = serializers.CharField(help_text="the URI as a QR code: an SVG `data:` URI")

    @extend_schema(
        tags=[TAG],
        operation_id="auth_totp_enrol",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            409: OpenApiResponse(description="`mfa_already_enrolled`"),
        },
        description=(
            "Start enrolling an authenticator app: a new secret as an `otpauth://` URI and QR "
            "code. Signed in, or with username and password while none is enrolled yet."
        ),
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        officer = _enrolling_officer(request, data.validated_data)
        enrolment = totp_enrol_start(officer=officer)
        return Response(
            self.OutputSerializer(
                {"otpauth_uri": enrolment.otpauth_uri, "qr_svg": enrolment.qr_svg_data_uri}
            ).data
        )


class TotpConfirmApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="TotpConfirm")
    class InputSerializer(_EnrolmentCredentialsSerializer):
        otp = serializers.CharField(max_length=6, help_text="the current code from the app")

    @extend_schema_serializer(component_name="RecoveryCodes")
    class OutputSerializer(serializers.Serializer):
        recovery_codes = serializers.ListField(
            child=serializers.CharField(), help_text="shown only now: each works once"
        )

    @extend_schema(
        tags=[TAG],
        operation_id="auth_totp_confirm",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description="`invalid_otp` or `mfa_not_started`"),
            409: OpenApiResponse(description="`mfa_already_enrolled`"),
        },
        description="Confirm the authenticator with its current code; returns 10 recovery codes.",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        officer = _enrolling_officer(request, data.validated_data)
        codes = totp_enrol_confirm(officer=officer, otp=data.validated_data["otp"])
        return Response(self.OutputSerializer({"recovery_codes": codes}).data)


class DeviceListApi(APIView):
    pagination_class = CursorPagination  # the schema's page envelope (``_device_page``)

    @extend_schema(
        tags=[TAG],
        operation_id="auth_device_list",
        responses=DeviceTokenOutputSerializer(many=True),
        description="The caller's own device tokens, newest first.",
    )
    def get(self, request: Request) -> Response:
        return _device_page(self, request, request.user)


class DeviceRevokeApi(APIView):
    @extend_schema(
        tags=[TAG],
        operation_id="auth_device_revoke",
        request=None,
        responses=RevokedOutputSerializer,
        description="Revoke every token of one of the caller's devices (a lost phone).",
    )
    def post(self, request: Request, device_id: str) -> Response:
        revoked = device_revoke(actor=request.user, officer=request.user, device_id=device_id)
        return Response(RevokedOutputSerializer({"device_id": device_id, "revoked": revoked}).data)


class OfficerDeviceListApi(APIView):
    pagination_class = CursorPagination  # the schema's page envelope (``_device_page``)

    @extend_schema(
        tags=[TAG],
        operation_id="auth_officer_device_list",
        responses=DeviceTokenOutputSerializer(many=True),
        description="An officer's device tokens, newest first. Needs `officer.manage`.",
    )
    def get(self, request: Request, officer_id: int) -> Response:
        officer = officer_managed_get(actor=request.user, officer_id=officer_id)
        return _device_page(self, request, officer)


class OfficerDeviceRevokeApi(APIView):
    @extend_schema(
        tags=[TAG],
        operation_id="auth_officer_device_revoke",
        request=None,
        responses=RevokedOutputSerializer,
        description="Revoke every token of one of an officer's devices. Needs `officer.manage`.",
    )
    def post(self, request: Request, officer_id: int, device_id: str) -> Response:
        officer = officer_managed_get(actor=request.user, officer_id=officer_id)
        revoked = device_revoke(actor=request.user, officer=officer, device_id=device_id)
        return Response(RevokedOutputSerializer({"device_id": device_id, "revoked": revoked}).data)


class OfficerUnlockApi(APIView):
    @extend_schema_serializer(component_name="OfficerLockState")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        locked_until = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        tags=[TAG],
        operation_id="auth_officer_unlock",
        request=None,
        responses=OutputSerializer,
        description="Lift a lockout now; earlier failures stop counting. Needs `officer.unlock`.",
    )
    def post(self, request: Request, officer_id: int) -> Response:
        officer = officer_managed_get(actor=request.user, officer_id=officer_id)
        officer = officer_unlock(actor=request.user, officer=officer)
        return Response(self.OutputSerializer(officer).data)


class OfficerTotpResetApi(APIView):
    @extend_schema(
        tags=[TAG],
        operation_id="auth_officer_totp_reset",
        request=None,
        responses={204: None},
        description=(
            "Remove an officer's authenticator and recovery codes (a lost phone); they enrol "
            "again at the next sign-in. Needs `officer.manage`."
        ),
    )
    def post(self, request: Request, officer_id: int) -> Response:
        officer = officer_managed_get(actor=request.user, officer_id=officer_id)
        totp_reset(actor=request.user, officer=officer)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DevicePushTokenApi(APIView):
    @extend_schema_serializer(component_name="DevicePushToken")
    class InputSerializer(serializers.Serializer):
        fcm_token = serializers.CharField(max_length=4096)

    @extend_schema(
        tags=[TAG],
        operation_id="auth_device_push_token",
        request=InputSerializer,
        responses={204: None},
        description=(
            "Register this phone's FCM registration token on the device token the request is "
            "made with (bearer only). Pushes are data-only and carry no personal data; they "
            "stop when the device is revoked or the officer signs out."
        ),
    )
    def put(self, request: Request) -> Response:
        if not isinstance(request.auth, DeviceToken):
            raise ApplicationError(
                "Only an enrolled phone (bearer token) can register for push.",
                code="device_token_required",
            )
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        device_push_token_set(
            device_token=request.auth, fcm_token=payload.validated_data["fcm_token"]
        )
        return Response(status=204)
