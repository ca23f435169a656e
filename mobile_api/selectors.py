"""Reads of verification tasks and visits, already limited to what the actor may see.

Who sees which task (``task_queryset_for``):

- ``beat_officer`` (``task.work``): open tasks assigned to its beat — nothing else (404).
- ``station_officer``: every task of its station; ``control_room``: of its district;
  ``registry_admin``: all (``task.read``).
- everyone else: nothing.

**Delta sync** (``task_sync``). The cursor is a PostgreSQL snapshot (``pg_current_snapshot()``,
``xmin:xmax:xip…``) taken *before* the tasks are read, signed so a client cannot forge it.
Every change to a task writes a ``TaskChange`` row per affected beat carrying its writing
transaction's id. The next call returns the tasks whose changes that snapshot did not see
(``NOT pg_visible_in_snapshot(xid, cursor)``): a transaction that was still running when the
cursor was made — even one that got an earlier id and commits later, which is exactly what a
cursor of ``updated_at`` or a sequence number misses — is invisible to the snapshot, so its
rows come with the next call. Because the snapshot is taken before the read (each statement
at READ COMMITTED has its own), a change committed between the two is sent now *and* again
next time: harmless, as the client keeps the copy with the highest ``version`` per task id.
A snapshot with a long list of running transactions is cut down to ``xmin:xmin:`` (everything
from the oldest running transaction counts as unseen), a wider but still safe overlap.
Cursors expire after ``NIGRANI_SYNC_CURSOR_MAX_DAYS`` (400 on ``since``: the app syncs in full),
which is what lets the daily job prune older change rows.
"""

import datetime as dt
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import Officer
from accounts.scoping import jurisdiction_q
from common.exceptions import Forbidden, NotFound
from jurisdictions.models import District
from mobile_api.models import (
    Outcome,
    ReviewStatus,
    TaskChange,
    TaskStatus,
    VerificationTask,
    Visit,
    VisitPhoto,
)
from registry.models import OffenderStatus

SYNC_SALT = "mobile_api.task_sync"
INVALID_SINCE = "Invalid or expired sync cursor; sync again without ?since=."
# Longest list of in-progress transactions kept in a cursor (module docstring).
MAX_CURSOR_XIPS = 64


def _scope_q(actor: Officer) -> Q:
    """``jurisdiction_q`` on the task's place; need to know on top: whoever works tasks sees
    only the open ones of its own beat."""
    if actor.has_permission("task.work"):
        return _worker_q(actor)
    return jurisdiction_q(
        actor, district="district_id", station="station_id", permission="task.read"
    )


def _worker_q(actor: Officer) -> Q:
    return jurisdiction_q(actor, beat="beat_id", permission="task.work") & Q(status=TaskStatus.OPEN)


def task_queryset_for(*, actor: Officer) -> QuerySet[VerificationTask]:
    """Every task the actor may see now (module docstring)."""
    return VerificationTask.objects.filter(_scope_q(actor))


def beat_offender_ids(*, officer: Officer) -> set[int]:
    """The ``beat_offender_ids`` hook: offenders with an open task on the officer's beat."""
    return set(
        VerificationTask.objects.filter(_worker_q(officer)).values_list("offender_id", flat=True)
    )


def _field_queryset(queryset: QuerySet[VerificationTask]) -> QuerySet[VerificationTask]:
    """What the officer's app shows of a task, joined in one query."""
    return queryset.select_related("offender", "address", "beat", "station")


def task_get_for_worker(*, actor: Officer, task_id: int) -> VerificationTask:
    """An open task of the beat officer's beat, or 404."""
    if not actor.has_permission("task.work"):
        raise NotFound()
    task = _field_queryset(task_queryset_for(actor=actor)).filter(pk=task_id).first()
    if task is None:
        raise NotFound()
    return task


def task_was_on_beat(*, task_id: int, beat_id: int | None) -> bool:
    """Whether the task was on this beat's list within the change log's lifetime (a queued
    visit for it earns a 409 with its state rather than a 404)."""
    if beat_id is None:
        return False
    return TaskChange.objects.filter(task_id=task_id, beat_id=beat_id).exists()


