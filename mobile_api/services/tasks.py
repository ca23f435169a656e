"""Writes of verification tasks: from the register's hooks, the daily schedule and station
staff (ad hoc, reassignment).

Every change to a task bumps its ``version`` and writes a ``TaskChange`` row for each beat
whose list it touches, in the same transaction (``task_changes_log``; delta sync in
``selectors``). The hooks run once per offender of a bulk import, so they are plain SQL of one
or two statements and add no audit event of their own (the register audits the change that
called them).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Officer
from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import Conflict, Forbidden, NotFound
from jurisdictions.models import Beat
from mobile_api import selectors
from mobile_api.models import (
    Priority,
    TaskChange,
    TaskKind,
    TaskSource,
    TaskStatus,
    VerificationTask,
)
from registry.models import Address, Offender, OffenderStatus, ReportingPolicy
from registry.selectors import offender_queryset_for

# The enum values the statements below name: parameters, never spelt in the SQL
# (tests/common/test_sql_enums.py). They reach PostgreSQL bound client-side (Django's default
# for psycopg), so the ``ON CONFLICT … WHERE`` predicates still match the partial index.
SQL_ENUMS = {
    "open": TaskStatus.OPEN,
    "cancelled": TaskStatus.CANCELLED,
    "verification": TaskKind.VERIFICATION,
    "periodic": TaskSource.PERIODIC,
    "active": OffenderStatus.ACTIVE,
}


def task_changes_log(task: VerificationTask, *beat_ids: int | None) -> None:
    """Log a change of ``task`` for each beat list it touches (delta sync)."""
    rows = [TaskChange(task=task, beat_id=b) for b in dict.fromkeys(beat_ids) if b is not None]
    if rows:
        TaskChange.objects.bulk_create(rows)


# Where a task for an address goes, the one definition of the rule (SQL, as the hooks and the
# daily schedule place tasks set-based; ``_placement`` reads it for one address): the beat
# whose polygon contains the address point (resolved by the register when it recorded the
# address), else the address's station, else the offender's, else — no point at all — a
# station of the district (the lowest id, a stand-in for its headquarters station) with
# ``needs_point``, until someone locates it. Columns over the address ``a`` of offender ``o``.
_PLACEMENT_COLUMNS_SQL = """a.district_id,
       coalesce(a.station_id, o.station_id, (
           SELECT min(s.id) FROM jurisdictions_policestation s
           WHERE s.district_id = a.district_id
       )) AS station_id,
       a.beat_id, a.lat IS NULL AS needs_point"""

_PLACEMENT_SQL = f"""
SELECT {_PLACEMENT_COLUMNS_SQL}
FROM registry_address a JOIN registry_offender o ON o.id = a.offender_id
WHERE a.id = %(address)s
"""  # noqa: S608 - composed of module constants only

# The spread of periodic tasks, the one definition in SQL (``rules.spread_offset_days`` is
# its pure form, tested against this): an offender's task falls ``id mod min(SPREAD_DAYS,
# interval)`` days before its nominal due date. Over offender ``o`` and its policy ``p``.
_SPREAD_SQL = "(o.id %% greatest(1, least(%(spread)s, p.verification_interval_days)))::int"


def _placement(address: Address) -> dict[str, Any]:
    """District, station, beat and ``needs_point`` of a new task for ``address``
    (``_PLACEMENT_COLUMNS_SQL``)."""
    with connection.cursor() as cursor:
        cursor.execute(_PLACEMENT_SQL, {"address": address.pk})
        district_id, station_id, beat_id, needs_point = cursor.fetchone()
    return {
        "district_id": district_id,
        "station_id": station_id,
        "beat_id": beat_id,
        "needs_point": needs_point,
    }


_CANCEL_SQL = """
WITH cancelled AS (
    UPDATE mobile_api_verificationtask
    SET status = %(cancelled)s, resolution = %(reason)s, closed_at = %(now)s,
        updated_at = %(now)s, version = version + 1
    WHERE offender_id = %(offender)s AND status = %(open)s
      AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s::text[]))
      AND (%(keep_district)s::bigint IS NULL OR district_id <> %(keep_district)s::bigint)
    RETURNING id, beat_id
), logged AS (
    INSERT INTO mobile_api_taskchange (task_id, beat_id)
    SELECT id, beat_id FROM cancelled WHERE beat_id IS NOT NULL
)
SELECT id FROM cancelled
"""


def _cancel_open(
    *,
    offender_id: int,
    reason: str,
    exclude_district_id: int | None = None,
    kinds: list[str] | None = None,
) -> list[int]:
    """Cancel the offender's open tasks (of ``kinds``; only those outside
    ``exclude_district_id`` when given) and log their tombstones, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CANCEL_SQL,
            {
                **SQL_ENUMS,
                "reason": reason,
                "now": timezone.now(),
                "offender": offender_id,
                "kinds": kinds,
                "keep_district": exclude_district_id,
            },
        )
        return [row[0] for row in cursor.fetchall()]


