"""Reads for the control-room page: who may open it, and the district's counters.

Counts only, from the feature apps' own scoped selectors (no second copy of a scoping rule).
"""

from dataclasses import asdict, dataclass

from django.utils import timezone

from accounts.models import Officer
from compliance.selectors import violation_list
from jurisdictions.models import District
from mobile_api.selectors import coverage_rows
from push.alert_stream import watchable_districts
from registry.models import OffenderStatus
from registry.selectors import offender_queryset_for


def controlroom_may_open(officer: Officer) -> bool:
    """The page shows one district's live alerts: officers who may watch at least one
    district's alert stream (control rooms their own, through them the ladder's supervisors,
    and the national desk any district)."""
    return bool(officer.is_authenticated and watchable_districts(officer=officer).exists())


def controlroom_district(*, officer: Officer, code: str | None) -> District | None:
    """The district the page watches: ``code`` if the officer may watch it (None otherwise:
    a 404), else the officer's own, else (a national watcher who named none) the first by
    name. The same rule as the alert socket's (``push.alert_stream.watchable_districts``)."""
    districts = watchable_districts(officer=officer).select_related("province")
    if code:
        return districts.filter(code=code).first()
    if officer.district_id is not None:
        own = districts.filter(pk=officer.district_id).first()
        if own is not None:
            return own
    return districts.order_by("name", "pk").first()


def controlroom_districts(*, officer: Officer) -> list[tuple[str, str]]:
    """(code, name) of every district the officer may watch, for the page's district picker."""
    return list(
        watchable_districts(officer=officer).order_by("name", "pk").values_list("code", "name")
    )


@dataclass(frozen=True)
class DistrictCounters:
    district: str
    open_alerts: int
    unacknowledged: int
    overdue_alerts: int
    escalated: int
    overdue_checkins: int
    active_offenders: int
    verified_within_interval: int
    verified_share: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def district_counters(*, actor: Officer, district: District) -> DistrictCounters:
    """One district at a glance (a district the actor may watch: ``controlroom_district``):
    alerts (heads of episodes only), overdue check-ins, and verification coverage (share of
    active offenders visited within their interval)."""
    code = district.code
    heads = violation_list(actor=actor, open_only=True, district=code).filter(episode__isnull=True)
    rows = coverage_rows(district=district)
    active = sum(row.active_offenders for row in rows)
    verified = sum(row.verified_within_interval for row in rows)
    overdue_checkins = (
        offender_queryset_for(actor=actor)
        .filter(
            district=district,
            status=OffenderStatus.ACTIVE,
            next_checkin_due__lt=timezone.localdate(),
        )
        .count()
    )
    return DistrictCounters(
        district=code,
        open_alerts=heads.count(),
        unacknowledged=violation_list(actor=actor, unacknowledged=True, district=code).count(),
        overdue_alerts=violation_list(actor=actor, overdue=True, district=code).count(),
        escalated=violation_list(
            actor=actor, escalated=True, open_only=True, district=code
        ).count(),
        overdue_checkins=overdue_checkins,
        active_offenders=active,
        verified_within_interval=verified,
        verified_share=round(verified / active, 4) if active else None,
    )
