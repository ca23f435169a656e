"""Writing the audit trail. Every read and write of offender data goes through ``audit_record``."""

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, event_hash
from audit.models import AuditEvent
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
    is_officer = actor is not None and getattr(actor, "pk", None) is not None
    agency = getattr(actor, "agency", None) if is_officer else None
    content: dict[str, Any] = {
        "actor_id": actor.pk if is_officer else None,
        "actor_username": actor.username if is_officer else username,
        "role": getattr(actor, "role", "") if is_officer else "",
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
