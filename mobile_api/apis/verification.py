"""The station's, control room's and NPB's endpoints: task lists (overdue), ad hoc tasks,
reassignment, the review queue, visit photos and coverage."""

from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import audit_read
from common.dates import BoundedDateField
from common.files import AnyAcceptNegotiation, file_response
from common.inputs import parse
from common.pagination import CursorPagination, paginate
from common.permissions import HoldsPermission
from mobile_api import selectors
from mobile_api.models import Priority, TaskKind, TaskStatus, VerificationTask, Visit
from mobile_api.services import tasks as task_services
from mobile_api.services import visits as visit_services
from registry.models import AccessPurpose
from registry.photos import CONTENT_TYPES

TAG = "verification"


class TaskPagination(CursorPagination):
    ordering = ("due_on", "id")


@extend_schema_serializer(component_name="VerificationTask")
class TaskSerializer(serializers.Serializer):
    """A task in the station, district and national lists: ids and codes, no identity (the
    offender is opened through the register, which audits the read). Shared on purpose by the
    list, ad hoc creation and reassignment: clients cache tasks by id."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    source = serializers.CharField()
    status = serializers.CharField()
    resolution = serializers.CharField()
    priority = serializers.IntegerField()
    due_on = serializers.DateField()
    overdue = serializers.SerializerMethodField()
    offender = serializers.IntegerField(source="offender_id")
    district = serializers.CharField(source="district.code")
    station = serializers.CharField(source="station.code", allow_null=True, default=None)
    beat = serializers.CharField(source="beat.code", allow_null=True, default=None)
    needs_point = serializers.BooleanField()
    escalated_at = serializers.DateTimeField(allow_null=True)
    last_visit_outcome = serializers.CharField(allow_blank=True)
    last_visit_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)

    def get_overdue(self, task: VerificationTask) -> bool:
        return task.status == TaskStatus.OPEN and task.due_on < timezone.localdate()


class TaskListApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = {"GET": "task.read", "POST": "task.create"}
    pagination_class = TaskPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
        kind = serializers.ChoiceField(choices=TaskKind.choices, required=False)
        overdue = serializers.BooleanField(required=False, default=False)
        station = serializers.SlugField(required=False, max_length=64)
        beat = serializers.SlugField(required=False, max_length=64)
        needs_point = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema_serializer(component_name="VerificationTaskCreate")
    class InputSerializer(serializers.Serializer):
        offender = serializers.IntegerField(min_value=1)
        due_on = BoundedDateField()
        priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)

    @extend_schema(
        tags=[TAG],
        operation_id="verification_task_list",
        parameters=[
            OpenApiParameter("status", str, enum=TaskStatus.values),
            OpenApiParameter("kind", str, enum=TaskKind.values),
            OpenApiParameter("overdue", bool, description="open and due before today"),
            OpenApiParameter("station", str, description="station code"),
            OpenApiParameter("beat", str, description="beat code"),
            OpenApiParameter("needs_point", bool, description="addresses not yet located"),
        ],
        responses=TaskSerializer(many=True),
        description=(
            "Tasks of the caller's station (station officer), district (control room) or all "
            "(registry admin), soonest due first."
        ),
    )
    def get(self, request: Request) -> Response:
        filters = parse(self.FilterSerializer, request.query_params)
        tasks = selectors.task_list(actor=request.user, **filters)
        page = paginate(tasks, request=request, view=self)
        audit_read(
            actor=request.user,
            purpose=AccessPurpose.VERIFICATION,
            object_type="verification_task",
            details={"view": "list", "filters": filters, "count": len(page.rows)},
        )
        return page.response(TaskSerializer(page.rows, many=True).data)

    @extend_schema(
        tags=[TAG],
        operation_id="verification_task_create",
        request=InputSerializer,
        responses={201: TaskSerializer},
        description=(
            "An ad hoc verification of an active offender the caller supervises (station "
            "officer, control room); 409 `task_exists` when one is open already."
        ),
    )
    def post(self, request: Request) -> Response:
        data = parse(self.InputSerializer, request.data)
        task = task_services.task_create(
            actor=request.user,
            offender_id=data["offender"],
            due_on=data["due_on"],
            priority=data["priority"],
        )
        task = selectors.task_get(actor=request.user, task_id=task.pk)
        return Response(TaskSerializer(task).data, status=201)


class TaskReassignApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "task.reassign"

    @extend_schema_serializer(component_name="VerificationTaskReassign")
    class InputSerializer(serializers.Serializer):
        beat = serializers.SlugField(max_length=64, help_text="code of a beat of your station")

    @extend_schema(
        tags=[TAG],
        operation_id="verification_task_reassign",
        request=InputSerializer,
        responses=TaskSerializer,
        description=(
            "Give an open task of your station to one of its beats (also a task waiting at "
            "the station for its address to be located). The old beat's officers get a "
            "tombstone at their next sync; a visit they had queued answers 409."
        ),
    )
    def post(self, request: Request, task_id: int) -> Response:
        data = parse(self.InputSerializer, request.data)
        task = task_services.task_reassign(
            actor=request.user, task_id=task_id, beat_code=data["beat"]
        )
        return Response(TaskSerializer(task).data)


class TaskCancelApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "task.reassign"

    @extend_schema_serializer(component_name="VerificationTaskCancel")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=255)

    @extend_schema(
        tags=[TAG],
        operation_id="verification_task_cancel",
        request=InputSerializer,
        responses=TaskSerializer,
        description=(
            "Cancel an open task of your station that no longer needs doing (a follow-up "
            "settled, a duplicate), with a reason. 409 `task_not_open` when it is closed or "
            "cancelled already; the beat's officers get a tombstone."
        ),
    )
    def post(self, request: Request, task_id: int) -> Response:
        data = parse(self.InputSerializer, request.data)
        task = task_services.task_cancel(actor=request.user, task_id=task_id, reason=data["reason"])
        return Response(TaskSerializer(task).data)


class ReviewPagination(CursorPagination):
    ordering = ("created_at", "id")


@extend_schema_serializer(component_name="VisitForReview")
class ReviewSerializer(serializers.Serializer):
    """A flagged visit as the reviewer sees it; shared on purpose by the queue and the answers
    to accept/reject, so the reviewer's screen updates the row it shows."""

    id = serializers.IntegerField()
    task = serializers.IntegerField(source="task_id")
    offender = serializers.IntegerField(source="offender_id")
    beat = serializers.CharField(source="task.beat.code", allow_null=True, default=None)
    officer = serializers.CharField(source="officer.username")
    outcome = serializers.CharField()
    visited_at = serializers.DateTimeField()
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    accuracy_m = serializers.FloatField()
    fix_time = serializers.DateTimeField()
    mock_location = serializers.BooleanField()
    distance_m = serializers.FloatField(allow_null=True)
    flag_reasons = serializers.ListField(child=serializers.CharField())
    notes = serializers.CharField()
    review_status = serializers.CharField()
    photos = serializers.SerializerMethodField()

    def get_photos(self, visit: Visit) -> list[str]:
        return [
            reverse("mobile_api:visit-photo", kwargs={"visit_id": visit.pk, "photo_id": photo.pk})
            for photo in visit.photos.all()
        ]


class ReviewListApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "visit.review"
    pagination_class = ReviewPagination

    @extend_schema(
        tags=[TAG],
        operation_id="verification_review_list",
        responses=ReviewSerializer(many=True),
        description="Flagged visits of your station waiting for review, oldest first.",
    )
    def get(self, request: Request) -> Response:
        visits = selectors.visit_review_queue(actor=request.user)
        page = paginate(visits, request=request, view=self)
        audit_read(
            actor=request.user,
            purpose=AccessPurpose.VERIFICATION,
            object_type="visit",
            details={"view": "review", "count": len(page.rows)},
        )
        return page.response(ReviewSerializer(page.rows, many=True).data)


class _ReviewDecisionApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "visit.review"
    accept = True

    @extend_schema_serializer(component_name="VisitReviewDecision")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=255)

    def post(self, request: Request, visit_id: int) -> Response:
        data = parse(self.InputSerializer, request.data)
        decide = visit_services.visit_accept if self.accept else visit_services.visit_reject
        decide(actor=request.user, visit_id=visit_id, reason=data["reason"])
        visit = selectors.visit_get_for_review(actor=request.user, visit_id=visit_id)
        return Response(ReviewSerializer(visit).data)


class ReviewAcceptApi(_ReviewDecisionApi):
    accept = True

    @extend_schema(
        tags=[TAG],
        operation_id="verification_review_accept",
        request=_ReviewDecisionApi.InputSerializer,
        responses=ReviewSerializer,
        description=(
            "The flagged visit counts after all: its outcome takes effect as if it had passed "
            "(a confirmed one closes the task and locates an address without a point). 409 "
            "when it is not waiting for review."
        ),
    )
    def post(self, request: Request, visit_id: int) -> Response:
        return super().post(request, visit_id)


