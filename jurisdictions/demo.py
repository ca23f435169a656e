"""A believable demo world: Lahore with four police stations and their beats, a small Kasur,
the agencies, and one officer per role with a password and a confirmed authenticator.

Idempotent: everything is found by code or username first and created only when missing, so a
second run changes nothing (and never rotates a TOTP secret). Used by ``seed_demo`` and by the
benchmarks. Coordinates are real-ish (Lahore's stations sit roughly where they are) but the
boundaries are simplified rectangles and steps that tile without overlapping.
"""

from dataclasses import dataclass, field
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from accounts.models import Agency, Officer, TOTPDevice
from accounts.roles import AgencyKind, Role, Scope, role_scope
from audit.models import AuditAction
from audit.services import audit_record
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

AGENCIES: dict[AgencyKind, tuple[str, bool]] = {
    # kind → (name, provincial)
    AgencyKind.NPB: ("National Police Bureau", False),
    AgencyKind.NADRA: ("NADRA", False),
    AgencyKind.POLICE: ("Punjab Police", True),
    AgencyKind.PROSECUTION: ("Punjab Prosecution Department", True),
    AgencyKind.PRISON: ("Punjab Prisons Department", True),
}

# role → (agency, rank)
OFFICERS: dict[Role, tuple[AgencyKind, str]] = {
    Role.REGISTRY_ADMIN: (AgencyKind.NPB, "Deputy Director"),
    Role.DATA_ENTRY: (AgencyKind.PROSECUTION, "Data Entry Operator"),
    Role.PRISON_OFFICER: (AgencyKind.PRISON, "Deputy Superintendent"),
    Role.STATION_OFFICER: (AgencyKind.POLICE, "Sub-Inspector"),
    Role.BEAT_OFFICER: (AgencyKind.POLICE, "Head Constable"),
    Role.CONTROL_ROOM: (AgencyKind.POLICE, "Inspector"),
    Role.INVESTIGATING_OFFICER: (AgencyKind.POLICE, "Sub-Inspector"),
    Role.DISTRICT_PROSECUTOR: (AgencyKind.PROSECUTION, "District Public Prosecutor"),
    Role.AUDITOR: (AgencyKind.NPB, "Assistant Director (Audit)"),
    Role.SYSTEM_ADMIN: (AgencyKind.NADRA, "System Administrator"),
}


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


# Demo officers who open the Django admin: the system administrator manages jurisdictions
# there, the registry administrator the register.
STAFF_ROLES = frozenset({Role.REGISTRY_ADMIN, Role.SYSTEM_ADMIN})


def _seed_officer(
    role: Role, agencies: dict[AgencyKind, Agency], password_hash: str, summary: SeedSummary
) -> None:
    agency_kind, rank = OFFICERS[role]
    username = demo_username(role)
    scope = role_scope(role)
    district = station = beat = None
    if scope != Scope.NATIONAL:
        district = District.objects.get(code=DEMO_DISTRICT)
    if scope in (Scope.STATION, Scope.BEAT):
        station = PoliceStation.objects.get(code=DEMO_STATION)
    if scope == Scope.BEAT:
        beat = Beat.objects.get(code=DEMO_BEAT)

    officer = Officer.objects.filter(username=username).first()
    summary.count("officers", officer is None)
    if officer is None:
        officer = Officer(
            username=username,
            full_name=f"Demo {role.replace('_', ' ').title()}",
            rank=rank,
            badge_number=f"DEMO-{list(Role).index(role) + 1:03d}",
            agency=agencies[agency_kind],
            role=role,
            district=district,
            station=station,
            beat=beat,
            is_staff=role in STAFF_ROLES,
        )
        officer.password = password_hash
        officer.save()
        if role == Role.SYSTEM_ADMIN:
            officer.user_permissions.set(
                Permission.objects.filter(content_type__app_label="jurisdictions")
            )
        audit_record(
            actor=None,
            action=AuditAction.CREATE,
            object_type="officer",
            object_id=officer.pk,
            details={"role": role.value, "demo": True},
        )
    elif role in STAFF_ROLES and not officer.is_staff:
        # Seeded before this role opened the admin: brought up to date (and audited, as any
        # change of an officer's access is).
        officer.is_staff = True
        officer.save(update_fields=["is_staff"])
        audit_record(
            actor=None,
            action=AuditAction.UPDATE,
            object_type="officer",
            object_id=officer.pk,
            details={"fields": ["is_staff"], "demo": True},
        )

    device, device_created = TOTPDevice.objects.get_or_create(
        officer=officer,
        defaults={"secret": pyotp.random_base32(), "confirmed_at": timezone.now()},
    )
    summary.count("totp_devices", device_created)
    path = [p for p in (officer.district, officer.station, officer.beat) if p is not None]
    summary.logins.append(
        DemoLogin(
            username=username,
            role=role.value,
            password=settings.DEMO_PASSWORD,
            totp_secret=device.secret,
            jurisdiction="/".join(p.code for p in path) or "national",
        )
    )


@transaction.atomic
def seed_world() -> SeedSummary:
    """Province, districts, stations, beats, agencies and one demo officer per role."""
    summary = SeedSummary(name="world")
    # Hashed once, before the first audited write takes the audit chain's lock: the hasher is
    # deliberately slow and every officer shares the demo password anyway.
    password_hash = make_password(settings.DEMO_PASSWORD)
    punjab, created = Province.objects.get_or_create(code="punjab", defaults={"name": "Punjab"})
    summary.count("provinces", created)
    for spec in DISTRICTS:
        _seed_district(spec, punjab, summary)

    agencies: dict[AgencyKind, Agency] = {}
    for kind, (name, provincial) in AGENCIES.items():
        agencies[kind], created = Agency.objects.get_or_create(
            name=name, defaults={"kind": kind.value, "province": punjab if provincial else None}
        )
        summary.count("agencies", created)

    for role in Role:
        _seed_officer(role, agencies, password_hash, summary)
    return summary
