"""The check-in schedule in the database: which due dates a policy change must leave alone,
reminders, and the sweep that raises ``missed_checkin`` violations. The due dates themselves
are the register's (``registry.services.dues``).

Reminders and the sweep work set-based in SQL over the offenders concerned (an indexed range
of ``next_checkin_due``), never by loading every offender; per-row Python work
(an SMS, a violation with its audit event and alert job) is done only for the rows that are
new in this run, so a re-run with nothing new costs a few queries whatever the register's size.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from checkins import messages, schedule
from checkins.models import CheckinReminder, MissedCheckin
from compliance.models import Severity, ViolationKind
from compliance.services import violation_raise
from push.services import sms_enqueue
from registry.models import Offender, OffenderStatus

# The enum values the statements below name: parameters, never spelt in the SQL
# (tests/common/test_sql_enums.py). ``_REMINDERS_SQL`` takes its one positionally.
SQL_ENUMS = {"active": OffenderStatus.ACTIVE}


def checkin_dues_held(*, offenders: QuerySet[Offender]) -> set[int]:
    """Handler of the register's ``checkin_dues_held`` hook: the offenders among ``offenders``
    in a missed period (a missed row for their current due date) keep that date when their
    interval changes, so the period still escalates and the same absence is not raised as
    missed a second time. One query."""
    return set(
        MissedCheckin.objects.filter(
            offender__in=offenders, due_on=F("offender__next_checkin_due")
        ).values_list("offender_id", flat=True)
    )


# --- reminders -----------------------------------------------------------------------------

_REMINDERS_SQL = """
INSERT INTO checkins_checkinreminder (offender_id, due_on, days_before, created_at)
SELECT o.id, o.next_checkin_due, b.days_before, %s
FROM registry_offender AS o
JOIN (VALUES {bands}) AS b(days_before, low, high)
  ON o.next_checkin_due BETWEEN %s::date + b.low AND %s::date + b.high
WHERE o.status = %s AND o.phone <> ''
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
    params: list[Any] = [
        timezone.now(),
        *(value for band in bands for value in band),
        today,
        today,
        OffenderStatus.ACTIVE,
    ]
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
WHERE o.status = %(active)s AND o.next_checkin_due < %(cutoff)s
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
  AND o.status = %(active)s
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
            cursor.execute(_MISSED_SQL, {**SQL_ENUMS, "now": now, "cutoff": cutoff})
            missed = cursor.fetchall()
            cursor.execute(_ESCALATE_SQL, {**SQL_ENUMS, "now": now, "cutoff": escalate_cutoff})
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
