"""Offender endpoints: register, list and search, read and correct one record, add a
conviction, upload and download the photo, release, transition, timeline and the station
counter's CNIC lookup.

Rules live in ``registry.services`` and scoping in ``registry.selectors``; these views parse,
call one service or selector, audit reads and serialise.

- Reads and searches of full records declare ``?purpose=`` (``AccessPurpose``), recorded in the
  audit trail; a missing or unknown purpose is a 400 on ``purpose``.
- CNIC and phone are shown in full to registry admins and data entry (who enter and correct
  them), masked for everyone else.
- Roles with no access to offender records get 403; a record outside the caller's
  jurisdiction is 404. A district or station that supervised the offender before a transfer
  reads the record read-only (``access: "former"``): identity, status and convictions, not the
  new address, phone or supervision; its timeline stops when supervision passed on.
- Bad input is 400 with field keys as the body names them: ``address.lat``,
  ``convictions[0].sections`` (the one dialect, ``common.inputs``).
- The photo is never linked to ``MEDIA_URL`` (media is not served): the record's ``photo`` is
  the path of ``GET …/photo/``, which streams it to callers who may read the record, audited
  like every full read.
"""

from typing import Any

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import audit_read
from common.dates import BoundedDateField
from common.exceptions import NotFound
from common.files import AnyAcceptNegotiation, file_response
from common.inputs import parse as _parse
from common.pagination import CursorPagination, paginate
from common.permissions import HoldsPermission
from registry import selectors
from registry.identifiers import mask_cnic, mask_phone
from registry.models import (
    AccessPurpose,
    Gender,
    Offender,
    OffenderStatus,
    RemovalReason,
)
from registry.photos import CONTENT_TYPES
from registry.services import lifecycle, lookup
from registry.services import offenders as services

TAG = "offenders"

PURPOSE_PARAMETER = OpenApiParameter(
    "purpose",
    str,
    enum=AccessPurpose.values,
    required=True,
    description="Why the record is read; recorded in the audit trail.",
)


def _reads_or(write: str) -> dict[str, str | tuple[str, ...]]:
    """Reading needs a role that reads offender records at all; each write its permission.
    Jurisdiction is the selectors' business (404)."""
    return {"read": selectors.OFFENDER_READ_PERMISSIONS, "*": write}


def _purpose(request: Request) -> str:
    return _purpose_value(request.query_params.get("purpose", ""))


def _purpose_value(purpose: Any) -> str:
    if not isinstance(purpose, str) or purpose not in AccessPurpose.values:
        raise serializers.ValidationError(
            {"purpose": [f"Declare why you read this: one of {', '.join(AccessPurpose.values)}."]}
        )
    return purpose


# --- output --------------------------------------------------------------------------------


@extend_schema_serializer(component_name="OffenderAddress")
class AddressSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    district = serializers.CharField(source="district.code")
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)
    station = serializers.CharField(source="station.code", allow_null=True, default=None)
    beat = serializers.CharField(source="beat.code", allow_null=True, default=None)
    valid_from = serializers.DateTimeField()


@extend_schema_serializer(component_name="Conviction")
class ConvictionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    fir_number = serializers.CharField()
    police_station = serializers.CharField()
    court = serializers.CharField()
    case_number = serializers.CharField()
    conviction_date = serializers.DateField()
    sentence = serializers.CharField()
    sections = serializers.ListField(child=serializers.CharField())
    victim_minor = serializers.BooleanField()


# Shown only to a current supervisor, not to a former one (``access: "former"``): where the
# offender is supervised now (district included), how to reach them, and what changed since.
_CURRENT_ONLY = (
    "phone",
    "address",
    "district",
    "station",
    "beat",
    "registration_ends_on",
    "updated_at",
    "next_checkin_due",
    "next_verification_due",
    "dna_profile_ref",
    "biometric_ref",
)