# The hooks run once per offender of a bulk import, so opening a task there is one round trip
# (placement, insert and change log together).
_OPEN_SQL = f"""
WITH placed AS (
    SELECT a.offender_id, a.id AS address_id, {_PLACEMENT_COLUMNS_SQL}
    FROM registry_address a JOIN registry_offender o ON o.id = a.offender_id
    WHERE a.offender_id = %(offender)s AND a.valid_to IS NULL
), created AS (
    INSERT INTO mobile_api_verificationtask (
        created_at, updated_at, offender_id, address_id, kind, source, status, resolution,
        district_id, station_id, beat_id, needs_point, due_on, priority, version,
        last_visit_outcome
    )
    SELECT %(now)s, %(now)s, offender_id, address_id, %(verification)s, %(source)s, %(open)s, '',
           district_id, station_id, beat_id, needs_point, %(due)s, 1, 1, ''
    FROM placed
    ON CONFLICT (offender_id) WHERE status = %(open)s AND kind = %(verification)s DO NOTHING
    RETURNING id, beat_id
), logged AS (
    INSERT INTO mobile_api_taskchange (task_id, beat_id)
    SELECT id, beat_id FROM created WHERE beat_id IS NOT NULL
)
SELECT id FROM created
"""  # noqa: S608 - composed of module constants only


def _open_for_hook(*, offender_id: int, source: str, due_on: date) -> int | None:
    """A verification task for the offender's current address; the id, or None when one is
    open already (the constraint keeps one) or there is no current address."""
    with connection.cursor() as cursor:
        cursor.execute(
            _OPEN_SQL,
            {
                **SQL_ENUMS,
                "offender": offender_id,
                "source": source,
                "due": due_on,
                "now": timezone.now(),
            },
        )
        row = cursor.fetchone()
    return row[0] if row else None


def task_open(
    *,
    offender: Offender,
    address: Address,
    source: str,
    due_on: date,
    priority: int = Priority.NORMAL,
    actor: Officer | None = None,
) -> VerificationTask:
    """Open a verification task for ``address`` (the caller cancelled any open one, or relies
    on the one-open-verification constraint to refuse a second: 409)."""
    try:
        with transaction.atomic():
            task = VerificationTask.objects.create(
                offender=offender,
                address=address,
                kind=TaskKind.VERIFICATION,
                source=source,
                due_on=due_on,
                priority=priority,
                created_by=actor,
                **_placement(address),
            )
    except IntegrityError:
        existing = VerificationTask.objects.filter(
            offender=offender, status=TaskStatus.OPEN, kind=TaskKind.VERIFICATION
        ).first()
        if existing is None:
            raise
        raise Conflict(
            "This offender already has an open verification task.",
            code="task_exists",
            extra={"task": existing.pk},
        ) from None
    task_changes_log(task, task.beat_id)
    return task


def _current_address(offender: Offender) -> Address | None:
    return Address.objects.filter(offender=offender, valid_to__isnull=True).first()


def _first_due() -> date:
    return timezone.localdate() + timedelta(days=settings.NIGRANI_VERIFICATION_FIRST_DUE_DAYS)


