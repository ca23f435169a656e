"""Writes of visits from the beat officer's phone, and the station's review of flagged ones.

Outcomes of a counted visit:

- ``confirmed`` closes the task and tells the register, which moves
  ``Offender.next_verification_due`` to one tier interval after the visit; a task
  without an address point records the visit's fix as the point.
- ``not_at_home`` keeps the task open; a second one on another (Pakistan) day escalates: the
  priority rises and the station's officers get an in-app notice. No violation: the duty is
  to live at the address, not to be home when the police call.
- ``moved``, ``no_such_address`` and ``refused`` raise an ``absconding_suspected`` violation
  (once per visit; it reaches the station and the district control room through compliance's
  scoping and alerts), close the task and open a ``follow_up`` task for the station.

A visit that fails the GPS rules (``rules``) is stored, flagged with its reasons and has no
effect until a station officer accepts it; a rejected one leaves the task open.
"""

import math
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import roles_with
from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import Conflict, Forbidden, NotFound
from compliance.models import Severity, ViolationKind
from compliance.services import violation_raise
from jurisdictions.resolve import jurisdiction_resolve
from mobile_api import rules, selectors
from mobile_api.models import (
    ABSCONDING_OUTCOMES,
    Outcome,
    Priority,
    ReviewStatus,
    TaskKind,
    TaskSource,
    TaskStatus,
    VerificationTask,
    Visit,
    VisitPhoto,
)
from mobile_api.services.tasks import task_changes_log, task_state
from push.services import notify_officers
from registry.photos import CleanPhoto, PhotoRejected, photo_clean
from registry.services.addresses import address_locate
from registry.services.dues import offender_verification_counted

# Clock skew tolerated between the phone and the server for a visit's time.
FUTURE_SKEW = timedelta(minutes=5)
# Flag of a fix for an unlocated address that lies in another district (``_outside_district``).
OUTSIDE_DISTRICT = "outside_district"


def thresholds_from_settings() -> rules.Thresholds:
    return rules.Thresholds(
        min_radius_m=settings.NIGRANI_VISIT_MIN_RADIUS_M,
        accuracy_factor=settings.NIGRANI_VISIT_ACCURACY_FACTOR,
        max_accuracy_m=settings.NIGRANI_VISIT_MAX_ACCURACY_M,
        max_fix_age_s=settings.NIGRANI_VISIT_MAX_FIX_AGE_SECONDS,
    )


@dataclass(frozen=True)
class VisitInput:
    client_id: uuid.UUID
    outcome: str
    lat: float
    lon: float
    accuracy_m: float
    fix_time: datetime
    mock_location: bool
    visited_at: datetime
    notes: str = ""
    photos: list[File] = field(default_factory=list)


