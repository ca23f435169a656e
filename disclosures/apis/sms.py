"""The public SMS CNIC check's endpoints: the gateway's signed inbound messages, and the NPB's
list of security events the enumeration detectors raised."""

from django.conf import settings
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.exceptions import NotFound
from common.pagination import CursorPagination, paginate
from common.parsers import BoundedJSONParser
from common.permissions import HoldsPermission
from disclosures import selectors
from disclosures.services.sms_check import security_event_review, sms_check_handle
from push.api import GATEWAY_SIGNATURE_ERRORS, GATEWAY_SIGNATURE_PARAMETERS, GatewayThrottle
from push.services import (
    SIGNATURE_HEADER,
    SIGNATURE_TIMESTAMP_HEADER,
    gateway_request_authenticate,
    gateway_signature_record_once,
)


class InboundThrottle(GatewayThrottle):
    scope = "sms_inbound"


class SmsInboundApi(APIView):
    """Called by the SMS gateway for each message to the short code: no session or token, but
    the delivery receipts' HMAC signature (``push.services.gateway_request_authenticate``),
    checked before the body is read; each signature is accepted once. 404 while the public
    check is switched off: the endpoint does not exist for a deployment that has not chosen it.
    The answer never says what was replied."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [BoundedJSONParser]
    throttle_classes = [InboundThrottle]

    @extend_schema_serializer(component_name="SmsInbound")
    class InputSerializer(serializers.Serializer):
        sender = serializers.CharField(max_length=32, help_text="the sender's number")
        text = serializers.CharField(max_length=1600, allow_blank=True)

    @extend_schema_serializer(component_name="SmsInboundAccepted")
    class OutputSerializer(serializers.Serializer):
        accepted = serializers.BooleanField()

    @extend_schema(
        tags=["sms"],
        operation_id="sms_inbound",
        auth=[],
        parameters=GATEWAY_SIGNATURE_PARAMETERS,
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **GATEWAY_SIGNATURE_ERRORS,
            404: OpenApiResponse(description="the public SMS check is switched off"),
        },
        description=(
            "An SMS to the public CNIC check. Answered through the SMS outbox: a warning for a "
            "registrant who is active, absconded or in custody; one neutral text otherwise; "
            "help once a day for anything else; silence past quotas or once a detector fired."
        ),
    )
    def post(self, request: Request) -> Response:
        if not settings.NIGRANI_SMS_CHECK_ENABLED:
            raise NotFound()
        signature = gateway_request_authenticate(
            timestamp=request.headers.get(SIGNATURE_TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            body=request.body,
            what="messages",
        )
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        gateway_signature_record_once(signature=signature)
        sms_check_handle(
            sender=payload.validated_data["sender"], text=payload.validated_data["text"]
        )
        return Response(self.OutputSerializer({"accepted": True}).data)


@extend_schema_serializer(component_name="SmsSecurityEvent")
class SecurityEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    sender = serializers.IntegerField(source="sender_id", help_text="sender row id (no number)")
    details = serializers.JSONField()
    created_at = serializers.DateTimeField()
    reviewed_at = serializers.DateTimeField(allow_null=True)


class SecurityEventListApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "sms_check.security_read"
    pagination_class = CursorPagination  # newest first (-id); also tells the schema it pages

    @extend_schema(
        tags=["sms"],
        operation_id="sms_security_event_list",
        responses=SecurityEventSerializer(many=True),
        description="Senders the enumeration detectors silenced, newest first (NPB).",
    )
    def get(self, request: Request) -> Response:
        events = selectors.security_event_list(actor=request.user)
        page = paginate(events, request=request, view=self)
        return page.response(SecurityEventSerializer(page.rows, many=True).data)


class SecurityEventReviewApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "sms_check.security_read"

    @extend_schema_serializer(component_name="SmsSecurityEventReview")
    class InputSerializer(serializers.Serializer):
        unsilence = serializers.BooleanField(help_text="lift the sender's silence")

    @extend_schema(
        tags=["sms"],
        operation_id="sms_security_event_review",
        request=InputSerializer,
        responses={
            200: SecurityEventSerializer,
            403: OpenApiResponse(description="not the register's staff"),
            404: OpenApiResponse(description="no such event"),
            409: OpenApiResponse(description="already reviewed"),
        },
        description="Mark a security event reviewed, optionally lifting the sender's silence.",
    )
    def post(self, request: Request, event_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        event = security_event_review(
            actor=request.user, event_id=event_id, unsilence=payload.validated_data["unsilence"]
        )
        return Response(SecurityEventSerializer(event).data)
