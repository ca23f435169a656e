"""Reads of violations, already limited to what the actor may see.

A violation belongs to the district (and station) that supervised the offender when it was
raised; that snapshot, not the offender's current address, decides who sees it, so a later
transfer does not move old breaches to the new district's control room. Beat officers are the
exception: they are the ladder's first step for the offender's *current* beat
(``compliance.alerts._recipients``), so they see the violations of the offenders on their beat
now — who is told of an alert can read it.
"""

from datetime import datetime

from django.db.models import Exists, Q, QuerySet
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import Role, Scope, role_scope
from accounts.scoping import jurisdiction_q
from common.exceptions import NotFound
from compliance.models import Violation, ViolationStatus
from registry.models import Offender


def _scope_q(actor: Officer) -> Q:
    """The supervising district's (or station's) officers see a violation, and so does the
    control room of the district where it happened (routing: a travel breach concerns both);
    a beat officer sees those of the offenders on its beat."""
    supervising = jurisdiction_q(
        actor,
        district="district_id",
        station="station_id",
        beat="offender__beat_id",
        permission="violation.read",
    )
    happened = jurisdiction_q(actor, district="occurred_district_id", permission="violation.read")
    return supervising | happened


def violation_queryset_for(*, actor: Officer) -> QuerySet[Violation]:
    """Registry admins see every violation, a control room its district's (supervised there or
    happened there), a station officer its station's, a beat officer its beat's offenders';
    every other role none."""
    return Violation.objects.filter(_scope_q(actor))


def violation_list(
    *,
    actor: Officer,
    status: str | None = None,
    kind: str | None = None,
    severity_min: int | None = None,
    severity: int | None = None,
    offender_id: int | None = None,
    since: datetime | None = None,
    open_only: bool = False,
    unacknowledged: bool = False,
    overdue: bool = False,
    escalated: bool = False,
    assigned_to_me: bool = False,
    district: str | None = None,
    now: datetime | None = None,
) -> QuerySet[Violation]:
    """Violations the actor may see, newest first, with what a list row shows joined in.

    The control room's filters: ``open_only`` (open or acknowledged), ``unacknowledged``
    (open), ``overdue`` (open past its acknowledgement deadline, or acknowledged past its
    resolution deadline), ``escalated`` (beyond the ladder's first step), ``assigned_to_me``,
    ``district`` (a code: the alerts routed to that district's control room, i.e. supervised
    or happened there; it narrows the actor's scope, never widens it).
    The alert filters (unacknowledged, overdue, escalated) match alerts, i.e. an episode's
    first violation, not its repeats.
    """
    violations = violation_queryset_for(actor=actor).select_related(
        "district", "station", "cause_type", "status_changed_by", "assigned_to", "occurred_district"
    )
    if status:
        violations = violations.filter(status=status)
    if kind:
        violations = violations.filter(kind=kind)
    if severity_min is not None:
        violations = violations.filter(severity__gte=severity_min)
    if severity is not None:
        violations = violations.filter(severity=severity)
    if offender_id is not None:
        violations = violations.filter(offender_id=offender_id)
    if since is not None:
        violations = violations.filter(detected_at__gte=since)
    if open_only:
        violations = violations.filter(
            status__in=[ViolationStatus.OPEN, ViolationStatus.ACKNOWLEDGED]
        )
    if unacknowledged:
        violations = violations.filter(status=ViolationStatus.OPEN, episode__isnull=True)
    if overdue:
        moment = now or timezone.now()
        violations = violations.filter(
            Q(status=ViolationStatus.OPEN, ack_due_at__lt=moment)
            | Q(status=ViolationStatus.ACKNOWLEDGED, resolve_due_at__lt=moment),
            episode__isnull=True,
        )
    if escalated:
        violations = violations.filter(escalation_level__gt=1, episode__isnull=True)
    if assigned_to_me:
        violations = violations.filter(assigned_to_id=actor.pk)
    if district:
        violations = violations.filter(
            Q(district__code=district) | Q(occurred_district__code=district)
        )
    return violations


def violation_get(*, actor: Officer, violation_id: int) -> Violation:
    """One violation, or 404 when it is missing or outside the actor's jurisdiction."""
    violation = (
        violation_list(actor=actor)
        .prefetch_related("status_changes__actor")
        .filter(pk=violation_id)
        .first()
    )
    if violation is None:
        raise NotFound()
    return violation


_NATIONAL_ROLES = [role.value for role in Role if role_scope(role) == Scope.NATIONAL]


def violation_assignees(*, violation: Violation, officer_id: int | None = None) -> list[Officer]:
    """The officers an alert may be given to (only ``officer_id``, when given), by name: active
    officers who may read it, decided by each one's own ``violation_queryset_for`` (the one
    scoping rule; an assignee who could not open the alert could not act on it).

    Set-based: the candidates are the officers of the alert's districts (supervising and where
    it happened, at any level below) and the national roles, a superset; officers sharing a
    role and a jurisdiction see the same alerts, so each distinct jurisdiction is asked once,
    all in one query of ``EXISTS`` subqueries.
    """
    districts = {violation.district_id, violation.occurred_district_id} - {None}
    candidates = (
        Officer.objects.filter(is_active=True)
        .filter(
            Q(district_id__in=districts)
            | Q(station__district_id__in=districts)
            | Q(beat__station__district_id__in=districts)
            | Q(role__in=_NATIONAL_ROLES)
        )
        .select_related("station")
        .order_by("full_name", "pk")
    )
    if officer_id is not None:
        candidates = candidates.filter(pk=officer_id)
    officers = list(candidates)
    jurisdictions: dict[tuple, Officer] = {}
    for officer in officers:
        key = (officer.role, officer.district_id, officer.station_id, officer.beat_id)
        jurisdictions.setdefault(key, officer)
    if not jurisdictions:
        return []
    probes = {
        f"j{n}": Exists(violation_queryset_for(actor=sample).filter(pk=violation.pk))
        for n, sample in enumerate(jurisdictions.values())
    }
    row = Violation.objects.filter(pk=violation.pk).values(**probes).first() or {}
    allowed = {
        key for (key, _), name in zip(jurisdictions.items(), probes, strict=True) if row.get(name)
    }
    return [
        officer
        for officer in officers
        if (officer.role, officer.district_id, officer.station_id, officer.beat_id) in allowed
    ]


def violation_timeline_entries(*, offender: Offender, actor: Officer) -> list[dict]:
    """The offender's violations as timeline entries (the ``timeline_entries`` hook): only
    those ``actor`` may read, by the very scope of ``GET /violations/`` (reading the record is
    not reading its violations)."""
    rows = (
        violation_queryset_for(actor=actor)
        .filter(offender_id=offender.pk)
        .values_list("id", "kind", "severity", "status", "detected_at", "summary")
    )
    return [
        {
            "at": detected_at,
            "kind": "violation",
            "summary": f"{kind} ({status}, severity {severity}): {summary}",
            "object_type": "violation",
            "object_id": violation_id,
        }
        for violation_id, kind, severity, status, detected_at, summary in rows
    ]