def on_offender_released(*, offender: Offender, actor: Officer | None = None) -> None:
    """Hook ``offender_released``: verify the release address soon. Called once per offender
    by a bulk import too, so it is one statement in the usual case (an open task left from
    before custody is cancelled first) and no audit event of its own: the release itself is
    audited by the register."""
    if offender.status != OffenderStatus.ACTIVE:
        return
    due_on = _first_due()
    if _open_for_hook(offender_id=offender.pk, source=TaskSource.RELEASE, due_on=due_on) is None:
        _cancel_open(offender_id=offender.pk, reason="released", kinds=[TaskKind.VERIFICATION])
        _open_for_hook(offender_id=offender.pk, source=TaskSource.RELEASE, due_on=due_on)


def on_address_changed(
    *, offender: Offender, address: Address, actor: Officer | None = None
) -> None:
    """Hook ``address_changed`` (called once ``address`` is the current one): the old
    address's open tasks are moot; verify the new one (active offenders only: one in custody
    is not visited)."""
    # Every open task, follow-ups too: a station looking for an offender who moved has found
    # where to, once the register records the new address.
    _cancel_open(offender_id=offender.pk, reason="address_changed")
    if offender.status == OffenderStatus.ACTIVE:
        _open_for_hook(
            offender_id=offender.pk, source=TaskSource.ADDRESS_CHANGE, due_on=_first_due()
        )


def on_offender_transferred(
    *, offender: Offender, old_district: Any, actor: Officer | None = None
) -> None:
    """Hook ``offender_transferred``: open tasks left in the old district (follow-ups at its
    stations) are cancelled; the new address's verification was opened by
    ``address_changed``."""
    _cancel_open(
        offender_id=offender.pk, reason="transferred", exclude_district_id=offender.district_id
    )


_POLICY_TASKS_SQL = f"""
WITH moved AS (
    UPDATE mobile_api_verificationtask t
    SET due_on = o.next_verification_due - {_SPREAD_SQL},
        version = t.version + 1, updated_at = %(now)s
    FROM registry_offender o JOIN registry_reportingpolicy p ON p.risk_tier = o.risk_tier
    WHERE o.id = t.offender_id AND o.risk_tier = %(tier)s AND t.status = %(open)s
      AND t.source = %(periodic)s AND o.next_verification_due IS NOT NULL
    RETURNING t.id, t.beat_id
)
INSERT INTO mobile_api_taskchange (task_id, beat_id)
SELECT id, beat_id FROM moved WHERE beat_id IS NOT NULL
"""  # noqa: S608 - composed of module constants only


def on_reporting_policy_changed(*, policy: ReportingPolicy, actor: Officer | None = None) -> int:
    """Hook ``reporting_policy_changed``: the register has moved the tier's verification due
    dates (``registry.services.dues``); open periodic tasks move with them. One statement,
    whatever the tier's size; returns how many tasks moved. Not audited again: the policy
    change that caused it is (the register)."""
    params: dict[str, Any] = {
        **SQL_ENUMS,
        "tier": policy.risk_tier,
        "spread": settings.NIGRANI_VERIFICATION_SPREAD_DAYS,
        "now": timezone.now(),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_POLICY_TASKS_SQL, params)
        return cursor.rowcount


_SCHEDULE_SQL = f"""
WITH due AS (
    SELECT o.id AS offender_id, a.id AS address_id, {_PLACEMENT_COLUMNS_SQL},
           o.next_verification_due - {_SPREAD_SQL} AS due_on
    FROM registry_offender o
    JOIN registry_address a ON a.offender_id = o.id AND a.valid_to IS NULL
    JOIN registry_reportingpolicy p ON p.risk_tier = o.risk_tier
    WHERE o.status = %(active)s
      AND o.next_verification_due <= %(prefilter)s
      AND NOT EXISTS (
          SELECT 1 FROM mobile_api_verificationtask t
          WHERE t.offender_id = o.id AND t.status = %(open)s AND t.kind = %(verification)s
      )
), created AS (
    INSERT INTO mobile_api_verificationtask (
        created_at, updated_at, offender_id, address_id, kind, source, status, resolution,
        district_id, station_id, beat_id, needs_point, due_on, priority, version,
        last_visit_outcome
    )
    SELECT %(now)s, %(now)s, offender_id, address_id, %(verification)s, %(periodic)s, %(open)s,
           '', district_id, station_id, beat_id, needs_point, due_on, 1, 1, ''
    FROM due WHERE due_on <= %(horizon)s
    ON CONFLICT (offender_id) WHERE status = %(open)s AND kind = %(verification)s DO NOTHING
    RETURNING id, beat_id
), logged AS (
    INSERT INTO mobile_api_taskchange (task_id, beat_id)
    SELECT id, beat_id FROM created WHERE beat_id IS NOT NULL
)
SELECT count(*) FROM created
"""  # noqa: S608 - composed of module constants only

