"""Roles and the one permission table every API uses (pure: no Django models).

``docs/permissions.md`` is rendered from this module (``python manage.py render_permissions``)
and a test keeps the two in step.
"""

from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    REGISTRY_ADMIN = "registry_admin"
    DATA_ENTRY = "data_entry"
    PRISON_OFFICER = "prison_officer"
    STATION_OFFICER = "station_officer"
    BEAT_OFFICER = "beat_officer"
    CONTROL_ROOM = "control_room"
    INVESTIGATING_OFFICER = "investigating_officer"
    DISTRICT_PROSECUTOR = "district_prosecutor"
    AUDITOR = "auditor"
    SYSTEM_ADMIN = "system_admin"


class Scope(StrEnum):
    """The level of jurisdiction a role is bound to."""

    NATIONAL = "national"
    DISTRICT = "district"
    STATION = "station"
    BEAT = "beat"


class AgencyKind(StrEnum):
    NPB = "npb"
    NADRA = "nadra"
    POLICE = "police"
    PROSECUTION = "prosecution"
    PRISON = "prison"


# role → (scope, agency kinds allowed, description)
ROLE_TABLE: dict[Role, tuple[Scope, frozenset[AgencyKind], str]] = {
    Role.REGISTRY_ADMIN: (
        Scope.NATIONAL,
        frozenset({AgencyKind.NPB, AgencyKind.NADRA}),
        "NPB register staff: the whole register.",
    ),
    Role.DATA_ENTRY: (
        Scope.DISTRICT,
        frozenset({AgencyKind.PROSECUTION}),
        "Prosecution clerk: enters convictions for the district.",
    ),
    Role.PRISON_OFFICER: (
        Scope.DISTRICT,
        frozenset({AgencyKind.PRISON}),
        "Prison department: records releases in the district.",
    ),
    Role.STATION_OFFICER: (
        Scope.STATION,
        frozenset({AgencyKind.POLICE}),
        "Station officer (SHO's staff): check-ins and notices at the counter.",
    ),
    Role.BEAT_OFFICER: (
        Scope.BEAT,
        frozenset({AgencyKind.POLICE}),
        "Beat officer: verifies addresses assigned to the beat; first step of the alert ladder.",
    ),
    Role.CONTROL_ROOM: (
        Scope.DISTRICT,
        frozenset({AgencyKind.POLICE}),
        "District control room: violations and alerts of the district.",
    ),
    Role.INVESTIGATING_OFFICER: (
        Scope.STATION,
        frozenset({AgencyKind.POLICE}),
        "IO: no direct access; requests records through the DPP.",
    ),
    Role.DISTRICT_PROSECUTOR: (
        Scope.DISTRICT,
        frozenset({AgencyKind.PROSECUTION}),
        "DPP: reviews records requests; no direct access.",
    ),
    Role.AUDITOR: (
        Scope.NATIONAL,
        frozenset({AgencyKind.NPB, AgencyKind.NADRA}),
        "Auditor: read-only on the audit trail.",
    ),
    Role.SYSTEM_ADMIN: (
        Scope.NATIONAL,
        frozenset({AgencyKind.NPB, AgencyKind.NADRA}),
        "System administrator: officers, devices, lockouts; no offender data.",
    ),
}

