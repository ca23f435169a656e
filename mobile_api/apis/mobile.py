"""The beat officer's app: the task list with delta sync, one task, the offender's photo, visits
and queued batches of visits."""

from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import audit_read
from common.dates import BoundedDateTimeField
from common.exceptions import NotFound, api_exception_handler
from common.files import AnyAcceptNegotiation, file_response
from common.inputs import parse
from common.parsers import BoundedJSONParser, json_loads_bounded
from common.permissions import HoldsPermission
from mobile_api import selectors
from mobile_api.models import Outcome, VerificationTask
from mobile_api.services import visits as visit_services
from registry.models import AccessPurpose
from registry.photos import CONTENT_TYPES

MOBILE_TAG = "mobile"
MAX_BATCH = 50


@extend_schema_serializer(component_name="FieldTask")
class FieldTaskSerializer(serializers.Serializer):
    """A task as the officer's app shows it: what the officer needs at the door, no more
    (no CNIC, phone, convictions). Shared by the list and the detail on purpose: the app
    caches tasks by id and both must agree on the shape."""

    @extend_schema_serializer(component_name="FieldTaskOffender")
    class OffenderSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        full_name = serializers.CharField()
        father_name = serializers.CharField()
        full_name_ur = serializers.CharField()
        father_name_ur = serializers.CharField()

    @extend_schema_serializer(component_name="FieldTaskAddress")
    class AddressSerializer(serializers.Serializer):
        text = serializers.CharField()
        lat = serializers.FloatField(allow_null=True)
        lon = serializers.FloatField(allow_null=True)

    id = serializers.IntegerField()
    version = serializers.IntegerField(help_text="grows with every change; keep the highest")
    kind = serializers.CharField()
    priority = serializers.IntegerField()
    due_on = serializers.DateField()
    overdue = serializers.SerializerMethodField()
    needs_point = serializers.BooleanField()
    offender = OffenderSerializer()
    photo_url = serializers.SerializerMethodField(
        help_text="authenticated download of the offender's photo; null without one"
    )
    address = AddressSerializer()
    last_visit_outcome = serializers.CharField(allow_blank=True)
    last_visit_at = serializers.DateTimeField(allow_null=True)

    def get_overdue(self, task: VerificationTask) -> bool:
        return task.due_on < self.context["today"]

    def get_photo_url(self, task: VerificationTask) -> str | None:
        if not task.offender.photo:
            return None
        return reverse("mobile_api:mobile-task-photo", kwargs={"task_id": task.pk})


def _field_tasks(tasks: list[VerificationTask]) -> list[dict]:
    return FieldTaskSerializer(tasks, many=True, context={"today": timezone.localdate()}).data


@extend_schema_serializer(component_name="FieldTaskTombstone")
class TombstoneSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    removed = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=["closed", "cancelled", "reassigned"])
    version = serializers.IntegerField()


class MobileTaskListApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "task.work"

    class FilterSerializer(serializers.Serializer):
        since = serializers.CharField(required=False, max_length=4096)

    @extend_schema_serializer(component_name="FieldTaskSync")
    class OutputSerializer(serializers.Serializer):
        cursor = serializers.CharField(help_text="opaque; pass as ?since= on the next sync")
        full_sync = serializers.BooleanField(
            help_text="true: replace the whole list (first sync, or the officer changed beat)"
        )
        tasks = FieldTaskSerializer(many=True)
        tombstones = TombstoneSerializer(many=True)

    @extend_schema(
        tags=[MOBILE_TAG],
        operation_id="mobile_task_list",
        parameters=[
            OpenApiParameter("since", str, description="cursor of the previous sync (delta)")
        ],
        responses=OutputSerializer,
        description=(
            "The caller's open tasks. Without `since`: all of them (`full_sync`). With the "
            "cursor of the previous answer: only tasks changed since, and tombstones "
            "`{id, removed: true, reason: closed|cancelled|reassigned, version}` for those "
            "that left the list. A task may come twice across syncs; keep the highest "
            "`version`. A forged or damaged cursor is a 400 on `since`."
        ),
    )
    def get(self, request: Request) -> Response:
        since = parse(self.FilterSerializer, request.query_params).get("since")
        sync = selectors.task_sync(actor=request.user, since=since)
        audit_read(
            actor=request.user,
            purpose=AccessPurpose.VERIFICATION,
            object_type="verification_task",
            details={
                "view": "mobile_sync",
                "delta": not sync.full,
                "tasks": [task.pk for task in sync.tasks],
                "tombstones": len(sync.tombstones),
            },
        )
        return Response(
            {
                "cursor": sync.cursor,
                "full_sync": sync.full,
                "tasks": _field_tasks(sync.tasks),
                "tombstones": sync.tombstones,
            }
        )


class MobileTaskDetailApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "task.work"

    @extend_schema(
        tags=[MOBILE_TAG],
        operation_id="mobile_task_retrieve",
        responses=FieldTaskSerializer,
        description="One open task of the caller's beat; 404 for any other.",
    )
    def get(self, request: Request, task_id: int) -> Response:
        task = selectors.task_get_for_worker(actor=request.user, task_id=task_id)
        audit_read(
            actor=request.user,
            purpose=AccessPurpose.VERIFICATION,
            object_type="verification_task",
            object_id=task.pk,
            details={},
        )
        return Response(_field_tasks([task])[0])


class MobileTaskPhotoApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "task.work"
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        tags=[MOBILE_TAG],
        operation_id="mobile_task_photo",
        responses={
            (200, CONTENT_TYPES["jpg"]): OpenApiTypes.BINARY,
            (200, CONTENT_TYPES["png"]): OpenApiTypes.BINARY,
        },
        description="The offender's photo, while the task is open on the caller's beat.",
    )
    def get(self, request: Request, task_id: int) -> FileResponse:
        task = selectors.task_get_for_worker(actor=request.user, task_id=task_id)
        if not task.offender.photo:
            raise NotFound()
        response = file_response(
            task.offender.photo, filename=f"task-{task.pk}", content_types=CONTENT_TYPES
        )
        audit_read(
            actor=request.user,
            object_type="offender",
            object_id=task.offender_id,
            purpose=AccessPurpose.VERIFICATION,
            details={"view": "photo", "task_id": task.pk},
        )
        return response


class _RequiredBooleanField(serializers.BooleanField):
    """A boolean a form must send: DRF reads a missing checkbox as false, and a phone that
    forgot its mock-location flag must not pass as one that reported a real fix."""

    default_empty_html = serializers.empty


@extend_schema_serializer(component_name="VisitInput")
class VisitInputSerializer(serializers.Serializer):
    """One visit as the phone sends it. Shared on purpose by the single endpoint and each item
    of the batch: a queued visit must be the same whichever way it travels."""

    client_id = serializers.UUIDField(help_text="made on the phone; a retry sends the same")
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)
    accuracy_m = serializers.FloatField(min_value=0, max_value=1_000_000)
    fix_time = BoundedDateTimeField()
    mock_location = _RequiredBooleanField()
    visited_at = BoundedDateTimeField()
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


@extend_schema_serializer(component_name="VisitResult")
class VisitResultSerializer(serializers.Serializer):
    """The answer to a visit (the stored first answer on a retry); for the schema only, the
    body itself is built and stored by the service so a replay returns it byte for byte."""

    @extend_schema_serializer(component_name="VisitResultTask")
    class TaskSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.CharField()
        version = serializers.IntegerField()
        priority = serializers.IntegerField()
        due_on = serializers.DateField()

    id = serializers.IntegerField()
    client_id = serializers.UUIDField()
    task = TaskSerializer()
    outcome = serializers.CharField()
    visited_at = serializers.DateTimeField()
    counted = serializers.BooleanField()
    flagged = serializers.BooleanField()
    flag_reasons = serializers.ListField(child=serializers.CharField())
    distance_m = serializers.FloatField(allow_null=True)
    photos = serializers.ListField(child=serializers.IntegerField())


def _visit_input(data: dict, photos: list) -> visit_services.VisitInput:
    return visit_services.VisitInput(
        client_id=data["client_id"],
        outcome=data["outcome"],
        lat=data["lat"],
        lon=data["lon"],
        accuracy_m=data["accuracy_m"],
        fix_time=data["fix_time"],
        mock_location=data["mock_location"],
        visited_at=data["visited_at"],
        notes=data.get("notes", ""),
        photos=photos,
    )


