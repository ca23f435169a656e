"""The alert side of a violation: routing, the escalation ladder and its sweep, assignment,
ladder duties, and the events every change writes to the districts' alert streams.

One status machine: an alert is its episode's first violation (``episode`` null) in the
``open → acknowledged → resolved | dismissed`` machine of ``compliance.services``. This module
adds the deadlines and the ladder on top and is called from inside those services'
transactions, so an alert change, its notices and its stream events commit or roll back
together.

Ladder rules (``AlertPolicy`` and ``LadderStep`` rows per severity):

- Raising an alert tells step 1 at once; ``ack_due_at`` is now + the policy's ``ack_minutes``.
- An open alert past ``ack_due_at`` climbs one step (the sweep), and the deadline restarts.
- After the top step the top step is repeated ``top_repeats`` times; then the climb ends with
  ``escalation_exhausted_at`` set and an ``alert.escalated`` event saying so (never silently).
- Acknowledging stops the climb; an acknowledged alert unresolved past ``resolve_due_at``
  (the policy's ``resolve_minutes``) goes back to open and climbs from where it was.
"""

import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import DUTY_TABLE, Duty, Role
from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import Forbidden
from compliance.models import (
    AlertNotice,
    AlertPolicy,
    LadderStep,
    LadderTarget,
    NoticeChannel,
    OfficerDuty,
    Violation,
    ViolationStatus,
    ViolationStatusChange,
)
from push.alert_stream import alert_events_append
from push.models import AlertEventType
from push.pushes import push_enqueue_many
from push.services import notify_officers_many

NOTICE_KIND = "alert"
ASSIGNED_KIND = "alert_assigned"
ASSIGNEE_TARGET = "assignee"
ACK_TIMEOUT_REASON = "acknowledgement timed out"


def alert_policy_for(severity: int) -> AlertPolicy:
    """The policy row of a severity; a missing row is a configuration error, loudly."""
    return AlertPolicy.objects.get(severity=severity)


@dataclass(frozen=True)
class AlertConfig:
    """A severity's policy (None when its row is missing) and ladder (step → target)."""

    policy: AlertPolicy | None
    ladder: dict[int, str]


# Policy and ladder in one round trip (the raise path's latency budget, issue 13). Read per
# raise, not cached: NPB edits the rows, and every process must apply an edit at once.
_CONFIG_SQL = """
SELECT coalesce(p.severity, s.severity), p.id, p.ack_minutes, p.resolve_minutes,
       p.top_repeats, p.sms_fallback, s.step, s.target
  FROM (SELECT * FROM compliance_alertpolicy WHERE severity = ANY(%(severities)s)) p
  FULL JOIN (SELECT * FROM compliance_ladderstep WHERE severity = ANY(%(severities)s)) s
    ON s.severity = p.severity
 ORDER BY 1, s.step
"""


