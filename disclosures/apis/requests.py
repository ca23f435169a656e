"""Records-request endpoints under ``/api/v1/records-requests/``: file, list (overdue too),
read, resubmit, forward, return, search the register, answer, deliver, and read the FIR
copy and the extract (JSON or watermarked PDF).

Rules live in ``disclosures.services.requests`` and scoping in ``disclosures.selectors``. A
role without the step's permission gets 403; a request outside the caller's reach is 404; a
step out of turn is 409; an expired extract 410. Every read is audited by the service.
"""

from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
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

from accounts.roles import Role
from audit.services import audit_read
from common.files import AnyAcceptNegotiation, content_response, file_response
from common.pagination import CursorPagination, paginate
from common.parsers import BoundedJSONParser
from common.permissions import HoldsPermission
from disclosures import selectors
from disclosures.models import RecordsRequest, RequestState
from disclosures.services import requests as services
from disclosures.uploads import CONTENT_TYPES
from registry.identifiers import mask_cnic

TAG = "records-requests"
ERRORS = {
    400: OpenApiResponse(description="validation error (the one error body)"),
    403: OpenApiResponse(description="the role does not take this step"),
    404: OpenApiResponse(description="not found, or not the caller's request"),
    409: OpenApiResponse(description="not this request's turn for that step"),
}
READ = "records_request.read"  # any role on a request's path; each step's service checks its own


class RecordsRequestPagination(CursorPagination):
    ordering = ("-submitted_at", "-id")


def _file_bytes(request: Request) -> bytes | None:
    """At most one byte past the limit is read: the service refuses an oversized copy by its
    length without the whole file ever being in memory."""
    upload = request.FILES.get("fir_copy")
    if upload is None:
        return None
    return upload.read(settings.NIGRANI_FIR_COPY_MAX_BYTES + 1)


