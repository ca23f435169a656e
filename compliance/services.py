"""Writes of violations: the one idempotent way every workflow raises a breach, and the status
machine officers move it through."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from accounts.models import Officer
from audit.models import AuditAction
from audit.services import audit_record, audit_record_many
from common.exceptions import Conflict, Forbidden
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
    insert: the insert skips a row the constraint refuses (``ON CONFLICT DO NOTHING``), and
    when a concurrent or earlier raise already made it, the existing row is returned. Only the
    raise that created the row audits it and starts its alert (step 1 told, stream events, the
    delivery job), in the caller's transaction, so a rolled-back workflow leaves neither
    violation nor alert behind.

    A repeat of an open episode (same offender and kind while an earlier one is open or
    acknowledged) is still its own violation row, but joins that episode (``episode``) and
    updates its alert instead of starting a second ladder.

    Routing: ``occurred_district_id`` (or the district covering ``lon``/``lat``) is the
    district where it happened; its control room is told too when it is not the offender's.

    ``summary`` is shown to officers and logged: it must not hold names, CNIC or phone numbers.

    One raise is a batch of one (``violations_raise_many``): the rules live there, once.
    """
    ((violation, created),) = violations_raise_many(
        [
            ViolationRaise(
                offender=offender,
                kind=kind,
                severity=severity,
                occurred_at=occurred_at,
                cause=cause,
                cause_key=cause_key,
                lon=lon,
                lat=lat,
                summary=summary,
                detected_at=detected_at,
                occurred_district_id=occurred_district_id,
            )
        ]
    )
    return violation, created


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
    occurred_district_id: int | None = None


Identity = tuple[str, int, str, str]  # kind, cause type id, cause id, cause key


