"""Every due date of an offender, in one place: the end of registration, the next check-in and
the next address verification. The register owns them; the apps above report the events that
move them (a confirmed check-in, a counted verification) through the services here and never
write the columns themselves.

The rules, each written once in Python and — where a bulk path needs it — once in SQL right
below it, so one reader sees both:

- **Registration** ends ``registration_period_years`` after release (never, for a tier whose
  period is null). Convictions do not move it: only the release date and the tier do.
- **Supervision (re)starts** on the release date, on the day an offender was registered as
  already released (``'' → active``) and on the day of a return from absconding
  (``absconded → active``), whichever is latest (``supervision_started_on`` /
  ``_SUPERVISION_START_SQL``).
- **The next check-in** falls one tier interval after the anchor: the last confirmed check-in
  (``Offender.last_checkin_on``) or the (re)start of supervision, whichever is later.
- **The next verification** falls one tier interval after the last counted confirmed
  verification visit (``Offender.last_verified_on``) or the (re)start of supervision,
  whichever is later.
- Only active offenders have check-in and verification dues.

The events that move them, one service each:

- a check-in confirmed: ``offender_checkin_confirmed`` (the next one is an interval away);
- a verification counted: ``offender_verification_counted``;
- a policy changed: ``reporting_policy_dues_move`` (set-based, the whole tier);
- a tier changed: ``offender_tier_changed`` (one offender).

**Tier change (decided here; the two earlier copies disagreed).** A tier change is the policy
change of one offender, so it follows the same rule as a policy change, not a restart: the
dates are counted from the anchors above (the last check-in / verification or the start of
supervision), not from today. A check-in date is never put in the past (``max(…, today)``):
a shorter interval must not make an offender an instant defaulter for a period nobody told
him of; and an offender already in a missed check-in period keeps his due date (the
``checkin_dues_held`` hook: check-ins knows the missed periods), so the period still
escalates and the same absence is not raised twice. The verification date is not clamped:
an overdue verification is the police's duty, the schedule simply opens the task at once.
(Before, ``offender_update`` restarted both dates from today while the policy-change SQL
counted from the last check-in; a tier change could thereby postpone a check-in by up to a
whole interval.)
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Officer
from audit.models import AuditAction
from audit.services import audit_record
from registry import hooks
from registry.models import Offender, OffenderStatus, ReportingPolicy, StatusChange

S = OffenderStatus
# The transitions into ``active`` that (re)start supervision on their day. A release
# (``in_custody → active``) is anchored on its ``released_on`` instead, which may be earlier
# than the day it was recorded.
RESTARTING_FROM = ("", S.ABSCONDED)  # "": the opening row of a record registered active


# --- the arithmetic ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Dues:
    registration_ends_on: date | None
    next_checkin_due: date | None
    next_verification_due: date | None


NO_DUES = Dues(None, None, None)
DUE_FIELDS = ("registration_ends_on", "next_checkin_due", "next_verification_due")


def due_after(anchor: date, interval_days: int) -> date:
    """The due date one interval after ``anchor``."""
    if interval_days < 1:
        raise ValueError("a reporting interval is at least one day")
    return anchor + timedelta(days=interval_days)


def _add_years(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a common year
        return start.replace(year=start.year + years, day=28)


def registration_end(*, policy: ReportingPolicy, released_on: date) -> date | None:
    """The day registration ends for an offender of ``policy``'s tier released on
    ``released_on``; None for life."""
    years = policy.registration_period_years
    return _add_years(released_on, years) if years is not None else None


def offender_dues_compute(*, policy: ReportingPolicy, released_on: date, since: date) -> Dues:
    """The registration end and next dues of an active offender released on ``released_on``
    whose supervision (re)started on ``since`` (nothing reported since)."""
    return Dues(
        registration_ends_on=registration_end(policy=policy, released_on=released_on),
        next_checkin_due=due_after(since, policy.checkin_interval_days),
        next_verification_due=due_after(since, policy.verification_interval_days),
    )


def reporting_policy_for(risk_tier: int) -> ReportingPolicy:
    policy = ReportingPolicy.objects.filter(risk_tier=risk_tier).first()
    if policy is None:
        # Tiers are validated against the table on input; a missing row is a deployment fault.
        raise ImproperlyConfigured(f"no ReportingPolicy for tier {risk_tier}")
    return policy


def offender_dues_derive(
    *,
    status: str,
    risk_tier: int,
    released_on: date | None,
    registration_ends_on: date | None,
    since: date,
    policy: ReportingPolicy | None = None,
) -> Dues:
    """The dues an offender in ``status`` has when supervision (re)starts on ``since``
    (release, registration, return): computed from the policy when active (and released
    through the register), none otherwise; the registration end is kept.

    ``policy`` is the tier's policy when the caller already holds it (the bulk import reads
    them all once); otherwise it is read here."""
    if status == S.ACTIVE and released_on is not None:
        if policy is None:
            policy = reporting_policy_for(risk_tier)
        elif policy.risk_tier != risk_tier:
            raise ValueError(f"the policy of tier {policy.risk_tier} given for tier {risk_tier}")
        return offender_dues_compute(policy=policy, released_on=released_on, since=since)
    return Dues(registration_ends_on, None, None)


def dues_changes(dues: Dues) -> dict[str, date | None]:
    return {name: getattr(dues, name) for name in DUE_FIELDS}


# --- the anchor: when supervision (re)started -------------------------------------------------


def supervision_started_on(offender: Offender) -> date | None:
    """The day the offender's current supervision (re)started (module docstring); None when
    the register never recorded a release."""
    if offender.released_on is None:
        return None
    restarts = StatusChange.objects.filter(
        offender=offender, to_status=S.ACTIVE, from_status__in=RESTARTING_FROM
    ).values_list("changed_at", flat=True)
    return max([offender.released_on, *(timezone.localdate(at) for at in restarts)])


# The same rule over a row ``{o}`` of registry_offender; parameters ``tz``, ``active`` and
# ``restarting``. GREATEST ignores NULLs: no restart row leaves the release date.
_SUPERVISION_START_SQL = """GREATEST(
    {o}.released_on,
    (SELECT max((sc.changed_at AT TIME ZONE %(tz)s)::date)
       FROM registry_statuschange AS sc
      WHERE sc.offender_id = {o}.id AND sc.to_status = %(active)s
        AND sc.from_status = ANY(%(restarting)s))
)"""


# The enum values the statements here name: parameters, never spelt in the SQL
# (tests/common/test_sql_enums.py).
SQL_ENUMS = {"active": S.ACTIVE}


def _anchor_params() -> dict[str, Any]:
    return {**SQL_ENUMS, "tz": settings.TIME_ZONE, "restarting": list(RESTARTING_FROM)}


def _held_ids(offenders: QuerySet[Offender]) -> set[int]:
    """Offenders among ``offenders`` whose check-in due date must stay (a missed period open
    on it: the ``checkin_dues_held`` hook of the check-ins app)."""
    held: set[int] = set()
    for ids in hooks.call("checkin_dues_held", offenders=offenders):
        held.update(ids)
    return held


# --- event: a check-in confirmed --------------------------------------------------------------


def offender_checkin_confirmed(*, offender: Offender, confirmed_on: date) -> date:
    """A check-in was confirmed on ``confirmed_on``: it is the new anchor, the next one falls
    one tier interval after it. Writes and returns the new due date (the caller holds the
    offender's check-in under lock)."""
    interval = reporting_policy_for(offender.risk_tier).checkin_interval_days
    next_due = due_after(confirmed_on, interval)
    Offender.objects.filter(pk=offender.pk).update(
        next_checkin_due=next_due, last_checkin_on=confirmed_on, updated_at=timezone.now()
    )
    offender.next_checkin_due, offender.last_checkin_on = next_due, confirmed_on
    return next_due


# --- event: a verification counted ------------------------------------------------------------


def offender_verification_counted(
    *, offender_id: int, risk_tier: int, visited_on: date
) -> date | None:
    """A confirmed verification visit on ``visited_on`` counted: it is the new anchor, the next
    verification falls one tier interval after it. Returns the new due date (None, and nothing
    written, when the tier has no policy row)."""
    policy = ReportingPolicy.objects.filter(risk_tier=risk_tier).first()
    if policy is None:
        return None
    next_due = due_after(visited_on, policy.verification_interval_days)
    Offender.objects.filter(pk=offender_id).update(
        next_verification_due=next_due, last_verified_on=visited_on, updated_at=timezone.now()
    )
    return next_due


# --- event: a tier changed (one offender, Python) ---------------------------------------------


def offender_dues_for_tier(*, offender: Offender, policy: ReportingPolicy, today: date) -> Dues:
    """The dues of ``offender`` under ``policy`` counted from its anchors (the module
    docstring: the Python form of ``_CHECKIN_DUES_SQL`` and ``_VERIFICATION_DUES_SQL``, minus
    the missed-period hold, which the caller applies)."""
    if offender.released_on is None:
        return Dues(offender.registration_ends_on, None, None)
    ends = registration_end(policy=policy, released_on=offender.released_on)
    started = supervision_started_on(offender)
    if offender.status != S.ACTIVE or started is None:
        return Dues(ends, None, None)
    checkin_anchor = max(d for d in (started, offender.last_checkin_on) if d is not None)
    verified_anchor = max(d for d in (started, offender.last_verified_on) if d is not None)
    return Dues(
        registration_ends_on=ends,
        next_checkin_due=max(due_after(checkin_anchor, policy.checkin_interval_days), today),
        next_verification_due=due_after(verified_anchor, policy.verification_interval_days),
    )


def offender_tier_changed(*, offender: Offender) -> list[str]:
    """The offender's tier was set to a new value (not yet saved): move its registration end
    and due dates by the new tier's policy (the decision in the module docstring). Sets them
    on ``offender`` and returns the names of the fields the caller saves."""
    dues = offender_dues_for_tier(
        offender=offender,
        policy=reporting_policy_for(offender.risk_tier),
        today=timezone.localdate(),
    )
    if dues.next_checkin_due is not None and _held_ids(Offender.objects.filter(pk=offender.pk)):
        dues = Dues(
            dues.registration_ends_on, offender.next_checkin_due, dues.next_verification_due
        )
    for name, value in dues_changes(dues).items():
        setattr(offender, name, value)
    return list(DUE_FIELDS)


# --- event: a policy changed (the whole tier, SQL) --------------------------------------------

# ``offender_dues_for_tier``'s check-in date for every active offender of a tier, in one
# UPDATE; offenders held in a missed period (``held``) keep theirs. Returns the ids moved.
# Composed of module constants only (no input reaches the text): S608 does not apply.
_CHECKIN_DUES_SQL = f"""
UPDATE registry_offender AS o
SET next_checkin_due = s.new_due, updated_at = %(now)s
FROM (
    SELECT x.id, GREATEST(
        GREATEST({_SUPERVISION_START_SQL.format(o="x")}, x.last_checkin_on)
            + p.checkin_interval_days,
        %(today)s::date
    ) AS new_due
    FROM registry_offender AS x
    JOIN registry_reportingpolicy AS p ON p.risk_tier = x.risk_tier
    WHERE x.risk_tier = %(tier)s AND x.status = %(active)s AND x.released_on IS NOT NULL
      AND x.id <> ALL(%(held)s::bigint[])
) AS s
WHERE o.id = s.id AND o.next_checkin_due IS DISTINCT FROM s.new_due
RETURNING o.id
"""  # noqa: S608

# ``offender_dues_for_tier``'s verification date for every active offender of a tier.
_VERIFICATION_DUES_SQL = f"""
UPDATE registry_offender AS o
SET next_verification_due =
        GREATEST({_SUPERVISION_START_SQL.format(o="o")}, o.last_verified_on)
            + p.verification_interval_days,
    updated_at = %(now)s
FROM registry_reportingpolicy AS p
WHERE p.risk_tier = o.risk_tier
  AND o.risk_tier = %(tier)s AND o.status = %(active)s AND o.released_on IS NOT NULL
"""  # noqa: S608


@dataclass(frozen=True)
class PolicyDuesMoved:
    checkin_ids: list[int]
    verifications: int


def reporting_policy_dues_move(
    *, policy: ReportingPolicy, actor: Officer | None
) -> PolicyDuesMoved:
    """The tier's intervals changed: every active offender of the tier is next due one (new)
    interval after its anchors, in two statements whatever the tier's size (check-ins never
    before today; missed periods held). One ``checkin_schedule`` audit event names how many
    check-in dates moved (none when none did)."""
    params = {
        **_anchor_params(),
        "now": timezone.now(),
        "today": timezone.localdate(),
        "tier": policy.risk_tier,
    }
    held = _held_ids(Offender.objects.filter(risk_tier=policy.risk_tier, status=S.ACTIVE))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CHECKIN_DUES_SQL, {**params, "held": sorted(held)})
        moved = [row[0] for row in cursor.fetchall()]
        cursor.execute(_VERIFICATION_DUES_SQL, params)
        verifications = cursor.rowcount
        if moved:
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
    return PolicyDuesMoved(checkin_ids=moved, verifications=verifications)


# --- the policy itself --------------------------------------------------------------------------


def reporting_policy_save(
    *, actor: Officer, policy: ReportingPolicy, fields: Sequence[str], created: bool
) -> ReportingPolicy:
    """Save a reporting policy validated by the caller's form (the admin), naming the changed
    ``fields`` in the audit event. A changed policy moves the tier's due dates
    (``reporting_policy_dues_move``) and calls ``reporting_policy_changed`` so the apps above
    move what they keep (open verification tasks), all in one transaction."""
    fields = sorted(fields)
    with transaction.atomic():
        if created:
            policy.save()
        elif fields:
            policy.save(update_fields=[*fields, "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            object_type="reporting_policy",
            object_id=policy.pk,
            details={"via": "admin", "fields": fields},
        )
        if not created:
            reporting_policy_dues_move(policy=policy, actor=actor)
            hooks.call("reporting_policy_changed", policy=policy, actor=actor)
    return policy