@extend_schema_serializer(component_name="RecordsRequest")
class RecordsRequestSerializer(serializers.Serializer):
    """One request as every endpoint shows it. The officer sees the NPB's answer only once the
    prosecutor has passed it on; the suspect's CNIC is masked except for the NPB."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    state = serializers.CharField()
    officer = serializers.CharField(source="officer.username")
    station = serializers.CharField(source="station.code")
    district = serializers.CharField(source="district.code")
    fir_number = serializers.CharField()
    fir_year = serializers.IntegerField()
    sections = serializers.ListField(child=serializers.CharField())
    fir_copy_type = serializers.CharField()
    suspect_name = serializers.CharField()
    suspect_father_name = serializers.CharField()
    suspect_cnic = serializers.SerializerMethodField()
    suspect_address = serializers.CharField()
    relation_to_case = serializers.CharField()
    justification = serializers.CharField()
    officer_attested_at = serializers.DateTimeField()
    prosecutor_confirmed_at = serializers.DateTimeField(allow_null=True)
    first_submitted_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    overdue = serializers.SerializerMethodField()
    reminded_at = serializers.DateTimeField(allow_null=True)
    escalated_at = serializers.DateTimeField(allow_null=True)
    resubmissions = serializers.IntegerField()
    returned_at = serializers.DateTimeField(allow_null=True)
    return_reason = serializers.CharField()
    forwarded_at = serializers.DateTimeField(allow_null=True)
    answered_at = serializers.SerializerMethodField()
    answer = serializers.SerializerMethodField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    access_expires_at = serializers.DateTimeField(allow_null=True)
    advisory = serializers.SerializerMethodField()

    def _answer_visible(self, request: RecordsRequest) -> bool:
        actor = self.context["actor"]
        return actor.role != Role.INVESTIGATING_OFFICER or request.state == RequestState.DELIVERED

    @extend_schema_field(serializers.CharField())
    def get_suspect_cnic(self, request: RecordsRequest) -> str:
        if not request.suspect_cnic:
            return ""
        if self.context["actor"].role == Role.REGISTRY_ADMIN:
            return request.suspect_cnic
        return mask_cnic(request.suspect_cnic)

    @extend_schema_field(serializers.BooleanField())
    def get_overdue(self, request: RecordsRequest) -> bool:
        return selectors.is_overdue(request, timezone.now())

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_answered_at(self, request: RecordsRequest) -> Any:
        if not self._answer_visible(request) or request.answered_at is None:
            return None
        return serializers.DateTimeField().to_representation(request.answered_at)

    @extend_schema_field(serializers.CharField(help_text="match, no_match or empty"))
    def get_answer(self, request: RecordsRequest) -> str:
        return request.answer if self._answer_visible(request) else ""

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_advisory(self, request: RecordsRequest) -> str | None:
        if request.state not in (RequestState.ANSWERED, RequestState.DELIVERED):
            return None
        return services.advisory_for(request)


def _out(request: Request, records_request: RecordsRequest, code: int = 200) -> Response:
    fresh = selectors.records_request_get(actor=request.user, request_id=records_request.pk)
    data = RecordsRequestSerializer(fresh, context={"actor": request.user}).data
    return Response(data, status=code)


class _AnnexureFields(serializers.Serializer):
    fir_number = serializers.CharField(max_length=16, help_text="the FIR's number, e.g. 123")
    fir_year = serializers.IntegerField()
    sections = serializers.ListField(
        child=serializers.CharField(max_length=32),
        help_text="at least one scheduled offence, e.g. 'PPC 376'; others may follow",
    )
    suspect_name = serializers.CharField(max_length=150)
    suspect_father_name = serializers.CharField(max_length=150)
    suspect_cnic = serializers.CharField(max_length=32, required=False, allow_blank=True)
    suspect_address = serializers.CharField(max_length=500)
    relation_to_case = serializers.CharField(max_length=255)
    justification = serializers.CharField(max_length=2000)
    attestation = serializers.BooleanField(
        required=False,
        default=False,
        help_text="the officer attests that the suspect is named in the FIR",
    )
    fir_copy = serializers.FileField(required=False, help_text="PDF, JPEG or PNG")


def _annexure(data: dict) -> services.Annexure:
    return services.Annexure(
        **{name: data.get(name, "") for name in services.Annexure.__dataclass_fields__}
    )


class RecordsRequestListApi(APIView):
    permission_classes = [HoldsPermission]
    # Filing (POST on the list) needs its own permission; reading needs any role on a path.
    required_permission = {"POST": "records_request.file", "*": READ}
    parser_classes = [MultiPartParser, BoundedJSONParser]
    pagination_class = RecordsRequestPagination

    class FilterSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=RequestState.choices, required=False)
        overdue = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema_serializer(component_name="RecordsRequestFile")
    class InputSerializer(_AnnexureFields):
        station = serializers.SlugField(help_text="code of the FIR's police station")

    @extend_schema(
        tags=[TAG],
        operation_id="records_request_list",
        parameters=[
            OpenApiParameter("state", str, enum=RequestState.values),
            OpenApiParameter("overdue", bool, description="only those past the 48-hour clock"),
        ],
        responses=RecordsRequestSerializer(many=True),
        description="Requests the caller may see, newest submission first.",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        overdue = filters.validated_data.get("overdue")
        requests = selectors.records_request_list(
            actor=request.user,
            state=filters.validated_data.get("state"),
            overdue_at=timezone.now() if overdue else None,
        )
        page = paginate(requests, request=request, view=self)
        # A list shows Annexure A of every request on it: audited like the register's lists.
        audit_read(
            actor=request.user,
            object_type=services.OBJECT_TYPE,
            purpose="records_request_list",
            details={"ids": [r.pk for r in page.rows], "filters": sorted(filters.validated_data)},
            search=True,
        )
        return page.response(
            RecordsRequestSerializer(page.rows, many=True, context={"actor": request.user}).data
        )

    @extend_schema(
        tags=[TAG],
        operation_id="records_request_file",
        request={"multipart/form-data": InputSerializer},
        responses={201: RecordsRequestSerializer, **ERRORS},
        description=(
            "An investigating officer files a request about a suspect named in an FIR of a "
            "station in the officer's jurisdiction; it goes to that district's prosecutor and "
            "the 48-hour clock starts. The FIR copy is decoded, not trusted (PDF, JPEG, PNG)."
        ),
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        created = services.records_request_file(
            actor=request.user,
            station_code=data["station"],
            fir_number=data["fir_number"],
            fir_year=data["fir_year"],
            sections=data["sections"],
            fir_copy=_file_bytes(request),
            annexure=_annexure(data),
            attested=data["attestation"],
        )
        return _out(request, created, status.HTTP_201_CREATED)


class RecordsRequestDetailApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = READ

    @extend_schema(
        tags=[TAG],
        operation_id="records_request_detail",
        responses={200: RecordsRequestSerializer, **ERRORS},
        description="One request (audited).",
    )
    def get(self, request: Request, request_id: int) -> Response:
        return _out(
            request, services.records_request_read(actor=request.user, request_id=request_id)
        )


class RecordsRequestResubmitApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = READ
    parser_classes = [MultiPartParser, BoundedJSONParser]

    @extend_schema_serializer(component_name="RecordsRequestResubmit")
    class InputSerializer(_AnnexureFields):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            for name, field in self.fields.items():
                if name != "attestation":
                    field.required = False

    @extend_schema(
        tags=[TAG],
        operation_id="records_request_resubmit",
        request={"multipart/form-data": InputSerializer},
        responses={200: RecordsRequestSerializer, **ERRORS},
        description=(
            "The filing officer amends a returned request (any Annexure A field, the "
            "sections, a new FIR copy) and resubmits it; the 48-hour clock restarts."
        ),
    )
    def post(self, request: Request, request_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        attested = data.pop("attestation")
        data.pop("fir_copy", None)
        updated = services.records_request_resubmit(
            actor=request.user,
            request_id=request_id,
            changes=data,
            fir_copy=_file_bytes(request),
            attested=attested,
        )
        return _out(request, updated)


class RecordsRequestForwardApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = READ

    @extend_schema_serializer(component_name="RecordsRequestForward")
    class InputSerializer(serializers.Serializer):
        suspect_named_in_fir = serializers.BooleanField(
            help_text="the prosecutor confirms against the FIR copy that the suspect is named"
        )

    @extend_schema(
        tags=[TAG],
        operation_id="records_request_forward",
        request=InputSerializer,
        responses={200: RecordsRequestSerializer, **ERRORS},
        description="The district's prosecutor forwards the request to the NPB.",
    )
    def post(self, request: Request, request_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return _out(
            request,
            services.records_request_forward(
                actor=request.user,
                request_id=request_id,
                suspect_named_in_fir=payload.validated_data["suspect_named_in_fir"],
            ),
        )


class RecordsRequestReturnApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = READ

    @extend_schema_serializer(component_name="RecordsRequestReturn")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500)

    @extend_schema(
        tags=[TAG],
        operation_id="records_request_return",
        request=InputSerializer,
        responses={200: RecordsRequestSerializer, **ERRORS},
        description="The district's prosecutor returns the request for clarification.",
    )
    def post(self, request: Request, request_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return _out(
            request,
            services.records_request_return(
                actor=request.user, request_id=request_id, reason=payload.validated_data["reason"]
            ),
        )


@extend_schema_serializer(component_name="RecordsRequestCandidate")
class CandidateSerializer(serializers.Serializer):
    offender_id = serializers.IntegerField(source="offender.pk")
    matched_on = serializers.CharField(help_text="cnic (exact, blind index) or name (trigram)")
    similarity = serializers.FloatField(help_text="combined score, 0–1")
    name_score = serializers.FloatField()
    alias_score = serializers.FloatField()
    father_score = serializers.FloatField()
    full_name = serializers.CharField(source="offender.full_name")
    father_name = serializers.CharField(source="offender.father_name")
    aliases = serializers.ListField(child=serializers.CharField(), source="offender.aliases")
    cnic = serializers.CharField(source="offender.cnic")
    status = serializers.CharField(source="offender.status")
    district = serializers.CharField(source="offender.district.code")


class RecordsRequestSearchApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = READ

    @extend_schema(
        tags=[TAG],
        operation_id="records_request_search",
        request=None,
        responses={200: CandidateSerializer(many=True), **ERRORS},
        description=(
            "The NPB searches the register for the request's suspect: exact CNIC, then name, "
            "father's name and aliases by similarity, scores shown (audited as a search)."
        ),
    )
    def post(self, request: Request, request_id: int) -> Response:
        candidates = services.records_request_search(actor=request.user, request_id=request_id)
        return Response(CandidateSerializer(candidates, many=True).data)


class RecordsRequestAnswerApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = READ

    @extend_schema_serializer(component_name="RecordsRequestAnswer")
    class InputSerializer(serializers.Serializer):
        result = serializers.ChoiceField(choices=["match", "no_match"])
        offender_id = serializers.IntegerField(required=False, allow_null=True)

        def validate(self, attrs: dict) -> dict:
            if (attrs["result"] == "match") != (attrs.get("offender_id") is not None):
                raise serializers.ValidationError(
                    {"offender_id": ["Name the record for a match, and only for a match."]}
                )
            return attrs

    @extend_schema(
        tags=[TAG],
        operation_id="records_request_answer",
        request=InputSerializer,
        responses={200: RecordsRequestSerializer, **ERRORS},
        description="The NPB answers match (the record is frozen into the extract) or no match.",
    )
    def post(self, request: Request, request_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return _out(
            request,
            services.records_request_answer(
                actor=request.user,
                request_id=request_id,
                offender_id=payload.validated_data.get("offender_id"),
            ),
        )


class RecordsRequestDeliverApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = READ

    @extend_schema(
        tags=[TAG],
        operation_id="records_request_deliver",
        request=None,
        responses={200: RecordsRequestSerializer, **ERRORS},
        description=(
            "The prosecutor passes the NPB's answer to the officer with the SOP's advisory; "
            "the officer's access to the extract starts and will expire."
        ),
    )
    def post(self, request: Request, request_id: int) -> Response:
        return _out(
            request, services.records_request_deliver(actor=request.user, request_id=request_id)
        )


class RecordsRequestExtractApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = READ

    @extend_schema(
        tags=[TAG],
        operation_id="records_request_extract",
        responses={
            200: OpenApiTypes.OBJECT,
            410: OpenApiResponse(description="the officer's access expired"),
            **ERRORS,
        },
        description=(
            "The extract (identity, convictions, last known address and its verification, "
            "compliance) with the advisory: the filing officer once delivered and until expiry, "
            "the prosecutor and the NPB once answered. Audited."
        ),
    )
    def get(self, request: Request, request_id: int) -> Response:
        return Response(services.records_request_extract(actor=request.user, request_id=request_id))


class RecordsRequestExtractPdfApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = READ
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        tags=[TAG],
        operation_id="records_request_extract_pdf",
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            410: OpenApiResponse(description="the officer's access expired"),
            **ERRORS,
        },
        description=(
            "The extract as a PDF naming the requesting officer, the request number and the "
            "time of download on every page. Audited as an export."
        ),
    )
    def get(self, request: Request, request_id: int) -> HttpResponse:
        records_request, content = services.records_request_extract_pdf(
            actor=request.user, request_id=request_id
        )
        return content_response(
            content, filename=f"{records_request.number}.pdf", content_type="application/pdf"
        )


class RecordsRequestFirCopyApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = READ
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        tags=[TAG],
        operation_id="records_request_fir_copy",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **ERRORS},
        description="The FIR copy as kept (decoded and re-encoded), for whoever sees the request.",
    )
    def get(self, request: Request, request_id: int) -> FileResponse:
        records_request = selectors.records_request_get(actor=request.user, request_id=request_id)
        response = file_response(
            records_request.fir_copy,
            filename=f"{records_request.number}-fir",
            content_types=CONTENT_TYPES,
            as_attachment=True,
        )
        services.records_request_fir_copy_read(actor=request.user, records_request=records_request)
        return response
