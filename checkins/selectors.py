"""Reads of check-ins and of the station's due list, already limited to what the actor may see.

A check-in belongs to the station where it was taken: its station officers see it, the
district's control room sees its district's stations', registry admins see all. The due list
is the station officer's own station's offenders (the register's one scoping,
``offender_queryset_for``).
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Officer
from accounts.scoping import jurisdiction_q
from checkins.models import Checkin, CheckinStatus, MissedCheckin
from checkins.schedule import DueState
from common.exceptions import NotFound
from registry.models import Offender, OffenderStatus
from registry.selectors import offender_queryset_for


def checkin_queryset_for(*, actor: Officer) -> QuerySet[Checkin]:
    """Check-ins of the station where they were taken, scoped by ``jurisdiction_q``."""
    return Checkin.objects.filter(
        jurisdiction_q(
            actor,
            district="station__district_id",
            station="station_id",
            permission="checkin.read",
        )
    )


def checkin_list(*, actor: Officer, offender_id: int | None = None) -> QuerySet[Checkin]:
    """Check-ins the actor may see, newest first, with what an output row shows joined in.

    With ``offender_id``: 404 unless the actor sees the offender now, or has check-ins of
    the offender in scope (a station keeps its own history of an offender transferred away),
    so an unseen offender's id is neither confirmed nor audited as read."""
    checkins = (
        checkin_queryset_for(actor=actor)
        .select_related("station", "started_by", "confirmed_by", "override_by", "challenge")
        .prefetch_related("notices", "travel_notices_closed")
    )
    if offender_id is not None:
        checkins = checkins.filter(offender_id=offender_id)
        visible = offender_queryset_for(actor=actor).filter(pk=offender_id)
        if not (visible.exists() or checkins.exists()):
            raise NotFound()
    return checkins


def checkin_get(*, actor: Officer, checkin_id: int) -> Checkin:
    """One check-in, or 404 when missing or outside the actor's scope."""
    checkin = checkin_list(actor=actor).filter(pk=checkin_id).first()
    if checkin is None:
        raise NotFound()
    return checkin


def checkins_due(
    *, actor: Officer, state: str | None = None, today: date | None = None
) -> QuerySet[Offender]:
    """The station's active offenders whose check-in is in its window, due today or overdue,
    soonest (most overdue) first (``last_checkin_on`` is the register's). Station officers
    only: other roles get nothing (the view refuses them first)."""
    if not actor.has_permission("checkin.perform"):
        return Offender.objects.none()
    today = today or timezone.localdate()
    window_opens = today + timedelta(days=settings.NIGRANI_CHECKIN_WINDOW_DAYS)
    offenders = offender_queryset_for(actor=actor).filter(
        status=OffenderStatus.ACTIVE, next_checkin_due__isnull=False
    )
    if state == DueState.OVERDUE:
        offenders = offenders.filter(next_checkin_due__lt=today)
    elif state == DueState.DUE:
        offenders = offenders.filter(next_checkin_due=today)
    elif state == DueState.IN_WINDOW:
        offenders = offenders.filter(next_checkin_due__gt=today, next_checkin_due__lte=window_opens)
    else:
        offenders = offenders.filter(next_checkin_due__lte=window_opens)
    return offenders


def checkin_timeline_entries(*, offender: Offender, actor: Officer) -> list[dict]:
    """The offender's confirmed check-ins and missed periods as timeline entries (the
    ``timeline_entries`` hook), only those ``actor`` may read: ``checkin.read``, check-ins in
    the jurisdiction of the station that took them, missed periods in the offender's. An
    override names its second officer, so it shows as such wherever the timeline goes."""
    checkins = Checkin.objects.filter(
        jurisdiction_q(
            actor, district="station__district", station="station", permission="checkin.read"
        ),
        offender_id=offender.pk,
        status=CheckinStatus.CONFIRMED,
    ).values_list("id", "confirmed_at", "station__code", "method", "override_by__username")
    missed = MissedCheckin.objects.filter(
        jurisdiction_q(
            actor,
            district="offender__district",
            station="offender__station",
            permission="checkin.read",
        ),
        offender_id=offender.pk,
    ).values_list("id", "detected_at", "escalated_at", "due_on")
    entries = []
    for object_id, at, station, method, override_by in checkins:
        how = f"override, four eyes: {override_by}" if override_by else method
        entries.append(_entry(at, "checkin", f"checked in at {station} ({how})", object_id))
    for object_id, at, escalated_at, due_on in missed:
        summary = f"check-in due {due_on.isoformat()} missed"
        entries.append(_entry(at, "missed_checkin", summary, object_id, "missed_checkin"))
        if escalated_at is not None:
            escalated = f"check-in due {due_on.isoformat()} still missing: escalated"
            entries.append(
                _entry(escalated_at, "missed_checkin", escalated, object_id, "missed_checkin")
            )
    return entries


def _entry(
    at: datetime, kind: str, summary: str, object_id: int, object_type: str = "checkin"
) -> dict:
    return {
        "at": at,
        "kind": kind,
        "summary": summary,
        "object_type": object_type,
        "object_id": object_id,
    }