_R = Role
# permission → roles that hold it. Jurisdiction scoping is applied on top by selectors.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "jurisdiction.read": frozenset(Role),
    "jurisdiction.manage": frozenset({_R.SYSTEM_ADMIN}),
    "officer.manage": frozenset({_R.SYSTEM_ADMIN}),
    "officer.unlock": frozenset({_R.SYSTEM_ADMIN}),
    "device.revoke_any": frozenset({_R.SYSTEM_ADMIN}),
    "audit.read": frozenset({_R.AUDITOR}),
    "offender.read": frozenset(
        {_R.REGISTRY_ADMIN, _R.DATA_ENTRY, _R.STATION_OFFICER, _R.BEAT_OFFICER, _R.CONTROL_ROOM}
    ),
    "offender.create": frozenset({_R.REGISTRY_ADMIN, _R.DATA_ENTRY}),
    "offender.update": frozenset({_R.REGISTRY_ADMIN, _R.DATA_ENTRY}),
    "offender.lookup_cnic": frozenset({_R.REGISTRY_ADMIN, _R.DATA_ENTRY, _R.STATION_OFFICER}),
    "offender.search_name": frozenset({_R.REGISTRY_ADMIN}),
    "offender.release": frozenset({_R.REGISTRY_ADMIN, _R.PRISON_OFFICER}),
    "offender.transition": frozenset({_R.REGISTRY_ADMIN}),
    "offender.import": frozenset({_R.REGISTRY_ADMIN}),
    "notice.file": frozenset({_R.REGISTRY_ADMIN, _R.STATION_OFFICER}),
    "notice.read": frozenset(
        {_R.REGISTRY_ADMIN, _R.DATA_ENTRY, _R.STATION_OFFICER, _R.CONTROL_ROOM}
    ),
    "notice.manage": frozenset({_R.REGISTRY_ADMIN, _R.STATION_OFFICER}),
    # Beat officers are the alert ladder's first step: they read and acknowledge the
    # violations of offenders on their beat (scoped by the offender's beat), never resolve or
    # dismiss them.
    "violation.read": frozenset(
        {_R.REGISTRY_ADMIN, _R.STATION_OFFICER, _R.BEAT_OFFICER, _R.CONTROL_ROOM}
    ),
    "violation.acknowledge": frozenset(
        {_R.REGISTRY_ADMIN, _R.STATION_OFFICER, _R.BEAT_OFFICER, _R.CONTROL_ROOM}
    ),
    "violation.manage": frozenset({_R.REGISTRY_ADMIN, _R.STATION_OFFICER, _R.CONTROL_ROOM}),
    # Field verification (mobile_api)
    "task.work": frozenset({_R.BEAT_OFFICER}),
    "task.read": frozenset({_R.REGISTRY_ADMIN, _R.STATION_OFFICER, _R.CONTROL_ROOM}),
    "task.create": frozenset({_R.STATION_OFFICER, _R.CONTROL_ROOM}),
    "task.reassign": frozenset({_R.STATION_OFFICER}),
    "visit.review": frozenset({_R.STATION_OFFICER}),
    "coverage.read": frozenset({_R.REGISTRY_ADMIN, _R.CONTROL_ROOM}),
    # Check-ins
    "checkin.perform": frozenset({_R.STATION_OFFICER}),
    "checkin.read": frozenset({_R.REGISTRY_ADMIN, _R.STATION_OFFICER, _R.CONTROL_ROOM}),
    # Outbound messages and in-app notifications
    "notification.read": frozenset(Role),
    # Disclosures: the records request (SOP of 22 Aug 2024) and the public SMS check
    "records_request.file": frozenset({_R.INVESTIGATING_OFFICER}),
    "records_request.review": frozenset({_R.DISTRICT_PROSECUTOR}),
    "records_request.answer": frozenset({_R.REGISTRY_ADMIN}),
    "records_request.read": frozenset(
        {_R.INVESTIGATING_OFFICER, _R.DISTRICT_PROSECUTOR, _R.REGISTRY_ADMIN}
    ),
    "sms_check.security_read": frozenset({_R.REGISTRY_ADMIN}),
    "sms_check.security_review": frozenset({_R.REGISTRY_ADMIN}),
    # Geofences: tracking devices (enrolled at release or by the supervising station),
    # gateways (vendor platforms), zones (national layers and a district's own).
    "tracking_device.enrol": frozenset({_R.PRISON_OFFICER, _R.STATION_OFFICER}),
    "tracking_device.read": frozenset(
        {_R.REGISTRY_ADMIN, _R.PRISON_OFFICER, _R.STATION_OFFICER, _R.CONTROL_ROOM}
    ),
    "tracking_device.revoke": frozenset({_R.REGISTRY_ADMIN, _R.STATION_OFFICER}),
    "gateway.manage": frozenset({_R.REGISTRY_ADMIN}),
    "zone.read": frozenset({_R.REGISTRY_ADMIN, _R.CONTROL_ROOM, _R.STATION_OFFICER}),
    "zone.manage": frozenset({_R.REGISTRY_ADMIN, _R.CONTROL_ROOM}),
    # The register talking to the people it concerns (issue 16)
    "receipt.read": frozenset({_R.REGISTRY_ADMIN, _R.STATION_OFFICER}),
    "handover.read": frozenset({_R.REGISTRY_ADMIN, _R.STATION_OFFICER, _R.CONTROL_ROOM}),
    "handover.accept": frozenset({_R.STATION_OFFICER, _R.CONTROL_ROOM}),
    "registration_end.read": frozenset({_R.REGISTRY_ADMIN, _R.CONTROL_ROOM}),
    "registration_end.confirm": frozenset({_R.REGISTRY_ADMIN}),
    "travel.export": frozenset({_R.REGISTRY_ADMIN}),
    # Alerts (compliance owns the lifecycle, push the delivery): a live control-room socket,
    # assigning an alert to an officer, granting the escalation ladder's duties.
    "alert.watch": frozenset({_R.REGISTRY_ADMIN, _R.CONTROL_ROOM}),
    "alert.assign": frozenset({_R.REGISTRY_ADMIN, _R.STATION_OFFICER, _R.CONTROL_ROOM}),
    "alert.duty.grant": frozenset({_R.SYSTEM_ADMIN}),
}


