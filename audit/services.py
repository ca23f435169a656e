"""Writing the audit trail. Every read and write of offender data goes through ``audit_record``."""

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.chain import CHAINED_FIELDS, GENESIS_HASH, ChainReport, chain_verify, event_hash
from audit.models import AuditAction, AuditEvent
from common.net import clean_ip as _clean_ip
from common.request_context import get_request_context

# One advisory lock serialises chain appends: it is held until the surrounding transaction
# commits, so the next writer (at READ COMMITTED, Django's default, each statement sees what
# was committed before it started) always reads the committed head; the chain never forks and
# id order is chain order. ``prev_hash`` is also unique, so a writer that somehow read a stale
# head fails instead of forking the chain.
_CHAIN_LOCK_KEY = 0x4E494752  # "NIGR"


def audit_record(
    *,
    actor: Any | None,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    purpose: str = "",
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
    username: str = "",
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction (or its own).

    The chain lock is held from here until the caller's transaction ends, and every audited
    transaction in the system waits for it: call this as the last write of a service, after its
    other row locks, and do no slow work (network, files) between it and the commit.

    ``details`` must never contain protected values (CNIC, names, phone numbers, OTPs) and
    must be plain JSON; ``username`` names the account for events without an authenticated
    actor (failed logins).
    """
    ctx = get_request_context()
    officer = actor if actor is not None and getattr(actor, "pk", None) is not None else None
    agency = getattr(officer, "agency", None)
    content: dict[str, Any] = {
        "actor_id": officer.pk if officer is not None else None,
        "actor_username": officer.username if officer is not None else username,
        "role": getattr(officer, "role", "") if officer is not None else "",
        "agency": agency.name if agency else "",
        "device_id": ctx.device_id,
        "client_ip": _clean_ip(ctx.client_ip),
        "request_id": ctx.request_id,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id) if object_id not in (None, "") else "",
        "purpose": purpose or "",
        "outcome": outcome[:255],
        "details": details or {},
    }
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
        # Stamped under the lock, so time order follows chain order (one clock permitting).
        content["occurred_at"] = timezone.now()
        head = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        prev_hash = head or GENESIS_HASH
        return AuditEvent.objects.create(
            **content, prev_hash=prev_hash, hash=event_hash(content, prev_hash)
        )


# --- verifying the chain ---------------------------------------------------------------------

AUDIT_CHAIN = "audit_chain"  # object_type of the events that record a verification
CHAIN_OK = "ok"
CHAIN_BROKEN = "broken"


def audit_chain_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Walk the whole trail in id order and report the first event that breaks the chain.

    The one walk behind both ``manage.py verify_audit`` and the nightly job. A server-side
    cursor streams the table (one snapshot, constant memory), so appends made while this runs
    neither show up half-way nor break the walk.
    """
    events = (
        AuditEvent.objects.order_by("id")
        .values("id", *CHAINED_FIELDS, "prev_hash", "hash")
        .iterator(chunk_size=chunk_size)
    )
    try:
        return chain_verify(events)
    finally:
        events.close()  # stopping at a break must still close the server-side cursor


def audit_read(
    *,
    actor: Any | None,
    object_type: str,
    object_id: str | int = "",
    purpose: str = "",
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
    search: bool = False,
) -> AuditEvent:
    """Record that the actor read something (``search``: looked rows up by criteria): the one
    form of every audited read (API views, admin pages, the chain check), so none can forget
    the action or spell it differently. It lives here, not in ``common``'s API plumbing,
    because ``common`` may not import ``audit`` (the layer order); it takes the actor, not
    the request, so it is a service."""
    return audit_record(
        actor=actor,
        action=AuditAction.SEARCH if search else AuditAction.READ,
        object_type=object_type,
        object_id=object_id,
        purpose=purpose,
        outcome=outcome,
        details=details,
    )


def audit_chain_check(*, chunk_size: int = 2000) -> ChainReport:
    """Verify the chain and record the verdict in the trail itself (a read of every event).

    The verdict event names only ids and counts; it is appended after the walk, so it is
    covered by the next verification, not this one.
    """
    report = audit_chain_verify(chunk_size=chunk_size)
    broken = report.first_break
    audit_read(
        actor=None,
        object_type=AUDIT_CHAIN,
        object_id=broken.event_id if broken else "",
        outcome=CHAIN_OK if broken is None else CHAIN_BROKEN,
        details={
            "verified": report.verified,
            "first_broken_id": broken.event_id if broken else None,
        },
    )
    return report
