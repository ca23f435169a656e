"""Reads of violations, already limited to what the actor may see.

A violation belongs to the district (and station) that supervised the offender when it was
raised; that snapshot, not the offender's current address, decides who sees it, so a later
transfer does not move old breaches to the new district's control room.
"""

from datetime import datetime

from django.db.models import QuerySet

from accounts.models import Officer
from accounts.scoping import jurisdiction_q
from common.exceptions import NotFound
from compliance.models import Violation
from registry.models import Offender


def violation_queryset_for(*, actor: Officer) -> QuerySet[Violation]:
    """Registry admins see every violation, a control room its district's, a station officer
    its station's; every other role none."""
    return Violation.objects.filter(
        jurisdiction_q(
            actor, district="district_id", station="station_id", permission="violation.read"
        )
    )


def violation_list(
    *,
    actor: Officer,
    status: str | None = None,
    kind: str | None = None,
    severity_min: int | None = None,
    offender_id: int | None = None,
    since: datetime | None = None,
) -> QuerySet[Violation]:
    """Violations the actor may see, newest first, with what a list row shows joined in."""
    violations = violation_queryset_for(actor=actor).select_related(
        "district", "station", "cause_type", "status_changed_by"
    )
    if status:
        violations = violations.filter(status=status)
    if kind:
        violations = violations.filter(kind=kind)
    if severity_min is not None:
        violations = violations.filter(severity__gte=severity_min)
    if offender_id is not None:
        violations = violations.filter(offender_id=offender_id)
    if since is not None:
        violations = violations.filter(detected_at__gte=since)
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


def violation_timeline_entries(*, offender: Offender, actor: Officer) -> list[dict]:
    """The offender's violations as timeline entries (the ``timeline_entries`` hook): only
    those ``actor`` may read (``violation.read`` in the jurisdiction the violation was raised
    in); reading the record is not reading its violations."""
    visible = jurisdiction_q(
        actor, district="district", station="station", permission="violation.read"
    )
    rows = Violation.objects.filter(visible, offender_id=offender.pk).values_list(
        "id", "kind", "severity", "status", "detected_at", "summary"
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