def violations_raise_many(raises: Sequence[ViolationRaise]) -> list[tuple[Violation, bool]]:
    """``violation_raise`` for many breaches at once (the ping ingest raises a batch's), with a
    handful of statements whatever their number.

    Every item is validated before anything is written, so one bad item writes nothing. Then,
    in the caller's transaction: one look-up of the causes already raised; one lock of the
    open episodes the rest join (``FOR UPDATE``, in id order); one ``INSERT … ON CONFLICT DO
    NOTHING`` of the episodes' first violations and of the repeats of episodes already open,
    and one of the repeats of episodes opened by this batch (the first item of an offender
    and kind with no open episode opens it, the later ones join it, as one call per item in
    order would do). A row the constraints refused (a concurrent raise made the cause, or
    opened the episode, between our look and our insert) is tried once more from the
    look-up, as it would be alone. Then the new alerts start together (step 1 told, one
    delivery job each), the joined ones are updated, and the new rows are audited in one
    append. Returns one pair per item, in order (a cause already raised, earlier or twice in
    ``raises``, is returned with ``created`` False).
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
    now = timezone.now()
    identities = [_identity(item) for item in raises]
    first_of: dict[Identity, int] = {}
    for n, identity in enumerate(identities):
        first_of.setdefault(identity, n)
    out: dict[int, tuple[Violation, bool]] = {}
    located: list[int] = []
    points: list[tuple[float, float]] = []
    for n in sorted(first_of.values()):
        item = raises[n]
        if item.occurred_district_id is None and item.lon is not None and item.lat is not None:
            located.append(n)
            points.append((item.lon, item.lat))
    district_at = dict(zip(located, _district_ids_at(points), strict=True))
    configs: dict[int, alerts.AlertConfig] = {}
    # One append of stream events (raised, then repeated) for the batch: see
    # alerts.alert_events_held. No savepoint inside a caller's transaction (two round trips
    # on the ping → control-room path): nothing here catches an error to carry on, and a
    # caller that did would find its transaction marked for rollback rather than half a raise.
    with transaction.atomic(savepoint=False), alerts.alert_events_held():
        pending = {
            n: _violation_row(raises[n], occurred_district_id=district_at.get(n), now=now)
            for n in sorted(first_of.values())
        }
        for _ in range(2):
            for identity, violation in _violations_of([identities[n] for n in pending]).items():
                out[first_of[identity]] = (violation, False)
            pending = {n: row for n, row in pending.items() if n not in out}
            if not pending:
                break
            heads = _episode_heads({(row.offender_id, row.kind) for row in pending.values()})
            pending = _violations_insert(pending, heads=heads, out=out, configs=configs, now=now)
            if not pending:
                break
        if pending:
            raise IntegrityError("could not open or join the violation's episode")
        made = [(n, out[n][0]) for n in sorted(out) if out[n][1]]
        started = [violation for _, violation in made if violation.episode_id is None]
        alerts.alert_start_many(started, now=now, configs=configs)
        if started:
            jobs: list[dict[str, Any]] = [{"violation_id": v.pk} for v in started]
            deliver_violation_alert.batch_defer(*jobs)
        alerts.alert_repeat_many(
            [violation.episode for _, violation in made if violation.episode is not None],
            now=now,
        )
        audit_record_many(
            [
                {
                    "actor": None,
                    "action": AuditAction.CREATE,
                    "object_type": "violation",
                    "object_id": violation.pk,
                    "details": {
                        "kind": violation.kind,
                        "severity": violation.severity,
                        "offender_id": violation.offender_id,
                        "cause_type": violation.cause_type.model,
                        "cause_id": violation.cause_id,
                        "cause_key": violation.cause_key,
                        "episode": violation.episode_id,
                    },
                }
                for _, violation in made
            ]
        )
    return [
        (out[first_of[identity]][0], out[first_of[identity]][1] and first_of[identity] == n)
        for n, identity in enumerate(identities)
    ]


def _identity(item: ViolationRaise) -> Identity:
    cause_type = ContentType.objects.get_for_model(item.cause)
    return (item.kind, cause_type.pk, str(item.cause.pk), item.cause_key)


def _violation_row(
    item: ViolationRaise, *, occurred_district_id: int | None, now: datetime
) -> Violation:
    """The unsaved row of one breach: routed (the district where it happened — given, or the
    one covering its point — when it is not the offender's) and placed in its offender's
    current supervision."""
    occurred_district_id = item.occurred_district_id or occurred_district_id
    if occurred_district_id == item.offender.district_id:
        occurred_district_id = None
    return Violation(
        kind=item.kind,
        cause_type=ContentType.objects.get_for_model(item.cause),
        cause_id=str(item.cause.pk),
        cause_key=item.cause_key,
        offender=item.offender,
        severity=item.severity,
        occurred_at=item.occurred_at,
        detected_at=item.detected_at or now,
        lon=item.lon,
        lat=item.lat,
        district_id=item.offender.district_id,
        station_id=item.offender.station_id,
        occurred_district_id=occurred_district_id,
        summary=item.summary,
    )


def _row_identity(violation: Violation) -> Identity:
    return (violation.kind, violation.cause_type_id, violation.cause_id, violation.cause_key)


_CAUSES_RAISED = """
SELECT v.id FROM compliance_violation v
JOIN unnest(%s::varchar[], %s::integer[], %s::varchar[], %s::varchar[])
    AS c(kind, cause_type_id, cause_id, cause_key)
  ON v.kind = c.kind AND v.cause_type_id = c.cause_type_id AND v.cause_id = c.cause_id
 AND v.cause_key = c.cause_key
"""


def _violations_of(identities: list[Identity]) -> dict[Identity, Violation]:
    """The violations already raised for these causes (one indexed look-up)."""
    with connection.cursor() as cursor:
        cursor.execute(_CAUSES_RAISED, [list(column) for column in zip(*identities, strict=True)])
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return {}
    return {_row_identity(v): v for v in Violation.objects.filter(pk__in=ids)}


_OPEN_HEADS = """
SELECT v.id FROM compliance_violation v
JOIN unnest(%s::bigint[], %s::varchar[]) AS h(offender_id, kind)
  ON v.offender_id = h.offender_id AND v.kind = h.kind
WHERE v.episode_id IS NULL AND v.status = ANY(%s)
ORDER BY v.id FOR UPDATE OF v
"""


def _episode_heads(keys: set[tuple[int, str]]) -> dict[tuple[int, str], Violation | None]:
    """Lock the open episode (its first violation) of each (offender, kind), in id order so
    two raising transactions never deadlock on them; None where none is open."""
    ordered = sorted(keys)
    with connection.cursor() as cursor:
        cursor.execute(
            _OPEN_HEADS,
            [
                [offender_id for offender_id, _ in ordered],
                [kind for _, kind in ordered],
                [ViolationStatus.OPEN.value, ViolationStatus.ACKNOWLEDGED.value],
            ],
        )
        ids = [row[0] for row in cursor.fetchall()]
    heads: dict[tuple[int, str], Violation | None] = dict.fromkeys(ordered)
    if ids:
        for head in Violation.objects.filter(pk__in=ids):
            heads[(head.offender_id, head.kind)] = head
    return heads


def _violations_insert(
    pending: dict[int, Violation],
    *,
    heads: dict[tuple[int, str], Violation | None],
    out: dict[int, tuple[Violation, bool]],
    configs: dict[int, alerts.AlertConfig],
    now: datetime,
) -> dict[int, Violation]:
    """Insert the pending rows in two statements (the episodes' first violations and the
    repeats of episodes already open, then the repeats of the episodes just opened); the
    inserted go to ``out`` and ``heads``, the refused are returned to be tried again.

    A row that opens an episode is inserted with its alert's ladder columns already set, so
    no UPDATE follows; the policies and ladders they need are read once into ``configs``
    (one query, only when a row opens one)."""
    first: dict[int, Violation] = {}
    joining_new: dict[int, Violation] = {}
    opening: set[tuple[int, str]] = set()
    for n, row in pending.items():
        key = (row.offender_id, row.kind)
        head = heads.get(key)
        if head is None and key in opening:
            joining_new[n] = row
        else:
            row.episode = head
            first[n] = row
            if head is None:
                opening.add(key)
    openers = {n for n, row in first.items() if row.episode is None}
    unread = {pending[n].severity for n in openers} - set(configs)
    if unread:
        configs.update(alerts.alert_configs(unread))
    for n, row in pending.items():
        if n in openers:
            alerts.alert_start_columns(row, config=configs.get(row.severity), now=now)
        else:
            # A row refused as an opener may come back here as a repeat.
            alerts.alert_unstarted_columns(row)
    for n in _rows_insert(first):
        out[n] = (first[n], True)
        if first[n].episode is None:
            heads[(first[n].offender_id, first[n].kind)] = first[n]
    ready = {}
    for n, row in joining_new.items():
        row.episode = heads.get((row.offender_id, row.kind))
        if row.episode is not None:
            ready[n] = row
    for n in _rows_insert(ready):
        out[n] = (ready[n], True)
    return {n: row for n, row in pending.items() if n not in out}


_INSERT_CHUNK = 1000  # rows per statement: PostgreSQL takes at most 65,535 parameters


def _rows_insert(rows: dict[int, Violation]) -> list[int]:
    """``INSERT … ON CONFLICT DO NOTHING`` of unsaved violations: the keys of the rows
    inserted (their ``pk`` set). Built from the model's fields, so every default and
    ``auto_now_add`` applies as in ``create``."""
    fields = [f for f in Violation._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    keys = list(rows)
    inserted = []
    for start in range(0, len(keys), _INSERT_CHUNK):
        chunk = {n: rows[n] for n in keys[start : start + _INSERT_CHUNK]}
        by_identity = {_row_identity(row): n for n, row in chunk.items()}
        params: list[Any] = []
        for row in chunk.values():
            params.extend(f.get_db_prep_save(f.pre_save(row, add=True), connection) for f in fields)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Violation._meta.db_table} ({columns}) "  # noqa: S608 - names from the model
                f"VALUES {', '.join([placeholders] * len(chunk))} ON CONFLICT DO NOTHING "
                "RETURNING id, kind, cause_type_id, cause_id, cause_key",
                params,
            )
            for pk, *identity in cursor.fetchall():
                n = by_identity[tuple(identity)]
                rows[n].pk = pk
                rows[n]._state.adding = False
                rows[n]._state.db = connection.alias
                inserted.append(n)
    return inserted


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


def _district_ids_at(points: list[tuple[float, float]]) -> list[int | None]:
    from jurisdictions.resolve import district_ids_at

    return district_ids_at(points)


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
    """The officer has seen the violation and is acting on it. ``violation.acknowledge``,
    not ``violation.manage``: the ladder's first step (beat officers) owns an alert by
    acknowledging it, but leaves resolving and dismissing to the station and control room."""
    return _violation_transition(
        actor=actor,
        violation_id=violation_id,
        to_status=ViolationStatus.ACKNOWLEDGED,
        reason=reason,
        permission="violation.acknowledge",
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
    permission: str = "violation.manage",
) -> Violation:
    if not actor.has_permission(permission):
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


def violation_assign(
    *, actor: Officer, violation_id: int, officer_id: int | None = None
) -> Violation:
    """Give an open alert to an officer who can see it (``officer_id``; the actor when None);
    the officer is told at once. Any other officer, inactive or unknown alike, is a field
    error on ``officer``: the caller can see the alert, and the picker lists who may take it
    (``selectors.violation_assignees``, the same rule)."""
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
        eligible = selectors.violation_assignees(
            violation=violation, officer_id=actor.pk if officer_id is None else officer_id
        )
        if not eligible:
            raise ValidationError({"officer": ["Not an active officer who may take this alert."]})
        alerts.alert_assign(
            actor=actor, violation=violation, assignee=eligible[0], now=timezone.now()
        )
    return violation