class Duty(StrEnum):
    """A standing duty on the escalation ladder, held on top of a role (an officer row in
    ``compliance.OfficerDuty``, granted and revoked through an audited service)."""

    OFFICER_IN_CHARGE = "officer_in_charge"
    SUPERVISOR = "supervisor"
    NATIONAL_DESK = "national_desk"


# duty → (the role that may hold it, description)
DUTY_TABLE: dict[Duty, tuple[Role, str]] = {
    Duty.OFFICER_IN_CHARGE: (
        Role.STATION_OFFICER,
        "Station officer in charge (SHO): second step of the alert ladder for the station.",
    ),
    Duty.SUPERVISOR: (
        Role.CONTROL_ROOM,
        "Control-room supervisor: third step of the alert ladder for the district.",
    ),
    Duty.NATIONAL_DESK: (
        Role.REGISTRY_ADMIN,
        "NPB national desk: the ladder's top step, for every district.",
    ),
}


class PermissionHolder(Protocol):
    """What a service asks of an actor to check a permission (``accounts.models.Officer``);
    lower apps type their ``actor`` with it instead of importing the model."""

    def has_permission(self, permission: str) -> bool: ...


def role_scope(role: str) -> Scope:
    return ROLE_TABLE[Role(role)][0]


def roles_scoped_to(scope: Scope) -> list[str]:
    """The roles bound to a scope level, in ``ROLE_TABLE`` order (the Officer constraints)."""
    return [role.value for role, (role_level, _, _) in ROLE_TABLE.items() if role_level == scope]


def role_has_permission(role: str, permission: str) -> bool:
    """True when the role holds the permission; unknown permissions are a programming error."""
    return Role(role) in PERMISSIONS[permission]


def roles_with(permission: str) -> frozenset[Role]:
    """The roles holding a permission (who to notify, not who may see: that is scoping)."""
    return PERMISSIONS[permission]


def render_markdown() -> str:
    """The permission table as Markdown, for the docs."""
    roles = list(Role)
    lines = [
        "# Roles and permissions",
        "",
        "Generated from `accounts/roles.py` by `python manage.py render_permissions`; "
        "do not edit by hand.",
        "Jurisdiction scoping applies on top: an object outside the caller's scope answers 404.",
        "",
        "| role | scope | agencies | what for |",
        "|---|---|---|---|",
    ]
    for role in roles:
        scope, agencies, text = ROLE_TABLE[role]
        lines.append(f"| `{role}` | {scope} | {', '.join(sorted(agencies))} | {text} |")
    lines += ["", "| permission | " + " | ".join(f"`{r}`" for r in roles) + " |"]
    lines.append("|---|" + "---|" * len(roles))
    for perm, holders in PERMISSIONS.items():
        marks = " | ".join("✔" if r in holders else "" for r in roles)
        lines.append(f"| `{perm}` | {marks} |")
    lines += [
        "",
        "Escalation-ladder duties (granted to an officer of the role, by `alert.duty.grant`):",
        "",
        "| duty | role | what for |",
        "|---|---|---|",
    ]
    for duty, (role, text) in DUTY_TABLE.items():
        lines.append(f"| `{duty}` | `{role}` | {text} |")
    return "\n".join(lines) + "\n"
