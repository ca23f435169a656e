"""The check-in schedule in the database: due dates after a policy change, reminders, and the
sweep that raises ``missed_checkin`` violations.

All three work set-based in SQL over the offenders concerned (an indexed range of
``next_checkin_due``, or one tier), never by loading every offender; per-row Python work
(an SMS, a violation with its audit event and alert job) is done only for the rows that are
new in this run, so a re-run with nothing new costs a few queries whatever the register's size.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from checkins import messages, schedule
from checkins.models import CheckinReminder, MissedCheckin
from compliance.models import Severity, ViolationKind
from compliance.services import violation_raise
from push.services import sms_enqueue
from registry.models import Offender, ReportingPolicy

# The anchor of an active offender's schedule: the last confirmed check-in, else the day
# supervision (re)started — the release date, the day of registration as already released
# (``'' → active``) or of the return from absconding — the same rule the register uses when
# it sets the first due date (``registry.services.lifecycle``).
#
# A policy change never puts a due date in the past (``GREATEST(…, today)``): a shortened
# interval must not turn offenders into instant defaulters for a period nobody told them of.
# Offenders already in a missed period (a missed row for their current due date) keep it, so
# the period still escalates and the same absence is not raised as missed a second time.
_RESCHEDULE_SQL = """
UPDATE registry_offender AS o
SET next_checkin_due = s.new_due, updated_at = %(now)s
FROM (
    SELECT x.id, GREATEST(
        GREATEST(
            x.released_on,
            (SELECT max(c.confirmed_on) FROM checkins_checkin AS c
              WHERE c.offender_id = x.id AND c.status = 'confirmed'),
            (SELECT max((sc.changed_at AT TIME ZONE %(tz)s)::date)
              FROM registry_statuschange AS sc
              WHERE sc.offender_id = x.id AND sc.to_status = 'active'
                AND sc.from_status IN ('', 'absconded'))
        ) + p.checkin_interval_days,
        %(today)s::date
    ) AS new_due
    FROM registry_offender AS x
    JOIN registry_reportingpolicy AS p ON p.risk_tier = x.risk_tier
    WHERE x.status = 'active' AND x.released_on IS NOT NULL AND {where}
      AND NOT EXISTS (
        SELECT 1 FROM checkins_missedcheckin AS m
        WHERE m.offender_id = x.id AND m.due_on = x.next_checkin_due)
) AS s
WHERE o.id = s.id AND o.next_checkin_due IS DISTINCT FROM s.new_due
RETURNING o.id
"""


def checkin_dues_reschedule(*, risk_tier: int) -> list[int]:
    """Move the due dates of the tier's active offenders to their anchor plus the tier's
    (new) interval, but not before today, in one UPDATE; offenders in a missed period keep
    theirs (``_RESCHEDULE_SQL``). Returns the ids that moved."""
    params: dict[str, Any] = {
        "now": timezone.now(),
        "today": timezone.localdate(),
        "tz": settings.TIME_ZONE,
        "tier": risk_tier,
    }
    with connection.cursor() as cursor:
        cursor.execute(_RESCHEDULE_SQL.format(where="x.risk_tier = %(tier)s"), params)
        return [row[0] for row in cursor.fetchall()]


def reporting_policy_changed(*, policy: ReportingPolicy, actor: Any) -> int:
    """Handler of the register's ``reporting_policy_changed`` hook (the policy admin calls it
    in the change's transaction): the tier's due dates follow the new interval. One audit event
    names the tier and how many moved (none when nothing moved: no record was written)."""
    with transaction.atomic():
        moved = checkin_dues_reschedule(risk_tier=policy.risk_tier)
        if not moved:
            return 0
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="checkin_schedule",
            object_id=policy.risk_tier,
            details={
                "risk_tier": policy.risk_tier,
                "checkin_interval_days": policy.checkin_interval_days,
                "offenders_moved": len(moved),
            },
        )
    return len(moved)


# --- reminders -----------------------------------------------------------------------------

_REMINDERS_SQL = """
INSERT INTO checkins_checkinreminder (offender_id, due_on, days_before, created_at)
SELECT o.id, o.next_checkin_due, b.days_before, %s
FROM registry_offender AS o
JOIN (VALUES {bands}) AS b(days_before, low, high)
  ON o.next_checkin_due BETWEEN %s::date + b.low AND %s::date + b.high