_CANCEL_INACTIVE_SQL = """
WITH cancelled AS (
    UPDATE mobile_api_verificationtask t
    SET status = %(cancelled)s, resolution = %(not_active)s, closed_at = %(now)s,
        updated_at = %(now)s, version = t.version + 1
    FROM registry_offender o
    WHERE o.id = t.offender_id AND t.status = %(open)s AND o.status <> %(active)s
    RETURNING t.id, t.beat_id
), logged AS (
    INSERT INTO mobile_api_taskchange (task_id, beat_id)
    SELECT id, beat_id FROM cancelled WHERE beat_id IS NOT NULL
)
SELECT count(*) FROM cancelled
"""


@dataclass(frozen=True)
class ScheduleReport:
    created: int
    cancelled: int


def verification_schedule(*, today: date | None = None) -> ScheduleReport:
    """The daily schedule, in SQL over due offenders only: a task for every active offender
    whose (spread) due date falls within ``NIGRANI_VERIFICATION_LEAD_DAYS`` and who has no
    open verification; open tasks of offenders no longer active (in custody, absconded,
    removed: no register hook tells us) are cancelled.

    Spread: an offender's task falls ``id mod min(SPREAD_DAYS, interval)`` days before its
    nominal due date (``rules.spread_offset_days``), never after it, so each is still
    verified within its interval and a cohort released together does not land on one day.
    """
    today = today or timezone.localdate()
    lead = settings.NIGRANI_VERIFICATION_LEAD_DAYS
    spread = settings.NIGRANI_VERIFICATION_SPREAD_DAYS
    horizon = today + timedelta(days=lead)
    params: dict[str, Any] = {
        **SQL_ENUMS,
        "not_active": "not_active",
        "now": timezone.now(),
        "spread": spread,
        "horizon": horizon,
        # Sargable on the indexed column: no offset exceeds ``spread`` days.
        "prefilter": horizon + timedelta(days=spread),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CANCEL_INACTIVE_SQL, params)
        cancelled = cursor.fetchone()[0]
        cursor.execute(_SCHEDULE_SQL, params)
        created = cursor.fetchone()[0]
        if created or cancelled:
            audit_record(
                actor=None,
                action=AuditAction.CREATE,
                object_type="verification_schedule",
                details={"created": created, "cancelled": cancelled, "horizon": str(horizon)},
            )
    return ScheduleReport(created=created, cancelled=cancelled)


def task_changes_prune(*, now: datetime | None = None) -> int:
    """Delete change-log rows older than any live sync cursor (a day of margin past
    ``NIGRANI_SYNC_CURSOR_MAX_DAYS``). Returns how many went."""
    now = now or timezone.now()
    horizon = now - timedelta(days=settings.NIGRANI_SYNC_CURSOR_MAX_DAYS + 1)
    deleted, _ = TaskChange.objects.filter(created_at__lt=horizon).delete()
    return deleted