@dataclass(frozen=True)
class VisitAnswer:
    """What the API answers; ``replayed`` when it is the stored first answer of a retry."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def _visit_body(visit: Visit, task: VerificationTask, photo_ids: list[int]) -> dict[str, Any]:
    return {
        "id": visit.pk,
        "client_id": str(visit.client_id),
        "task": {
            "id": task.pk,
            "status": task.status,
            "version": task.version,
            "priority": task.priority,
            "due_on": task.due_on.isoformat(),
        },
        "outcome": visit.outcome,
        "visited_at": visit.visited_at.isoformat(),
        "counted": visit.counted,
        "flagged": visit.review_status == ReviewStatus.PENDING,
        "flag_reasons": list(visit.flag_reasons),
        "distance_m": None if visit.distance_m is None else round(visit.distance_m, 1),
        "photos": photo_ids,
    }


def visit_photos_clean(photos: list[File]) -> list[CleanPhoto]:
    """Each upload decoded and re-encoded from its pixels (``registry.photos``): JPEG or PNG by
    content, EXIF gone, at most ``NIGRANI_PHOTO_MAX_BYTES`` and ``NIGRANI_VISIT_MAX_PHOTOS``."""
    max_photos = settings.NIGRANI_VISIT_MAX_PHOTOS
    max_bytes = settings.NIGRANI_PHOTO_MAX_BYTES
    if len(photos) > max_photos:
        raise ValidationError({"photos": [f"At most {max_photos} photos per visit."]})
    cleaned = []
    for position, photo in enumerate(photos):
        if photo.size is not None and photo.size > max_bytes:
            raise ValidationError({"photos": [f"Photo {position + 1}: at most {max_bytes} bytes."]})
        photo.seek(0)
        data = photo.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ValidationError({"photos": [f"Photo {position + 1}: at most {max_bytes} bytes."]})
        try:
            cleaned.append(photo_clean(data))
        except PhotoRejected as exc:
            raise ValidationError({"photos": [f"Photo {position + 1}: {exc}"]}) from None
    return cleaned


OLDEST_VISIT = timedelta(days=90)


def _validate_visit(data: VisitInput) -> None:
    errors: dict[str, list[str]] = {}
    now = timezone.now()
    if data.outcome not in Outcome.values:
        errors["outcome"] = [f"One of {', '.join(Outcome.values)}."]
    if data.visited_at > now + FUTURE_SKEW:
        errors["visited_at"] = ["A visit is recorded once it has happened."]
    if data.fix_time > now + FUTURE_SKEW:
        errors["fix_time"] = ["The fix cannot be in the future."]
    # Phones queue visits offline for days, not years: anything older is a broken clock.
    for name in ("visited_at", "fix_time"):
        if getattr(data, name) < now - OLDEST_VISIT:
            errors[name] = [f"Older than {OLDEST_VISIT.days} days: check the phone's clock."]
    for name in ("lat", "lon", "accuracy_m"):
        if not math.isfinite(getattr(data, name)):
            errors[name] = ["Must be a finite number."]
    if errors:
        raise ValidationError(errors)
    if not (-90 <= data.lat <= 90):
        errors["lat"] = ["Latitude must be between -90 and 90."]
    if not (-180 <= data.lon <= 180):
        errors["lon"] = ["Longitude must be between -180 and 180."]
    if data.accuracy_m < 0:
        errors["accuracy_m"] = ["Accuracy cannot be negative."]
    if errors:
        raise ValidationError(errors)


def _replay(visit: Visit, *, actor: Officer, task_id: int) -> VisitAnswer:
    if visit.officer_id != actor.pk or visit.task_id != task_id:
        # Phones make random UUIDs: the same one for another task or officer is a client bug.
        raise Conflict(
            "This client_id was already used for another visit.", code="client_id_reused"
        )
    return VisitAnswer(status=visit.response_status, body=visit.response_body, replayed=True)


def _refuse_not_open(task: VerificationTask) -> Conflict:
    return Conflict(
        "This task is no longer open on your beat; the visit was not recorded.",
        code="task_not_open",
        extra={"task": task_state(task)},
    )


def visit_record(*, actor: Officer, task_id: int, data: VisitInput) -> VisitAnswer:
    """Record one visit from the phone (module docstring for the outcomes).

    Idempotent on ``client_id``: a retry gets the first answer back and stores nothing. Two
    identical requests racing are serialised by the task's row lock (the second re-checks the
    ``client_id`` after it), and the unique constraint is the last guard. A visit for a task
    that has since left the officer's beat (closed, cancelled, reassigned) is refused with 409
    and the task's state; a task never on the beat is 404."""
    if not actor.has_permission("task.work") or actor.beat_id is None:
        raise Forbidden("Only beat officers record visits.")
    existing = Visit.objects.filter(client_id=data.client_id).first()
    if existing is not None:
        return _replay(existing, actor=actor, task_id=task_id)
    if not selectors.task_queryset_for(actor=actor).filter(pk=task_id).exists():
        if selectors.task_was_on_beat(task_id=task_id, beat_id=actor.beat_id):
            task = VerificationTask.objects.select_related("beat", "station").get(pk=task_id)
            raise _refuse_not_open(task)
        raise NotFound()
    _validate_visit(data)
    cleaned = visit_photos_clean(data.photos)
    stored: list[str] = []
    try:
        with transaction.atomic():
            task = (
                VerificationTask.objects.select_for_update(of=("self",))
                .select_related("address", "beat", "station", "offender")
                .get(pk=task_id)
            )
            existing = Visit.objects.filter(client_id=data.client_id).first()
            if existing is not None:
                return _replay(existing, actor=actor, task_id=task_id)
            if task.status != TaskStatus.OPEN or task.beat_id != actor.beat_id:
                raise _refuse_not_open(task)
            address = task.address
            point = (
                (address.lat, address.lon)
                if address.lat is not None and address.lon is not None
                else None
            )
            verdict = rules.visit_evaluate(
                fix=rules.Fix(
                    lat=data.lat,
                    lon=data.lon,
                    accuracy_m=data.accuracy_m,
                    fix_time=data.fix_time,
                    mock_location=data.mock_location,
                ),
                visited_at=data.visited_at,
                point=point,
                thresholds=thresholds_from_settings(),
            )
            if point is None and _outside_district(data, district_id=address.district_id):
                verdict = replace(verdict, reasons=(*verdict.reasons, OUTSIDE_DISTRICT))
            try:
                with transaction.atomic():
                    visit = Visit.objects.create(
                        client_id=data.client_id,
                        task=task,
                        offender_id=task.offender_id,
                        officer=actor,
                        outcome=data.outcome,
                        lat=data.lat,
                        lon=data.lon,
                        accuracy_m=data.accuracy_m,
                        fix_time=data.fix_time,
                        mock_location=data.mock_location,
                        visited_at=data.visited_at,
                        notes=data.notes,
                        distance_m=verdict.distance_m,
                        flag_reasons=list(verdict.reasons),
                        counted=verdict.passes,
                        review_status="" if verdict.passes else ReviewStatus.PENDING,
                    )
            except IntegrityError:
                existing = Visit.objects.filter(client_id=data.client_id).first()
                if existing is None:
                    raise
                return _replay(existing, actor=actor, task_id=task_id)
            photo_ids = []
            for clean in cleaned:
                name = default_storage.save(
                    f"visits/photos/{uuid.uuid4().hex}.{clean.extension}",
                    ContentFile(clean.content),
                )
                stored.append(name)
                photo = VisitPhoto.objects.create(
                    visit=visit,
                    file=name,
                    width=clean.width,
                    height=clean.height,
                    size_bytes=len(clean.content),
                )
                photo_ids.append(photo.pk)
            task.last_visit_outcome = visit.outcome
            task.last_visit_at = visit.visited_at
            if visit.counted:
                _apply_outcome(visit=visit, task=task, actor=actor)
            task.version += 1
            task.save()
            task_changes_log(task, actor.beat_id)
            body = _visit_body(visit, task, photo_ids)
            Visit.objects.filter(pk=visit.pk).update(response_body=body, response_status=200)
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                object_type="visit",
                object_id=visit.pk,
                details={
                    "task_id": task.pk,
                    "offender_id": task.offender_id,
                    "outcome": visit.outcome,
                    "counted": visit.counted,
                    "flag_reasons": list(verdict.reasons),
                    "photos": len(photo_ids),
                },
            )
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    return VisitAnswer(status=200, body=body)