@extend_schema_serializer(component_name="Offender")
class OffenderSerializer(serializers.Serializer):
    """One offender record as every offender endpoint shows it (shared on purpose: clients
    cache records by id). Context: ``reveal`` (CNIC/phone in full) and ``access``."""

    id = serializers.IntegerField()
    access = serializers.SerializerMethodField(help_text="current, or former (read-only)")
    cnic = serializers.SerializerMethodField(help_text="masked unless the role may see it")
    full_name = serializers.CharField()
    father_name = serializers.CharField()
    full_name_ur = serializers.CharField()
    father_name_ur = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField())
    gender = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)
    physical_description = serializers.CharField()
    photo = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField(
        help_text="masked unless the role may see it; null for a former supervisor"
    )
    dna_profile_ref = serializers.SerializerMethodField()
    biometric_ref = serializers.SerializerMethodField()
    risk_tier = serializers.IntegerField()
    status = serializers.CharField()
    removal_reason = serializers.CharField()
    status_changed_at = serializers.DateTimeField(allow_null=True)
    district = serializers.CharField(
        source="district.code", allow_null=True, help_text="null for a former supervisor"
    )
    station = serializers.CharField(source="station.code", allow_null=True, default=None)
    beat = serializers.CharField(source="beat.code", allow_null=True, default=None)
    address = serializers.SerializerMethodField()
    released_on = serializers.DateField(allow_null=True)
    release_prison = serializers.CharField()
    sms_language = serializers.CharField(help_text="ur, en, or empty: the deployment's")
    registration_ends_on = serializers.DateField(allow_null=True)
    next_checkin_due = serializers.DateField(allow_null=True)
    next_verification_due = serializers.DateField(allow_null=True)
    convictions = ConvictionSerializer(many=True, source="convictions.all")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(
        allow_null=True, help_text="null for a former supervisor"
    )

    def _reveal(self) -> bool:
        return bool(self.context.get("reveal"))

    @extend_schema_field(serializers.CharField())
    def get_access(self, offender: Offender) -> str:
        return self.context.get("access", "current")

    @extend_schema_field(serializers.CharField())
    def get_cnic(self, offender: Offender) -> str:
        return offender.cnic if self._reveal() else mask_cnic(offender.cnic)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_phone(self, offender: Offender) -> str:
        if not offender.phone:
            return ""
        return offender.phone if self._reveal() else mask_phone(offender.phone)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_dna_profile_ref(self, offender: Offender) -> str | None:
        return offender.dna_profile_ref if self._reveal() else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_biometric_ref(self, offender: Offender) -> str | None:
        return offender.biometric_ref if self._reveal() else None

    @extend_schema_field(
        serializers.CharField(
            allow_null=True,
            help_text="path of the photo download (GET with ?purpose=), null without a photo",
        )
    )
    def get_photo(self, offender: Offender) -> str | None:
        if not offender.photo:
            return None
        return reverse("registry:offender-photo", kwargs={"offender_id": offender.pk})

    @extend_schema_field(AddressSerializer(allow_null=True))
    def get_address(self, offender: Offender) -> dict | None:
        current = getattr(offender, "current_addresses", None)
        if current is None:
            current = list(
                offender.addresses.filter(valid_to__isnull=True).select_related(
                    "district", "station", "beat"
                )
            )
        return AddressSerializer(current[0]).data if current else None

    def to_representation(self, offender: Offender) -> dict:
        data = super().to_representation(offender)
        if self.context.get("access") == "former":
            for name in _CURRENT_ONLY:
                data[name] = None
        return data


def _serialise(
    actor: Any, offender: Offender | list[Offender], *, access: str = "current", many=False
):
    context = {"reveal": selectors.offender_sees_identifiers(actor), "access": access}
    return OffenderSerializer(offender, many=many, context=context).data


# --- input shapes --------------------------------------------------------------------------


@extend_schema_serializer(component_name="OffenderAddressInput")
class AddressInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=500)
    district = serializers.SlugField(help_text="district code")
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    lon = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True)


