"""Reads of offender records, already limited to what the actor may see (need to know).

``offender_queryset_for`` is the one place that scopes offenders by role and jurisdiction;
every list, detail, write and the notices selectors go through it:

- ``registry_admin``: the whole register.
- ``data_entry`` and ``control_room``: offenders their district supervises now.
- ``prison_officer``: in-custody offenders of its district (to record their release).
- ``station_officer``: offenders its station supervises now.
- ``beat_officer``: the offenders ``hooks.call("beat_offender_ids", officer=…)`` names (tasks
  assigned to the beat); none without a handler.
- everyone else (IO, DPP, auditor, system admin): nothing.

**Former supervisors** (a district or station that supervised the offender before a transfer)
keep read-only access to the history of their own period: ``offender_former_access`` finds the
period, the detail view shows identity, status and convictions but not the new address, phone
or supervision, and the timeline stops at the period's end. They cannot write (every write goes
through ``offender_queryset_for``), list, or see notices filed after they handed over.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.postgres.search import TrigramSimilarity
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Officer
from accounts.roles import Role
from common.exceptions import Forbidden, NotFound
from registry import hooks
from registry.identifiers import cnic_blind_index, normalise_cnic
from registry.models import (
    Address,
    Conviction,
    Offender,
    OffenderStatus,
    StatusChange,
    SupervisionPeriod,
)

_NOTHING = Q(pk__in=[])
# Similarity below this is noise for short names.
NAME_SEARCH_THRESHOLD = 0.3
# Roles that see CNIC and phone in full (they enter and correct them); others see them masked.
FULL_IDENTIFIER_ROLES = frozenset({Role.REGISTRY_ADMIN, Role.DATA_ENTRY})


def _beat_offender_ids(actor: Officer) -> set[int]:
    ids: set[int] = set()
    for result in hooks.call("beat_offender_ids", officer=actor):
        ids.update(result or ())
    return ids


def _scope_q(actor: Officer) -> Q:
    if not actor.is_active:
        return _NOTHING
    role = actor.role
    if role == Role.REGISTRY_ADMIN:
        return Q()
    if role in (Role.DATA_ENTRY, Role.CONTROL_ROOM) and actor.district_id is not None:
        return Q(district_id=actor.district_id)
    if role == Role.PRISON_OFFICER and actor.district_id is not None:
        return Q(district_id=actor.district_id, status=OffenderStatus.IN_CUSTODY)
    if role == Role.STATION_OFFICER and actor.station_id is not None:
        return Q(station_id=actor.station_id)
    if role == Role.BEAT_OFFICER:
        return Q(pk__in=sorted(_beat_offender_ids(actor)))
    return _NOTHING


def offender_queryset_for(*, actor: Officer) -> QuerySet[Offender]:
    """Every offender the actor may see now (module docstring)."""
    return Offender.objects.filter(_scope_q(actor))


def offender_may_read(actor: Officer) -> bool:
    """Whether the role reads offender records at all (prison officers only in custody)."""
    return actor.has_permission("offender.read") or actor.has_permission("offender.release")


def offender_sees_identifiers(actor: Officer) -> bool:
    """Whether the actor sees CNIC and phone in full rather than masked."""
    return actor.is_active and actor.role in FULL_IDENTIFIER_ROLES


def _detail_queryset(queryset: QuerySet[Offender]) -> QuerySet[Offender]:
    return queryset.select_related("district", "station", "beat").prefetch_related(
        Prefetch(
            "addresses",
            queryset=Address.objects.filter(valid_to__isnull=True).select_related(
                "district", "station", "beat"
            ),
            to_attr="current_addresses",
        ),
        "convictions",
    )


@dataclass(frozen=True)
class OffenderAccess:
    """An offender and how the actor reaches it: ``current`` (supervising or national) or
    ``former`` (read-only history up to ``until``)."""

    offender: Offender
    kind: str
    until: datetime | None = None


def offender_former_access(*, actor: Officer, offender_id: int) -> SupervisionPeriod | None:
    """The latest closed supervision period of the actor's district (district roles with
    ``offender.read``) or station (station officers) for this offender, if any."""
    if not actor.is_active or not actor.has_permission("offender.read"):
        return None
    periods = SupervisionPeriod.objects.filter(offender_id=offender_id, ended_at__isnull=False)
    if actor.role in (Role.DATA_ENTRY, Role.CONTROL_ROOM) and actor.district_id is not None:
        periods = periods.filter(district_id=actor.district_id)
    elif actor.role == Role.STATION_OFFICER and actor.station_id is not None:
        periods = periods.filter(station_id=actor.station_id)
    else:
        return None
    return periods.order_by("-ended_at").first()


def offender_access(*, actor: Officer, offender_id: int) -> OffenderAccess:
    """The offender as the actor may read it (current scope first, then former supervision),
    or 404."""
    offender = _detail_queryset(offender_queryset_for(actor=actor)).filter(pk=offender_id).first()
    if offender is not None:
        return OffenderAccess(offender=offender, kind="current")
    period = offender_former_access(actor=actor, offender_id=offender_id)
    if period is None:
        raise NotFound()
    offender = _detail_queryset(Offender.objects.all()).get(pk=offender_id)
    return OffenderAccess(offender=offender, kind="former", until=period.ended_at)


def offender_get(*, actor: Officer, offender_id: int) -> Offender:
    """One offender in the actor's current scope (what writes act on), or 404."""
    offender = _detail_queryset(offender_queryset_for(actor=actor)).filter(pk=offender_id).first()
    if offender is None:
        raise NotFound()
    return offender


