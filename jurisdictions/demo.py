"""The demo map: Lahore with four police stations and their beats, and a small Kasur. The
agencies and officers that work in it are ``accounts.demo``'s (``seed_world`` seeds both):
``jurisdictions`` sits below ``accounts`` and may not import its models.

Idempotent: everything is found by code or username first and created only when missing, so a
second run changes nothing (and never rotates a TOTP secret). Used by ``seed_demo`` and by the
benchmarks. Coordinates are real-ish (Lahore's stations sit roughly where they are) but the
boundaries are simplified rectangles and steps that tile without overlapping.
"""

from dataclasses import dataclass, field
from typing import Any

from common.geo import point_geojson
from jurisdictions.models import Beat, District, PoliceStation, Province
from jurisdictions.services import beat_create, district_create, station_create


def _polygon(*corners: tuple[float, float]) -> dict[str, Any]:
    ring = [list(c) for c in corners] + [list(corners[0])]
    return {"type": "Polygon", "coordinates": [ring]}


def _rect(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict[str, Any]:
    return _polygon((min_lon, min_lat), (max_lon, min_lat), (max_lon, max_lat), (min_lon, max_lat))


@dataclass(frozen=True)
class _BeatSpec:
    code: str
    name: str
    boundary: dict[str, Any]


@dataclass(frozen=True)
class _StationSpec:
    code: str
    name: str
    location: tuple[float, float]
    boundary: dict[str, Any]
    beats: tuple[_BeatSpec, ...]


@dataclass(frozen=True)
class _DistrictSpec:
    code: str
    name: str
    boundary: dict[str, Any]
    stations: tuple[_StationSpec, ...]


# The four stations tile 74.28–74.38 E × 31.43–31.55 N of Lahore; shared edges use the same
# literals on both sides so they meet exactly.
LAHORE = _DistrictSpec(
    code="lahore",
    name="Lahore",
    boundary=_polygon(
        (74.20, 31.42),
        (74.32, 31.40),
        (74.50, 31.43),
        (74.50, 31.60),
        (74.35, 31.60),
        (74.20, 31.58),
    ),
    stations=(
        _StationSpec(
            code="ichhra",
            name="Ichhra",
            location=(74.3147, 31.5338),
            boundary=_rect(74.28, 31.51, 74.33, 31.55),
            beats=(
                _BeatSpec("ichhra-1", "Ichhra Bazaar", _rect(74.28, 31.51, 74.305, 31.55)),
                _BeatSpec("ichhra-2", "Shah Jamal", _rect(74.305, 31.51, 74.33, 31.55)),
            ),
        ),
        _StationSpec(
            code="gulberg",
            name="Gulberg",
            location=(74.3441, 31.5162),
            boundary=_rect(74.33, 31.50, 74.38, 31.55),
            beats=(
                _BeatSpec("gulberg-1", "Gulberg II", _rect(74.33, 31.50, 74.355, 31.525)),
                _BeatSpec("gulberg-2", "Gulberg III", _rect(74.355, 31.50, 74.38, 31.525)),
                _BeatSpec("gulberg-3", "Liberty Market", _rect(74.33, 31.525, 74.38, 31.55)),
            ),
        ),
        _StationSpec(
            code="model-town",
            name="Model Town",
            location=(74.3262, 31.4836),
            # An L: it steps down under Gulberg, which reaches further south than Ichhra.
            boundary=_polygon(
                (74.28, 31.47),
                (74.38, 31.47),
                (74.38, 31.50),
                (74.33, 31.50),
                (74.33, 31.51),
                (74.28, 31.51),
            ),
            beats=(
                _BeatSpec("model-town-1", "Model Town A–F", _rect(74.28, 31.49, 74.33, 31.51)),
                _BeatSpec("model-town-2", "Model Town G–Q", _rect(74.28, 31.47, 74.33, 31.49)),
                _BeatSpec("model-town-3", "Faisal Town", _rect(74.33, 31.47, 74.38, 31.50)),
            ),
        ),
        _StationSpec(
            code="township",
            name="Township",
            location=(74.3083, 31.4505),
            boundary=_rect(74.28, 31.43, 74.38, 31.47),
            beats=(
                _BeatSpec("township-1", "Township Sector A", _rect(74.28, 31.43, 74.33, 31.47)),
                _BeatSpec("township-2", "Township Sector B", _rect(74.33, 31.43, 74.38, 31.47)),
            ),
        ),
    ),
)

KASUR = _DistrictSpec(
    code="kasur",
    name="Kasur",
    boundary=_rect(74.30, 31.00, 74.60, 31.25),
    stations=(
        _StationSpec(
            code="a-division-kasur",
            name="A-Division Kasur",
            location=(74.4460, 31.1170),
            boundary=_rect(74.40, 31.08, 74.50, 31.16),
            beats=(
                _BeatSpec("a-division-kasur-1", "Old City", _rect(74.40, 31.08, 74.45, 31.16)),
                _BeatSpec(
                    "a-division-kasur-2", "Kot Halim Khan", _rect(74.45, 31.08, 74.50, 31.16)
                ),
            ),
        ),
    ),
)

DISTRICTS = (LAHORE, KASUR)

# The officers' home jurisdiction (by scope) in the demo.
DEMO_DISTRICT, DEMO_STATION, DEMO_BEAT = "lahore", "model-town", "model-town-1"


def demo_username(role: str) -> str:
    return f"demo-{role.replace('_', '-')}"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    password: str
    totp_secret: str
    jurisdiction: str  # "national", "lahore", "lahore/model-town", "lahore/model-town/model-town-1"


@dataclass
class SeedSummary:
    """What one seeding step did: how many of each kind it created this run, and any logins."""

    name: str
    created: dict[str, int] = field(default_factory=dict)
    logins: list[DemoLogin] = field(default_factory=list)

    def count(self, kind: str, was_created: bool) -> None:
        self.created[kind] = self.created.get(kind, 0) + int(was_created)


def _seed_district(spec: _DistrictSpec, province: Province, summary: SeedSummary) -> None:
    district = District.objects.filter(code=spec.code).first()
    summary.count("districts", district is None)
    if district is None:
        district = district_create(
            actor=None, province=province, code=spec.code, name=spec.name, boundary=spec.boundary
        )
    for station_spec in spec.stations:
        station = PoliceStation.objects.filter(code=station_spec.code).first()
        summary.count("stations", station is None)
        if station is None:
            station = station_create(
                actor=None,
                district=district,
                code=station_spec.code,
                name=station_spec.name,
                boundary=station_spec.boundary,
                location=point_geojson(*station_spec.location),
            )
        for beat_spec in station_spec.beats:
            exists = Beat.objects.filter(code=beat_spec.code).exists()
            summary.count("beats", not exists)
            if not exists:
                beat_create(
                    actor=None,
                    station=station,
                    code=beat_spec.code,
                    name=beat_spec.name,
                    boundary=beat_spec.boundary,
                )


def seed_jurisdictions(summary: SeedSummary) -> Province:
    """The province, districts, stations and beats (the officers are ``accounts.demo``'s)."""
    punjab, created = Province.objects.get_or_create(code="punjab", defaults={"name": "Punjab"})
    summary.count("provinces", created)
    for spec in DISTRICTS:
        _seed_district(spec, punjab, summary)
    return punjab
