"""Reads of records requests, already limited to what the actor may see.

``records_request_queryset_for`` is the one place that scopes requests. It starts from the one
mechanism (``accounts.scoping.jurisdiction_q`` with ``records_request.read``) and narrows to
need-to-know on top:

- ``investigating_officer``: only the requests it filed itself (a colleague at the same station
  sees nothing of them);
- ``district_prosecutor``: the requests of its district (the FIR's station decides);
- ``registry_admin`` (NPB): requests once forwarded to it, and those escalated to it for want
  of a prosecutor's decision (read-only until forwarded);
- every other role: nothing (no permission).

``extract_access`` is the one rule of who reads an extract: the filing officer of a delivered
match until its access expires; the prosecutor and the NPB on its path once it is answered.
"""

from datetime import datetime

from django.db.models import Q, QuerySet

from accounts.models import Officer
from accounts.roles import Role
from accounts.scoping import jurisdiction_q
from common.exceptions import NotFound
from disclosures.models import RecordsRequest, RequestAnswer, RequestState, SecurityEvent

EXTRACT_ALLOWED = "allowed"
EXTRACT_EXPIRED = "expired"
EXTRACT_NONE = "none"  # not answered, no match, or not yet passed to the officer

_NPB_STATES = [RequestState.FORWARDED, RequestState.ANSWERED, RequestState.DELIVERED]


def records_request_queryset_for(*, actor: Officer) -> QuerySet[RecordsRequest]:
    """Every request the actor may see now (module docstring)."""
    scoped = RecordsRequest.objects.filter(
        jurisdiction_q(
            actor, district="district_id", station="station_id", permission="records_request.read"
        )
    )
    if actor.role == Role.INVESTIGATING_OFFICER:
        return scoped.filter(officer_id=actor.pk)
    if actor.role == Role.REGISTRY_ADMIN:
        return scoped.filter(Q(state__in=_NPB_STATES) | Q(escalated_at__isnull=False))
    return scoped


def records_request_get(*, actor: Officer, request_id: int) -> RecordsRequest:
    """One request the actor may see, or 404."""
    request = (
        records_request_queryset_for(actor=actor)
        .select_related("officer", "station", "district", "prosecutor")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise NotFound()
    return request


def records_request_list(
    *, actor: Officer, state: str | None = None, overdue_at: datetime | None = None
) -> QuerySet[RecordsRequest]:
    """The actor's requests, newest submission first; ``overdue_at``: only those still with
    the prosecutor whose clock ran out before that moment."""
    requests = records_request_queryset_for(actor=actor).select_related(
        "officer", "station", "district"
    )
    if state:
        requests = requests.filter(state=state)
    if overdue_at is not None:
        requests = requests.filter(state=RequestState.SUBMITTED, due_at__lt=overdue_at)
    return requests


def is_overdue(request: RecordsRequest, now: datetime) -> bool:
    """With the prosecutor and past the clock: the same rule as the list's ``overdue_at``."""
    return request.state == RequestState.SUBMITTED and request.due_at < now


def extract_access(*, actor: Officer, request: RecordsRequest, now: datetime) -> str:
    """Whether ``actor`` (who can already see ``request``) may read its extract at ``now``."""
    if request.answer != RequestAnswer.MATCH or not actor.is_active:
        return EXTRACT_NONE
    if actor.pk == request.officer_id and actor.role == Role.INVESTIGATING_OFFICER:
        if request.state != RequestState.DELIVERED:
            return EXTRACT_NONE
        if request.access_expires_at is None or now >= request.access_expires_at:
            return EXTRACT_EXPIRED
        return EXTRACT_ALLOWED
    if actor.role in (Role.DISTRICT_PROSECUTOR, Role.REGISTRY_ADMIN) and request.state in (
        RequestState.ANSWERED,
        RequestState.DELIVERED,
    ):
        return EXTRACT_ALLOWED
    return EXTRACT_NONE


def security_event_list(*, actor: Officer) -> QuerySet[SecurityEvent]:
    """The public SMS check's security events, for the NPB: an event belongs to no
    jurisdiction (no path), so only a national role with the permission sees any."""
    visible = jurisdiction_q(actor, permission="sms_check.security_read")
    return SecurityEvent.objects.filter(visible).order_by("-id")