def _answer(answer: visit_services.VisitAnswer) -> Response:
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return Response(answer.body, status=answer.status, headers=headers)


class VisitCreateApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "task.work"
    parser_classes = [BoundedJSONParser, MultiPartParser]

    @extend_schema_serializer(component_name="VisitUpload")
    class MultipartSerializer(VisitInputSerializer):
        photos = serializers.ListField(
            child=serializers.FileField(), required=False, help_text="JPEG or PNG"
        )

    @extend_schema(
        tags=[MOBILE_TAG],
        operation_id="mobile_visit_create",
        request={
            "application/json": VisitInputSerializer,
            "multipart/form-data": MultipartSerializer,
        },
        responses={200: VisitResultSerializer},
        description=(
            "Record one visit (JSON, or multipart with `photos`: JPEG/PNG, size-limited, "
            "EXIF removed). Idempotent on `client_id`: a retry gets the first answer (200, "
            "same body, header `Idempotent-Replayed: true`) and stores nothing. A task that "
            "has left the caller's beat since (closed, cancelled, reassigned) answers 409 "
            "`task_not_open` with the task's current state in `task`; the visit is not kept. "
            "A `confirmed` visit counts only when the GPS fix passes the rules; otherwise "
            "it is stored and flagged for the station's review (`flag_reasons`)."
        ),
    )
    def post(self, request: Request, task_id: int) -> Response:
        data = parse(VisitInputSerializer, request.data)
        photos = request.FILES.getlist("photos")
        answer = visit_services.visit_record(
            actor=request.user, task_id=task_id, data=_visit_input(data, photos)
        )
        return _answer(answer)


class VisitBatchApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "task.work"
    parser_classes = [BoundedJSONParser, MultiPartParser]

    @extend_schema_serializer(component_name="VisitBatchItem")
    class ItemSerializer(VisitInputSerializer):
        task_id = serializers.IntegerField(min_value=1)

    @extend_schema_serializer(component_name="VisitBatch")
    class InputSerializer(serializers.Serializer):
        # Items are checked one by one below (a malformed item is that item's 400), so the
        # list itself accepts any JSON value per item.
        visits = serializers.ListField(
            child=serializers.JSONField(), min_length=1, max_length=MAX_BATCH
        )

    @extend_schema_serializer(component_name="VisitBatchResult")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="VisitBatchAnswer")
        class AnswerSerializer(serializers.Serializer):
            index = serializers.IntegerField()
            client_id = serializers.CharField(allow_null=True)
            status = serializers.IntegerField()
            body = serializers.DictField(help_text="a VisitResult, or the error body")

        results = AnswerSerializer(many=True)

    @extend_schema(
        tags=[MOBILE_TAG],
        operation_id="mobile_visit_batch",
        request={"application/json": InputSerializer},
        responses={200: OutputSerializer},
        description=(
            f"Up to {MAX_BATCH} queued visits, each `{{task_id, …visit}}`, each answered on its "
            "own (`status` and `body` as the single-visit endpoint would answer), so one bad "
            "visit does not sink the others. Multipart: a `visits` part holding the JSON list "
            "and photos as `photos.<index>` parts."
        ),
    )
    def post(self, request: Request) -> Response:
        raw = request.data.get("visits")
        if isinstance(raw, str):  # multipart: the list travels as a JSON part
            try:
                raw = json_loads_bounded(raw)
            except ParseError:
                raw = None
        visits = parse(self.InputSerializer, {"visits": raw})["visits"]
        results = []
        for index, item in enumerate(visits):
            client_id = item.get("client_id") if isinstance(item, dict) else None
            try:
                data = parse(self.ItemSerializer, item)
                photos = request.FILES.getlist(f"photos.{index}")
                answer = visit_services.visit_record(
                    actor=request.user,
                    task_id=data["task_id"],
                    data=_visit_input(data, photos),
                )
                status_code, body = answer.status, answer.body
            except Exception as exc:  # noqa: BLE001 - mapped like a single request's error
                error = api_exception_handler(exc, {"view": self, "request": request})
                if error is None:
                    raise
                status_code, body = error.status_code, error.data
            results.append(
                {
                    "index": index,
                    "client_id": str(client_id) if client_id is not None else None,
                    "status": status_code,
                    "body": body,
                }
            )
        return Response({"results": results})
