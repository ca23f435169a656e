"""Time-driven rules that need no new ping: silent tags, and schedules starting or ending
while an offender is already inside (the engine's ``sweep``)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from compliance.models import Severity, ViolationKind
from compliance.services import violation_raise
from geofence import engine
from geofence.models import CredentialStatus, OffenderTrack, TrackingDevice
from geofence.services.pings import (
    engine_config,
    episodes_apply,
    offender_facts,
    track_save,
    track_state,
)
from geofence.zone_index import zone_index_current


@dataclass
class SweepResult:
    raised: int = 0
    violation_ids: list[int] = field(default_factory=list)


def tag_offline_sweep(*, now: datetime | None = None) -> SweepResult:
    """Raise ``tag_offline`` once per silence: an active device whose newest fix (or, never
    heard from, its enrolment) is older than ``NIGRANI_TAG_OFFLINE_MINUTES`` and that has no open
    silence. The silence is claimed set-based — ``UPDATE … WHERE offline_violation IS NULL`` —
    inside the transaction, so concurrent sweeps raise it once; the violation's cause key is the
    silence's start, so the next silence is a new violation. Ingest ends it on the next ping."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.NIGRANI_TAG_OFFLINE_MINUTES)
    result = SweepResult()
    silent = (
        TrackingDevice.objects.filter(
            status=CredentialStatus.ACTIVE, offline_violation__isnull=True
        )
        .filter(Q(last_ping_at__lt=cutoff) | Q(last_ping_at__isnull=True, created_at__lt=cutoff))
        .select_related("offender")
    )
    with transaction.atomic():
        for device in silent.select_for_update(of=("self",), skip_locked=True):
            since = device.last_ping_at or device.created_at
            violation, created = violation_raise(
                offender=device.offender,
                kind=ViolationKind.TAG_OFFLINE,
                severity=Severity.MEDIUM,
                occurred_at=since + timedelta(minutes=settings.NIGRANI_TAG_OFFLINE_MINUTES),
                detected_at=now,
                cause=device,
                cause_key=since.isoformat(),
                summary=f"{device.kind} #{device.pk} silent since {since.isoformat()}",
            )
            TrackingDevice.objects.filter(pk=device.pk).update(offline_violation=violation)
            if created:
                result.raised += 1
                result.violation_ids.append(violation.pk)
    return result


def schedule_sweep(*, now: datetime | None = None, chunk: int = 500) -> tuple[int, int]:
    """Run the engine's time-driven transitions for every offender with a recent fix or an open
    episode: a scheduled zone starting while they are inside opens an episode from its start;
    one ending closes it. Offenders are locked a chunk at a time (their track rows, as ingest
    does), never all at once. Returns (opened, ended)."""
    now = now or timezone.now()
    config = engine_config()
    recent = now - config.last_fix_valid_for
    ids = list(
        OffenderTrack.objects.filter(Q(last_fix_at__gte=recent) | ~Q(state__open={}))
        .order_by("offender_id")
        .values_list("offender_id", flat=True)
    )
    opened = ended = 0
    index = zone_index_current()
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        with transaction.atomic():
            tracks = list(
                OffenderTrack.objects.filter(offender_id__in=part)
                .order_by("offender_id")
                .select_for_update()
            )
            facts = offender_facts(part)
            events: list[engine.Event] = []
            for track in tracks:
                if track.offender_id not in facts:
                    continue
                state, new = engine.sweep(
                    track_state(track),
                    index=index,
                    facts=facts[track.offender_id],
                    now=now,
                    config=config,
                )
                if new:
                    track_save(track, state)
                    events.extend(new)
            o, e = episodes_apply(events)
            opened, ended = opened + o, ended + e
    return opened, ended