def task_create(
    *, actor: Officer, offender_id: int, due_on: date, priority: int = Priority.NORMAL
) -> VerificationTask:
    """An ad hoc verification, by a station officer or the control room, of an offender they
    supervise (404 otherwise); 409 when one is already open."""
    if not actor.has_permission("task.create"):
        raise Forbidden("You may not create verification tasks.")
    if due_on < timezone.localdate():
        raise ValidationError({"due_on": ["A new task cannot be due in the past."]})
    with transaction.atomic():
        offender = (
            offender_queryset_for(actor=actor)
            .select_for_update(of=("self",))
            .filter(pk=offender_id)
            .first()
        )
        if offender is None:
            raise NotFound()
        if offender.status != OffenderStatus.ACTIVE:
            raise Conflict(
                "Only an active offender's address is verified.",
                code="offender_not_active",
                extra={"status": offender.status},
            )
        address = _current_address(offender)
        if address is None:
            raise Conflict("The offender has no current address.", code="no_address")
        task = task_open(
            offender=offender,
            address=address,
            source=TaskSource.AD_HOC,
            due_on=due_on,
            priority=priority,
            actor=actor,
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="verification_task",
            object_id=task.pk,
            details={"offender_id": offender.pk, "source": TaskSource.AD_HOC, "priority": priority},
        )
    return task


def task_reassign(*, actor: Officer, task_id: int, beat_code: str) -> VerificationTask:
    """A station officer gives an open task of its station to another of its beats; the old
    beat's officers get a tombstone (``reassigned``) at their next sync."""
    if not actor.has_permission("task.reassign") or actor.station_id is None:
        raise Forbidden("You may not reassign verification tasks.")
    beat = Beat.objects.filter(code=beat_code, station_id=actor.station_id).first()
    if beat is None:
        raise ValidationError({"beat": ["Not a beat of your station."]})
    with transaction.atomic():
        task = selectors.task_get(actor=actor, task_id=task_id)
        task = VerificationTask.objects.select_for_update().get(pk=task.pk)
        if task.status != TaskStatus.OPEN:
            raise Conflict(
                f"The task is {task.status}.", code="task_not_open", extra={"status": task.status}
            )
        if task.beat_id == beat.pk:
            return selectors.task_get(actor=actor, task_id=task.pk)
        old_beat_id = task.beat_id
        task.beat = beat
        task.version += 1
        task.save(update_fields=["beat", "version", "updated_at"])
        task_changes_log(task, old_beat_id, beat.pk)
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="verification_task",
            object_id=task.pk,
            details={"fields": ["beat"], "from_beat_id": old_beat_id, "to_beat_id": beat.pk},
        )
    return selectors.task_get(actor=actor, task_id=task.pk)


def task_cancel(*, actor: Officer, task_id: int, reason: str) -> VerificationTask:
    """A station officer closes an open task of its station that no longer needs doing (a
    follow-up settled at the counter, a duplicate), saying why; the beat's officers get a
    tombstone (``cancelled``). The reason is free text: it stays on the row, not the audit."""
    if not actor.has_permission("task.reassign") or actor.station_id is None:
        raise Forbidden("You may not cancel verification tasks.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["A reason is required."]})
    with transaction.atomic():
        task = selectors.task_get(actor=actor, task_id=task_id)
        now = timezone.now()
        # Conditional update: a visit or another officer closing it first wins; this is a 409.
        won = VerificationTask.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(
            status=TaskStatus.CANCELLED,
            resolution="cancelled_by_station",
            cancel_reason=reason,
            closed_at=now,
            updated_at=now,
            version=F("version") + 1,
        )
        if not won:
            task.refresh_from_db()
            raise Conflict(
                f"The task is {task.status}.", code="task_not_open", extra={"status": task.status}
            )
        task_changes_log(task, task.beat_id)
        audit_record(
            actor=actor,
            action=AuditAction.TRANSITION,
            object_type="verification_task",
            object_id=task.pk,
            details={"from": TaskStatus.OPEN, "to": TaskStatus.CANCELLED, "kind": task.kind},
        )
    return selectors.task_get(actor=actor, task_id=task.pk)


def task_state(task: VerificationTask) -> dict[str, Any]:
    """A task's current state as a 409 shows it to the officer whose visit it refused."""
    return {
        "id": task.pk,
        "status": task.status,
        "resolution": task.resolution,
        "version": task.version,
        "beat": task.beat.code if task.beat is not None else None,
        "station": task.station.code if task.station is not None else None,
        "due_on": task.due_on.isoformat(),
    }
