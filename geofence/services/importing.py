"""Bulk import of a zone layer from GeoJSON (``manage.py import_zones``).

One pass: each feature is validated as the API validates a zone (the bad ones reported with
their index and reason, the good ones kept); chunks are written with one ``COPY`` into a
temporary table and one ``INSERT … ON CONFLICT (category, source_id) DO UPDATE``, so a
re-import by stable feature id updates rather than duplicates. One zone-set version and one
audit event per chunk, not per feature.
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from geofence.services.zones import ZoneInput, zone_fields_validate, zone_set_bump

CHUNK = 5000
_COLUMNS = (
    "name",
    "kind",
    "category",
    "geometry",
    "radius_m",
    "buffer_m",
    "min_lon",
    "min_lat",
    "max_lon",
    "max_lat",
    "applies_to",
    "applies_category",
    "schedule",
    "source_id",
)


_TEMP_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS _zone_import (
    name text, kind text, category text, geometry jsonb, radius_m float8, buffer_m float8,
    min_lon float8, min_lat float8, max_lon float8, max_lat float8, applies_to text,
    applies_category text, schedule jsonb, source_id text
) ON COMMIT DELETE ROWS
"""


_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS if c != "category")
# Column names are this module's constants; every value is a parameter or comes by COPY.
_UPSERT = (
    f"INSERT INTO geofence_zone ({', '.join(_COLUMNS)}, version, created_at, updated_at) "  # noqa: S608
    f"SELECT {', '.join(_COLUMNS)}, %s, %s, %s FROM _zone_import "
    f"ON CONFLICT (category, source_id) WHERE source_id <> '' DO UPDATE SET {_UPDATES}, "
    "version = EXCLUDED.version, updated_at = EXCLUDED.updated_at, retired_at = NULL"
)


@dataclass
class ImportReport:
    features: int = 0
    imported: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)


def _feature_id(feature: dict[str, Any]) -> str:
    raw = feature.get("id")
    if raw is None:
        raw = (feature.get("properties") or {}).get("id")
    return "" if raw is None else str(raw)[:100]


def _check(
    index: int,
    feature: Any,
    *,
    kind: str,
    category: str,
    buffer_m: float,
    radius_m: float | None,
    applies_to: str,
) -> dict[str, Any]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValidationError({"feature": ["not a GeoJSON Feature"]})
    properties = feature.get("properties") or {}
    geometry = feature.get("geometry")
    is_point = isinstance(geometry, dict) and geometry.get("type") == "Point"
    radius = properties.get("radius_m", radius_m) if is_point else None
    fields = zone_fields_validate(
        ZoneInput(
            name=str(properties.get("name") or f"{category} {_feature_id(feature) or index}")[:200],
            kind=kind,
            category=category,
            geometry=geometry,
            radius_m=radius,
            buffer_m=buffer_m,
            applies_to=applies_to,
        )
    )
    fields["source_id"] = _feature_id(feature)
    return fields


def zones_import(
    features: Iterable[Any],
    *,
    kind: str,
    category: str,
    buffer_m: float = 0.0,
    radius_m: float | None = None,
    applies_to: str = "all",
    actor: Any = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    report = ImportReport()
    chunk: dict[str, dict[str, Any]] = {}
    anonymous: list[dict[str, Any]] = []
    for index, feature in enumerate(features):
        report.features += 1
        try:
            fields = _check(
                index,
                feature,
                kind=kind,
                category=category,
                buffer_m=buffer_m,
                radius_m=radius_m,
                applies_to=applies_to,
            )
        except ValidationError as exc:
            reasons = [f"{k}: {m}" for k, ms in exc.message_dict.items() for m in ms]
            report.bad.append((index, "; ".join(reasons)))
            continue
        if fields["source_id"]:
            chunk[fields["source_id"]] = fields  # a repeated id in one file: the last wins
        else:
            anonymous.append(fields)
        if len(chunk) + len(anonymous) >= CHUNK:
            report.imported += _write(list(chunk.values()) + anonymous, actor=actor)
            chunk, anonymous = {}, []
        if progress is not None:
            progress(report.features)
    if chunk or anonymous:
        report.imported += _write(list(chunk.values()) + anonymous, actor=actor)
    return report


def _write(rows: list[dict[str, Any]], *, actor: Any) -> int:
    now = timezone.now()
    with transaction.atomic():
        version = zone_set_bump()
        with connection.cursor() as cursor:
            cursor.execute(_TEMP_TABLE)
            # Emptied here too: inside an outer transaction (tests) ON COMMIT never comes.
            cursor.execute("TRUNCATE _zone_import")
            sql = f"COPY _zone_import ({', '.join(_COLUMNS)}) FROM STDIN"
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(
                        [
                            json.dumps(row[c]) if c in ("geometry", "schedule") else row[c]
                            for c in _COLUMNS
                        ]
                    )
            cursor.execute(_UPSERT, [version, now, now])
            written = cursor.rowcount
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="zone_import",
            object_id=version,
            details={"zones": written, "category": rows[0]["category"], "kind": rows[0]["kind"]},
        )
    return written