class ReviewRejectApi(_ReviewDecisionApi):
    accept = False

    @extend_schema(
        tags=[TAG],
        operation_id="verification_review_reject",
        request=_ReviewDecisionApi.InputSerializer,
        responses=ReviewSerializer,
        description="The flagged visit does not count; the task stays open.",
    )
    def post(self, request: Request, visit_id: int) -> Response:
        return super().post(request, visit_id)


class VisitPhotoApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = {"GET": "task.read"}
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        tags=[TAG],
        operation_id="verification_visit_photo",
        responses={
            (200, CONTENT_TYPES["jpg"]): OpenApiTypes.BINARY,
            (200, CONTENT_TYPES["png"]): OpenApiTypes.BINARY,
        },
        description="A photo taken at a visit, to those who may see the visit's task.",
    )
    def get(self, request: Request, visit_id: int, photo_id: int) -> FileResponse:
        photo = selectors.visit_photo_get(actor=request.user, visit_id=visit_id, photo_id=photo_id)
        response = file_response(
            photo.file, filename=f"visit-{visit_id}-{photo_id}", content_types=CONTENT_TYPES
        )
        audit_read(
            actor=request.user,
            purpose=AccessPurpose.VERIFICATION,
            object_type="visit",
            object_id=visit_id,
            details={"photo_id": photo.pk},
        )
        return response


class CoverageApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "coverage.read"

    class FilterSerializer(serializers.Serializer):
        district = serializers.SlugField(max_length=64)

    @extend_schema_serializer(component_name="VerificationCoverage")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="VerificationCoverageRow")
        class RowSerializer(serializers.Serializer):
            station = serializers.CharField(allow_null=True)
            beat = serializers.CharField(allow_null=True)
            active_offenders = serializers.IntegerField()
            verified_within_interval = serializers.IntegerField()
            verified_share = serializers.FloatField(allow_null=True)
            open_tasks = serializers.IntegerField()
            overdue_tasks = serializers.IntegerField()
            awaiting_review = serializers.IntegerField()

        district = serializers.CharField()
        as_of = serializers.DateTimeField()
        rows = RowSerializer(many=True)

    @extend_schema(
        tags=[TAG],
        operation_id="verification_coverage",
        parameters=[OpenApiParameter("district", str, required=True)],
        responses=OutputSerializer,
        description=(
            "Per station and beat of a district: the share of active offenders with a counted "
            "confirmed visit within their tier's interval, open and overdue tasks, and visits "
            "awaiting review. Control rooms read their own district (another answers 404), "
            "the NPB (registry admin) any. A report of one row per beat, not paginated."
        ),
    )
    def get(self, request: Request) -> Response:
        code = parse(self.FilterSerializer, request.query_params)["district"]
        district = selectors.coverage_district_get(actor=request.user, district_code=code)
        now = timezone.now()
        rows = selectors.coverage_rows(district=district, now=now)
        audit_read(
            actor=request.user,
            object_type="verification_coverage",
            object_id=district.pk,
            details={"rows": len(rows)},
        )
        return Response(
            self.OutputSerializer({"district": district.code, "as_of": now, "rows": rows}).data
        )