WHERE o.status = 'active' AND o.phone <> ''
ON CONFLICT (offender_id, due_on, days_before) DO NOTHING
RETURNING id, offender_id, due_on, days_before
"""


def checkin_reminders_send(*, today: date | None = None) -> int:
    """Enqueue the reminder SMS due today (``NIGRANI_CHECKIN_REMINDER_DAYS`` before each due
    date), each (offender, due date, days before) once: the insert into the reminder table is
    the claim, so re-runs and concurrent runs send nothing twice. A run that missed a day still
    sends the reminder of the band it falls in (``schedule.reminder_bands``). Returns how many
    were enqueued."""
    today = today or timezone.localdate()
    bands = schedule.reminder_bands(settings.NIGRANI_CHECKIN_REMINDER_DAYS)
    if not bands:
        return 0
    sql = _REMINDERS_SQL.format(bands=", ".join("(%s::int, %s::int, %s::int)" for _ in bands))
    params: list[Any] = [timezone.now(), *(value for band in bands for value in band), today, today]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            claimed = cursor.fetchall()
        if not claimed:
            return 0
        phones = dict(
            Offender.objects.filter(pk__in=[row[1] for row in claimed]).values_list("id", "phone")
        )
        reminders = []
        for reminder_id, offender_id, due_on, _days_before in claimed:
            message = sms_enqueue(
                to=phones[offender_id],
                text=messages.reminder_text(
                    due_on=due_on,
                    days_left=(due_on - today).days,
                    language=settings.NIGRANI_SMS_LANGUAGE,
                ),
                purpose="checkin_reminder",
                expires_at=_end_of_day(due_on),
                offender_id=offender_id,
            )
            reminders.append(CheckinReminder(pk=reminder_id, sms_message_id=message.pk))
        CheckinReminder.objects.bulk_update(reminders, ["sms_message_id"], batch_size=1000)
        # One event per run (the system acting), naming how many and for which due dates.
        audit_record(
            actor=None,
            action=AuditAction.CREATE,
            object_type="checkin_reminder",
            details={
                "count": len(claimed),
                "due_dates": sorted({row[2].isoformat() for row in claimed}),
            },
        )
    return len(claimed)


def _end_of_day(day: date) -> datetime:
    return datetime.combine(
        day + timedelta(days=1), time.min, tzinfo=timezone.get_default_timezone()
    )


# --- missed check-ins ----------------------------------------------------------------------

_MISSED_SQL = """
INSERT INTO checkins_missedcheckin (offender_id, due_on, detected_at)
SELECT o.id, o.next_checkin_due, %(now)s
FROM registry_offender AS o
WHERE o.status = 'active' AND o.next_checkin_due < %(cutoff)s
ON CONFLICT (offender_id, due_on) DO NOTHING
RETURNING id, offender_id, due_on
"""

# Still missing: the offender is active and has not checked in since (a confirmed check-in
# moves next_checkin_due on).
_ESCALATE_SQL = """
UPDATE checkins_missedcheckin AS m
SET escalated_at = %(now)s
FROM registry_offender AS o
WHERE m.offender_id = o.id
  AND m.escalated_at IS NULL
  AND m.due_on < %(cutoff)s
  AND o.status = 'active'
  AND o.next_checkin_due = m.due_on
RETURNING m.id, m.offender_id, m.due_on
"""


@dataclass
class SweepResult:
    missed: int = 0
    escalated: int = 0
    violation_ids: list[int] = field(default_factory=list)


def missed_checkins_sweep(*, today: date | None = None) -> SweepResult:
    """Raise one ``missed_checkin`` violation per period whose grace has passed, and a second,
    graver one (``cause_key="escalated"``) when the offender is still missing
    ``NIGRANI_CHECKIN_ESCALATE_DAYS`` later.

    The period rows are claimed set-based (``INSERT … ON CONFLICT DO NOTHING`` /
    ``UPDATE … WHERE escalated_at IS NULL``), so a re-run or a concurrent run claims nothing
    twice; violations are raised only for the rows this run claimed, in the same transaction,
    and ``violation_raise`` is idempotent on the cause besides."""
    today = today or timezone.localdate()
    grace = settings.NIGRANI_CHECKIN_GRACE_DAYS
    cutoff = today - timedelta(days=grace)
    escalate_cutoff = cutoff - timedelta(days=settings.NIGRANI_CHECKIN_ESCALATE_DAYS)
    now = timezone.now()
    result = SweepResult()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_MISSED_SQL, {"now": now, "cutoff": cutoff})
            missed = cursor.fetchall()
            cursor.execute(_ESCALATE_SQL, {"now": now, "cutoff": escalate_cutoff})
            escalated = cursor.fetchall()
        if not (missed or escalated):
            return result
        offenders = Offender.objects.only("id", "district_id", "station_id").in_bulk(
            {row[1] for row in missed + escalated}
        )
        for missed_id, offender_id, due_on in missed:
            violation, _ = violation_raise(
                offender=offenders[offender_id],
                kind=ViolationKind.MISSED_CHECKIN,
                severity=Severity.MEDIUM,
                occurred_at=_end_of_day(due_on),
                detected_at=now,
                cause=MissedCheckin(pk=missed_id),
                summary=f"check-in due {due_on.isoformat()} missed ({grace} days' grace passed)",
            )
            result.violation_ids.append(violation.pk)
        for missed_id, offender_id, due_on in escalated:
            days = (today - due_on).days
            violation, _ = violation_raise(
                offender=offenders[offender_id],
                kind=ViolationKind.MISSED_CHECKIN,
                severity=Severity.HIGH,
                occurred_at=_end_of_day(due_on),
                detected_at=now,
                cause=MissedCheckin(pk=missed_id),
                cause_key="escalated",
                summary=f"check-in due {due_on.isoformat()} still missing after {days} days",
            )
            result.violation_ids.append(violation.pk)
    result.missed, result.escalated = len(missed), len(escalated)
    return result
