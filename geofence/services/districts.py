"""The default permitted area: one inclusion zone per district, applying to the offenders it
supervises (category ``district:<id>``), kept in step with the district boundaries."""

from django.db import transaction

from geofence.models import Applicability, Zone, ZoneKind
from geofence.services.zones import zone_set_bump
from jurisdictions.models import District

DISTRICT_CATEGORY = "district"


def district_zones_sync() -> int:
    """Create or update each district's inclusion zone (by ``source_id`` = district code);
    returns how many changed. Idempotent: unchanged boundaries write nothing."""
    changed = 0
    with transaction.atomic():
        existing = {z.source_id: z for z in Zone.objects.filter(category=DISTRICT_CATEGORY)}
        version = None
        for district in District.objects.all():
            zone = existing.get(district.code)
            fields = {
                "name": f"District {district.name}",
                "kind": ZoneKind.INCLUSION,
                "geometry": district.boundary,
                "min_lon": district.min_lon,
                "min_lat": district.min_lat,
                "max_lon": district.max_lon,
                "max_lat": district.max_lat,
                "applies_to": Applicability.CATEGORY,
                "applies_category": f"district:{district.pk}",
                "district": district,
            }
            if zone is not None and zone.geometry == district.boundary and zone.retired_at is None:
                continue
            version = version or zone_set_bump()
            Zone.objects.update_or_create(
                category=DISTRICT_CATEGORY,
                source_id=district.code,
                defaults={**fields, "version": version, "retired_at": None},
            )
            changed += 1
    return changed
