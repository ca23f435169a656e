"""The end of registration: never silent. The register computes ``registration_ends_on``; on or
after that day the record moves to ``removed`` ("registration period ended") only when an NPB
officer confirms it, through the lifecycle's own transition (audited there)."""

from django.db import transaction
from django.utils import timezone

from accounts.models import Officer
from common.exceptions import Conflict, Forbidden, NotFound
from registry.models import Offender, OffenderStatus, RemovalReason
from registry.selectors import offender_queryset_for
from registry.services.lifecycle import offender_transition

_ON_THE_REGISTER = (OffenderStatus.ACTIVE, OffenderStatus.ABSCONDED)


def offender_registration_end_confirm(
    *, actor: Officer, offender_id: int, note: str = ""
) -> Offender:
    """Remove the offender whose registration period has ended (409 before the day, or for a
    lifelong registration, or an offender not on the register)."""
    if not actor.has_permission("registration_end.confirm"):
        raise Forbidden("Only the NPB confirms the end of a registration.")
    with transaction.atomic():
        offender = (
            offender_queryset_for(actor=actor)
            .select_for_update(of=("self",))
            .filter(pk=offender_id)
            .first()
        )
        if offender is None:
            raise NotFound()
        if offender.status not in _ON_THE_REGISTER:
            raise Conflict(
                f"An offender who is {offender.status} has no registration to end.",
                code="invalid_transition",
                extra={"status": offender.status},
            )
        ends_on = offender.registration_ends_on
        if ends_on is None or ends_on > timezone.localdate():
            raise Conflict(
                "The registration period has not ended.",
                code="registration_not_ended",
                extra={"registration_ends_on": ends_on.isoformat() if ends_on else None},
            )
        return offender_transition(
            actor=actor,
            offender_id=offender.pk,
            to_status=OffenderStatus.REMOVED,
            reason=RemovalReason.REGISTRATION_PERIOD_ENDED,
            note=note.strip() or f"registration period ended on {ends_on.isoformat()}",
        )
