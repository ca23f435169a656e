"""Geofence endpoints: tracking devices and gateways (officers), zones as GeoJSON (officers),
and the ping endpoint (device and gateway credentials only)."""

import logging
import random
import time
from typing import Any

from django.db import OperationalError, connection
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.dates import BoundedDateTimeField
from common.exceptions import ApplicationError
from common.pagination import CursorPagination, paginate
from common.parsers import BoundedJSONBatchParser
from common.permissions import HoldsPermission
from geofence import selectors
from geofence.authentication import DeviceCredentialAuthentication, Sender, sender_revoked
from geofence.models import Applicability, CredentialStatus, DeviceKind, Zone, ZoneKind
from geofence.services import devices, zones
from geofence.services.pings import IngestResult, MalformedBatch, pings_ingest

TAG = "geofence"
logger = logging.getLogger(__name__)
# Deadlock detected, serialization failure: the transaction was rolled back, safe to run again.
RETRY_SQLSTATES = ("40P01", "40001")
INGEST_ATTEMPTS = 5


# --- tracking devices ------------------------------------------------------------------------


class DeviceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    offender = serializers.IntegerField(source="offender_id")
    kind = serializers.CharField()
    serial = serializers.CharField()
    gateway = serializers.IntegerField(source="gateway_id", allow_null=True)
    status = serializers.CharField()
    last_ping_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    replaced_by = serializers.IntegerField(source="replaced_by_id", allow_null=True)
    created_at = serializers.DateTimeField()


class EnrolledDeviceSerializer(DeviceSerializer):
    credential = serializers.CharField(help_text="Shown once; send as 'Authorization: Device …'")


def _enrolled(enrolled: devices.Enrolled) -> dict[str, Any]:
    data = DeviceSerializer(enrolled.obj).data
    return {**data, "credential": enrolled.credential}


class TrackingDeviceListApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = {"POST": "tracking_device.enrol", "*": "tracking_device.read"}
    pagination_class = CursorPagination  # newest first; also tells the schema it pages

    @extend_schema_serializer(component_name="TrackingDeviceListFilter")
    class FilterSerializer(serializers.Serializer):
        offender = serializers.IntegerField(min_value=1, required=False)
        status = serializers.ChoiceField(choices=CredentialStatus.choices, required=False)

    @extend_schema_serializer(component_name="TrackingDeviceListInput")
    class InputSerializer(serializers.Serializer):
        offender = serializers.IntegerField(min_value=1)
        kind = serializers.ChoiceField(choices=DeviceKind.choices)
        serial = serializers.CharField(max_length=64)
        gateway = serializers.IntegerField(min_value=1, required=False, allow_null=True)

    @extend_schema(
        tags=[TAG],
        operation_id="tracking_device_list",
        parameters=[
            OpenApiParameter("offender", int),
            OpenApiParameter("status", str, enum=CredentialStatus.values),
        ],
        responses=DeviceSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.tracking_device_list(
            actor=request.user,
            offender_id=filters.validated_data.get("offender"),
            status=filters.validated_data.get("status"),
        )
        page = paginate(queryset, request=request, view=self)
        return page.response(DeviceSerializer(page.rows, many=True).data)

    @extend_schema(
        tags=[TAG],
        operation_id="tracking_device_enrol",
        request=InputSerializer,
        responses={201: EnrolledDeviceSerializer},
        description="Bind a device to an offender (prison officer at release, or the "
        "supervising station). The credential is shown once and stored only as a hash.",
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        enrolled = devices.tracking_device_enrol(
            actor=request.user,
            offender_id=data["offender"],
            kind=data["kind"],
            serial=data["serial"],
            gateway_id=data.get("gateway"),
        )
        return Response(_enrolled(enrolled), status=status.HTTP_201_CREATED)


class TrackingDeviceRevokeApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "tracking_device.revoke"

    @extend_schema_serializer(component_name="TrackingDeviceRevokeInput")
    class InputSerializer(serializers.Serializer):
        reason = serializers.ChoiceField(
            choices=["lost", "damaged", "removed", "revoked"], default="revoked"
        )

    @extend_schema(
        tags=[TAG],
        operation_id="tracking_device_revoke",
        request=InputSerializer,
        responses=DeviceSerializer,
    )
    def post(self, request: Request, device_id: int) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        device = devices.tracking_device_revoke(
            actor=request.user, device_id=device_id, reason=body.validated_data["reason"]
        )
        return Response(DeviceSerializer(device).data)


class TrackingDeviceReplaceApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "tracking_device.enrol"

    @extend_schema_serializer(component_name="TrackingDeviceReplaceInput")
    class InputSerializer(serializers.Serializer):
        serial = serializers.CharField(max_length=64)

    @extend_schema(
        tags=[TAG],
        operation_id="tracking_device_replace",
        request=InputSerializer,
        responses={201: EnrolledDeviceSerializer},
        description="A lost tag: revoke it and enrol its replacement (new credential, once).",
    )
    def post(self, request: Request, device_id: int) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        enrolled = devices.tracking_device_replace(
            actor=request.user, device_id=device_id, serial=body.validated_data["serial"]
        )
        return Response(_enrolled(enrolled), status=status.HTTP_201_CREATED)


# --- gateways --------------------------------------------------------------------------------


class GatewaySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class EnrolledGatewaySerializer(GatewaySerializer):
    credential = serializers.CharField(help_text="Shown once; send as 'Authorization: Gateway …'")


class GatewayListApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "gateway.manage"
    pagination_class = CursorPagination  # newest first; also tells the schema it pages

    @extend_schema_serializer(component_name="GatewayListInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)

    @extend_schema(tags=[TAG], operation_id="gateway_list", responses=GatewaySerializer(many=True))
    def get(self, request: Request) -> Response:
        page = paginate(selectors.gateway_list(actor=request.user), request=request, view=self)
        return page.response(GatewaySerializer(page.rows, many=True).data)

    @extend_schema(
        tags=[TAG],
        operation_id="gateway_enrol",
        request=InputSerializer,
        responses={201: EnrolledGatewaySerializer},
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        enrolled = devices.gateway_enrol(actor=request.user, name=body.validated_data["name"])
        data = GatewaySerializer(enrolled.obj).data
        return Response({**data, "credential": enrolled.credential}, status=201)


# --- zones -----------------------------------------------------------------------------------


class ZoneFeatureSerializer(serializers.Serializer):
    """A zone as a GeoJSON Feature."""

    type = serializers.SerializerMethodField()
    id = serializers.IntegerField()
    geometry = serializers.JSONField()
    properties = serializers.SerializerMethodField()

    def get_type(self, zone: Zone) -> str:
        return "Feature"

    def get_properties(self, zone: Zone) -> dict[str, Any]:
        return {
            "name": zone.name,
            "kind": zone.kind,
            "category": zone.category,
            "radius_m": zone.radius_m,
            "buffer_m": zone.buffer_m,
            "applies_to": zone.applies_to,
            "offender": zone.offender_id,
            "applies_category": zone.applies_category,
            "schedule": zone.schedule,
            "valid_from": zone.valid_from.isoformat() if zone.valid_from else None,
            "valid_to": zone.valid_to.isoformat() if zone.valid_to else None,
            "district": zone.district.code if zone.district_id else None,
            "source_id": zone.source_id,
            "retired_at": zone.retired_at.isoformat() if zone.retired_at else None,
            "bbox": [zone.min_lon, zone.min_lat, zone.max_lon, zone.max_lat],
        }


class _ZoneFields(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    category = serializers.CharField(max_length=32)
    geometry = serializers.JSONField(help_text="GeoJSON Polygon, MultiPolygon or Point")
    radius_m = serializers.FloatField(required=False, allow_null=True)
    buffer_m = serializers.FloatField(required=False, default=0.0)
    applies_to = serializers.ChoiceField(choices=Applicability.choices, default="all")
    offender = serializers.IntegerField(required=False, allow_null=True)
    applies_category = serializers.CharField(required=False, allow_blank=True, default="")
    schedule = serializers.JSONField(required=False, default=list)
    valid_from = BoundedDateTimeField(required=False, allow_null=True)
    valid_to = BoundedDateTimeField(required=False, allow_null=True)


def _zone_changes(data: dict[str, Any]) -> dict[str, Any]:
    changes = dict(data)
    if "offender" in changes:
        changes["offender_id"] = changes.pop("offender")
    return changes


class ZoneListApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = {"POST": "zone.manage", "*": "zone.read"}
    pagination_class = CursorPagination  # newest first; also tells the schema it pages

    @extend_schema_serializer(component_name="ZoneListFilter")
    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ZoneKind.choices, required=False)
        category = serializers.CharField(required=False)
        bbox = serializers.CharField(required=False, help_text="min_lon,min_lat,max_lon,max_lat")

        def validate_bbox(self, value: str) -> tuple[float, ...]:
            try:
                numbers = tuple(float(part) for part in value.split(","))
            except ValueError as exc:
                raise serializers.ValidationError("Four numbers separated by commas.") from exc
            if len(numbers) != 4 or numbers[0] > numbers[2] or numbers[1] > numbers[3]:
                raise serializers.ValidationError("min_lon,min_lat,max_lon,max_lat.")
            return numbers

    @extend_schema_serializer(component_name="ZoneListInput")
    class InputSerializer(_ZoneFields):
        kind = serializers.ChoiceField(choices=ZoneKind.choices)
        district = serializers.CharField(required=False, allow_null=True)

    @extend_schema(
        tags=[TAG],
        operation_id="zone_list",
        parameters=[
            OpenApiParameter("kind", str, enum=ZoneKind.values),
            OpenApiParameter("category", str),
            OpenApiParameter("bbox", str, description="min_lon,min_lat,max_lon,max_lat"),
        ],
        responses=ZoneFeatureSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        queryset = selectors.zone_list(
            actor=request.user,
            kind=data.get("kind"),
            category=data.get("category"),
            bbox=data.get("bbox"),
        )
        page = paginate(queryset, request=request, view=self)
        return page.response(ZoneFeatureSerializer(page.rows, many=True).data)

    @extend_schema(
        tags=[TAG],
        operation_id="zone_create",
        request=InputSerializer,
        responses={201: ZoneFeatureSerializer},
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = _zone_changes(body.validated_data)
        district = data.pop("district", None)
        zone = zones.zone_create(
            actor=request.user, data=zones.ZoneInput(**data, district_code=district)
        )
        return Response(ZoneFeatureSerializer(zone).data, status=status.HTTP_201_CREATED)


class ZoneDetailApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = {"PATCH": "zone.manage", "*": "zone.read"}

    @extend_schema_serializer(component_name="ZoneDetailInput")
    class InputSerializer(_ZoneFields):
        pass

    @extend_schema(tags=[TAG], operation_id="zone_retrieve", responses=ZoneFeatureSerializer)
    def get(self, request: Request, zone_id: int) -> Response:
        zone = selectors.zone_get(actor=request.user, zone_id=zone_id)
        return Response(ZoneFeatureSerializer(zone).data)

    @extend_schema(
        tags=[TAG],
        operation_id="zone_update",
        request=InputSerializer(partial=True),
        responses=ZoneFeatureSerializer,
    )
    def patch(self, request: Request, zone_id: int) -> Response:
        body = self.InputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        # Only what was sent: partial serializers still fill defaults otherwise.
        sent = {k: v for k, v in body.validated_data.items() if k in request.data}
        zone = zones.zone_update(actor=request.user, zone_id=zone_id, changes=_zone_changes(sent))
        return Response(ZoneFeatureSerializer(zone).data)


class ZoneRetireApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "zone.manage"

    @extend_schema(
        tags=[TAG], operation_id="zone_retire", request=None, responses=ZoneFeatureSerializer
    )
    def post(self, request: Request, zone_id: int) -> Response:
        zone = zones.zone_retire(actor=request.user, zone_id=zone_id)
        return Response(ZoneFeatureSerializer(zone).data)


# --- pings -----------------------------------------------------------------------------------


class IsPingSender(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, Sender)


class PingBatchApi(APIView):
    authentication_classes = [DeviceCredentialAuthentication]
    permission_classes = [IsPingSender]
    parser_classes = [BoundedJSONBatchParser]

    @extend_schema_serializer(component_name="PingBatchItem")
    class ItemSerializer(serializers.Serializer):
        device = serializers.CharField(required=False, help_text="Gateway batches: the serial")
        device_seq = serializers.IntegerField()
        recorded_at = serializers.DateTimeField()
        lat = serializers.FloatField()
        lon = serializers.FloatField()
        accuracy_m = serializers.FloatField()
        battery = serializers.IntegerField(required=False, allow_null=True)

    @extend_schema_serializer(component_name="PingBatchOutput")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="PingBatchError")
        class ErrorSerializer(serializers.Serializer):
            index = serializers.IntegerField()
            reason = serializers.CharField()

        accepted = serializers.IntegerField()
        duplicate = serializers.IntegerField()
        rejected = serializers.IntegerField()
        errors = ErrorSerializer(many=True)

    @extend_schema(
        tags=[TAG],
        operation_id="ping_batch",
        request=ItemSerializer(many=True),
        responses={202: OutputSerializer},
        description="A batch of up to 1,000 location pings (device or gateway credential). "
        "Bad pings are rejected one by one with their index and reason; a malformed batch is "
        "a 400 that stores nothing; a retried batch gets the same answer.",
    )
    def post(self, request: Request) -> Response:
        sender: Sender = request.user
        for attempt in range(1, INGEST_ATTEMPTS + 1):
            try:
                result = pings_ingest(
                    items=request.data, device=sender.device, gateway=sender.gateway
                )
                break
            except MalformedBatch as exc:
                raise ApplicationError(str(exc), code="malformed_batch") from exc
            except OperationalError as exc:
                # A batch is one transaction, rolled back whole: run again when PostgreSQL
                # chose it as a deadlock's victim (two batches raising alerts in two districts
                # in opposite orders, seen under concurrent gateway load). Not inside an outer
                # transaction, which the failure has spoiled.
                retry = getattr(exc.__cause__, "sqlstate", None) in RETRY_SQLSTATES
                if not retry or attempt == INGEST_ATTEMPTS or connection.in_atomic_block:
                    raise
                logger.warning("ping batch retried after %s", type(exc.__cause__).__name__)
                # Apart from the batch it deadlocked with, which goes on meanwhile.
                time.sleep(random.uniform(0, 0.05 * attempt))  # noqa: S311 - jitter, not a secret
        # Re-checked under the device's lock: revoked since its credential was checked (or
        # remembered) in this process. No ping was stored; later batches get 401 too.
        if (
            sender.device is not None
            and isinstance(result, IngestResult)
            and any(r["reason"] == "device_revoked" for r in result.rejected)
        ):
            raise sender_revoked(sender)
        body = result.response() if isinstance(result, IngestResult) else result
        return Response(body, status=status.HTTP_202_ACCEPTED)
