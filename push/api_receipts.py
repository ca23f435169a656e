"""The offender's receipts, looked up by their reference at the counter: as data (a dispute
settled against the record) and as a printable A5 page (for an offender without a phone)."""

from django.http import HttpResponse
from django.template.loader import render_to_string
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import audit_read
from common.permissions import HoldsPermission
from push import receipts

TAG = "receipts"
LOOKUP_PURPOSE = "receipt_lookup"


def _audit(request: Request, receipt, *, printed: bool) -> None:
    audit_read(
        actor=request.user,
        object_type="receipt",
        object_id=receipt.pk,
        purpose=LOOKUP_PURPOSE,
        details={
            "offender_id": receipt.offender_id,
            "object_type": receipt.object_type,
            "object_id": receipt.object_id,
            "printed": printed,
        },
    )


class ReceiptDetailApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "receipt.read"

    @extend_schema_serializer(component_name="Receipt")
    class OutputSerializer(serializers.Serializer):
        reference = serializers.CharField()
        kind = serializers.CharField()
        offender_id = serializers.IntegerField()
        object_type = serializers.CharField(help_text="notice or checkin")
        object_id = serializers.CharField()
        recorded_at = serializers.DateTimeField()
        station = serializers.CharField(source="station.code", allow_null=True, default=None)
        recorded_station = serializers.CharField(
            source="recorded_station.code", allow_null=True, default=None
        )
        language = serializers.CharField()
        sms_status = serializers.CharField(source="sms.status", allow_null=True, default=None)

    @extend_schema(
        tags=[TAG],
        operation_id="receipt_detail",
        responses={200: OutputSerializer, 404: OpenApiResponse(description="not yours or absent")},
        description=(
            "What a receipt reference stands for: the notice or check-in it acknowledges, when "
            "and where. For the station supervising the offender when it was issued (and the "
            "NPB); another station gets 404. Audited as a read."
        ),
    )
    def get(self, request: Request, reference: str) -> Response:
        receipt = receipts.receipt_get(actor=request.user, reference=reference)
        _audit(request, receipt, printed=False)
        return Response(self.OutputSerializer(receipt).data)


class ReceiptPrintApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "receipt.read"

    @extend_schema(
        tags=[TAG],
        operation_id="receipt_print",
        responses={(200, "text/html"): OpenApiTypes.STR},
        description="The receipt as a printable A5 page, in Urdu and English. Audited.",
    )
    def get(self, request: Request, reference: str) -> HttpResponse:
        receipt = receipts.receipt_get(actor=request.user, reference=reference)
        texts = receipts.receipt_print_texts(receipt)
        _audit(request, receipt, printed=True)
        html = render_to_string(
            "push/receipt_print.html", {"receipt": receipt, "en": texts.en, "ur": texts.ur}
        )
        return HttpResponse(html, content_type="text/html; charset=utf-8")
