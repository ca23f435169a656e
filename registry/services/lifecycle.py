"""The offender lifecycle: release from prison, the state machine, and the due dates that
follow from the reporting policy.

States and the only transitions allowed (``TRANSITIONS``)::

    in_custody ──release──▶ active ◀──▶ absconded
         ▲                    │             │
         └──re-imprisoned─────┴─────────────┘
    any state but removed ──▶ removed (with a RemovalReason)

``in_custody → active`` happens only through ``offender_release`` (it needs the release date,
prison and address). Every transition writes a ``StatusChange`` row and a ``transition`` audit
event with who and why, and moves the status with a conditional UPDATE, so of two officers
acting at once one wins and the other gets 409.

Due dates are derived from the tier's ``ReportingPolicy`` in one place,
``registry.services.dues``; a release, a return from absconding and any move out of
``active`` recompute them there.
"""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Officer
from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import Conflict, Forbidden
from jurisdictions.models import District
from registry import hooks
from registry.models import (
    Offender,
    OffenderStatus,
    RemovalReason,
    StatusChange,
)
from registry.selectors import offender_get
from registry.services.addresses import address_change
from registry.services.dues import (
    dues_changes,
    offender_dues_compute,
    offender_dues_derive,
    reporting_policy_for,
)

S = OffenderStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.IN_CUSTODY: frozenset({S.ACTIVE, S.REMOVED}),
    S.ACTIVE: frozenset({S.ABSCONDED, S.IN_CUSTODY, S.REMOVED}),
    S.ABSCONDED: frozenset({S.ACTIVE, S.IN_CUSTODY, S.REMOVED}),
    S.REMOVED: frozenset(),
}


# --- transitions ---------------------------------------------------------------------------


def _move(
    *,
    actor: Officer,
    offender: Offender,
    to_status: str,
    reason: str = "",
    note: str = "",
    changes: dict[str, Any] | None = None,
) -> StatusChange:
    """The conditional UPDATE, the StatusChange row and the audit event of one transition."""
    from_status = offender.status
    if to_status not in TRANSITIONS[from_status]:
        raise Conflict(
            f"An offender who is {from_status} cannot become {to_status}.",
            code="invalid_transition",
            extra={"status": from_status},
        )
    now = timezone.now()
    changes = {
        **(changes or {}),
        "status": to_status,
        "status_changed_at": now,
        "updated_at": now,
    }
    if Offender.objects.filter(pk=offender.pk, status=from_status).update(**changes) != 1:
        raise Conflict(
            "Someone else changed this record first; reload it.", code="concurrent_update"
        )
    for field, value in changes.items():
        setattr(offender, field, value)
    change = StatusChange.objects.create(
        offender=offender,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        note=note,
        actor=actor,
        changed_at=now,
    )
    # The note is free text and may name people: it stays on the StatusChange row.
    audit_record(
        actor=actor,
        action=AuditAction.TRANSITION,
        object_type="offender",
        object_id=offender.pk,
        details={
            "from": from_status,
            "to": to_status,
            "reason": reason,
            "status_change_id": change.pk,
            "district_id": offender.district_id,
            "station_id": offender.station_id,
        },
    )
    return change


def offender_transition(
    *, actor: Officer, offender_id: int, to_status: str, reason: str = "", note: str = ""
) -> Offender:
    """Move the offender along the state machine (not release: see ``offender_release``).

    Removal needs a ``RemovalReason``; every other transition needs a reason or a note."""
    if not actor.has_permission("offender.transition"):
        raise Forbidden("You may not change an offender's status.")
    reason, note = (reason or "").strip(), (note or "").strip()
    errors: dict[str, list[str]] = {}
    if to_status not in S.values:
        errors["to"] = [f"Unknown status; one of {', '.join(S.values)}."]
    elif to_status == S.REMOVED:
        if reason not in RemovalReason.values:
            errors["reason"] = [f"Removal needs a reason: {', '.join(RemovalReason.values)}."]
    elif not (reason or note):
        errors["note"] = ["Say why: a reason or a note is required."]
    if len(reason) > 32:
        errors["reason"] = ["At most 32 characters; put the explanation in the note."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        offender = offender_get(actor=actor, offender_id=offender_id)
        if to_status == S.ACTIVE and offender.status == S.IN_CUSTODY:
            raise Conflict(
                "An offender in custody becomes active only by release (the release endpoint).",
                code="invalid_transition",
                extra={"status": offender.status},
            )
        changes: dict[str, Any] = {}
        if to_status == S.REMOVED:
            changes["removal_reason"] = reason
        # Dues follow the new status: none outside active; a return from absconding restarts
        # the reporting clock today.
        dues = offender_dues_derive(
            status=to_status,
            risk_tier=offender.risk_tier,
            released_on=offender.released_on,
            registration_ends_on=offender.registration_ends_on,
            since=timezone.localdate(),
        )
        changes.update(dues_changes(dues))
        _move(
            actor=actor,
            offender=offender,
            to_status=to_status,
            reason=reason,
            note=note,
            changes=changes,
        )
    return offender


def offender_release(
    *,
    actor: Officer,
    offender_id: int,
    released_on: date,
    prison: str,
    address: dict[str, Any] | None = None,
    note: str = "",
) -> Offender:
    """Record a release from prison: ``in_custody → active``.

    A prison officer releases in-custody offenders of its district, a registry admin anyone.
    Sets the release facts and the dues from the tier's policy, records the release address
    (which decides the supervising station; it may move supervision to another district),
    audits a ``transition`` event naming the supervising district — the district's record of
    the release — and calls ``offender_released`` so the apps above schedule check-ins and
    the first address verification (and, later, push the news to the district)."""
    if not actor.has_permission("offender.release"):
        raise Forbidden("You may not record releases.")
    prison = (prison or "").strip()
    errors: dict[str, list[str]] = {}
    if not prison:
        errors["prison"] = ["The prison released from is required."]
    if released_on > timezone.localdate():
        errors["released_on"] = ["A release is recorded once it has happened."]
    if address is not None:
        district = District.objects.filter(code=str(address.get("district") or "")).first()
        if district is None:
            errors["address.district"] = ["A known district code is required."]
        if not str(address.get("text") or "").strip():
            errors["address.text"] = ["The address text is required."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        offender = offender_get(actor=actor, offender_id=offender_id)
        offender = Offender.objects.select_for_update(of=("self",)).get(pk=offender.pk)
        if offender.status != S.IN_CUSTODY:
            raise Conflict(
                f"Only an offender in custody can be released; this one is {offender.status}.",
                code="invalid_transition",
                extra={"status": offender.status},
            )
        # An address without a known district was refused above (errors).
        if address is not None and district is not None:
            address_change(
                actor=actor,
                offender=offender,
                text=address["text"],
                district=district,
                lon=address.get("lon"),
                lat=address.get("lat"),
            )
        dues = offender_dues_compute(
            policy=reporting_policy_for(offender.risk_tier),
            released_on=released_on,
            since=released_on,
        )
        _move(
            actor=actor,
            offender=offender,
            to_status=S.ACTIVE,
            reason="released",
            note=note,
            changes={"released_on": released_on, "release_prison": prison, **dues_changes(dues)},
        )
        hooks.call("offender_released", offender=offender, actor=actor)
    return offender
