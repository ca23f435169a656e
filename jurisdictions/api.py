"""Jurisdiction endpoints: districts, stations and beats with GeoJSON geometry, and point
resolution. Lists and details are scoped to the caller (out of scope answers 404)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.pagination import CursorPagination, paginate
from common.permissions import HoldsPermission
from jurisdictions import selectors
from jurisdictions.resolve import jurisdiction_resolve

TAG = "jurisdictions"


class JurisdictionPagination(CursorPagination):
    # Codes are unique and stable, and read better than ids in a paged list.
    ordering = "code"


class _JurisdictionApi(APIView):
    permission_classes = [HoldsPermission]
    required_permission = "jurisdiction.read"


@extend_schema_serializer(component_name="JurisdictionRef")
class JurisdictionRefSerializer(serializers.Serializer):
    """``{code, name}`` of a district, station or beat: shared on purpose, it is the one way
    every endpoint names a jurisdiction."""

    code = serializers.CharField()
    name = serializers.CharField()


def _bbox(area) -> list[float]:
    return [area.min_lon, area.min_lat, area.max_lon, area.max_lat]


class DistrictDetailApi(_JurisdictionApi):
    @extend_schema_serializer(component_name="District")
    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        province = JurisdictionRefSerializer()
        boundary = serializers.JSONField(help_text="GeoJSON Polygon or MultiPolygon")
        bbox = serializers.SerializerMethodField(help_text="[min_lon, min_lat, max_lon, max_lat]")

        def get_bbox(self, district) -> list[float]:
            return _bbox(district)

    @extend_schema(tags=[TAG], operation_id="district_retrieve", responses=OutputSerializer)
    def get(self, request: Request, code: str) -> Response:
        district = selectors.district_get(actor=request.user, code=code)
        return Response(self.OutputSerializer(district).data)


class DistrictListApi(_JurisdictionApi):
    pagination_class = JurisdictionPagination
    # Same shape as the detail on purpose: a list row is the district.
    OutputSerializer = DistrictDetailApi.OutputSerializer

    @extend_schema(
        tags=[TAG],
        operation_id="district_list",
        responses=OutputSerializer(many=True),
        description="National roles see every district; everyone else their own.",
    )
    def get(self, request: Request) -> Response:
        districts = selectors.district_list(actor=request.user)
        page = paginate(districts, request=request, view=self)
        return page.response(self.OutputSerializer(page.rows, many=True).data)


class StationDetailApi(_JurisdictionApi):
    @extend_schema_serializer(component_name="PoliceStation")
    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        district = JurisdictionRefSerializer()
        location = serializers.JSONField(help_text="GeoJSON Point of the station building")
        boundary = serializers.JSONField(help_text="GeoJSON Polygon or MultiPolygon")
        bbox = serializers.SerializerMethodField(help_text="[min_lon, min_lat, max_lon, max_lat]")

        def get_bbox(self, station) -> list[float]:
            return _bbox(station)

    @extend_schema(tags=[TAG], operation_id="station_retrieve", responses=OutputSerializer)
    def get(self, request: Request, code: str) -> Response:
        station = selectors.station_get(actor=request.user, code=code)
        return Response(self.OutputSerializer(station).data)


class StationListApi(_JurisdictionApi):
    pagination_class = JurisdictionPagination
    OutputSerializer = StationDetailApi.OutputSerializer

    class FilterSerializer(serializers.Serializer):
        district = serializers.SlugField(required=False)

    @extend_schema(
        tags=[TAG],
        operation_id="station_list",
        parameters=[OpenApiParameter("district", str, description="district code")],
        responses=OutputSerializer(many=True),
        description="Stations in the caller's jurisdiction.",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        stations = selectors.station_list(
            actor=request.user, district_code=filters.validated_data.get("district")
        )
        page = paginate(stations, request=request, view=self)
        return page.response(self.OutputSerializer(page.rows, many=True).data)


class BeatDetailApi(_JurisdictionApi):
    @extend_schema_serializer(component_name="Beat")
    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        station = JurisdictionRefSerializer()
        district = JurisdictionRefSerializer(source="station.district")
        boundary = serializers.JSONField(help_text="GeoJSON Polygon or MultiPolygon")
        bbox = serializers.SerializerMethodField(help_text="[min_lon, min_lat, max_lon, max_lat]")

        def get_bbox(self, beat) -> list[float]:
            return _bbox(beat)

    @extend_schema(tags=[TAG], operation_id="beat_retrieve", responses=OutputSerializer)
    def get(self, request: Request, code: str) -> Response:
        beat = selectors.beat_get(actor=request.user, code=code)
        return Response(self.OutputSerializer(beat).data)


class BeatListApi(_JurisdictionApi):
    pagination_class = JurisdictionPagination
    OutputSerializer = BeatDetailApi.OutputSerializer

    class FilterSerializer(serializers.Serializer):
        station = serializers.SlugField(required=False)

    @extend_schema(
        tags=[TAG],
        operation_id="beat_list",
        parameters=[OpenApiParameter("station", str, description="station code")],
        responses=OutputSerializer(many=True),
        description="Beats in the caller's jurisdiction; a beat officer sees only their own.",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        beats = selectors.beat_list(
            actor=request.user, station_code=filters.validated_data.get("station")
        )
        page = paginate(beats, request=request, view=self)
        return page.response(self.OutputSerializer(page.rows, many=True).data)


class JurisdictionResolveApi(_JurisdictionApi):
    class InputSerializer(serializers.Serializer):
        lon = serializers.FloatField(min_value=-180, max_value=180)
        lat = serializers.FloatField(min_value=-90, max_value=90)

    @extend_schema_serializer(component_name="JurisdictionResolution")
    class OutputSerializer(serializers.Serializer):
        district = JurisdictionRefSerializer(allow_null=True)
        station = JurisdictionRefSerializer(allow_null=True)
        beat = JurisdictionRefSerializer(allow_null=True)

    @extend_schema(
        tags=[TAG],
        operation_id="jurisdiction_resolve",
        parameters=[InputSerializer],
        responses=OutputSerializer,
        description=(
            "The district, station and beat covering a WGS84 point (null where none does). "
            "Boundaries are not secret, so this is not scoped to the caller."
        ),
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        resolution = jurisdiction_resolve(**params.validated_data)
        return Response(self.OutputSerializer(resolution).data)