def _outside_district(data: VisitInput, *, district_id: int) -> bool:
    """Whether a fix for an address without a point lies in another district than the
    address's (no distance can be checked; this at least catches the wrong town)."""
    resolution = jurisdiction_resolve(lon=data.lon, lat=data.lat)
    return resolution.district is not None and resolution.district.pk != district_id


def _record_point(*, task: VerificationTask, visit: Visit, actor: Officer) -> None:
    """The first counted confirmed visit of an address without a point locates it (the
    register's ``address_locate``: the point, and supervision the station and beat its
    polygon falls in). A fix in another district than the address's (flagged
    ``outside_district``, then accepted by a reviewer) closes the task but is not recorded as
    the point: that is for the register."""
    if address_locate(
        actor=actor,
        address=task.address,
        lon=visit.lon,
        lat=visit.lat,
        audit_details={"visit_id": visit.pk},
    ):
        task.needs_point = False


def _close(task: VerificationTask, resolution: str) -> None:
    task.status = TaskStatus.CLOSED
    task.resolution = resolution
    task.closed_at = timezone.now()


def _apply_outcome(*, visit: Visit, task: VerificationTask, actor: Officer) -> None:
    """The effects of a counted visit on its (locked, open) task; the caller saves the task."""
    if visit.outcome == Outcome.CONFIRMED:
        _close(task, Outcome.CONFIRMED)
        if task.address.lat is None:
            _record_point(task=task, visit=visit, actor=actor)
        if task.kind == TaskKind.VERIFICATION:
            offender_verification_counted(
                offender_id=task.offender_id,
                risk_tier=task.offender.risk_tier,
                visited_on=timezone.localdate(visit.visited_at),
            )
    elif visit.outcome == Outcome.NOT_AT_HOME:
        _maybe_escalate(visit=visit, task=task)
    elif visit.outcome in ABSCONDING_OUTCOMES:
        _close(task, visit.outcome)
        violation_raise(
            offender=task.offender,
            kind=ViolationKind.ABSCONDING_SUSPECTED,
            severity=Severity.HIGH,
            occurred_at=visit.visited_at,
            cause=visit,
            lon=visit.lon,
            lat=visit.lat,
            summary=f"verification visit #{visit.pk}: {visit.outcome} (task #{task.pk})",
        )
        _follow_up_open(visit=visit, task=task)