def alert_configs(severities: Iterable[int]) -> dict[int, AlertConfig]:
    """The policy and ladder of each severity, in one query (a severity with neither is
    left out)."""
    wanted = sorted(set(severities))
    if not wanted:
        return {}
    policies: dict[int, AlertPolicy | None] = {}
    ladders: dict[int, dict[int, str]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(_CONFIG_SQL, {"severities": wanted})
        for severity, pk, ack, resolve, repeats, sms, step, target in cursor.fetchall():
            if severity not in policies:
                policies[severity] = (
                    None
                    if pk is None
                    else AlertPolicy(
                        pk=pk,
                        severity=severity,
                        ack_minutes=ack,
                        resolve_minutes=resolve,
                        top_repeats=repeats,
                        sms_fallback=sms,
                    )
                )
            if step is not None:
                ladders[severity][step] = target
    return {
        severity: AlertConfig(policy=policy, ladder=dict(ladders[severity]))
        for severity, policy in policies.items()
    }


def alert_start_columns(violation: Violation, *, config: AlertConfig | None, now: datetime) -> None:
    """Set, before its INSERT, the ladder columns of a violation that opens an alert: step 1
    now, its acknowledgement deadline, and exhausted at once when a one-step ladder has no
    repeats. A severity without a policy row or ladder is a configuration error, loudly."""
    if config is None or config.policy is None:
        raise AlertPolicy.DoesNotExist(f"No alert policy for severity {violation.severity}.")
    if not config.ladder:
        raise LadderStep.DoesNotExist(f"No ladder steps for severity {violation.severity}.")
    top = max(config.ladder)
    violation.escalation_level = 1
    violation.escalated_at = now
    violation.ack_due_at = now + timedelta(minutes=config.policy.ack_minutes)
    violation.escalation_exhausted_at = now if top == 1 and config.policy.top_repeats == 0 else None


def alert_unstarted_columns(violation: Violation) -> None:
    """The ladder columns of a repeat, which carries no alert (its episode's head does)."""
    violation.escalation_level = 0
    violation.escalated_at = None
    violation.ack_due_at = None
    violation.escalation_exhausted_at = None


def alert_payload(violation: Violation) -> dict[str, Any]:
    """What a stream event says about an alert: ids, codes and times, no offender identity."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "id": violation.pk,
        "kind": violation.kind,
        "severity": violation.severity,
        "status": violation.status,
        "offender": violation.offender_id,
        "district": violation.district_id,
        "occurred_district": violation.occurred_district_id,
        "station": violation.station_id,
        "lon": violation.lon,
        "lat": violation.lat,
        "summary": violation.summary,
        "detected_at": iso(violation.detected_at),
        "ack_due_at": iso(violation.ack_due_at),
        "resolve_due_at": iso(violation.resolve_due_at),
        "escalation_level": violation.escalation_level,
        "escalation_repeats": violation.escalation_repeats,
        "escalation_exhausted": violation.escalation_exhausted_at is not None,
        "assigned_to": violation.assigned_to_id,
        "repeat_count": violation.repeat_count,
        "ended_at": iso(violation.ended_at),
    }


def alert_ended(violation: Violation) -> None:
    """The system saw the breach stop (``violation_end``): the control room is told
    (``alert.updated`` with ``ended_at``), but the alert stays open and keeps its deadlines —
    an ended breach still needs an officer to look at it."""
    alert_emit([violation], AlertEventType.UPDATED)


def alert_districts(violation: Violation) -> list[int]:
    """Routing: the supervising district's control room and, if different, the district where
    it happened."""
    districts = [violation.district_id]
    if violation.occurred_district_id and violation.occurred_district_id != violation.district_id:
        districts.append(violation.occurred_district_id)
    return districts


def alert_emit(violations: Iterable[Violation], event_type: str) -> None:
    """Append one event per alert and routed district, in the caller's transaction."""
    _append([event for violation in violations for event in _alert_events(violation, event_type)])


_held = threading.local()


@contextmanager
def alert_events_held() -> Iterator[None]:
    """Hold the stream events emitted inside the block and append them all at its end, still
    in the caller's transaction, in the order they were emitted.

    Why: an append takes each district's sequence counter (a row lock kept to commit), in
    district order within that one append. A transaction that appends in several steps (a
    ping batch raising, repeating and ending breaches in several districts) would take them
    out of order, and two such transactions — two ingesting processes — deadlock. Held, the
    block takes them once, in order. Nested blocks append with the outermost; an exception
    drops the held events with the transaction that made them."""
    if getattr(_held, "events", None) is not None:
        yield
        return
    _held.events = []
    try:
        yield
        events = _held.events
    finally:
        _held.events = None
    alert_events_append(events=events)


def _append(events: list[tuple[int, str, int, dict]]) -> None:
    held = getattr(_held, "events", None)
    if held is None:
        alert_events_append(events=events)
    else:
        held.extend(events)


def _alert_events(violation: Violation, event_type: str) -> list[tuple[int, str, int, dict]]:
    payload = alert_payload(violation)
    return [
        (district_id, event_type, violation.pk, payload)
        for district_id in alert_districts(violation)
    ]


# --- recipients and notices -------------------------------------------------------------------


def _recipients(targets: dict[int, tuple[str, Violation]]) -> dict[int, list[Officer]]:
    """Officers to tell per violation id, for each violation's current step target. Set-based:
    one query per kind of target, whatever the number of alerts."""
    by_target: dict[str, list[Violation]] = defaultdict(list)
    for target, violation in targets.values():
        by_target[target].append(violation)
    found: dict[int, list[Officer]] = defaultdict(list)
    active = Officer.objects.filter(is_active=True)
    if LadderTarget.BEAT_OFFICERS in by_target:
        violations = by_target[LadderTarget.BEAT_OFFICERS]
        # The offender's current beat joined in (one query, not the beats and then their
        # officers): the beat officers of each offender.
        officers = defaultdict(list)
        for officer in (
            active.filter(role=Role.BEAT_OFFICER)
            .annotate(for_offender=F("beat__offenders"))
            .filter(for_offender__in={v.offender_id for v in violations})
        ):
            officers[officer.for_offender].append(officer)
        for violation in violations:
            found[violation.pk] = officers.get(violation.offender_id, [])
    if LadderTarget.OFFICERS_IN_CHARGE in by_target:
        violations = by_target[LadderTarget.OFFICERS_IN_CHARGE]
        officers = defaultdict(list)
        for officer in active.filter(
            duties__duty=Duty.OFFICER_IN_CHARGE,
            station_id__in={v.station_id for v in violations},
        ):
            officers[officer.station_id].append(officer)
        for violation in violations:
            found[violation.pk] = officers.get(violation.station_id, [])
    if LadderTarget.DISTRICT_SUPERVISORS in by_target:
        violations = by_target[LadderTarget.DISTRICT_SUPERVISORS]
        districts = {d for v in violations for d in alert_districts(v)}
        officers = defaultdict(list)
        for officer in active.filter(duties__duty=Duty.SUPERVISOR, district_id__in=districts):
            officers[officer.district_id].append(officer)
        for violation in violations:
            found[violation.pk] = [o for d in alert_districts(violation) for o in officers[d]]
    if LadderTarget.NATIONAL_DESK in by_target:
        desk = list(active.filter(duties__duty=Duty.NATIONAL_DESK))
        for violation in by_target[LadderTarget.NATIONAL_DESK]:
            found[violation.pk] = desk
    return found


def _notify_steps(
    violations: list[Violation], *, now: datetime, configs: dict[int, AlertConfig]
) -> list[AlertNotice]:
    """Tell each violation's current step (``escalation_level``): an in-app notice per officer
    and an ``AlertNotice`` row each; a step with nobody to tell is recorded as such.
    ``configs`` holds the violations' severities (``alert_configs``)."""
    targets: dict[int, tuple[str, Violation]] = {}
    for violation in violations:
        ladder = configs[violation.severity].ladder if violation.severity in configs else {}
        targets[violation.pk] = (ladder[violation.escalation_level], violation)
    recipients = _recipients(targets)
    notices: list[AlertNotice] = []
    told: list[tuple[Violation, list[Officer], dict]] = []
    for violation in violations:
        target = targets[violation.pk][0]
        officers = recipients.get(violation.pk, [])
        common = {
            "violation": violation,
            "level": violation.escalation_level,
            "repeat": violation.escalation_repeats,
            "target": target,
            "notified_at": now,
        }
        if officers:
            told.append((violation, officers, common))
        else:
            notices.append(AlertNotice(officer=None, channel=NoticeChannel.NOBODY, **common))
    notices.extend(_tell(told, kind=NOTICE_KIND))
    _schedule_sms_fallbacks(violations, now=now, configs=configs)
    return AlertNotice.objects.bulk_create(notices)


def _tell(told: list[tuple[Violation, list[Officer], dict]], *, kind: str) -> list:
    """In-app notice and push to each alert's officers (no identity: the officer opens the
    alert by id), set-based across the alerts; one unsaved ``AlertNotice`` per officer and
    channel used."""
    if not told:
        return []
    notify_officers_many(
        notices=[
            (
                officers,
                kind,
                f"Alert #{violation.pk}: {violation.kind}, severity {violation.severity}",
                "violation",
                violation.pk,
            )
            for violation, officers, _ in told
        ]
    )
    pushed = {
        (message.data["alert_id"], message.officer_id)
        for message in push_enqueue_many(
            pushes=[
                (
                    officers,
                    kind,
                    {
                        "type": kind,
                        "alert_id": str(violation.pk),
                        "kind": violation.kind,
                        "severity": str(violation.severity),
                        "level": str(violation.escalation_level),
                    },
                )
                for violation, officers, _ in told
            ]
        )
    }
    notices = []
    for violation, officers, common in told:
        seen: set[int] = set()
        for officer in officers:
            if officer.pk in seen:
                continue
            seen.add(officer.pk)
            notices.append(AlertNotice(officer=officer, channel=NoticeChannel.IN_APP, **common))
            if (str(violation.pk), officer.pk) in pushed:
                notices.append(AlertNotice(officer=officer, channel=NoticeChannel.PUSH, **common))
    return notices


def _schedule_sms_fallbacks(
    violations: list[Violation], *, now: datetime, configs: dict[int, AlertConfig]
) -> None:
    from compliance.jobs import alert_sms_fallback_job

    with_sms = {
        severity
        for severity, config in configs.items()
        if config.policy is not None and config.policy.sms_fallback
    }
    when = now + timedelta(seconds=settings.NIGRANI_ALERT_SMS_AFTER_SECONDS)
    due = [
        {
            "violation_id": violation.pk,
            "level": violation.escalation_level,
            "repeat": violation.escalation_repeats,
        }
        for violation in violations
        if violation.severity in with_sms
    ]
    if due:
        alert_sms_fallback_job.configure(schedule_at=when).batch_defer(*due)


SMS_PURPOSE = "alert_fallback"


def alert_sms_fallback(*, violation_id: int, level: int, repeat: int) -> int:
    """The SMS fallback of a critical alert: if it is still open at the same step, text the
    step's officers who have a work phone (the text names no offender); once per step.
    Returns how many SMS were queued."""
    from push.services import sms_enqueue

    with transaction.atomic():
        violation = Violation.objects.select_for_update().filter(pk=violation_id).first()
        if (
            violation is None
            or violation.status != ViolationStatus.OPEN
            or (violation.escalation_level, violation.escalation_repeats) != (level, repeat)
        ):
            return 0
        step = AlertNotice.objects.filter(violation=violation, level=level, repeat=repeat)
        if step.filter(channel=NoticeChannel.SMS).exists():
            return 0
        officers = Officer.objects.filter(
            pk__in=step.exclude(target=ASSIGNEE_TARGET)
            .filter(officer__isnull=False)
            .values("officer_id"),
            is_active=True,
        ).exclude(work_phone="")
        now = timezone.now()
        notices = []
        for officer in officers:
            sms_enqueue(
                to=officer.work_phone,
                text=(
                    f"Nigrani: critical alert #{violation.pk} ({violation.kind}) is not "
                    "acknowledged. Open Nigrani or call the control room."
                ),
                purpose=SMS_PURPOSE,
            )
            notices.append(
                AlertNotice(
                    violation=violation,
                    level=level,
                    repeat=repeat,
                    target=step.first().target,
                    officer=officer,
                    channel=NoticeChannel.SMS,
                    notified_at=now,
                )
            )
        AlertNotice.objects.bulk_create(notices)
    return len(notices)


# --- lifecycle steps, called inside compliance.services' transactions --------------------------


def alert_start_many(
    violations: list[Violation], *, now: datetime, configs: dict[int, AlertConfig]
) -> None:
    """New alerts, inserted with their ladder columns set (``alert_start_columns``): step 1 is
    told now (one round of notices) and the control rooms are told (one append of stream
    events). ``configs`` holds their severities (``alert_configs``)."""
    if not violations:
        return
    _notify_steps(violations, now=now, configs=configs)
    alert_emit(violations, AlertEventType.RAISED)


def alert_repeat_many(heads: list[Violation], *, now: datetime) -> None:
    """Repeats of open episodes update their alerts: counted and announced, one event per
    repeat (a head repeated twice in the batch is announced with 1 more, then 2 more). The
    head keeps its own severity (it records that breach); the repeat row keeps the repeat's."""
    if not heads:
        return
    times: dict[int, int] = defaultdict(int)
    for head in heads:
        times[head.pk] += 1
    for count in sorted(set(times.values())):
        Violation.objects.filter(pk__in=[pk for pk, n in times.items() if n == count]).update(
            repeat_count=models.F("repeat_count") + count, last_repeated_at=now
        )
    counts = dict(Violation.objects.filter(pk__in=list(times)).values_list("pk", "repeat_count"))
    events = []
    for head in heads:
        head.repeat_count = counts[head.pk] - times[head.pk] + 1
        head.last_repeated_at = now
        times[head.pk] -= 1
        events.extend(_alert_events(head, AlertEventType.UPDATED))
    _append(events)


def alert_acknowledged(violation: Violation, *, now: datetime) -> None:
    """Acknowledgement stops the climb; the resolution deadline starts."""
    policy = alert_policy_for(violation.severity)
    violation.acknowledged_at = now
    violation.resolve_due_at = now + timedelta(minutes=policy.resolve_minutes)
    Violation.objects.filter(pk=violation.pk).update(
        acknowledged_at=now, resolve_due_at=violation.resolve_due_at
    )
    alert_emit([violation], AlertEventType.UPDATED)


def alert_closed(violation: Violation, *, actor: Officer, now: datetime) -> None:
    """Resolved or dismissed: the episode's repeats close with it, the ladder stops."""
    Violation.objects.filter(
        episode=violation, status__in=[ViolationStatus.OPEN, ViolationStatus.ACKNOWLEDGED]
    ).update(
        status=violation.status,
        status_changed_at=now,
        status_changed_by=actor,
        status_reason=f"closed with alert #{violation.pk}",
    )
    alert_emit([violation], AlertEventType.CLOSED)


# --- the sweep --------------------------------------------------------------------------------

# Acknowledged alerts past their resolution deadline go back to open, due at once.
_ACK_TIMEOUT_SQL = """
UPDATE compliance_violation
   SET status = %(open)s, status_changed_at = %(now)s, status_changed_by_id = NULL,
       status_reason = %(reason)s, ack_due_at = %(now)s, resolve_due_at = NULL
 WHERE id IN (
       SELECT id FROM compliance_violation
        WHERE status = %(acknowledged)s AND episode_id IS NULL AND resolve_due_at <= %(now)s
        ORDER BY resolve_due_at LIMIT %(batch)s
        FOR UPDATE SKIP LOCKED)
RETURNING id
"""

# Open alerts past their acknowledgement deadline climb one step (or repeat the top one).
_CLIMB_SQL = """
WITH due AS (
    SELECT v.id, v.escalation_level AS level, v.escalation_repeats AS repeats,
           p.ack_minutes, p.top_repeats,
           (SELECT max(s.step) FROM compliance_ladderstep s WHERE s.severity = v.severity) AS top
      FROM compliance_violation v
      JOIN compliance_alertpolicy p ON p.severity = v.severity
     WHERE v.status = %(open)s AND v.episode_id IS NULL AND v.ack_due_at <= %(now)s
       AND v.escalation_exhausted_at IS NULL
     ORDER BY v.ack_due_at
     LIMIT %(batch)s
       FOR UPDATE OF v SKIP LOCKED
), stepped AS (
    SELECT id, ack_minutes, LEAST(level + 1, top) AS new_level,
           repeats + CASE WHEN level >= top THEN 1 ELSE 0 END AS new_repeats,
           top, top_repeats
      FROM due
)
UPDATE compliance_violation v
   SET escalation_level = s.new_level,
       escalation_repeats = s.new_repeats,
       escalated_at = %(now)s,
       ack_due_at = %(now)s + s.ack_minutes * interval '1 minute',
       escalation_exhausted_at = CASE
           WHEN s.new_level = s.top AND s.new_repeats >= s.top_repeats THEN %(now)s END
  FROM stepped s
 WHERE v.id = s.id
RETURNING v.id
"""

SWEEP_BATCH = 1000


def alert_escalation_sweep(*, now: datetime | None = None, batch: int = SWEEP_BATCH) -> dict:
    """Climb every alert that is due, one step each, set-based; returns counts.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so two sweeps running at once never
    climb one alert twice, and an officer acknowledging at that moment either wins (the row
    is no longer open) or waits for the sweep's commit and then acknowledges the new step.
    """
    now = now or timezone.now()
    params = {
        "open": ViolationStatus.OPEN,
        "acknowledged": ViolationStatus.ACKNOWLEDGED,
        "now": now,
        "reason": ACK_TIMEOUT_REASON,
        "batch": batch,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_ACK_TIMEOUT_SQL, params)
        reopened = [row[0] for row in cursor.fetchall()]
        ViolationStatusChange.objects.bulk_create(
            ViolationStatusChange(
                violation_id=violation_id,
                from_status=ViolationStatus.ACKNOWLEDGED,
                to_status=ViolationStatus.OPEN,
                actor=None,
                reason=ACK_TIMEOUT_REASON,
                changed_at=now,
            )
            for violation_id in reopened
        )
        cursor.execute(_CLIMB_SQL, params)
        climbed_ids = [row[0] for row in cursor.fetchall()]
        climbed = list(Violation.objects.filter(pk__in=climbed_ids).order_by("pk"))
        if climbed:
            _notify_steps(climbed, now=now, configs=alert_configs({v.severity for v in climbed}))
            alert_emit(climbed, AlertEventType.ESCALATED)
            for violation in climbed:
                audit_record(
                    actor=None,
                    action=AuditAction.TRANSITION,
                    object_type="violation",
                    object_id=violation.pk,
                    details={
                        "escalated_to": violation.escalation_level,
                        "repeat": violation.escalation_repeats,
                        "exhausted": violation.escalation_exhausted_at is not None,
                    },
                )
    exhausted = sum(1 for v in climbed if v.escalation_exhausted_at == now)
    return {"reopened": len(reopened), "escalated": len(climbed), "exhausted": exhausted}


# --- assignment and duties -------------------------------------------------------------------


def alert_assign(*, actor: Officer, violation: Violation, assignee: Officer, now: datetime) -> None:
    """The alert is the assignee's to handle: told in-app (and by push), event, audited. The
    caller has checked that the assignee may take it (``violation_assign``)."""
    Violation.objects.filter(pk=violation.pk).update(assigned_to=assignee, assigned_at=now)
    violation.assigned_to = assignee
    violation.assigned_at = now
    common = {
        "violation": violation,
        "level": violation.escalation_level,
        "repeat": violation.escalation_repeats,
        "target": ASSIGNEE_TARGET,
        "notified_at": now,
    }
    AlertNotice.objects.bulk_create(_tell([(violation, [assignee], common)], kind=ASSIGNED_KIND))
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="violation",
        object_id=violation.pk,
        details={"assigned_to": assignee.pk},
    )
    alert_emit([violation], AlertEventType.UPDATED)


