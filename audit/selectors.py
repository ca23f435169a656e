"""Reading the audit trail."""

from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from audit.models import AuditEvent, CheckpointPublication
from common.exceptions import NotFound
from common.health import CheckFailed


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


def checkpoint_publication_health(*, now: datetime | None = None) -> str:
    """How publishing checkpoints to each configured sink is going, for ``/readyz`` and the
    sealer's health check: "ok (file 12 s ago, s3 12 s ago)", or ``CheckFailed`` naming each
    sink that is failing (since when, the error class) or has not been reached for three
    checkpoint intervals. Sink names, times and error classes only."""
    at = now or timezone.now()
    stale_after = timedelta(seconds=3 * settings.NIGRANI_AUDIT_CHECKPOINT_SECONDS)
    rows = {row.sink: row for row in CheckpointPublication.objects.all()}
    good: list[str] = []
    bad: list[str] = []
    for sink in settings.NIGRANI_AUDIT_CHECKPOINT_SINKS:
        row = rows.get(sink)
        if row is None or (row.last_published_at is None and row.failing_since is None):
            good.append(f"{sink} none yet")
        elif row.failing_since is not None:
            bad.append(
                f"{sink} failing since {row.failing_since:%Y-%m-%d %H:%M:%S} UTC "
                f"({row.failures} attempts, {row.last_error})"
            )
        elif at - row.last_published_at > stale_after:
            bad.append(
                f"{sink} last published {int((at - row.last_published_at).total_seconds())} s "
                "ago (is the sealer running?)"
            )
        else:
            good.append(f"{sink} {int((at - row.last_published_at).total_seconds())} s ago")
    if bad:
        raise CheckFailed("checkpoints not published: " + "; ".join(bad))
    return "ok (" + ", ".join(good) + ")"
