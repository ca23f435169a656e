import pytest
from django.core.exceptions import ValidationError

from jurisdictions.models import District


def test_world_builds_with_bounding_boxes(world):
    assert (world.lahore.min_lon, world.lahore.max_lat) == (74.0, 32.0)


def test_open_ring_is_rejected(world):
    district = District(
        province=world.punjab,
        code="open",
        name="Open",
        boundary={"type": "Polygon", "coordinates": [[[74, 31], [75, 31], [75, 32], [74, 32]]]},
    )
    with pytest.raises(ValidationError, match="closed"):
        district.full_clean()