def officer_duty_grant(*, actor: Officer, officer: Officer, duty: str) -> OfficerDuty:
    """Give an officer a ladder duty its role may hold (``DUTY_TABLE``); audited, idempotent."""
    if not actor.has_permission("alert.duty.grant"):
        raise Forbidden("You may not grant ladder duties.")
    duty = Duty(duty)
    role = DUTY_TABLE[duty][0]
    if officer.role != role:
        raise Forbidden(f"Only a {role} can hold the {duty} duty.")
    with transaction.atomic():
        row, created = OfficerDuty.objects.get_or_create(
            officer=officer, duty=duty, defaults={"granted_by": actor, "granted_at": timezone.now()}
        )
        if created:
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                object_type="officer",
                object_id=officer.pk,
                details={"duty_granted": duty.value},
            )
    return row


def officer_duty_revoke(*, actor: Officer, officer: Officer, duty: str) -> bool:
    """Take a ladder duty away; audited. False when the officer did not hold it."""
    if not actor.has_permission("alert.duty.grant"):
        raise Forbidden("You may not revoke ladder duties.")
    duty = Duty(duty)
    with transaction.atomic():
        deleted, _ = OfficerDuty.objects.filter(officer=officer, duty=duty).delete()
        if deleted:
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                object_type="officer",
                object_id=officer.pk,
                details={"duty_revoked": duty.value},
            )
    return bool(deleted)