def _follow_up_open(*, visit: Visit, task: VerificationTask) -> VerificationTask:
    """The station's follow-up of a visit that found the offender gone (once per visit)."""
    follow_up, created = VerificationTask.objects.get_or_create(
        cause_visit=visit,
        defaults={
            "offender_id": task.offender_id,
            "address_id": task.address_id,
            "kind": TaskKind.FOLLOW_UP,
            "source": TaskSource.VISIT,
            "district_id": task.district_id,
            "station_id": task.station_id,
            "beat_id": None,
            "needs_point": task.needs_point,
            "due_on": timezone.localdate()
            + timedelta(days=settings.NIGRANI_VERIFICATION_FOLLOW_UP_DAYS),
            "priority": Priority.URGENT,
            "last_visit_outcome": visit.outcome,
            "last_visit_at": visit.visited_at,
        },
    )
    return follow_up


def _maybe_escalate(*, visit: Visit, task: VerificationTask) -> None:
    if task.escalated_at is not None:
        return
    visit_day = timezone.localdate(visit.visited_at)
    earlier_days = {
        timezone.localdate(at)
        for at in Visit.objects.filter(task=task, outcome=Outcome.NOT_AT_HOME, counted=True)
        .exclude(pk=visit.pk)
        .values_list("visited_at", flat=True)
    }
    if not earlier_days - {visit_day}:
        return
    task.priority = max(task.priority, Priority.HIGH)
    task.escalated_at = timezone.now()
    if task.station_id is not None:
        notify_officers(
            officers=Officer.objects.filter(
                role__in=roles_with("visit.review"), station_id=task.station_id, is_active=True
            ),
            kind="verification_escalated",
            text=f"Verification task #{task.pk}: offender not at home on two visits on "
            "different days.",
            object_type="verification_task",
            object_id=task.pk,
        )


# --- review ------------------------------------------------------------------------------------


def _review(*, actor: Officer, visit_id: int, reason: str, accept: bool) -> Visit:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["A reason is required."]})
    with transaction.atomic():
        visit = selectors.visit_get_for_review(actor=actor, visit_id=visit_id)
        to_status = ReviewStatus.ACCEPTED if accept else ReviewStatus.REJECTED
        now = timezone.now()
        # Conditional update: of two reviewers at once, one wins, the other gets 409.
        won = Visit.objects.filter(pk=visit.pk, review_status=ReviewStatus.PENDING).update(
            review_status=to_status,
            reviewed_by=actor,
            reviewed_at=now,
            review_reason=reason,
            counted=accept,
            updated_at=now,
        )
        if not won:
            raise Conflict(
                "This visit is not waiting for review.",
                code="not_pending",
                extra={"review_status": visit.review_status},
            )
        visit.refresh_from_db()
        task = (
            VerificationTask.objects.select_for_update(of=("self",))
            .select_related("address", "offender")
            .get(pk=visit.task_id)
        )
        effects = accept and task.status == TaskStatus.OPEN
        if effects:
            _apply_outcome(visit=visit, task=task, actor=actor)
            task.version += 1
            task.save()
            task_changes_log(task, task.beat_id)
        # The reason is free text (it may name people): it stays on the visit row.
        audit_record(
            actor=actor,
            action=AuditAction.TRANSITION,
            object_type="visit",
            object_id=visit.pk,
            details={
                "from": ReviewStatus.PENDING,
                "to": to_status,
                "task_id": task.pk,
                "applied": effects,
            },
        )
    return visit


def visit_accept(*, actor: Officer, visit_id: int, reason: str) -> Visit:
    """A flagged visit counts after all: its outcome takes effect as if it had passed (when
    the task is still open)."""
    return _review(actor=actor, visit_id=visit_id, reason=reason, accept=True)


def visit_reject(*, actor: Officer, visit_id: int, reason: str) -> Visit:
    """A flagged visit does not count; the task stays open."""
    return _review(actor=actor, visit_id=visit_id, reason=reason, accept=False)