@extend_schema_serializer(component_name="ConvictionInput")
class ConvictionInputSerializer(serializers.Serializer):
    fir_number = serializers.CharField(max_length=32, help_text="FIR number/year, e.g. 123/2021")
    police_station = serializers.CharField(max_length=150)
    court = serializers.CharField(max_length=200)
    case_number = serializers.CharField(max_length=64)
    conviction_date = BoundedDateField()
    sentence = serializers.CharField(max_length=255)
    sections = serializers.ListField(
        child=serializers.CharField(max_length=32),
        allow_empty=False,
        help_text="Scheduled offences, e.g. 'PPC 376', 'PECA 21'",
    )
    victim_minor = serializers.BooleanField()


class _IdentityFields(serializers.Serializer):
    full_name = serializers.CharField(max_length=150)
    father_name = serializers.CharField(max_length=150, help_text="father's or husband's name")
    full_name_ur = serializers.CharField(max_length=150, required=False, allow_blank=True)
    father_name_ur = serializers.CharField(max_length=150, required=False, allow_blank=True)
    aliases = serializers.ListField(child=serializers.CharField(max_length=150), required=False)
    gender = serializers.ChoiceField(choices=Gender.choices)
    date_of_birth = BoundedDateField(required=False, allow_null=True)
    physical_description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="03XX-XXXXXXX or +923…"
    )
    dna_profile_ref = serializers.CharField(max_length=255, required=False, allow_blank=True)
    biometric_ref = serializers.CharField(max_length=255, required=False, allow_blank=True)
    cnic = serializers.CharField(max_length=20, help_text="12345-1234567-1")
    risk_tier = serializers.IntegerField(min_value=1)


def _offender_response(request: Request, offender: Offender, code: int = 200) -> Response:
    fresh = selectors.offender_detail(offender_id=offender.pk)
    return Response(_serialise(request.user, fresh), status=code)


# --- views ---------------------------------------------------------------------------------


class OffenderPagination(CursorPagination):
    ordering = ("-created_at", "-id")

    def __init__(self, *, by_similarity: bool = False) -> None:
        self.by_similarity = by_similarity

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        # A name search is ordered by similarity (``offender_list``), best first.
        if self.by_similarity:
            return ("-similarity", "-id")
        return self.ordering


class OffenderFilterSerializer(serializers.Serializer):
    """The list's filters, read from the query string (GET) or the body (POST search)."""

    district = serializers.SlugField(required=False)
    status = serializers.ChoiceField(choices=OffenderStatus.choices, required=False)
    tier = serializers.IntegerField(min_value=1, required=False)
    cnic = serializers.CharField(max_length=20, required=False)
    q = serializers.CharField(min_length=3, max_length=150, required=False)


def _offender_search(request: Request, view: APIView, *, purpose: str, filters: dict) -> Response:
    """The list and the POST search alike: one selector, one audit, one page shape."""
    offenders = selectors.offender_list(
        actor=request.user,
        district=filters.get("district"),
        status=filters.get("status"),
        risk_tier=filters.get("tier"),
        cnic=filters.get("cnic"),
        q=filters.get("q"),
    )
    page = paginate(
        offenders,
        request=request,
        view=view,
        paginator=OffenderPagination(by_similarity=bool(filters.get("q"))),
    )
    audit_read(
        actor=request.user,
        object_type="offender",
        purpose=purpose,
        details={"filters": sorted(filters), "count": len(page.rows)},
        search=True,
    )
    return page.response(_serialise(request.user, page.rows, many=True))


_PREFER_POST = (
    " URLs end up in access logs: clients should send a CNIC or a name through "
    "`POST /api/v1/offenders/search/`, which takes the same filters in the body."
)


class OffenderListApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = _reads_or("offender.create")
    pagination_class = OffenderPagination

    FilterSerializer = OffenderFilterSerializer

    @extend_schema_serializer(component_name="OffenderCreate")
    class InputSerializer(_IdentityFields):
        status = serializers.ChoiceField(
            choices=[OffenderStatus.IN_CUSTODY, OffenderStatus.ACTIVE],
            required=False,
            default=OffenderStatus.IN_CUSTODY,
        )
        released_on = BoundedDateField(
            required=False, allow_null=True, help_text="required when status is active"
        )
        release_prison = serializers.CharField(max_length=150, required=False, allow_blank=True)
        address = AddressInputSerializer()
        convictions = ConvictionInputSerializer(many=True, allow_empty=False)

    @extend_schema(
        tags=[TAG],
        operation_id="offender_list",
        parameters=[
            PURPOSE_PARAMETER,
            OpenApiParameter("district", str, description="district code"),
            OpenApiParameter("status", str, enum=OffenderStatus.values),
            OpenApiParameter("tier", int),
            OpenApiParameter(
                "cnic", str, description="exact CNIC (blind index); prefer POST …/search/"
            ),
            OpenApiParameter(
                "q", str, description="name search; registry admins only; prefer POST …/search/"
            ),
        ],
        responses=OffenderSerializer(many=True),
        description=(
            "Offenders in the caller's jurisdiction, newest first (by similarity for `q`). "
            "Audited as a search with the declared purpose; filters are named, never their "
            "values." + _PREFER_POST
        ),
    )
    def get(self, request: Request) -> Response:
        """The list, filtered by query parameters. URLs are logged (access logs, proxies):
        clients should prefer ``POST offenders/search/`` for ``cnic`` and ``q``."""
        purpose = _purpose(request)
        filters = _parse(self.FilterSerializer, request.query_params)
        return _offender_search(request, self, purpose=purpose, filters=filters)

    @extend_schema(
        tags=[TAG],
        operation_id="offender_create",
        request=InputSerializer,
        responses={201: OffenderSerializer},
        description=(
            "Register an offender with the current address and convictions. A CNIC already "
            "on the register is a 400 on `cnic` ('already registered'). A data-entry clerk "
            "registers offenders of its own district."
        ),
    )
    def post(self, request: Request) -> Response:
        data = _parse(self.InputSerializer, request.data)
        offender = services.offender_create(actor=request.user, data=data)
        return _offender_response(request, offender, status.HTTP_201_CREATED)


@extend_schema_field(
    {"allOf": [{"type": "string", "enum": OffenderStatus.values}], "description": "status"}
)
class _InlineStatusField(serializers.ChoiceField):
    """The offender status, inline in the schema (wrapped so drf-spectacular does not hoist
    it): a second ``status`` enum component would rename the create form's ``StatusEnum``,
    which generated clients already use."""


class OffenderSearchApi(APIView):
    """``POST offenders/search/``: the list with its filters and purpose in the JSON body, so
    that a CNIC or a name searched for never appears in a URL (URLs are logged). Paging as the
    list: the ``next``/``previous`` links carry the cursor only; re-POST the same body to them.
    """

    permission_classes = [HoldsPermission]
    # A POST that only reads (a search body, a CNIC lookup).
    required_permission = selectors.OFFENDER_READ_PERMISSIONS
    pagination_class = OffenderPagination  # for the schema's page envelope

    @extend_schema_serializer(component_name="OffenderSearch")
    class InputSerializer(OffenderFilterSerializer):
        """The list's filters and the declared purpose, in the body."""

        status = _InlineStatusField(choices=OffenderStatus.choices, required=False)
        purpose = serializers.ChoiceField(
            choices=AccessPurpose.choices,
            help_text="Why the records are read; recorded in the audit trail.",
        )
        district = serializers.SlugField(required=False, help_text="district code")
        cnic = serializers.CharField(
            max_length=20, required=False, help_text="exact CNIC (blind index)"
        )
        q = serializers.CharField(
            min_length=3, max_length=150, required=False, help_text="name search; registry admins"
        )

    @extend_schema(
        tags=[TAG],
        operation_id="offender_search",
        request=InputSerializer,
        parameters=[
            OpenApiParameter("cursor", str, description="from the previous page's next link"),
            OpenApiParameter("page_size", int),
        ],
        responses=OffenderSerializer(many=True),
        description=(
            "The offender list with the filters (`district`, `status`, `tier`, `cnic`, `q`) and "
            "`purpose` in the body: the preferred form, because URLs end up in access logs. "
            "Same scoping, ordering, audit and errors as `GET /api/v1/offenders/`; the `next` "
            "link carries only the cursor — POST the same body to it for the next page."
        ),
    )
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        purpose = _purpose_value(data.get("purpose", ""))
        filters = dict(_parse(self.InputSerializer, data))
        filters.pop("purpose")
        return _offender_search(request, self, purpose=purpose, filters=filters)


class OffenderDetailApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = _reads_or("offender.update")

    @extend_schema_serializer(component_name="OffenderUpdate")
    class InputSerializer(_IdentityFields):
        address = AddressInputSerializer()
        sms_language = serializers.ChoiceField(
            choices=["", "ur", "en"],
            required=False,
            allow_blank=True,
            help_text="the offender's SMS language (receipts); empty: the deployment's",
        )

    @extend_schema(
        tags=[TAG],
        operation_id="offender_get",
        parameters=[PURPOSE_PARAMETER],
        responses=OffenderSerializer,
        description="One record; 404 outside the caller's jurisdiction. Audited with purpose.",
    )
    def get(self, request: Request, offender_id: int) -> Response:
        purpose = _purpose(request)
        access = selectors.offender_access(actor=request.user, offender_id=offender_id)
        audit_read(
            actor=request.user,
            object_type="offender",
            object_id=offender_id,
            purpose=purpose,
            details={"view": "detail", "access": access.kind},
        )
        return Response(_serialise(request.user, access.offender, access=access.kind))

    @extend_schema(
        tags=[TAG],
        operation_id="offender_update",
        request=InputSerializer(partial=True),
        responses=OffenderSerializer,
        description=(
            "Correct the record: only the fields sent change. A new `address` moves supervision "
            "(and may transfer it to another district); a new `risk_tier` recomputes the due "
            "dates. Status changes go through release and transition."
        ),
    )
    def patch(self, request: Request, offender_id: int) -> Response:
        data = _parse(self.InputSerializer, request.data, partial=True)
        offender = services.offender_update(
            actor=request.user, offender_id=offender_id, data=dict(data)
        )
        return _offender_response(request, offender)


class OffenderConvictionsApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = _reads_or("offender.update")
    # The conviction of a create body and of the record, on purpose: one shape everywhere.
    InputSerializer = ConvictionInputSerializer
    OutputSerializer = ConvictionSerializer

    @extend_schema(
        tags=[TAG],
        operation_id="offender_conviction_add",
        request=InputSerializer,
        responses={201: OutputSerializer},
        description=(
            "Record a further conviction of an offender in the caller's jurisdiction, by the "
            "rules of a new record's convictions. A court case already recorded for the "
            "offender is a 400 on `case_number`. The status does not change."
        ),
    )
    def post(self, request: Request, offender_id: int) -> Response:
        data = _parse(self.InputSerializer, request.data)
        conviction = services.conviction_add(
            actor=request.user, offender_id=offender_id, data=dict(data)
        )
        return Response(self.OutputSerializer(conviction).data, status=status.HTTP_201_CREATED)


class OffenderPhotoApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = _reads_or("offender.update")
    parser_classes = [MultiPartParser]
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema_serializer(component_name="OffenderPhotoUpload")
    class InputSerializer(serializers.Serializer):
        photo = serializers.FileField(help_text="JPEG or PNG; metadata is removed")

    @extend_schema(
        tags=[TAG],
        operation_id="offender_photo_get",
        parameters=[PURPOSE_PARAMETER],
        responses={
            (200, CONTENT_TYPES["jpg"]): OpenApiTypes.BINARY,
            (200, CONTENT_TYPES["png"]): OpenApiTypes.BINARY,
        },
        description=(
            "The offender's photo, to callers who may read the record (former supervisors "
            "too); 404 outside their jurisdiction or without a photo. Audited with purpose."
        ),
    )
    def get(self, request: Request, offender_id: int) -> FileResponse:
        purpose = _purpose(request)
        access = selectors.offender_access(actor=request.user, offender_id=offender_id)
        photo = access.offender.photo
        if not photo:
            raise NotFound()
        response = file_response(
            photo, filename=f"offender-{offender_id}", content_types=CONTENT_TYPES
        )
        audit_read(
            actor=request.user,
            object_type="offender",
            object_id=offender_id,
            purpose=purpose,
            details={"view": "photo", "access": access.kind},
        )
        return response

    @extend_schema(
        tags=[TAG],
        operation_id="offender_photo_set",
        request={"multipart/form-data": InputSerializer},
        responses=OffenderSerializer,
        description=(
            "Replace the photo (multipart, field `photo`): JPEG or PNG, recognised by its "
            "content, at most the configured size (`NIGRANI_PHOTO_MAX_BYTES`, 5 MB by "
            "default). EXIF and other metadata are removed; anything else is a 400 on "
            "`photo`."
        ),
    )
    def put(self, request: Request, offender_id: int) -> Response:
        data = _parse(self.InputSerializer, request.data)
        offender = services.offender_photo_set(
            actor=request.user, offender_id=offender_id, photo=data["photo"]
        )
        return _offender_response(request, offender)


class OffenderReleaseApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = _reads_or("offender.release")

    @extend_schema_serializer(component_name="OffenderRelease")
    class InputSerializer(serializers.Serializer):
        released_on = BoundedDateField()
        prison = serializers.CharField(max_length=150)
        address = AddressInputSerializer(help_text="where the offender will live")
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    @extend_schema(
        tags=[TAG],
        operation_id="offender_release",
        request=InputSerializer,
        responses=OffenderSerializer,
        description=(
            "in_custody → active: release date, prison and the address on release; sets the "
            "registration end and the first check-in and verification dues. Prison officers "
            "release in-custody offenders of their district. 409 `invalid_transition` when "
            "the offender is not in custody."
        ),
    )
    def post(self, request: Request, offender_id: int) -> Response:
        data = _parse(self.InputSerializer, request.data)
        offender = lifecycle.offender_release(
            actor=request.user,
            offender_id=offender_id,
            released_on=data["released_on"],
            prison=data["prison"],
            address=dict(data["address"]),
            note=data.get("note", ""),
        )
        return _offender_response(request, offender)


class OffenderTransitionApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = _reads_or("offender.transition")

    @extend_schema_serializer(component_name="OffenderTransition")
    class InputSerializer(serializers.Serializer):
        to = serializers.ChoiceField(
            choices=[
                OffenderStatus.ACTIVE,
                OffenderStatus.ABSCONDED,
                OffenderStatus.IN_CUSTODY,
                OffenderStatus.REMOVED,
            ]
        )
        reason = serializers.CharField(
            max_length=32,
            required=False,
            allow_blank=True,
            help_text=f"required for removed: {', '.join(RemovalReason.values)}",
        )
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    @extend_schema(
        tags=[TAG],
        operation_id="offender_transition",
        request=InputSerializer,
        responses=OffenderSerializer,
        description=(
            "Move the offender along the lifecycle: active ⇄ absconded, active/absconded → "
            "in_custody (re-imprisoned), any → removed (with a reason). Release is its own "
            "endpoint. A transition not allowed from the current status is 409 "
            "`invalid_transition`."
        ),
    )
    def post(self, request: Request, offender_id: int) -> Response:
        data = _parse(self.InputSerializer, request.data)
        offender = lifecycle.offender_transition(
            actor=request.user,
            offender_id=offender_id,
            to_status=data["to"],
            reason=data.get("reason", ""),
            note=data.get("note", ""),
        )
        return _offender_response(request, offender)


