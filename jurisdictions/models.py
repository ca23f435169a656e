"""Province → District → PoliceStation → Beat, with GeoJSON geometry validated by shapely.

Each polygon keeps its bounding box in plain columns so point lookups prefilter in SQL (indexed)
before the exact shapely test; no PostGIS needed.
"""

from django.contrib.postgres.indexes import GistIndex
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Func

from common.geo import GeometryError, bbox, validate_point, validate_polygon
from common.models import TimestampedModel


class Province(TimestampedModel):
    """A province or federal territory (Punjab, Sindh, KP, Balochistan, ICT, GB, AJK)."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def bbox_box() -> Func:
    """The bounding box as a PostgreSQL ``box``, the expression the GiST indexes are built on.

    A B-tree over (min_lon, max_lon, …) cannot answer "which boxes contain this point" (its
    leading range condition matches half the table), so at national scale it degrades to a
    sequential scan; a GiST over boxes answers ``box @> point-box`` in logarithmic time. Queries
    must spell the expression the same way (``box(point(min_lon, min_lat), point(max_lon,
    max_lat))``) for the planner to use the index.
    """
    return Func(
        Func(F("min_lon"), F("min_lat"), function="point"),
        Func(F("max_lon"), F("max_lat"), function="point"),
        function="box",
    )


class BoundedArea(TimestampedModel):
    """An area with a boundary polygon and its bounding box."""

    boundary = models.JSONField(help_text="GeoJSON Polygon or MultiPolygon, WGS84 [lon, lat]")
    min_lon = models.FloatField(editable=False)
    min_lat = models.FloatField(editable=False)
    max_lon = models.FloatField(editable=False)
    max_lat = models.FloatField(editable=False)

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        try:
            validate_polygon(self.boundary)
        except GeometryError as exc:
            raise ValidationError({"boundary": str(exc)}) from exc

    def save(self, *args, **kwargs) -> None:
        # The bbox is derived data; keeping it in step with the boundary is an invariant.
        self.min_lon, self.min_lat, self.max_lon, self.max_lat = bbox(
            validate_polygon(self.boundary)
        )
        super().save(*args, **kwargs)


class District(BoundedArea):
    """A district, supervised by a DPO and watched by a district control room."""

    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="districts")
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        indexes = [GistIndex(bbox_box(), name="district_bbox_gist")]

    def __str__(self) -> str:
        return self.name


class PoliceStation(BoundedArea):
    """A police station (thana), headed by an SHO; its area is divided into beats."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="stations")
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=150)
    location = models.JSONField(help_text="GeoJSON Point of the station building")

    class Meta:
        ordering = ["name"]
        indexes = [GistIndex(bbox_box(), name="station_bbox_gist")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        try:
            validate_point(self.location)
        except GeometryError as exc:
            raise ValidationError({"location": str(exc)}) from exc


class Beat(BoundedArea):
    """A beat: the patch of one or more beat officers inside a station's area."""

    station = models.ForeignKey(PoliceStation, on_delete=models.PROTECT, related_name="beats")
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=150)

    class Meta:
        ordering = ["name"]
        indexes = [GistIndex(bbox_box(), name="beat_bbox_gist")]

    def __str__(self) -> str:
        return self.name