def _cnic_index(cnic: str) -> str:
    try:
        return cnic_blind_index(normalise_cnic(cnic))
    except ValidationError as exc:
        raise ValidationError({"cnic": exc.messages}) from exc


def offender_list(
    *,
    actor: Officer,
    district: str | None = None,
    status: str | None = None,
    risk_tier: int | None = None,
    cnic: str | None = None,
    q: str | None = None,
) -> QuerySet[Offender]:
    """Offenders in the actor's scope, filtered; ``cnic`` is an exact match through the blind
    index; ``q`` a trigram name search (``offender.search_name``, registry admins only), most
    similar first. Without ``q``, newest first."""
    offenders = _detail_queryset(offender_queryset_for(actor=actor))
    if district:
        offenders = offenders.filter(district__code=district)
    if status:
        offenders = offenders.filter(status=status)
    if risk_tier is not None:
        offenders = offenders.filter(risk_tier=risk_tier)
    if cnic:
        if not actor.has_permission("offender.lookup_cnic"):
            raise Forbidden("You may not look offenders up by CNIC.")
        offenders = offenders.filter(cnic_index=_cnic_index(cnic))
    if q:
        if not actor.has_permission("offender.search_name"):
            raise Forbidden("Name search is reserved to the register's staff.")
        offenders = (
            offenders.annotate(similarity=TrigramSimilarity("full_name", q))
            .filter(Q(similarity__gte=NAME_SEARCH_THRESHOLD) | Q(full_name__icontains=q))
            .order_by("-similarity", "-id")
        )
    return offenders


def offender_lookup_by_cnic(*, actor: Officer, cnic: str) -> Offender:
    """The station counter's exact-CNIC lookup: any registrant who is not removed, wherever
    supervised, so a walk-in can be checked in or file a notice. The caller shows minimal
    identity only. 404 when no one matches."""
    if not actor.has_permission("offender.lookup_cnic"):
        raise Forbidden("You may not look offenders up by CNIC.")
    offender = (
        Offender.objects.select_related("district", "station")
        .exclude(status=OffenderStatus.REMOVED)
        .filter(cnic_index=_cnic_index(cnic))
        .first()
    )
    if offender is None:
        raise NotFound()
    return offender


def offender_timeline(
    *, actor: Officer, offender: Offender, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Everything that happened to the record, newest first: status changes, addresses,
    supervision periods, convictions, notices, and what the apps above add through the
    ``timeline_entries`` hook. ``until`` cuts it at a former supervisor's period end.
    Summaries never carry names, CNIC, phone or address text.

    The record's own sections follow the record (the caller has already reached
    ``offender`` through ``offender_access``); every other section applies its own read
    permission and jurisdiction for ``actor`` (notices ``notice.read``, violations
    ``violation.read``, check-ins ``checkin.read``, visits the task permissions)."""
    entries: list[dict[str, Any]] = []
    for change in StatusChange.objects.filter(offender=offender):
        reason = f" ({change.reason})" if change.reason else ""
        entries.append(
            _entry(
                change.changed_at,
                "status_change",
                f"{change.from_status or 'registered'} → {change.to_status}{reason}",
                "status_change",
                change.pk,
            )
        )
    for address in Address.objects.filter(offender=offender).select_related("district", "station"):
        where = address.station.code if address.station else address.district.code
        entries.append(
            _entry(address.valid_from, "address", f"address in {where}", "address", address.pk)
        )
    for period in SupervisionPeriod.objects.filter(offender=offender).select_related(
        "district", "station"
    ):
        where = period.station.code if period.station else period.district.code
        entries.append(
            _entry(
                period.started_at,
                "supervision",
                f"supervised by {where}",
                "supervision_period",
                period.pk,
            )
        )
    for conviction in Conviction.objects.filter(offender=offender):
        entries.append(
            _entry(
                conviction.created_at,
                "conviction",
                f"conviction recorded: {', '.join(conviction.sections)}",
                "conviction",
                conviction.pk,
            )
        )
    # Imported here: selectors_notices scopes notices through this module.
    from registry.selectors_notices import notice_timeline_entries

    entries += notice_timeline_entries(actor=actor, offender_id=offender.pk)
    for result in hooks.call("timeline_entries", offender=offender, actor=actor):
        entries += result or []
    if until is not None:
        # What happened at the handover itself (the new address, the new period) belongs to
        # the new supervisor.
        entries = [entry for entry in entries if entry["at"] < until]
    entries.sort(key=lambda entry: (entry["at"], entry["object_type"], entry["object_id"]))
    entries.reverse()
    return entries


def _entry(at: datetime, kind: str, summary: str, object_type: str, object_id: int) -> dict:
    return {
        "at": at,
        "kind": kind,
        "summary": summary,
        "object_type": object_type,
        "object_id": object_id,
    }


def offender_detail(*, offender_id: int) -> Offender:
    """The record with what the detail view shows joined in, unscoped: for answering a write
    the caller was just allowed to make (a prison officer no longer sees a released offender,
    yet is answered with the record it released)."""
    return _detail_queryset(Offender.objects.all()).get(pk=offender_id)
