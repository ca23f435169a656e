"""Reads of notices of change, scoped like the offender record they belong to.

A notice is visible to whoever may see its offender (``offender_queryset_for``) and holds
``notice.read``: registry admins everywhere, data entry and control rooms in their district,
station officers in their station. A notice filed at another station's counter is routed to
the supervising station and is visible there, not at the counter that took it.
"""

from django.db.models import QuerySet

from accounts.models import Officer
from accounts.scoping import jurisdiction_q
from common.exceptions import Forbidden, NotFound
from registry.models import Notice
from registry.selectors import offender_queryset_for


def _require(actor: Officer, permission: str) -> None:
    if not actor.has_permission(permission):
        raise Forbidden("You may not read notices of change.")


def notice_queryset_for(*, actor: Officer) -> QuerySet[Notice]:
    """Every notice the actor may read (none without ``notice.read``)."""
    if not actor.has_permission("notice.read"):
        return Notice.objects.none()
    return Notice.objects.filter(offender__in=offender_queryset_for(actor=actor).values("pk"))


def notice_list_for_offender(*, actor: Officer, offender_id: int) -> QuerySet[Notice]:
    """The offender's notices, newest first; 404 when the offender is not the actor's to see."""
    _require(actor, "notice.read")
    if not offender_queryset_for(actor=actor).filter(pk=offender_id).exists():
        raise NotFound()
    return Notice.objects.filter(offender_id=offender_id).select_related(
        "filed_by",
        "station",
        "destination_district",
        "acknowledged_by",
        "cancelled_by",
        "closed_by",
    )


def notice_get(*, actor: Officer, notice_id: int) -> Notice:
    """One notice the actor may read, or 404."""
    notice = (
        notice_queryset_for(actor=actor)
        .select_related(
            "offender",
            "filed_by",
            "station",
            "destination_district",
            "acknowledged_by",
            "cancelled_by",
            "closed_by",
        )
        .filter(pk=notice_id)
        .first()
    )
    if notice is None:
        raise NotFound()
    return notice


def notice_timeline_entries(*, actor: Officer, offender_id: int) -> list[dict]:
    """The offender's notices as timeline entries (``{"at", "kind", "summary", "object_type",
    "object_id"}``, the shape of the ``timeline_entries`` hook), for the offender timeline:
    those ``actor`` may read (``notice.read``, in the jurisdiction of the station the notice
    was routed to). Summaries name the kind and state only, never the new values."""
    entries: list[dict] = []
    visible = jurisdiction_q(
        actor, district="station__district", station="station", permission="notice.read"
    )
    notices = Notice.objects.filter(visible, offender_id=offender_id).only(
        "id", "kind", "is_late", "filed_at", "acknowledged_at", "cancelled_at", "closed_at"
    )
    for notice in notices:
        late = " (late)" if notice.is_late else ""
        steps = [
            (notice.filed_at, f"{notice.kind} notice filed{late}"),
            (notice.acknowledged_at, f"{notice.kind} notice acknowledged"),
            (notice.cancelled_at, f"{notice.kind} notice cancelled"),
            (notice.closed_at, f"{notice.kind} notice closed on return"),
        ]
        entries += [
            {
                "at": at,
                "kind": "notice",
                "summary": summary,
                "object_type": "notice",
                "object_id": notice.pk,
            }
            for at, summary in steps
            if at is not None
        ]
    return entries
