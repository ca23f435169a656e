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

from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.core.exceptions import ValidationError
from django.db.models import CharField, F, FloatField, Func, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Greatest

from accounts.models import Officer
from accounts.roles import Role, Scope
from accounts.scoping import jurisdiction_q
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
    """``jurisdiction_q`` on the offender's supervising district and station, with the two
    need-to-know refinements on top: a beat-level reader sees only the offenders of its
    assigned tasks (the hook), never its whole beat; a role that may record releases but not
    read the register (the prison officer) sees only in-custody offenders."""
    if actor.has_permission("offender.read"):
        if actor.scope == Scope.BEAT:
            return Q(pk__in=sorted(_beat_offender_ids(actor)))
        return jurisdiction_q(
            actor, district="district_id", station="station_id", permission="offender.read"
        )
    return jurisdiction_q(
        actor, district="district_id", station="station_id", permission="offender.release"
    ) & Q(status=OffenderStatus.IN_CUSTODY)


def offender_queryset_for(*, actor: Officer) -> QuerySet[Offender]:
    """Every offender the actor may see now (module docstring)."""
    return Offender.objects.filter(_scope_q(actor))


# A role reads offender records at all with either (prison officers only in custody).
OFFENDER_READ_PERMISSIONS = ("offender.read", "offender.release")


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
    # National readers supervise everything now; beat officers never supervised a period.
    if actor.scope in (Scope.NATIONAL, Scope.BEAT) or not actor.has_permission("offender.read"):
        return None
    scope = jurisdiction_q(
        actor, district="district_id", station="station_id", permission="offender.read"
    )
    periods = SupervisionPeriod.objects.filter(
        scope, offender_id=offender_id, ended_at__isnull=False
    )
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


def offender_similar_names(
    *, actor: Officer, full_name: str, father_name: str = ""
) -> QuerySet[Offender]:
    """Offenders whose name or an alias resembles ``full_name`` (trigram similarity, as
    ``offender_list``'s ``q``), scored with the father's name too: the NPB's search for a
    records request. Annotated ``name_score``, ``alias_score``, ``father_score`` and the
    combined ``similarity`` (name or alias counted twice, father once), best first."""
    if not actor.has_permission("offender.search_name"):
        raise Forbidden("Name search is reserved to the register's staff.")
    aliases = Func(F("aliases"), Value(" "), function="array_to_string", output_field=CharField())
    father = (
        TrigramSimilarity("father_name", father_name)
        if father_name
        else Value(0.0, output_field=FloatField())
    )
    return (
        _detail_queryset(offender_queryset_for(actor=actor))
        .annotate(
            name_score=TrigramSimilarity("full_name", full_name),
            alias_score=TrigramWordSimilarity(full_name, aliases),
            father_score=father,
        )
        .annotate(
            similarity=(Greatest(F("name_score"), F("alias_score")) * 2 + F("father_score")) / 3
        )
        .filter(
            Q(name_score__gte=NAME_SEARCH_THRESHOLD) | Q(alias_score__gte=NAME_SEARCH_THRESHOLD)
        )
        .order_by("-similarity", "-id")
    )


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
