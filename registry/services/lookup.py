"""The station counter's exact-CNIC lookup, limited: it answers nationally (a walk-in may be
supervised anywhere), so without limits it is an oracle for who is on the register.

- At most ``NIGRANI_LOOKUP_PER_OFFICER`` lookups per officer and ``NIGRANI_LOOKUP_PER_STATION``
  per station in any ``NIGRANI_LOOKUP_WINDOW_SECONDS`` (found or not): beyond, 429 with
  ``Retry-After`` (when the oldest lookup in the window leaves it). Counted in PostgreSQL
  (``CounterLookup``), so the limit holds across every web process; the station's lookups are
  counted under its advisory lock, so concurrent requests cannot all slip under it.
- ``NIGRANI_LOOKUP_MISS_BURST`` misses by one officer within the window raise one security
  notice (audit ``lookup_burst`` and the ``counter_lookup_burst`` hook, which tells the system
  administrators), once per window.
- Every lookup is audited with purpose ``counter_lookup``, never with the CNIC.
"""

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Officer
from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import NotFound, RateLimited
from registry import hooks
from registry.models import COUNTER_LOOKUP_PURPOSE, CounterLookup, Offender
from registry.selectors import offender_lookup_by_cnic

_LOCK_NAMESPACE = 0x4C4B  # "LK": the advisory-lock space of lookup counting


def _limit(actor: Officer, now: datetime) -> None:
    window = timedelta(seconds=settings.NIGRANI_LOOKUP_WINDOW_SECONDS)
    since = now - window
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [_LOCK_NAMESPACE, actor.station_id or -actor.pk],
        )
    scopes = [(CounterLookup.objects.filter(officer=actor), settings.NIGRANI_LOOKUP_PER_OFFICER)]
    if actor.station_id is not None:
        scopes.append(
            (
                CounterLookup.objects.filter(station_id=actor.station_id),
                settings.NIGRANI_LOOKUP_PER_STATION,
            )
        )
    for lookups, limit in scopes:
        recent = lookups.filter(at__gt=since).order_by("-at").values_list("at", flat=True)
        times = list(recent[:limit])
        if len(times) >= limit:
            retry_after = max(1, math.ceil((times[-1] + window - now).total_seconds()))
            raise RateLimited(
                "Too many CNIC lookups from this counter; wait before the next one.",
                retry_after=retry_after,
            )


def _notice_burst(actor: Officer, now: datetime) -> None:
    since = now - timedelta(seconds=settings.NIGRANI_LOOKUP_WINDOW_SECONDS)
    misses = CounterLookup.objects.filter(officer=actor, found=False, at__gt=since).count()
    if misses != settings.NIGRANI_LOOKUP_MISS_BURST:
        return  # exactly at the threshold: one notice per burst, not one per further miss
    audit_record(
        actor=actor,
        action=AuditAction.SEARCH,
        object_type="offender",
        purpose=COUNTER_LOOKUP_PURPOSE,
        outcome="lookup_burst",
        details={
            "misses": misses,
            "window_seconds": settings.NIGRANI_LOOKUP_WINDOW_SECONDS,
            "station_id": actor.station_id,
        },
    )
    hooks.call("counter_lookup_burst", officer=actor, misses=misses)


def offender_counter_lookup(*, actor: Officer, cnic: str) -> Offender:
    """The registrant with this CNIC (minimal identity is the caller's business), or 404;
    429 past the limits (module docstring)."""
    missing: NotFound | None = None
    with transaction.atomic():
        now = timezone.now()
        _limit(actor, now)
        try:
            offender = offender_lookup_by_cnic(actor=actor, cnic=cnic)
        except NotFound as exc:
            missing = exc
            offender = None
        CounterLookup.objects.create(
            officer=actor, station_id=actor.station_id, found=offender is not None, at=now
        )
        audit_record(
            actor=actor,
            action=AuditAction.READ if offender is not None else AuditAction.SEARCH,
            object_type="offender",
            object_id=offender.pk if offender is not None else "",
            purpose=COUNTER_LOOKUP_PURPOSE,
            outcome="" if offender is not None else "not_found",
            details={"view": "lookup"},
        )
        if offender is None:
            _notice_burst(actor, now)
    # Raised after the commit: the miss must stay counted.
    if missing is not None or offender is None:
        raise missing or NotFound()
    return offender


def counter_lookups_prune(*, now: datetime | None = None) -> int:
    """Delete lookup records older than the window: only the window is ever counted (the audit
    trail keeps the history). Returns how many rows went."""
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.NIGRANI_LOOKUP_WINDOW_SECONDS)
    deleted, _ = CounterLookup.objects.filter(at__lt=since).delete()
    return deleted
