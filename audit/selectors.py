"""Reading the audit trail."""

from datetime import datetime
from typing import Any, TypedDict

from django.db.models import QuerySet

from audit.models import AuditEvent
from common.exceptions import NotFound


class AuditEventFilters(TypedDict, total=False):
    actor: int
    action: str
    object_type: str
    object_id: str
    purpose: str
    request_id: str
    since: datetime  # inclusive
    until: datetime  # exclusive


def _visible_events(actor: Any) -> QuerySet[AuditEvent]:
    # The trail is national, not jurisdiction-scoped: one permission decides all of it.
    if actor is None or not actor.has_permission("audit.read"):
        return AuditEvent.objects.none()
    return AuditEvent.objects.all()


def audit_event_list(*, actor: Any, filters: AuditEventFilters) -> QuerySet[AuditEvent]:
    """Events the actor may read, newest first, narrowed by the given filters."""
    events = _visible_events(actor)
    exact = {
        "actor_id": filters.get("actor"),
        "action": filters.get("action"),
        "object_type": filters.get("object_type"),
        "object_id": filters.get("object_id"),
        "purpose": filters.get("purpose"),
        "request_id": filters.get("request_id"),
        "occurred_at__gte": filters.get("since"),
        "occurred_at__lt": filters.get("until"),
    }
    return events.filter(**{k: v for k, v in exact.items() if v is not None}).order_by("-id")


def audit_event_get(*, actor: Any, event_id: int) -> AuditEvent:
    try:
        return _visible_events(actor).get(id=event_id)
    except AuditEvent.DoesNotExist:
        raise NotFound() from None


def audit_events_for_object(*, object_type: str, object_id: str | int) -> QuerySet[AuditEvent]:
    """Everything recorded about one object, newest first (the registry's timeline).

    Not scoped here: the caller has already decided that its actor may see the object.
    """
    return AuditEvent.objects.filter(object_type=object_type, object_id=str(object_id)).order_by(
        "-id"
    )