@extend_schema_serializer(component_name="TimelineEntry")
class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    summary = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()


class OffenderTimelineApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = _reads_or("offender.update")

    class OutputSerializer(serializers.Serializer):
        offender = serializers.IntegerField()
        access = serializers.CharField()
        results = TimelineEntrySerializer(many=True)

    @extend_schema(
        tags=[TAG],
        operation_id="offender_timeline",
        parameters=[PURPOSE_PARAMETER],
        responses=OutputSerializer,
        description=(
            "Everything that happened to the record, newest first: status changes, addresses, "
            "supervision, convictions, notices, violations and what other apps add. Each "
            "section beyond the record's own shows only what the caller may read of its kind "
            "(notices `notice.read`, violations `violation.read`, check-ins `checkin.read`, "
            "visits the task permissions), in its jurisdiction. A former supervisor sees it "
            "up to the end of its period."
        ),
    )
    def get(self, request: Request, offender_id: int) -> Response:
        purpose = _purpose(request)
        access = selectors.offender_access(actor=request.user, offender_id=offender_id)
        entries = selectors.offender_timeline(
            actor=request.user, offender=access.offender, until=access.until
        )
        audit_read(
            actor=request.user,
            object_type="offender",
            object_id=offender_id,
            purpose=purpose,
            details={"view": "timeline", "access": access.kind, "count": len(entries)},
        )
        body = {"offender": offender_id, "access": access.kind, "results": entries}
        return Response(self.OutputSerializer(body).data)


class OffenderLookupApi(APIView):
    """``POST offenders/lookup/`` with ``{"cnic": …}``: a POST so the CNIC stays out of the URL
    (URLs end up in access logs); it reads, it changes nothing."""

    audits_own_refusals = (
        True  # its miss is recorded by the lookup service, with the counter's purpose
    )

    permission_classes = [HoldsPermission]
    # A POST that only reads (a search body, a CNIC lookup).
    required_permission = selectors.OFFENDER_READ_PERMISSIONS

    @extend_schema_serializer(component_name="OffenderCnicLookup")
    class InputSerializer(serializers.Serializer):
        cnic = serializers.CharField(max_length=20, help_text="12345-1234567-1")

    @extend_schema_serializer(component_name="OffenderLookup")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        full_name = serializers.CharField()
        father_name = serializers.CharField()
        status = serializers.CharField()
        district = serializers.CharField(source="district.code")
        station = serializers.CharField(
            source="station.code", allow_null=True, default=None, help_text="supervising station"
        )

    @extend_schema(
        tags=[TAG],
        operation_id="offender_lookup",
        request=InputSerializer,
        responses=OutputSerializer,
        description=(
            "The station counter's exact-CNIC lookup: minimal identity of a registrant who is "
            "not removed, wherever supervised, to start a check-in or file a notice. The CNIC "
            "is sent in the JSON body, never in the URL (URLs are logged). Audited with purpose "
            "`counter_lookup`; 404 when no one matches. Limited per officer and per station "
            "(`NIGRANI_LOOKUP_PER_OFFICER` / `_PER_STATION` per `NIGRANI_LOOKUP_WINDOW_SECONDS`): "
            "beyond, 429 `rate_limited` with `Retry-After`; a burst of misses raises a security "
            "notice."
        ),
    )
    def post(self, request: Request) -> Response:
        if not request.user.has_permission("offender.lookup_cnic"):
            raise PermissionDenied()
        cnic = _parse(self.InputSerializer, request.data)["cnic"]
        offender = lookup.offender_counter_lookup(actor=request.user, cnic=cnic)
        return Response(self.OutputSerializer(offender).data)
