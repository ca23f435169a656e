"""A believable demo world: the map (``jurisdictions.demo``), the agencies, and one officer per
role with a password and a confirmed authenticator.

Idempotent: everything is found by code or username first and created only when missing, so a
second run changes nothing (and never rotates a TOTP secret). Used by ``seed_demo`` and by the
benchmarks.
"""

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
from jurisdictions.demo import (
    DEMO_BEAT,
    DEMO_DISTRICT,
    DEMO_STATION,
    DemoLogin,
    SeedSummary,
    demo_username,
    seed_jurisdictions,
)
from jurisdictions.models import Beat, District, PoliceStation

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
    punjab = seed_jurisdictions(summary)

    agencies: dict[AgencyKind, Agency] = {}
    for kind, (name, provincial) in AGENCIES.items():
        agencies[kind], created = Agency.objects.get_or_create(
            name=name, defaults={"kind": kind.value, "province": punjab if provincial else None}
        )
        summary.count("agencies", created)

    for role in Role:
        _seed_officer(role, agencies, password_hash, summary)
    return summary
