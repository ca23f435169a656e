"""``import_zones``: one pass, bad features reported, re-import by feature id updates."""

import json

import pytest
from django.core.management import CommandError, call_command

from geofence.models import Zone
from geofence.services.zones import zone_set_version

pytestmark = pytest.mark.django_db


def _point(fid, lon, lat, **props):
    return {
        "type": "Feature",
        "id": fid,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


def _write(tmp_path, features):
    path = tmp_path / "layer.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_import_reports_bad_features_and_keeps_the_good(tmp_path, world, capsys):
    features = [
        _point("s1", 74.3, 31.5, name="School 1"),
        _point("s2", 2.35, 48.85),  # Paris
        {"type": "Feature", "id": "s3", "geometry": {"type": "Polygon", "coordinates": []}},
        "nonsense",
        _point("s5", 67.0, 24.9),
    ]
    with pytest.raises(CommandError, match="3 bad features"):
        call_command(
            "import_zones",
            str(_write(tmp_path, features)),
            kind="exclusion",
            category="school",
            buffer_m=100,
            radius_m=150,
            no_progress=True,
        )
    out = capsys.readouterr().out
    assert "feature 1: geometry: the zone lies outside Pakistan" in out
    assert "feature 2: geometry:" in out
    assert "feature 3: feature: not a GeoJSON Feature" in out
    zones = Zone.objects.order_by("source_id")
    assert [z.source_id for z in zones] == ["s1", "s5"]
    assert zones[0].name == "School 1"
    assert (zones[0].radius_m, zones[0].buffer_m) == (150, 100)


def test_reimport_by_feature_id_updates_rather_than_duplicates(tmp_path, world):
    path = _write(tmp_path, [_point("s1", 74.3, 31.5), _point("s2", 74.4, 31.6)])
    call_command(
        "import_zones",
        str(path),
        kind="exclusion",
        category="school",
        radius_m=100,
        no_progress=True,
    )
    version = zone_set_version()
    moved = _write(tmp_path, [_point("s1", 74.35, 31.55, radius_m=250)])
    call_command(
        "import_zones",
        str(moved),
        kind="exclusion",
        category="school",
        radius_m=100,
        no_progress=True,
    )
    assert Zone.objects.count() == 2
    s1 = Zone.objects.get(source_id="s1")
    assert s1.geometry["coordinates"] == [74.35, 31.55]
    assert s1.radius_m == 250
    assert s1.version > version  # the engines patch it in
    assert Zone.objects.get(source_id="s2").version <= version
