"""Endpoints of the push app: the caller's in-app notices, and the SMS gateway's signed
delivery receipts."""

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from common.pagination import CursorPagination, paginate
from common.parsers import BoundedJSONParser
from common.permissions import HoldsPermission
from push import alert_stream, selectors, services

TAG = "notifications"


@extend_schema_serializer(component_name="Notification")
class NotificationSerializer(serializers.Serializer):
    """One notice as both notification endpoints show it."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    text = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


def _unread(value: str | None) -> bool | None:
    return None if value is None else value == "true"


class NotificationListApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "notification.read"
    pagination_class = CursorPagination

    class FilterSerializer(serializers.Serializer):
        # Strict: "true" or "false" (a "null" is a 400, not silently every notice).
        unread = serializers.ChoiceField(choices=["true", "false"], required=False)

    @extend_schema(
        tags=[TAG],
        operation_id="notification_list",
        parameters=[OpenApiParameter("unread", bool, description="only unread (true) or read")],
        responses=NotificationSerializer(many=True),
        description="The caller's own notices, newest first.",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        notices = selectors.notification_list(
            actor=request.user, unread=_unread(filters.validated_data.get("unread"))
        )
        page = paginate(notices, request=request, view=self)
        return page.response(NotificationSerializer(page.rows, many=True).data)


class NotificationReadApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "notification.read"

    @extend_schema(
        tags=[TAG],
        operation_id="notification_read",
        request=None,
        responses=NotificationSerializer,
        description="Mark one of the caller's notices read (idempotent). Others' notices: 404.",
    )
    def post(self, request: Request, notification_id: int) -> Response:
        notice = services.notification_mark_read(
            actor=request.user, notification_id=notification_id
        )
        return Response(NotificationSerializer(notice).data)


class GatewayThrottle(SimpleRateThrottle):
    """Per client address, for an endpoint the SMS gateway signs: generous for a gateway's
    bursts, a wall for a flood of forged posts (each costs an HMAC, and a valid one a row).
    Each endpoint names its own ``scope``."""

    rate = "1200/min"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ReceiptThrottle(GatewayThrottle):
    scope = "sms_receipts"


# How every endpoint the SMS gateway signs (``services.gateway_request_authenticate``) is
# described: its two headers and its two refusals.
GATEWAY_SIGNATURE_PARAMETERS = [
    OpenApiParameter(
        services.SIGNATURE_TIMESTAMP_HEADER, str, OpenApiParameter.HEADER, required=True
    ),
    OpenApiParameter(
        services.SIGNATURE_HEADER,
        str,
        OpenApiParameter.HEADER,
        required=True,
        description='hex HMAC-SHA256 of timestamp + "." + body with the shared secret',
    ),
]
GATEWAY_SIGNATURE_ERRORS = {
    401: OpenApiResponse(description="no signature"),
    403: OpenApiResponse(description="wrong, stale or replayed signature"),
}


class SmsReceiptApi(APIView):
    """Called by the SMS gateway, not by officers: no session or token (so no CSRF), but an
    HMAC-SHA256 signature over ``timestamp + "." + raw body`` in ``X-Nigrani-Signature``, with
    the Unix time in ``X-Nigrani-Timestamp``. The signature is checked before the body is read.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [BoundedJSONParser]  # the signature covers these exact bytes
    throttle_classes = [ReceiptThrottle]

    @extend_schema_serializer(component_name="SmsReceipt")
    class InputSerializer(serializers.Serializer):
        id = serializers.CharField(max_length=128, help_text="the gateway's message id")
        status = serializers.ChoiceField(choices=sorted(services.RECEIPT_STATUSES))
        at = serializers.DateTimeField(required=False, help_text="when the status happened")

    @extend_schema_serializer(component_name="SmsReceiptAccepted")
    class OutputSerializer(serializers.Serializer):
        accepted = serializers.BooleanField()

    @extend_schema(
        tags=["sms"],
        operation_id="sms_receipt",
        auth=[],
        parameters=GATEWAY_SIGNATURE_PARAMETERS,
        request=InputSerializer,
        responses={200: OutputSerializer, **GATEWAY_SIGNATURE_ERRORS},
        description=(
            "A delivery receipt from the SMS gateway. A receipt for an unknown message id is "
            "answered 200 and changes nothing; a receipt never moves a message backwards."
        ),
    )
    def post(self, request: Request) -> Response:
        timestamp = request.headers.get(services.SIGNATURE_TIMESTAMP_HEADER)
        # Normalised once: the replay key must be the very string that was checked.
        signature = (request.headers.get(services.SIGNATURE_HEADER) or "").strip().lower() or None
        services.sms_receipt_authenticate(
            timestamp=timestamp, signature=signature, body=request.body
        )
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        services.sms_receipt_apply(
            signature=signature,
            gateway_id=data["id"],
            status=data["status"],
            occurred_at=data.get("at"),
        )
        return Response(self.OutputSerializer({"accepted": True}).data)


class WsTicketApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "alert.watch"

    @extend_schema_serializer(component_name="WsTicketRequest")
    class InputSerializer(serializers.Serializer):
        district = serializers.SlugField(
            max_length=64,
            required=False,
            help_text=(
                "district code to watch: required for national roles, optional (your own) "
                "for a district control room; 404 outside your jurisdiction"
            ),
        )

    @extend_schema_serializer(component_name="WsTicket")
    class OutputSerializer(serializers.Serializer):
        ticket = serializers.CharField()
        expires_at = serializers.DateTimeField()
        url = serializers.CharField(help_text="path of the alert socket, ticket included")

    @extend_schema(
        tags=["alerts"],
        operation_id="ws_ticket_create",
        request=InputSerializer,
        responses={201: OutputSerializer},
        description=(
            "A short-lived single-use ticket for `ws/alerts/?ticket=…`: the socket never "
            "carries a long-lived token in its URL. Bound to the sign-in that asked for it, "
            "so the socket closes when that session or device token ends."
        ),
    )
    def post(self, request: Request) -> Response:
        from accounts.models import DeviceToken

        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        district = payload.validated_data.get("district")
        device_token = request.auth if isinstance(request.auth, DeviceToken) else None
        session_key = "" if device_token else (request.session.session_key or "")
        issued = alert_stream.ws_ticket_issue(
            officer=request.user,
            session_key=session_key,
            device_token=device_token,
            district_code=district,
        )
        url = f"/ws/alerts/?ticket={issued.ticket}"
        body = {
            "ticket": issued.ticket,
            "expires_at": issued.expires_at,
            "url": url + (f"&district={district}" if district else ""),
        }
        return Response(self.OutputSerializer(body).data, status=201)
