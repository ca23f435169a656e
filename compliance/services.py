"""Writes of violations: the one idempotent way every workflow raises a breach, and the status
machine officers move it through."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.models import Officer
from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import Conflict, Forbidden, NotFound
from compliance import alerts, selectors
from compliance.jobs import deliver_violation_alert
from compliance.models import (
    Severity,
    Violation,
    ViolationKind,
    ViolationStatus,
    ViolationStatusChange,
)
from registry.models import NoticeKind, Offender

# from-status → the statuses an officer may move a violation to. Resolved and dismissed are final.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    ViolationStatus.OPEN: frozenset(
        {ViolationStatus.ACKNOWLEDGED, ViolationStatus.RESOLVED, ViolationStatus.DISMISSED}
    ),
    ViolationStatus.ACKNOWLEDGED: frozenset({ViolationStatus.RESOLVED, ViolationStatus.DISMISSED}),
    ViolationStatus.RESOLVED: frozenset(),
    ViolationStatus.DISMISSED: frozenset(),
}


def violation_raise(
    *,
    offender: Offender,
    kind: str,
    severity: int,
    occurred_at: datetime,
    cause: models.Model,
    cause_key: str = "",
    lon: float | None = None,
    lat: float | None = None,
    summary: str,
    detected_at: datetime | None = None,
    occurred_district_id: int | None = None,
) -> tuple[Violation, bool]:
    """Raise a violation for ``cause`` once: returns ``(violation, created)``.

    Idempotency rests on the ``violation_unique_cause`` constraint, not on a check before the
    insert: the insert runs in a savepoint, and when a concurrent or earlier raise already made
    the row, the unique violation rolls the savepoint back and the existing row is returned.
    Only the raise that created the row audits it and starts its alert (step 1 told, stream
    events, the delivery job), in the caller's transaction, so a rolled-back workflow leaves
    neither violation nor alert behind.

    A repeat of an open episode (same offender and kind while an earlier one is open or
    acknowledged) is still its own violation row, but joins that episode (``episode``) and
    updates its alert instead of starting a second ladder.

    Routing: ``occurred_district_id`` (or the district covering ``lon``/``lat``) is the
    district where it happened; its control room is told too when it is not the offender's.

    ``summary`` is shown to officers and logged: it must not hold names, CNIC or phone numbers.
    """
    _validate_raise(kind=kind, severity=severity, lon=lon, lat=lat, summary=summary)
    cause_type = ContentType.objects.get_for_model(cause)
    cause_id = str(cause.pk)
    identity = {
        "kind": kind,
        "cause_type": cause_type,
        "cause_id": cause_id,
        "cause_key": cause_key,
    }
    if occurred_district_id is None and lon is not None and lat is not None:
        occurred_district_id = _district_at(lon=lon, lat=lat)
    if occurred_district_id == offender.district_id:
        occurred_district_id = None
    now = timezone.now()
    fields = {
        **identity,
        "offender": offender,
        "severity": severity,
        "occurred_at": occurred_at,
        "detected_at": detected_at or now,
        "lon": lon,
        "lat": lat,
        "district_id": offender.district_id,
        "station_id": offender.station_id,
        "occurred_district_id": occurred_district_id,
        "summary": summary,
    }
    # No savepoint of its own (two round trips per raise): the insert below has one, for the
    # duplicate it expects; any other failure fails the caller's transaction, as it must.
    with transaction.atomic(savepoint=False):
        existing = Violation.objects.filter(**identity).first()
        if existing is not None:
            return existing, False
        setup: alerts.AlertSetup | None = None
        # Two tries: a concurrent raise may open the episode between our look and our insert
        # (the violation_one_open_episode constraint refuses the second head); we then join it.
        for _ in range(2):
            head = (
                Violation.objects.select_for_update()
                .filter(
                    offender=offender,
                    kind=kind,
                    episode__isnull=True,
                    status__in=[ViolationStatus.OPEN, ViolationStatus.ACKNOWLEDGED],
                )
                .first()
            )
            start: dict[str, Any] = {}
            if head is None:
                # A new alert: its ladder columns go in with the insert.
                setup = setup or alerts.alert_setup(severity)
                start = alerts.alert_start_fields(setup, now=now)
            try:
                with transaction.atomic():
                    violation = Violation.objects.create(**fields, **start, episode=head)
                break
            except IntegrityError:
                existing = Violation.objects.filter(**identity).first()
                if existing is not None:
                    return existing, False
                if head is not None:
                    raise  # not the cause, not the episode: a real error
        else:
            raise IntegrityError("could not open or join the violation's episode")
        if head is None:
            alerts.alert_start(violation, now=now, setup=setup)
            deliver_violation_alert.defer(violation_id=violation.pk)
        else:
            alerts.alert_repeat(head, now=now)
        audit_record(
            actor=None,
            action=AuditAction.CREATE,
            object_type="violation",
            object_id=violation.pk,
            details={
                "kind": kind,
                "severity": severity,
                "offender_id": offender.pk,
                "cause_type": cause_type.model,
                "cause_id": cause_id,
                "cause_key": cause_key,
                "episode": head.pk if head else None,
            },
        )
    return violation, True


@dataclass(frozen=True)
class ViolationRaise:
    """One breach for ``violations_raise_many``: the arguments of ``violation_raise``."""

    offender: Offender
    kind: str
    severity: int
    occurred_at: datetime
    cause: models.Model
    summary: str
    cause_key: str = ""
    lon: float | None = None
    lat: float | None = None
    detected_at: datetime | None = None


def violations_raise_many(raises: Sequence[ViolationRaise]) -> list[tuple[Violation, bool]]:
    """``violation_raise`` for many breaches at once (the ping ingest raises a batch's).

    Every item is validated before anything is written, so one bad item writes nothing; then
    each goes through ``violation_raise`` in the caller's transaction, because a raise is more
    than an insert: it opens or joins its episode, routes to the district where it happened and
    starts (or updates) its alert and ladder — one rule, one place. Returns one pair per item,
    in order (a cause already raised, earlier or twice in ``raises``, is returned with
    ``created`` False).
    """
    if not raises:
        return []
    for item in raises:
        _validate_raise(
            kind=item.kind,
            severity=item.severity,
            lon=item.lon,
            lat=item.lat,
            summary=item.summary,
        )
    # The raises' stream events go in at the end, in district order (alert_events_batched).
    with transaction.atomic(savepoint=False), alerts.alert_events_batched():
        return [
            violation_raise(
                offender=item.offender,
                kind=item.kind,
                severity=item.severity,
                occurred_at=item.occurred_at,
                cause=item.cause,
                cause_key=item.cause_key,
                lon=item.lon,
                lat=item.lat,
                summary=item.summary,
                detected_at=item.detected_at,
            )
            for item in raises
        ]


def violation_end(*, violation: Violation, ended_at: datetime, reason: str = "") -> bool:
    """The system saw the breach stop (an episode closed, a silent tag reported again).

    Sets ``ended_at`` once with a conditional UPDATE, so two processes ending the same
    violation at once audit it once; returns whether this call ended it. The officers' status
    (open, acknowledged…) is left alone: an ended breach still needs someone to look at it.
    ``reason`` is a short machine word (``left_zone``, ``pings_resumed``), never free text.
    """
    if ended_at < violation.occurred_at:
        raise ValidationError({"ended_at": ["A violation cannot end before it occurred."]})
    with transaction.atomic():
        won = (
            Violation.objects.filter(pk=violation.pk, ended_at__isnull=True).update(
                ended_at=ended_at
            )
            == 1
        )
        if not won:
            return False
        violation.ended_at = ended_at
        audit_record(
            actor=None,
            action=AuditAction.UPDATE,
            object_type="violation",
            object_id=violation.pk,
            details={"ended_at": ended_at.isoformat(), "reason": reason},
        )
        alerts.alert_ended(violation)
    return True


def late_notice_violation_raise(*, notice: Any, actor: Officer | None = None) -> Violation:
    """Handler of the register's ``notice_late`` hook: one ``late_notice`` violation per notice.

    The breach happened when the deadline day ended (Pakistan time, the legal day), not when the
    notice was finally filed. A late international-travel notice weighs more than a late change
    notice: it may mean the offender is already abroad.
    """
    deadline_passed = datetime.combine(
        notice.deadline + timedelta(days=1), time.min, tzinfo=timezone.get_default_timezone()
    )
    days_late = max((timezone.localtime(notice.filed_at).date() - notice.deadline).days, 1)
    severity = Severity.MEDIUM if notice.kind == NoticeKind.INTERNATIONAL_TRAVEL else Severity.LOW
    violation, _ = violation_raise(
        offender=notice.offender,
        kind=ViolationKind.LATE_NOTICE,
        severity=severity,
        occurred_at=min(deadline_passed, notice.filed_at),
        cause=notice,
        summary=f"{notice.kind} notice #{notice.pk} filed {days_late} day(s) after its deadline",
    )
    return violation


def _district_at(*, lon: float, lat: float) -> int | None:
    from jurisdictions.resolve import jurisdiction_resolve

    district = jurisdiction_resolve(lon=lon, lat=lat).district
    return district.pk if district else None


def _validate_raise(
    *, kind: str, severity: int, lon: float | None, lat: float | None, summary: str
) -> None:
    errors: dict[str, list[str]] = {}
    if kind not in ViolationKind.values:
        errors["kind"] = ["Unknown violation kind."]
    if severity not in Severity.values:
        errors["severity"] = ["Unknown severity."]
    if (lon is None) != (lat is None):
        errors["lon"] = ["Give both lon and lat, or neither."]
    if not summary.strip():
        errors["summary"] = ["A summary is required."]
    if errors:
        raise ValidationError(errors)


def violation_acknowledge(*, actor: Officer, violation_id: int, reason: str = "") -> Violation:
    """The officer has seen the violation and is acting on it."""
    return _violation_transition(
        actor=actor,
        violation_id=violation_id,
        to_status=ViolationStatus.ACKNOWLEDGED,
        reason=reason,
    )


def violation_resolve(*, actor: Officer, violation_id: int, reason: str) -> Violation:
    """The breach was dealt with; ``reason`` says how."""
    return _violation_transition(
        actor=actor,
        violation_id=violation_id,
        to_status=ViolationStatus.RESOLVED,
        reason=reason,
        reason_required=True,
    )


def violation_dismiss(*, actor: Officer, violation_id: int, reason: str) -> Violation:
    """Not a breach after all (false alarm, data error); ``reason`` says why."""
    return _violation_transition(
        actor=actor,
        violation_id=violation_id,
        to_status=ViolationStatus.DISMISSED,
        reason=reason,
        reason_required=True,
    )


def _violation_transition(
    *,
    actor: Officer,
    violation_id: int,
    to_status: str,
    reason: str,
    reason_required: bool = False,
) -> Violation:
    if not actor.has_permission("violation.manage"):
        raise Forbidden("You may not change violations.")
    reason = reason.strip()
    if reason_required and not reason:
        raise ValidationError({"reason": ["A reason is required."]})
    with transaction.atomic():
        violation = selectors.violation_get(actor=actor, violation_id=violation_id)
        from_status = violation.status
        if to_status not in ALLOWED_TRANSITIONS[from_status]:
            raise Conflict(
                f"A violation that is {from_status} cannot become {to_status}.",
                code="invalid_transition",
                extra={"status": from_status},
            )
        now = timezone.now()
        # Conditional update instead of a lock: of two officers acting on the same violation at
        # once, only the one whose UPDATE still finds the status it read wins.
        changes: dict[str, Any] = {
            "status": to_status,
            "status_changed_at": now,
            "status_changed_by": actor,
            "status_reason": reason,
        }
        won = Violation.objects.filter(pk=violation.pk, status=from_status).update(**changes) == 1
        if not won:
            raise Conflict(
                "Someone else changed this violation first; reload it.",
                code="concurrent_update",
            )
        ViolationStatusChange.objects.create(
            violation=violation,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            reason=reason,
            changed_at=now,
        )
        # The reason is free text and may name people: it stays on the row, not in the audit.
        audit_record(
            actor=actor,
            action=AuditAction.TRANSITION,
            object_type="violation",
            object_id=violation.pk,
            details={"from": from_status, "to": to_status, "has_reason": bool(reason)},
        )
        for field, value in changes.items():
            setattr(violation, field, value)
        if violation.episode_id is None:
            if to_status == ViolationStatus.ACKNOWLEDGED:
                alerts.alert_acknowledged(violation, now=now)
            else:
                alerts.alert_closed(violation, actor=actor, now=now)
    return violation


def violation_assign(*, actor: Officer, violation_id: int, officer_id: int) -> Violation:
    """Give an open alert to an officer who can see it; the officer is told at once."""
    if not actor.has_permission("alert.assign"):
        raise Forbidden("You may not assign alerts.")
    with transaction.atomic():
        violation = selectors.violation_get(actor=actor, violation_id=violation_id)
        if violation.status not in (ViolationStatus.OPEN, ViolationStatus.ACKNOWLEDGED):
            raise Conflict(
                f"A violation that is {violation.status} cannot be assigned.",
                code="invalid_transition",
                extra={"status": violation.status},
            )
        if violation.episode_id is not None:
            raise Conflict(
                f"This violation is part of alert #{violation.episode_id}: assign that.",
                code="part_of_episode",
                extra={"episode": violation.episode_id},
            )
        assignee = Officer.objects.filter(pk=officer_id, is_active=True).first()
        if assignee is None:
            raise NotFound("No such officer.", fields={"officer": ["not found"]})
        alerts.alert_assign(actor=actor, violation=violation, assignee=assignee, now=timezone.now())
    return violation