def task_get(*, actor: Officer, task_id: int) -> VerificationTask:
    """One task of the station/district/national lists, or 404."""
    task = (
        task_queryset_for(actor=actor)
        .select_related("district", "station", "beat")
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise NotFound()
    return task


def task_list(
    *,
    actor: Officer,
    status: str | None = None,
    kind: str | None = None,
    overdue: bool = False,
    station: str | None = None,
    beat: str | None = None,
    needs_point: bool | None = None,
) -> QuerySet[VerificationTask]:
    """Station, district or national task list (``task.read``); ``overdue`` = open and due
    before today (Pakistan's date)."""
    if not actor.has_permission("task.read"):
        raise Forbidden("You may not list verification tasks.")
    tasks = task_queryset_for(actor=actor).select_related("district", "station", "beat")
    if status:
        tasks = tasks.filter(status=status)
    if kind:
        tasks = tasks.filter(kind=kind)
    if overdue:
        tasks = tasks.filter(status=TaskStatus.OPEN, due_on__lt=timezone.localdate())
    if station:
        tasks = tasks.filter(station__code=station)
    if beat:
        tasks = tasks.filter(beat__code=beat)
    if needs_point is not None:
        tasks = tasks.filter(needs_point=needs_point)
    return tasks


# --- delta sync ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskSync:
    tasks: list[VerificationTask]  # open on the officer's beat: send in full
    tombstones: list[dict[str, Any]]  # {"id", "removed": True, "reason", "version"}
    cursor: str
    full: bool  # True: the client replaces its list (first call, or a cursor of another beat)


def _current_snapshot() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text")
        snapshot = cursor.fetchone()[0]
    xmin, xmax, xips = snapshot.split(":")
    if xips and xips.count(",") + 1 > MAX_CURSOR_XIPS:
        return f"{xmin}:{xmin}:"
    return snapshot


def _snapshot_is_valid(snapshot: Any) -> bool:
    if not isinstance(snapshot, str) or snapshot.count(":") != 2:
        return False
    xmin, xmax, xips = snapshot.split(":")
    numbers = [xmin, xmax, *(xips.split(",") if xips else [])]
    if not all(n.isdigit() and len(n) <= 19 for n in numbers):
        return False
    return int(xmin) <= int(xmax) and all(int(xmin) <= int(x) < int(xmax) for x in numbers[2:])


def sync_cursor_make(*, officer: Officer, snapshot: str) -> str:
    return signing.dumps({"o": officer.pk, "b": officer.beat_id, "s": snapshot}, salt=SYNC_SALT)


def sync_cursor_read(*, officer: Officer, cursor: str) -> str | None:
    """The snapshot in a cursor this officer was given, None when it was made for another beat
    (the officer moved: a full resync follows); a forged or damaged cursor is a 400."""
    invalid = ValidationError({"since": [INVALID_SINCE]})
    try:
        data = signing.loads(
            cursor,
            salt=SYNC_SALT,
            max_age=timedelta(days=settings.NIGRANI_SYNC_CURSOR_MAX_DAYS),
        )
    except signing.BadSignature:
        raise invalid from None
    if not isinstance(data, dict) or data.get("o") != officer.pk:
        raise invalid
    if not _snapshot_is_valid(data.get("s")):
        raise invalid
    if data.get("b") != officer.beat_id:
        return None
    return data["s"]


def _tombstone_reason(task: VerificationTask, beat_id: int) -> str:
    if task.status == TaskStatus.CANCELLED:
        return "cancelled"
    if task.status == TaskStatus.CLOSED:
        return "closed"
    return "reassigned"  # open, but on another beat (or back at the station)


def task_sync(*, actor: Officer, since: str | None) -> TaskSync:
    """The beat officer's list: all open tasks, or with ``since`` the tasks changed since that
    cursor, those no longer on the list as tombstones (module docstring)."""
    if not actor.has_permission("task.work") or actor.beat_id is None:
        raise Forbidden("Only beat officers sync verification tasks.")
    previous = sync_cursor_read(officer=actor, cursor=since) if since else None
    snapshot = _current_snapshot()  # before reading: see the module docstring
    cursor = sync_cursor_make(officer=actor, snapshot=snapshot)
    open_tasks = _field_queryset(task_queryset_for(actor=actor)).order_by("due_on", "id")
    if previous is None:
        return TaskSync(tasks=list(open_tasks), tombstones=[], cursor=cursor, full=True)

    xmin = int(previous.split(":")[0])
    changed_ids = (
        TaskChange.objects.filter(beat_id=actor.beat_id, xid__gte=xmin)
        .extra(
            where=["NOT pg_visible_in_snapshot(xid::text::xid8, %s::pg_snapshot)"],  # noqa: S610 - fixed SQL, the snapshot is a bound parameter
            params=[previous],
        )
        .values("task_id")
    )
    changed = list(
        VerificationTask.objects.filter(pk__in=changed_ids)
        .select_related("offender", "address", "beat", "station")
        .order_by("due_on", "id")
    )
    tasks = [t for t in changed if t.status == TaskStatus.OPEN and t.beat_id == actor.beat_id]
    tombstones = [
        {
            "id": t.pk,
            "removed": True,
            "reason": _tombstone_reason(t, actor.beat_id),
            "version": t.version,
        }
        for t in changed
        if not (t.status == TaskStatus.OPEN and t.beat_id == actor.beat_id)
    ]
    return TaskSync(tasks=tasks, tombstones=tombstones, cursor=cursor, full=False)


# --- visits and reviews ----------------------------------------------------------------------


def visit_review_queue(*, actor: Officer) -> QuerySet[Visit]:
    """Flagged visits waiting for the station officer's review, oldest first."""
    if not actor.has_permission("visit.review") or actor.station_id is None:
        raise Forbidden("You may not review visits.")
    return (
        Visit.objects.filter(review_status=ReviewStatus.PENDING, task__station_id=actor.station_id)
        .select_related("task", "task__beat", "officer")
        .prefetch_related(Prefetch("photos", queryset=VisitPhoto.objects.order_by("id")))
    )


def visit_get_for_review(*, actor: Officer, visit_id: int) -> Visit:
    """A visit of the reviewer's station, or 404."""
    if not actor.has_permission("visit.review") or actor.station_id is None:
        raise NotFound()
    visit = (
        Visit.objects.filter(task__station_id=actor.station_id, pk=visit_id)
        .select_related("task", "task__beat", "officer")
        .first()
    )
    if visit is None:
        raise NotFound()
    return visit


def visit_photo_get(*, actor: Officer, visit_id: int, photo_id: int) -> VisitPhoto:
    """A visit photo for whoever may see the visit's task: its station's officers, the
    district's control room, the registry, and the beat officer while the task is on its
    beat; 404 otherwise."""
    tasks = task_queryset_for(actor=actor)
    photo = (
        VisitPhoto.objects.filter(pk=photo_id, visit_id=visit_id, visit__task__in=tasks)
        .select_related("visit")
        .first()
    )
    if photo is None:
        raise NotFound()
    return photo


# --- coverage --------------------------------------------------------------------------------

_COVERAGE_SQL = """
WITH policy AS (
    SELECT risk_tier, verification_interval_days FROM registry_reportingpolicy
), active AS (
    SELECT o.station_id, o.beat_id,
           count(*) AS active_offenders,
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM mobile_api_visit v
               WHERE v.offender_id = o.id AND v.counted AND v.outcome = %(confirmed)s
                 AND v.visited_at >= %(now)s - make_interval(days => p.verification_interval_days)
           )) AS verified
    FROM registry_offender o JOIN policy p ON p.risk_tier = o.risk_tier
    WHERE o.district_id = %(district)s AND o.status = %(active)s
    GROUP BY o.station_id, o.beat_id
), tasks AS (
    SELECT t.station_id, t.beat_id,
           count(*) FILTER (WHERE t.status = %(open)s) AS open_tasks,
           count(*) FILTER (WHERE t.status = %(open)s AND t.due_on < %(today)s) AS overdue_tasks
    FROM mobile_api_verificationtask t
    WHERE t.district_id = %(district)s AND t.status = %(open)s
    GROUP BY t.station_id, t.beat_id
), reviews AS (
    SELECT t.station_id, t.beat_id, count(*) AS awaiting_review
    FROM mobile_api_visit v JOIN mobile_api_verificationtask t ON t.id = v.task_id
    WHERE t.district_id = %(district)s AND v.review_status = %(pending)s
    GROUP BY t.station_id, t.beat_id
), places AS (
    SELECT station_id, beat_id FROM active
    UNION SELECT station_id, beat_id FROM tasks
    UNION SELECT station_id, beat_id FROM reviews
)
SELECT s.code, b.code,
       coalesce(a.active_offenders, 0), coalesce(a.verified, 0),
       coalesce(t.open_tasks, 0), coalesce(t.overdue_tasks, 0),
       coalesce(r.awaiting_review, 0)
FROM places pl
LEFT JOIN active a
       ON a.station_id IS NOT DISTINCT FROM pl.station_id
      AND a.beat_id IS NOT DISTINCT FROM pl.beat_id
LEFT JOIN tasks t
       ON t.station_id IS NOT DISTINCT FROM pl.station_id
      AND t.beat_id IS NOT DISTINCT FROM pl.beat_id
LEFT JOIN reviews r
       ON r.station_id IS NOT DISTINCT FROM pl.station_id
      AND r.beat_id IS NOT DISTINCT FROM pl.beat_id
LEFT JOIN jurisdictions_policestation s ON s.id = pl.station_id
LEFT JOIN jurisdictions_beat b ON b.id = pl.beat_id
ORDER BY s.code NULLS FIRST, b.code NULLS FIRST
"""


@dataclass(frozen=True)
class CoverageRow:
    station: str | None
    beat: str | None
    active_offenders: int
    verified_within_interval: int
    open_tasks: int
    overdue_tasks: int
    awaiting_review: int

    @property
    def verified_share(self) -> float | None:
        if not self.active_offenders:
            return None
        return round(self.verified_within_interval / self.active_offenders, 4)


def coverage_district_get(*, actor: Officer, district_code: str) -> District:
    """The district whose coverage the actor may read: its own (control room), any (NPB)."""
    if not actor.has_permission("coverage.read"):
        raise Forbidden("You may not read verification coverage.")
    district = (
        District.objects.filter(jurisdiction_q(actor, district="pk", permission="coverage.read"))
        .filter(code=district_code)
        .first()
    )
    if district is None:
        raise NotFound()
    return district


def coverage_rows(*, district: District, now: dt.datetime | None = None) -> list[CoverageRow]:
    """Per station and beat of the district: active offenders and how many of them had a
    counted confirmed visit within their tier's interval, open and overdue tasks, and visits
    awaiting review — aggregated by PostgreSQL in one query (rows where no station or beat
    applies carry None: offenders or tasks not yet placed in one)."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _COVERAGE_SQL,
            {
                "district": district.pk,
                "now": now,
                "today": timezone.localdate(now),
                "confirmed": Outcome.CONFIRMED,
                "active": OffenderStatus.ACTIVE,
                "open": TaskStatus.OPEN,
                "pending": ReviewStatus.PENDING,
            },
        )
        return [CoverageRow(*row) for row in cursor.fetchall()]


def visit_timeline_entries(*, offender: Any, actor: Officer) -> list[dict[str, Any]]:
    """The offender's verification visits as timeline entries (the ``timeline_entries``
    hook): only to officers who read or work tasks, and only visits of tasks in their
    jurisdiction (a beat officer: its beat's). No address text."""
    if not (actor.has_permission("task.read") or actor.has_permission("task.work")):
        return []
    visible = jurisdiction_q(
        actor, district="task__district", station="task__station", beat="task__beat"
    )
    rows = Visit.objects.filter(visible, offender_id=offender.pk).values_list(
        "id", "outcome", "counted", "review_status", "visited_at", "task_id"
    )
    entries = []
    for visit_id, outcome, counted, review_status, visited_at, task_id in rows:
        state = "counted" if counted else (review_status or "not counted")
        entries.append(
            {
                "at": visited_at,
                "kind": "verification_visit",
                "summary": f"verification visit (task #{task_id}): {outcome}, {state}",
                "object_type": "visit",
                "object_id": visit_id,
            }
        )
    return entries
