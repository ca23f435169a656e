"""Reads for the control-room page: who may open it, and the district's counters.

Counts only, from the feature apps' own scoped selectors (no second copy of a scoping rule).
"""

from dataclasses import asdict, dataclass

from django.utils import timezone

from accounts.models import Officer
from compliance.selectors import violation_list
from mobile_api.selectors import coverage_rows
from registry.models import OffenderStatus
from registry.selectors import offender_queryset_for

WATCH_PERMISSION = "alert.watch"


def controlroom_may_open(officer: Officer) -> bool:
    """The page shows one district's live alerts: officers who may watch alerts and sit in a
    district (control rooms, and through them the ladder's supervisors)."""
    return bool(
        officer.is_authenticated
        and officer.has_permission(WATCH_PERMISSION)
        and officer.district_id is not None
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


def district_counters(*, actor: Officer) -> DistrictCounters:
    """The actor's district at a glance: alerts (heads of episodes only), overdue check-ins,
    and verification coverage (share of active offenders visited within their interval)."""
    heads = violation_list(actor=actor, open_only=True).filter(episode__isnull=True)
    rows = coverage_rows(district=actor.district)
    active = sum(row.active_offenders for row in rows)
    verified = sum(row.verified_within_interval for row in rows)
    overdue_checkins = (
        offender_queryset_for(actor=actor)
        .filter(status=OffenderStatus.ACTIVE, next_checkin_due__lt=timezone.localdate())
        .count()
    )
    return DistrictCounters(
        district=actor.district.code,
        open_alerts=heads.count(),
        unacknowledged=violation_list(actor=actor, unacknowledged=True).count(),
        overdue_alerts=violation_list(actor=actor, overdue=True).count(),
        escalated=violation_list(actor=actor, escalated=True, open_only=True).count(),
        overdue_checkins=overdue_checkins,
        active_offenders=active,
        verified_within_interval=verified,
        verified_share=round(verified / active, 4) if active else None,
    )
